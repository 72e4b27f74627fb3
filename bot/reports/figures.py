"""The figures unions report upward, for a period: cases received and resolved, first-response and
resolution times, the share handled on time, wages recovered, workers helped, new members, hardship
assistance granted, trainings held and workers trained; and the same per week and per month for the charts.

Pure arithmetic over cases read from storage; the texts that show them live with their senders
(bot/digests.py for the Monday report, bot/reporting.py for /stats and /report), the pictures in
bot/charts.py.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from statistics import median
from typing import TypeVar, cast

from pydantic import BaseModel, ConfigDict

from bot.cases.sla import first_response_due
from bot.core.config import SLAConfig
from bot.core.dates import parse_date as parse_date  # the /report command and the CLI read periods with it
from storage import Storage
from storage.models import (
    OPEN_STATUSES,
    Case,
    CaseKind,
    CaseQuery,
    CaseStatus,
    Outcome,
    Priority,
    SignupStatus,
    Training,
    TrainingSignup,
)

_T = TypeVar("_T")
_K = TypeVar("_K")

# statistics.median sorts and averages the middle two, which timedeltas can do; its stub takes numbers only.
_median_duration = cast(Callable[[Sequence[timedelta]], timedelta], median)

ALL_CASES = 100_000  # a township union's cases in a period stay far below this
MAX_REPORT_DAYS = 366  # a report covers at most a year: the year-end report

REFERRALS = frozenset(
    {
        Outcome.REFERRED_INSPECTION,
        Outcome.REFERRED_ARBITRATION,
        Outcome.REFERRED_COURT,
        Outcome.REFERRED_LEGAL_AID,
    }
)

# How many workers a broadcast reached in [start, end): None while nothing records it. The broadcasts'
# storage is being written elsewhere; until it exists every caller passes nothing and gets None.
BroadcastReach = Callable[[datetime, datetime], Awaitable[int | None]]


async def no_broadcast_reach(start: datetime, end: datetime) -> int | None:
    """The broadcast-reach hook while no broadcast data exists: nothing to count."""
    return None


# -- periods ------------------------------------------------------------------------------------------


class Period(BaseModel):
    """Whole days in the union's time zone, ``first`` to ``last`` inclusive."""

    model_config = ConfigDict(frozen=True)

    first: date
    last: date

    def start(self, zone: tzinfo) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=zone)

    def end(self, zone: tzinfo) -> datetime:
        """The moment after the period: midnight after its last day (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def token(self) -> str:
        """``20260101-20260331``: short enough for a button's data."""
        return f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"


# The periods offered as buttons: this and the previous week, month and year (up to today).
NAMED_PERIODS = ("w0", "w1", "m0", "m1", "y0", "y1")
_TOKEN = re.compile(r"^(\d{8})-(\d{8})$")


def named_period(name: str, today: date) -> Period:
    """``w0`` this week (Monday to today), ``w1`` last week; ``m0``/``m1`` months, ``y0``/``y1`` years."""
    if name == "w0":
        return Period(first=today - timedelta(days=today.weekday()), last=today)
    if name == "w1":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(first=monday, last=monday + timedelta(days=6))
    if name == "m0":
        return Period(first=today.replace(day=1), last=today)
    if name == "m1":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(first=last.replace(day=1), last=last)
    if name == "y0":
        return Period(first=date(today.year, 1, 1), last=today)
    if name == "y1":
        return Period(first=date(today.year - 1, 1, 1), last=date(today.year - 1, 12, 31))
    raise ValueError(f"unknown period {name!r}")


def period_from_token(token: str, today: date) -> Period | None:
    """A named period or ``YYYYMMDD-YYYYMMDD``; None if the token is neither (forged or stale data)."""
    if token in NAMED_PERIODS:
        return named_period(token, today)
    match = _TOKEN.match(token)
    if match is None:
        return None
    try:
        first, last = (datetime.strptime(part, "%Y%m%d").date() for part in match.groups())
    except ValueError:
        return None
    return Period(first=first, last=last) if first <= last else None


# -- figures ------------------------------------------------------------------------------------------


class PeriodFigures(BaseModel):
    start: datetime
    end: datetime
    new_by_kind: dict[CaseKind, int]
    by_status: dict[CaseStatus, int]  # the period's new cases, by the status they have now
    collective: int  # new collective cases
    resolved: int
    referred: int  # of the resolved: passed to labour inspection, arbitration, court or legal aid
    overdue_now: int  # open cases past their deadline when the report was made
    first_response_median: timedelta | None  # of the period's cases that got one
    resolution_median: timedelta | None  # received to resolved, of the cases resolved in the period
    on_time: int  # of the period's cases whose first-response time has passed: answered in time
    on_time_counted: int
    wages_recovered: Decimal
    workers_helped: int
    new_members: int
    new_members_by_trade: dict[str, int]  # trade (flows.join.Trade value) -> members, most first
    new_members_by_month: dict[str, int]  # "2026-01" (in the union's time zone) -> members
    broadcast_reach: int | None  # None: not recorded (see BroadcastReach)
    assistance: AssistanceFigures
    trainings: TrainingFigures | None  # the union's trainings; None in one officer's report

    @property
    def new_total(self) -> int:
        return sum(self.new_by_kind.values())

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.on_time_counted if self.on_time_counted else None


class AssistanceFigures(BaseModel):
    """Hardship assistance (帮扶) decided in the period: the applications resolved, by decision."""

    granted: int = 0
    amount_granted: Decimal = Decimal(0)
    not_eligible: int = 0
    referred_upward: int = 0  # to the federation, which decides larger grants


class TrainingFigures(BaseModel):
    """Trainings that started in the period (cancelled ones do not count), for the year-end summary."""

    held: int = 0
    signed_up: int = 0  # seats taken (the waiting list and cancelled sign-ups do not count)
    attended: int = 0  # sign-ups marked as attended
    workers_trained: int = 0  # different workers who attended at least one
    trained_by_trade: dict[
        str, int
    ] = {}  # the worker's trade (flows.join.Trade value, "" unknown), most first
    trained_by_month: dict[str, int] = {}  # "2026-01" -> attendances that month
    upcoming: int = 0  # trainings of the period still to start
    upcoming_signed_up: int = 0


class WeekFigures(BaseModel):
    monday: date  # the week's Monday (the first week of a period may start later)
    new_by_kind: dict[CaseKind, int]
    on_time: int
    on_time_counted: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.on_time_counted if self.on_time_counted else None


class MonthFigures(BaseModel):
    month: date  # its first day
    wages_recovered: Decimal
    workers_helped: int


class PeriodSeries(BaseModel):
    """The period week by week and month by month (in the union's time zone), for the charts."""

    weeks: list[WeekFigures]
    months: list[MonthFigures]


async def _cases(
    storage: Storage, start: datetime, end: datetime, officer_id: int | None
) -> tuple[list[Case], list[Case]]:
    """(cases received in [start, end), cases resolved in it)."""
    created = await storage.find_cases(
        CaseQuery(officer_id=officer_id, created_from=start, created_before=end, limit=ALL_CASES)
    )
    resolved = await storage.find_cases(
        CaseQuery(officer_id=officer_id, resolved_from=start, resolved_before=end, limit=ALL_CASES)
    )
    return created, resolved


async def period_figures(
    storage: Storage,
    sla: SLAConfig,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    officer_id: int | None = None,
    zone: tzinfo = UTC,
    broadcast_reach: BroadcastReach = no_broadcast_reach,
) -> PeriodFigures:
    """Figures for cases filed or resolved in [start, end); ``officer_id`` limits them to one officer's.

    ``zone`` is the union's time zone (new members are counted by its months); ``broadcast_reach``
    counts the workers broadcasts reached in the period, when something records that.
    """
    created, resolved = await _cases(storage, start, end, officer_id)
    overdue = await storage.find_cases(
        CaseQuery(officer_id=officer_id, statuses=OPEN_STATUSES, overdue_at=now, limit=ALL_CASES)
    )
    responses = [
        case.acknowledged_at - case.created_at for case in created if case.acknowledged_at is not None
    ]
    durations = [case.resolved_at - case.created_at for case in resolved if case.resolved_at is not None]
    on_time, counted = _first_responses_on_time(created, sla, now)
    recovered = [case for case in resolved if case.amount_recovered is not None]
    members = [case for case in resolved if case.outcome == Outcome.MEMBERSHIP_APPROVED]
    return PeriodFigures(
        start=start,
        end=end,
        new_by_kind={kind: sum(1 for case in created if case.kind == kind) for kind in CaseKind},
        by_status=_count_by(created, lambda case: case.status, order=list(CaseStatus)),
        collective=sum(1 for case in created if case.priority == Priority.HIGH),
        resolved=len(resolved),
        referred=sum(1 for case in resolved if case.outcome in REFERRALS),
        overdue_now=len(overdue),
        first_response_median=_median_duration(responses) if responses else None,
        resolution_median=_median_duration(durations) if durations else None,
        on_time=on_time,
        on_time_counted=counted,
        wages_recovered=sum((case.amount_recovered or Decimal(0) for case in recovered), Decimal(0)),
        workers_helped=sum(case.workers_helped or 0 for case in recovered),
        new_members=len(members),
        new_members_by_trade=_most_first(_count_by(members, lambda case: str(case.fields.get("trade", "")))),
        new_members_by_month=_count_by(
            sorted(members, key=lambda case: case.resolved_at or case.created_at),
            lambda case: f"{_local(case.resolved_at or case.created_at, zone):%Y-%m}",
        ),
        broadcast_reach=await broadcast_reach(start, end),
        assistance=_assistance_figures(resolved),
        trainings=await training_figures(storage, start, end, now=now, zone=zone)
        if officer_id is None
        else None,
    )


def _assistance_figures(resolved: list[Case]) -> AssistanceFigures:
    decided = [case for case in resolved if case.kind == CaseKind.ASSISTANCE]
    granted = [case for case in decided if case.outcome == Outcome.GRANTED]
    return AssistanceFigures(
        granted=len(granted),
        amount_granted=sum((case.amount_granted or Decimal(0) for case in granted), Decimal(0)),
        not_eligible=sum(1 for case in decided if case.outcome == Outcome.NOT_ELIGIBLE),
        referred_upward=sum(1 for case in decided if case.outcome == Outcome.REFERRED_UPWARD),
    )


async def trainings_between(
    storage: Storage, start: datetime, end: datetime
) -> list[tuple[Training, list[TrainingSignup]]]:
    """The trainings, not called off, that start in [start, end), earliest first, each with its sign-ups
    (seats, then the waiting list, then cancelled ones): three queries, however many trainings."""
    # list_trainings counts from just after a moment; a training at the period's first midnight belongs to it.
    trainings = await storage.list_trainings(
        starting_after=start - timedelta(microseconds=1), limit=ALL_CASES
    )
    signups: dict[int, list[TrainingSignup]] = {}
    for item in await storage.list_signups_starting_between(start, end):
        signups.setdefault(item.training.id, []).append(item.signup)
    return [
        (training, signups.get(training.id, []))
        for training in sorted(trainings, key=lambda training: (training.starts_at, training.id))
        if start <= training.starts_at < end
    ]


async def training_figures(
    storage: Storage, start: datetime, end: datetime, *, now: datetime, zone: tzinfo
) -> TrainingFigures:
    """Trainings held in [start, end) and who came; those not started yet are counted apart."""
    figures = TrainingFigures()
    # Workers, not attendances: one who came to three classes in March is one worker trained in March.
    by_trade: dict[str, set[int]] = {}
    by_month: dict[str, set[int]] = {}
    trades: dict[int, str] = {}
    for training, signups in await trainings_between(storage, start, end):
        seated = [signup for signup in signups if signup.status == SignupStatus.CONFIRMED]
        if training.starts_at > now:
            figures.upcoming += 1
            figures.upcoming_signed_up += len(seated)
            continue
        figures.held += 1
        figures.signed_up += len(seated)
        month = f"{training.starts_at.astimezone(zone):%Y-%m}"
        for signup in seated:
            if not signup.attended:
                continue
            figures.attended += 1
            if signup.worker_id not in trades:
                worker = await storage.get_worker(signup.worker_id)
                trades[signup.worker_id] = str(worker.profile.get("trade") or "") if worker else ""
            by_trade.setdefault(trades[signup.worker_id], set()).add(signup.worker_id)
            by_month.setdefault(month, set()).add(signup.worker_id)
    figures.workers_trained = len(trades)
    figures.trained_by_trade = _most_first({trade: len(workers) for trade, workers in by_trade.items()})
    figures.trained_by_month = {month: len(workers) for month, workers in by_month.items()}
    return figures


async def period_series(
    storage: Storage,
    sla: SLAConfig,
    period: Period,
    *,
    now: datetime,
    zone: tzinfo,
    officer_id: int | None = None,
) -> PeriodSeries:
    """Cases received and handled on time per week, wages recovered per month, over ``period``."""
    created, resolved = await _cases(storage, period.start(zone), period.end(zone), officer_id)
    weeks = []
    monday = period.first - timedelta(days=period.first.weekday())
    while monday <= period.last:
        in_week = [case for case in created if _monday(_local(case.created_at, zone)) == monday]
        on_time, counted = _first_responses_on_time(in_week, sla, now)
        weeks.append(
            WeekFigures(
                monday=monday,
                new_by_kind={kind: sum(1 for case in in_week if case.kind == kind) for kind in CaseKind},
                on_time=on_time,
                on_time_counted=counted,
            )
        )
        monday += timedelta(days=7)
    months = []
    month = period.first.replace(day=1)
    while month <= period.last:
        in_month = [
            case
            for case in resolved
            if case.amount_recovered is not None
            and case.resolved_at is not None
            and _local(case.resolved_at, zone).replace(day=1) == month
        ]
        months.append(
            MonthFigures(
                month=month,
                wages_recovered=sum((case.amount_recovered or Decimal(0) for case in in_month), Decimal(0)),
                workers_helped=sum(case.workers_helped or 0 for case in in_month),
            )
        )
        month = (month + timedelta(days=32)).replace(day=1)
    return PeriodSeries(weeks=weeks, months=months)


def _local(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _count_by(items: list[_T], key: Callable[[_T], _K], *, order: list[_K] | None = None) -> dict[_K, int]:
    counts: dict[_K, int] = {}
    for item in items:
        counts[key(item)] = counts.get(key(item), 0) + 1
    if order is not None:
        return {value: counts[value] for value in order if value in counts}
    return counts


def _most_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _first_responses_on_time(cases: list[Case], sla: SLAConfig, now: datetime) -> tuple[int, int]:
    """(answered in time, cases whose time is up or that were answered); withdrawn ones do not count."""
    on_time = counted = 0
    for case in cases:
        due = first_response_due(
            case.created_at, collective=case.priority != Priority.NORMAL, sla=sla, kind=case.kind
        )
        if case.acknowledged_at is not None:
            counted += 1
            on_time += case.acknowledged_at <= due
        elif due <= now and case.status in OPEN_STATUSES:
            counted += 1  # still waiting, and already late
    return on_time, counted
