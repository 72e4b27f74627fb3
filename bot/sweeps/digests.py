"""Morning digests for officers and the Monday report for admins (每周一上报).

Each officer gets their open and overdue cases every morning at ``[digests] time``, and the hardship plans
they are responsible for whose review date has come (一人一档, bot/officers/workerfile.py), until a new
date is set (nothing when they have neither); on Mondays the admins also get last week's figures. Each
send is recorded with its day or week, in the same transaction that queues it, so a restart neither
repeats nor loses one; a bot that was down at 8:00 sends the day's digest when it comes back.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.cases import notify
from bot.cases.access import may_handle
from bot.cases.vocabulary import KIND_LABELS, status_name_in
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import officer_language, translate, translate_plural
from bot.officers.casework import WORKER_FILE
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
    WorkerPlan,
)

logger = logging.getLogger(__name__)

DIGEST_LIMIT = 15  # cases listed by name; a phone screen, and the buttons, have room for no more
REVIEW_LIMIT = 10  # plans due for review listed by name, below the cases
NAME_LIMIT = 40  # a worker's name as the digest shows it
MONDAY = 0


@dataclass(frozen=True)
class DueReview:
    """A hardship plan whose review date has come, as the responsible officer's digest lists it."""

    worker_name: str
    case_id: int | None  # one of the worker's cases, to open their file with (None: none is left)
    reference: str | None
    review_on: date


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
        plans = await self._storage.due_plan_reviews(today, responsible_id=officer.telegram_id)
        reviews = await self._due_reviews(officer, plans[:REVIEW_LIMIT])
        language = officer_language(officer, self._config.union.default_language)
        outbox = (
            [
                digest_message(
                    officer.telegram_id,
                    language,
                    cases,
                    overdue,
                    period,
                    reviews=reviews,
                    reviews_due=len(plans),
                )
            ]
            if cases or reviews
            else []
        )
        claimed = await self._storage.claim_scheduled_send(
            "digest", officer.telegram_id, period, outbox=outbox
        )
        return int(claimed and bool(outbox))

    async def _due_reviews(self, officer: Officer, plans: Sequence[WorkerPlan]) -> list[DueReview]:
        """The plans due for review with their worker's name and a case of theirs (one the officer
        handles, if any) to open the file with."""
        reviews = []
        for plan in plans:
            worker = await self._storage.get_worker(plan.worker_id)
            profile = worker.profile if worker is not None else {}
            cases = await self._storage.list_cases_for_worker(plan.worker_id)
            case = next((case for case in cases if may_handle(officer, case)), cases[0] if cases else None)
            assert plan.review_on is not None  # due_plan_reviews returns dated plans only
            reviews.append(
                DueReview(
                    worker_name=str(profile.get("name") or profile.get("telegram_name") or ""),
                    case_id=case.id if case is not None else None,
                    reference=case.reference if case is not None else None,
                    review_on=plan.review_on,
                )
            )
        return reviews

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
    chat_id: int,
    language: str,
    cases: list[Case],
    overdue: set[int],
    period: str,
    *,
    reviews: Sequence[DueReview] = (),
    reviews_due: int = 0,
) -> OutboxMessage:
    """The morning list: most urgent first, with a button per case; then the plans due for review."""

    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    if cases or not reviews:
        greeting = t(
            "☀️ Good morning. Your cases today: {open} open, {overdue} overdue.",
            open=len(cases),
            overdue=len(overdue),
        )
    else:
        greeting = t("☀️ Good morning.")
    lines = ["<b>" + greeting + "</b>", ""]
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
    if reviews:
        lines += _review_lines(language, reviews, max(reviews_due, len(reviews)), after_cases=bool(cases))
        buttons += [
            {"text": f"📁 {review.reference}", "callback_data": f"{WORKER_FILE}{review.case_id}"}
            for review in reviews
            if review.case_id is not None
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


def _review_lines(language: str, reviews: Sequence[DueReview], due: int, *, after_cases: bool) -> list[str]:
    """The plans due for review (动态管理): worker, the case number that opens their file, the date."""
    lines = [""] if after_cases else []
    lines.append(
        "<b>"
        + translate_plural(
            language, "📁 {count} hardship plan to review:", "📁 {count} hardship plans to review:", due
        )
        + "</b>"
    )
    for review in reviews:
        name = (
            review.worker_name
            if len(review.worker_name) <= NAME_LIMIT
            else review.worker_name[: NAME_LIMIT - 1] + "…"
        )
        lines.append(
            " · ".join(
                [
                    html.escape(name, quote=False) or "—",
                    f"<b>{html.escape(review.reference)}</b>" if review.reference else "—",
                    translate(language, "review on {date}", date=review.review_on.isoformat()),
                ]
            )
        )
    if due > len(reviews):
        lines.append(
            translate(
                language,
                "And {count} more: each comes up here until its plan gets a new review date.",
                count=due - len(reviews),
            )
        )
    return lines
