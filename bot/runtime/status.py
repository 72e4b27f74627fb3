"""How delivery stands: what admins see in /stats and what ``union-bot status`` prints for a health check.

Everything is read from SQLite, so the command works from another process while the bot runs: the
outbox's backlog, broadcasts still going out, the last update the bot handled, and what the running bot
writes about itself at every schedule sweep (when it last swept, since when Telegram has not answered).

Something is **stuck** when it has waited longer than ``[delivery] stuck_after``: a message not yet
delivered, a broadcast still going out, a bot that has not swept (not running, or hung), Telegram out of
reach. ``union-bot status`` then exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.config import Config
from bot.core.i18n import span
from storage import Storage
from storage.models import BroadcastReport, DeliveryBacklog

GIVEN_UP_WINDOW = timedelta(days=7)  # how far back "given up" is counted

# Keys of what the running bot writes about itself (storage's bot_status).
STATUS_LAST_SWEEP = "last_sweep_at"
STATUS_TELEGRAM_DOWN = "telegram_down_since"


async def note_running(storage: Storage, now: datetime, telegram_down_since: datetime | None) -> None:
    """The running bot's word, at every schedule sweep: it runs, and since when Telegram is silent."""
    await storage.set_bot_status(
        {
            STATUS_LAST_SWEEP: now.isoformat(),
            STATUS_TELEGRAM_DOWN: telegram_down_since.isoformat() if telegram_down_since else None,
        }
    )


@dataclass(frozen=True)
class StatusReport:
    """How delivery stands at ``now``: what `/stats` and `union-bot status` show."""

    now: datetime
    stuck_after: timedelta
    backlog: DeliveryBacklog
    last_sweep_at: datetime | None
    telegram_down_since: datetime | None
    last_update_at: datetime | None
    broadcasts: list[tuple[BroadcastReport, datetime]] = field(default_factory=list)  # (report, started)

    @property
    def problems(self) -> list[str]:
        """What is stuck, one line each (English, for the command line and its logs)."""
        limit = _span(self.stuck_after)
        found = []
        if self.last_sweep_at is None:
            found.append("the bot has never run against this database")
        elif self.now - self.last_sweep_at > self.stuck_after:
            found.append(f"the bot has not swept for {_span(self.now - self.last_sweep_at)} (not running?)")
        if self.telegram_down_since is not None and self.now - self.telegram_down_since > self.stuck_after:
            found.append(f"Telegram has not answered for {_span(self.now - self.telegram_down_since)}")
        if self.backlog.stuck:
            found.append(f"{self.backlog.stuck} message(s) waiting longer than {limit}")
        for report, started_at in self.broadcasts:
            if self.now - started_at > self.stuck_after:
                found.append(
                    f"broadcast #{report.broadcast_id} still has {report.pending} message(s) to send "
                    f"after {_span(self.now - started_at)}"
                )
        return found


async def read_status(storage: Storage, config: Config, now: datetime) -> StatusReport:
    stuck_after = config.delivery.stuck_after
    backlog = await storage.outbox_backlog(now, stuck_after=stuck_after, given_up_since=now - GIVEN_UP_WINDOW)
    written = await storage.bot_status()
    broadcasts = []
    for occurrence in await storage.unfinished_broadcast_occurrences():
        report = await storage.broadcast_report(occurrence.id)
        if report is not None:
            broadcasts.append((report, occurrence.started_at))
    return StatusReport(
        now=now,
        stuck_after=stuck_after,
        backlog=backlog,
        last_sweep_at=_moment(written.get(STATUS_LAST_SWEEP)),
        telegram_down_since=_moment(written.get(STATUS_TELEGRAM_DOWN)),
        last_update_at=await storage.last_update_processed_at(),
        broadcasts=broadcasts,
    )


def status_lines(status: StatusReport, config: Config) -> list[str]:
    """The health check's report, plain English: one fact a line, the verdict last."""
    zone = config.union.zone
    now = status.now

    def when(moment: datetime | None, missing: str) -> str:
        if moment is None:
            return missing
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S} ({_span(now - moment)} ago)"

    backlog = status.backlog
    lines = [
        f"bot: last sweep {when(status.last_sweep_at, 'never')}",
        "telegram: "
        + (
            "answering"
            if status.telegram_down_since is None
            else f"not answering since {when(status.telegram_down_since, '')}"
        ),
        f"last update handled: {when(status.last_update_at, 'none in the last week')}",
        f"outbox: {backlog.waiting} waiting"
        + (f", oldest queued {when(backlog.oldest_queued_at, '')}" if backlog.oldest_queued_at else "")
        + f"; {backlog.stuck} stuck (waiting longer than {_span(status.stuck_after)});"
        + f" {backlog.given_up} given up in the last {GIVEN_UP_WINDOW.days} days",
    ]
    if not status.broadcasts:
        lines.append("broadcasts in flight: none")
    for report, started_at in status.broadcasts:
        lines.append(
            f"broadcast #{report.broadcast_id} in flight since {when(started_at, '')}: {report.sent} sent, "
            f"{report.pending} to send, {report.blocked} blocked, {report.failed} failed"
        )
    problems = status.problems
    lines.append("status: OK" if not problems else "status: STUCK: " + "; ".join(problems))
    return lines


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _span(duration: timedelta) -> str:
    """A length of time for the operator, in English: the one formatter, to the second."""
    return span("en", max(duration, timedelta(0)), to_the_second=True)
