"""Morning digests for officers and the Monday report for admins (每周一上报).

Each officer gets their open and overdue cases every morning at ``[digests] time`` (nothing when they
have none); on Mondays the admins also get last week's figures. Each send is recorded with its day or
week, in the same transaction that queues it, so a restart neither repeats nor loses one; a bot that was
down at 8:00 sends the day's digest when it comes back.
"""

from __future__ import annotations

import html
import logging
from datetime import date, datetime, timedelta

from bot.cases import notify
from bot.cases.vocabulary import KIND_LABELS, status_name_in
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import officer_language, translate
from bot.reports.figures import Period, period_figures
from bot.reports.text import report_text
from storage import Storage
from storage.models import (
    OPEN_STATUSES,
    Case,
    CaseQuery,
    Officer,
    OfficerRole,
    OutboxMessage,
    Priority,
)

logger = logging.getLogger(__name__)

DIGEST_LIMIT = 15  # cases listed by name; a phone screen, and the buttons, have room for no more
MONDAY = 0


class DigestSweep:
    def __init__(self, storage: Storage, config: Config, clock: Clock) -> None:
        self._storage = storage
        self._config = config
        self._clock = clock

    async def run(self) -> int:
        """Send what is due today and not sent yet; returns how many digests and reports were queued."""
        now = self._clock.now()
        zone = self._config.union.zone
        local = now.astimezone(zone)
        if local.time() < self._config.digests.time:
            return 0
        today = local.date()
        sent = 0
        officers = await self._storage.list_officers(active_only=True)
        for officer in officers:
            sent += await self._digest(officer, today, now)
        if today.weekday() == MONDAY:
            for admin in (officer for officer in officers if officer.role == OfficerRole.ADMIN):
                sent += await self._weekly_report(admin, today, now)
        return sent

    async def _digest(self, officer: Officer, today: date, now: datetime) -> int:
        period = today.isoformat()
        if await self._storage.has_scheduled_send("digest", officer.telegram_id, period):
            return 0
        cases = await self._storage.find_cases(
            CaseQuery(officer_id=officer.telegram_id, statuses=OPEN_STATUSES, limit=500)
        )
        overdue = {
            case.id
            for case in await self._storage.find_cases(
                CaseQuery(officer_id=officer.telegram_id, statuses=OPEN_STATUSES, overdue_at=now, limit=500)
            )
        }
        language = officer_language(officer, self._config.union.default_language)
        outbox = [digest_message(officer.telegram_id, language, cases, overdue, period)] if cases else []
        claimed = await self._storage.claim_scheduled_send(
            "digest", officer.telegram_id, period, outbox=outbox
        )
        return int(claimed and bool(outbox))

    async def _weekly_report(self, admin: Officer, today: date, now: datetime) -> int:
        period = f"{today.isocalendar().year}-W{today.isocalendar().week:02d}"
        if await self._storage.has_scheduled_send("weekly", admin.telegram_id, period):
            return 0
        zone = self._config.union.zone
        week = Period(first=today - timedelta(days=7), last=today - timedelta(days=1))
        figures = await period_figures(
            self._storage, self._config.sla, week.start(zone), week.end(zone), now=now
        )
        language = officer_language(admin, self._config.union.default_language)
        message = OutboxMessage(
            chat_id=admin.telegram_id,
            params={
                "text": report_text(figures, week, language, everyone=True, weekly=True),
                "parse_mode": "HTML",
            },
            dedupe_key=f"weekly:{admin.telegram_id}:{period}",
        )
        claimed = await self._storage.claim_scheduled_send(
            "weekly", admin.telegram_id, period, outbox=[message]
        )
        if claimed:
            logger.info("Weekly report for %s queued", period)
        return int(claimed)


def digest_message(
    chat_id: int, language: str, cases: list[Case], overdue: set[int], period: str
) -> OutboxMessage:
    """The morning list: most urgent first, with a button per case."""

    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    lines = [
        "<b>"
        + t(
            "☀️ Good morning. Your cases today: {open} open, {overdue} overdue.",
            open=len(cases),
            overdue=len(overdue),
        )
        + "</b>",
        "",
    ]
    ordered = sorted(
        cases, key=lambda case: (case.id not in overdue, case.priority == Priority.NORMAL, case.id)
    )
    shown = ordered[:DIGEST_LIMIT]
    for case in shown:
        marks = ("⚠️" if case.id in overdue else "") + ("🔴" if case.priority != Priority.NORMAL else "")
        lines.append(
            f"{marks}{' ' if marks else ''}<b>{html.escape(case.reference)}</b> · {t(KIND_LABELS[case.kind])}"
            f" · {status_name_in(language, case.status)}"
        )
    if len(cases) > len(shown):
        lines += ["", t("And {count} more: see /cases.", count=len(cases) - len(shown))]
    buttons = [
        {"text": case.reference, "callback_data": f"{notify.CASE_ACTION}show:{case.id}"} for case in shown
    ]
    return OutboxMessage(
        chat_id=chat_id,
        params={
            "text": "\n".join(lines),
            "parse_mode": "HTML",
            "reply_markup": {"inline_keyboard": [buttons[i : i + 3] for i in range(0, len(buttons), 3)]},
        },
        dedupe_key=f"digest:{chat_id}:{period}",
    )
