"""The SLA sweep: "no missed, no late report" (没有漏报、迟报). A case nobody acts on keeps knocking.

What is due lives in SQLite, on the case rows: ``remind_at`` says when the sweep should look at a case
again, and every change to a case sets it to "now". So after a crash or restart the next sweep picks up
exactly where things stand, and it reads only the cases that are due, however many are open.

For a case the sweep looks at, the current deadline is worked out from the facts:

- new or reopened: a first response within ``sla.first_response`` (``..._collective`` for collective
  and urgent cases, ``..._assistance`` for hardship assistance), counted from when it was filed (or
  reopened);
- acknowledged or in progress: some event within ``sla.update_every`` of the last status change or
  officer action;
- waiting for the worker, resolved, closed, withdrawn: no deadline (waiting pauses the clock: the
  worker's answer is a status change, which starts a new period).

Reminder 0 is the warning at 75% of the time; reminder n ≥ 1 comes at the deadline plus n − 1 times
``sla.remind_every``. Overdue reminders go to the primary officer, then also to the backup, then also to
the admins (``sla.escalate_after_reminders`` each). Routine reminders wait for the end of the quiet hours;
collective and urgent cases do not. Each reminder is written to the outbox in the same transaction that
records it on the case, with a key naming the deadline and the reminder's number: never sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.cases import alerts
from bot.cases.sla import (
    after_quiet_hours,
    escalation_level,
    first_response_due,
    next_update_due,
    warning_time,
)
from bot.cases.vocabulary import KIND_LABELS
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import officer_language, span, translate
from storage import Storage
from storage.models import (
    Case,
    CaseActivity,
    CaseStatus,
    Officer,
    OfficerRole,
    OutboxMessage,
    Priority,
    ScheduleUpdate,
)

logger = logging.getLogger(__name__)

BATCH = 200  # cases per storage read; the sweep reads again until none are due

_AWAITING_FIRST_RESPONSE = frozenset({CaseStatus.NEW, CaseStatus.REOPENED})
_AWAITING_UPDATE = frozenset({CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS})


class ReminderSweep:
    def __init__(self, storage: Storage, config: Config, clock: Clock) -> None:
        self._storage = storage
        self._config = config
        self._clock = clock

    async def run(self) -> int:
        """Look at every case that is due; returns how many reminders were queued."""
        queued = 0
        now = self._clock.now()
        officers: list[Officer] | None = None
        while due := await self._storage.due_for_review(now, limit=BATCH):
            officers = officers if officers is not None else await self._storage.list_officers()
            changed_meanwhile = 0
            for activity in due:
                written, sent = await self._review(activity, now, officers)
                queued += sent
                changed_meanwhile += not written
            if len(due) < BATCH or changed_meanwhile == len(due):
                break  # the cases changed under us are looked at again on the next run
        if queued:
            logger.info("SLA sweep queued %d reminder(s)", queued)
        return queued

    async def _review(
        self, activity: CaseActivity, now: datetime, officers: Sequence[Officer]
    ) -> tuple[bool, int]:
        case = activity.case
        assert case.remind_at is not None  # due_for_review only returns cases with one
        deadline = self.deadline(activity)
        if deadline is None:
            update = ScheduleUpdate(
                remind_at=None,
                sla_started_at=None,
                reminders_sent=0,
                first_response_due_at=case.first_response_due_at,
                next_update_due_at=None,
            )
            return await self._storage.update_schedule(
                case.id, seen_remind_at=case.remind_at, update=update
            ), 0
        started, due = deadline
        sent = case.reminders_sent if case.sla_started_at == started else 0
        number = self._latest_due(sent, started, due, case, now)
        outbox: list[OutboxMessage] = []
        if number is not None:
            outbox = self.reminder_messages(case, number, started, due, now, officers)
            sent = number + 1
        # The due columns let /cases overdue and the reports see lateness without this sweep's logic.
        new = case.status == CaseStatus.NEW
        update = ScheduleUpdate(
            remind_at=self._reminder_time(sent, started, due, case),
            sla_started_at=started,
            reminders_sent=sent,
            first_response_due_at=due if new else case.first_response_due_at,
            next_update_due_at=None if new else due,
        )
        written = await self._storage.update_schedule(
            case.id, seen_remind_at=case.remind_at, update=update, outbox=outbox
        )
        return written, len(outbox) if written else 0

    def deadline(self, activity: CaseActivity) -> tuple[datetime, datetime] | None:
        """(start, due) of the case's current deadline, or None while nothing is due from the union."""
        case = activity.case
        sla = self._config.sla
        if case.status == CaseStatus.NEW:
            return case.created_at, first_response_due(
                case.created_at, collective=_urgent(case), sla=sla, kind=case.kind
            )
        started = activity.last_activity_at or case.created_at
        if case.status == CaseStatus.REOPENED:
            return started, first_response_due(started, collective=_urgent(case), sla=sla, kind=case.kind)
        if case.status in _AWAITING_UPDATE:
            return started, next_update_due(started, sla)
        return None

    def _scheduled(self, number: int, started: datetime, due: datetime) -> datetime:
        if number == 0:
            return warning_time(started, due)
        return due + (number - 1) * self._config.sla.remind_every

    def _reminder_time(self, number: int, started: datetime, due: datetime, case: Case) -> datetime:
        """When reminder ``number`` may go out: quiet hours delay routine ones, never urgent ones."""
        moment = self._scheduled(number, started, due)
        if _urgent(case):
            return moment
        return after_quiet_hours(moment, self._config.sla, self._config.union.zone)

    def _latest_due(
        self, sent: int, started: datetime, due: datetime, case: Case, now: datetime
    ) -> int | None:
        """The newest reminder whose time has come, skipping ones missed while the bot was down
        (one message saying how late it is beats a burst of stale ones)."""
        if self._reminder_time(sent, started, due, case) > now:
            return None
        number = sent
        remind_every = self._config.sla.remind_every
        if now > due:
            # Jump straight to the reminder of the current period.
            number = max(number, 1 + int((now - due) / remind_every))
        while number > sent and self._reminder_time(number, started, due, case) > now:
            number -= 1
        return number

    # -- the messages -----------------------------------------------------------------------------

    def reminder_messages(
        self,
        case: Case,
        number: int,
        started: datetime,
        due: datetime,
        now: datetime,
        officers: Sequence[Officer],
    ) -> list[OutboxMessage]:
        """Reminder ``number`` for everyone it goes to, each in their language, with the alert's buttons."""
        default = self._config.union.default_language
        active = {officer.telegram_id: officer for officer in officers if officer.active}
        primary = active.get(case.assignee_id) if case.assignee_id is not None else None
        backup = active.get(case.backup_id) if case.backup_id is not None else None
        admins = [officer for officer in active.values() if officer.role == OfficerRole.ADMIN]
        level = "officer" if number == 0 else escalation_level(number - 1, self._config.sla)
        recipients: list[tuple[Officer, str]] = []
        if primary is not None:
            recipients.append((primary, "primary"))
        if backup is not None and (level in ("backup", "admins") or primary is None):
            recipients.append((backup, "backup"))
        if level == "admins" or not recipients:
            recipients += [(admin, "admin") for admin in admins]
        messages: list[OutboxMessage] = []
        seen: set[int] = set()
        for officer, role in recipients:
            if officer.telegram_id in seen:
                continue
            seen.add(officer.telegram_id)
            language = officer_language(officer, default)
            text = self._text(case, language, number, due, now, role, primary)
            messages.append(
                OutboxMessage(
                    chat_id=officer.telegram_id,
                    params={
                        "text": text,
                        "parse_mode": "HTML",
                        "reply_markup": alerts.action_buttons(case, language, alerts.ALERT_ACTIONS),
                    },
                    dedupe_key=f"sla:{case.id}:{started.isoformat()}:{number}:{officer.telegram_id}",
                )
            )
        if level != "officer" and number >= 1:
            logger.info("Case %s escalated to the %s", case.reference, level)
        return messages

    def _text(
        self,
        case: Case,
        language: str,
        number: int,
        due: datetime,
        now: datetime,
        role: str,
        primary: Officer | None,
    ) -> str:
        def t(msgid: str, /, **params: object) -> str:
            return translate(language, msgid, **params)

        kind = t(KIND_LABELS[case.kind])
        waiting_for = (
            t("a first response")
            if case.status in _AWAITING_FIRST_RESPONSE
            else t("an update (no action for a while)")
        )
        if number == 0:
            head = t(
                "⏰ Reminder: {reference} ({kind}) needs {what} within {left}.",
                reference=case.reference,
                kind=kind,
                what=waiting_for,
                left=span(language, due - now),
            )
        else:
            head = t(
                "⚠️ Overdue by {late}: {reference} ({kind}) still needs {what}.",
                reference=case.reference,
                kind=kind,
                what=waiting_for,
                late=span(language, now - due),
            )
        lines = [f"<b>{head}</b>"]
        if case.priority == Priority.HIGH:
            lines.append(t("🔴 Collective case: handle it first."))
        if role == "backup":
            lines.append(
                t(
                    "You are the backup. {name} has not acted: please take the case over.",
                    name=primary.name if primary else "—",
                )
                if primary
                else t("You are the backup, and the primary officer is away: please take the case over.")
            )
        elif role == "admin":
            lines.append(t("Nobody has acted on this case. Please take it or reassign it."))
        return "\n".join(lines)


def _urgent(case: Case) -> bool:
    """Collective and urgent cases: shorter first response, and no waiting for the quiet hours."""
    return case.priority != Priority.NORMAL
