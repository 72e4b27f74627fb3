"""The figures unions report upward, for a period: cases received and resolved, first-response times,
the share handled on time, wages recovered, workers helped, new members.

Pure arithmetic over cases read from storage; the texts that show them live with their senders
(bot/digests.py for the Monday report).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from pydantic import BaseModel

from bot.config import SLAConfig
from bot.sla import first_response_due
from storage import Storage
from storage.models import OPEN_STATUSES, Case, CaseKind, CaseQuery, Outcome, Priority

ALL_CASES = 100_000  # a township union's cases in a period stay far below this


class PeriodFigures(BaseModel):
    start: datetime
    end: datetime
    new_by_kind: dict[CaseKind, int]
    collective: int  # new collective cases
    resolved: int
    overdue_now: int  # open cases past their deadline when the report was made
    first_response_median: timedelta | None  # of the period's cases that got one
    on_time: int  # of the period's cases whose first-response time has passed: answered in time
    on_time_counted: int
    wages_recovered: Decimal
    workers_helped: int
    new_members: int

    @property
    def new_total(self) -> int:
        return sum(self.new_by_kind.values())

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.on_time_counted if self.on_time_counted else None


async def period_figures(
    storage: Storage,
    sla: SLAConfig,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    officer_id: int | None = None,
) -> PeriodFigures:
    """Figures for cases filed or resolved in [start, end); ``officer_id`` limits them to one officer's."""
    created = await storage.find_cases(
        CaseQuery(officer_id=officer_id, created_from=start, created_before=end, limit=ALL_CASES)
    )
    resolved = await storage.find_cases(
        CaseQuery(officer_id=officer_id, resolved_from=start, resolved_before=end, limit=ALL_CASES)
    )
    overdue = await storage.find_cases(
        CaseQuery(officer_id=officer_id, statuses=OPEN_STATUSES, overdue_at=now, limit=ALL_CASES)
    )
    responses = [
        case.acknowledged_at - case.created_at for case in created if case.acknowledged_at is not None
    ]
    on_time, counted = _first_responses_on_time(created, sla, now)
    recovered = [case for case in resolved if case.amount_recovered is not None]
    return PeriodFigures(
        start=start,
        end=end,
        new_by_kind={kind: sum(1 for case in created if case.kind == kind) for kind in CaseKind},
        collective=sum(1 for case in created if case.priority == Priority.HIGH),
        resolved=len(resolved),
        overdue_now=len(overdue),
        first_response_median=median(responses) if responses else None,
        on_time=on_time,
        on_time_counted=counted,
        wages_recovered=sum((case.amount_recovered or Decimal(0) for case in recovered), Decimal(0)),
        workers_helped=sum(case.workers_helped or 0 for case in recovered),
        new_members=sum(1 for case in resolved if case.outcome == Outcome.MEMBERSHIP_APPROVED),
    )


def _first_responses_on_time(cases: list[Case], sla: SLAConfig, now: datetime) -> tuple[int, int]:
    """(answered in time, cases whose time is up or that were answered); withdrawn ones do not count."""
    on_time = counted = 0
    for case in cases:
        due = first_response_due(case.created_at, collective=case.priority != Priority.NORMAL, sla=sla)
        if case.acknowledged_at is not None:
            counted += 1
            on_time += case.acknowledged_at <= due
        elif due <= now and case.status in OPEN_STATUSES:
            counted += 1  # still waiting, and already late
    return on_time, counted
