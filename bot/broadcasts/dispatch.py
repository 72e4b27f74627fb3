"""Broadcasts: news from the union to many workers, on a schedule, within Telegram's limits.

What is due lives in SQLite (storage: broadcasts, their occurrences and one delivery row per worker),
so a restart loses nothing and adds nothing: a sweep (the "broadcast-sweep" job, bot/app.py) starts
each due occurrence by writing all its delivery rows in one transaction, then sends the pending rows
one at a time and records each result as soon as Telegram answers.

Pacing. Every message the bot sends goes through the application's AIORateLimiter (bot/app.py: 25 a
second overall, Telegram allows about 30). A broadcast is paced on top of that by :class:`Pacer`, at
``[broadcast] messages_per_second`` but never above the limiter's rate, evenly spaced with no bursts.
The sender has one request in flight at a time, so in the limiter's queue it is one waiter among
others: an alert or a reply to an officer waits at most for the broadcast message ahead of it, and the
broadcast slows down by what the others send. Everything together stays under the limiter's rate.

Telegram's refusals follow the one delivery policy of bot/delivery.py, as the outbox does:

- 429 "retry after": the limiter first waits and retries (pausing every request); if it still fails,
  the whole broadcast pauses for the time Telegram asked, and that row is tried again after it;
- 403: the worker blocked the bot, so they are flagged and never tried again (until they come back, see
  flows/subscription.py);
- 400: the row fails at once, with Telegram's reason;
- a passing failure (5xx, a timeout) puts that row aside until its retry is due, and the broadcast goes
  on with the next worker: one worker's trouble holds up nobody. Failures in a row pause the broadcast a
  little longer each time (at most a minute), so an outage costs one probe a minute, not ten thousand
  failed sends. A row still failing ``[delivery] give_up_after`` after the occurrence started is given
  up; the report to the admins counts it as failed.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.broadcasts.schedule import describe, first_run, next_run
from bot.cases.vocabulary import TRADE_LABELS, Trade
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.dates import local_time
from bot.core.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    NP_,
    OFFICERS,
    labelled,
    officer_language,
    translate,
    translate_in,
)
from bot.runtime.botapi import UnionBot
from bot.runtime.delivery import FailureKind, backoff, failure_of
from flows.subscription import ATTEND
from flows.training import SIGN_UP
from storage import Storage
from storage.models import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastDelivery,
    BroadcastOccurrence,
    BroadcastReport,
    BroadcastStatus,
    MediaKind,
    NewBroadcast,
    OfficerRole,
    OutboxMessage,
    Schedule,
)

logger = logging.getLogger(__name__)


# Visible characters an admin may write: Telegram takes 4096 in a message and 1024 under a photo or
# document, and the union's name and the /unsubscribe line are added around the text.
TEXT_LIMIT = 3500
CAPTION_LIMIT = 800

LONGEST_PAUSE = timedelta(minutes=1)  # between probes while sends keep failing (an outage)
BATCH = 50  # rows read at a time: memory stays flat however many workers there are

AUDIENCE_LABELS: dict[AudienceKind, str] = {
    AudienceKind.EVERYONE: NP_("officers", "Everyone"),
    AudienceKind.MEMBERS: NP_("officers", "Union members"),
    AudienceKind.LANGUAGE: NP_("officers", "By language"),
    AudienceKind.TRADE: NP_("officers", "By trade"),
    AudienceKind.REGION: NP_("officers", "By township or district"),
    AudienceKind.OPEN_CASE: NP_("officers", "Workers with an open case"),
}

Sleep = Callable[[float], Awaitable[None]]


# -- what a worker sees ----------------------------------------------------------------------------


def text_for(texts: dict[str, str], language: str, default_language: str) -> str:
    """The worker's language, else the union's default, else whatever was written."""
    return texts.get(language) or texts.get(default_language) or next(iter(texts.values()))


def render(
    *,
    texts: dict[str, str],
    media_kind: MediaKind | None,
    media_file_id: str | None,
    attend_button: bool,
    language: str,
    default_language: str,
    union_name: str,
    attend_data: str,
    signup_data: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The Bot API call (method, parameters without chat_id) that shows one worker the broadcast.

    The sender and the admin's preview both use this, so the preview is exactly what workers get.
    A training's announcement (``signup_data``) carries its sign-up button instead of "I will attend":
    signing up holds a seat, which a mere "I will attend" count cannot.
    """
    body = "\n\n".join(
        (
            f"📢 <b>{html.escape(union_name, quote=False)}</b>",
            text_for(texts, language, default_language),
            "<i>" + translate(language, "Do not want news from the union? Send /unsubscribe") + "</i>",
        )
    )
    params: dict[str, Any] = {"parse_mode": ParseMode.HTML.value}
    if signup_data is not None:
        label = translate(language, "✍️ Sign up")
        params["reply_markup"] = {"inline_keyboard": [[{"text": label, "callback_data": signup_data}]]}
    elif attend_button:
        label = translate(language, "✋ I will attend")
        params["reply_markup"] = {"inline_keyboard": [[{"text": label, "callback_data": attend_data}]]}
    if media_kind is None:
        return "sendMessage", {"text": body, **params}
    assert media_file_id is not None
    method = "sendPhoto" if media_kind == MediaKind.PHOTO else "sendDocument"
    return method, {media_kind.value: media_file_id, "caption": body, **params}


def plain_snippet(text: str, limit: int = 60) -> str:
    """The start of a stored (HTML) text as plain text, for lists and reports."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def audience_label(audience: Audience, language: str) -> str:
    """``Everyone``, ``By trade: Construction``... in the reader's language."""
    label = translate_in(OFFICERS, language, AUDIENCE_LABELS[audience.kind])
    value = audience.value
    if value is None:
        return label
    if audience.kind == AudienceKind.LANGUAGE:
        value = LANGUAGE_NAMES.get(value, value)
    elif audience.kind == AudienceKind.TRADE and value in set(Trade):
        value = translate(language, TRADE_LABELS[Trade(value)])
    return str(labelled(language, label, value))  # plain text: callers escape it for HTML


# -- creating, listing, cancelling (the bot's /broadcast and the command line share these) ---------


async def create(
    storage: Storage,
    config: Config,
    clock: Clock,
    *,
    created_by: int | None,
    texts: dict[str, str],
    audience: Audience,
    schedule: Schedule,
    attend_button: bool = False,
    media_kind: MediaKind | None = None,
    media_file_id: str | None = None,
) -> Broadcast:
    """Store a broadcast (texts are HTML); it goes out at the next sweep once due.

    ValueError when the default language's text is missing or a text is too long.
    """
    default = config.union.default_language
    if not texts.get(default):
        raise ValueError(f"the text in the default language ({default}) is required")
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown language {unknown[0]!r} (use {', '.join(LANGUAGES)})")
    limit = TEXT_LIMIT if media_kind is None else CAPTION_LIMIT
    for language, text in texts.items():
        if len(plain_text(text)) > limit:
            raise ValueError(f"the {language} text is longer than {limit} characters")
    return await storage.create_broadcast(
        NewBroadcast(
            created_by=created_by,
            texts=texts,
            media_kind=media_kind,
            media_file_id=media_file_id,
            audience=audience,
            schedule=schedule,
            attend_button=attend_button,
            next_run_at=first_run(schedule, config.union.zone, clock.now()),
        )
    )


def plain_text(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def parse_audience(text: str) -> Audience:
    """``everyone``, ``members``, ``open-case``, ``language:en``, ``trade:construction``, ``region:TEXT``."""
    kind, _, value = text.strip().partition(":")
    usage = "use everyone, members, open-case, language:CODE, trade:NAME or region:TEXT"
    try:
        audience = Audience(kind=AudienceKind(kind.strip().lower()), value=value.strip() or None)
    except ValueError:
        raise ValueError(f"audience {text!r}: {usage}") from None
    if audience.kind == AudienceKind.LANGUAGE and audience.value not in LANGUAGES:
        raise ValueError(f"audience {text!r}: the language is one of {', '.join(LANGUAGES)}")
    if audience.kind == AudienceKind.TRADE and audience.value not in set(Trade):
        raise ValueError(f"audience {text!r}: the trade is one of {', '.join(Trade)}")
    return audience


def summary_line(broadcast: Broadcast, report: BroadcastReport | None, config: Config, language: str) -> str:
    """One broadcast in a list (plain text, HTML-escaped): number, state, when, audience, the text."""
    zone = config.union.zone
    state = translate_in(OFFICERS, language, STATUS_LABELS[broadcast.status])
    parts = [
        f"#{broadcast.id}",
        state,
        html.escape(describe(broadcast.schedule, zone, language), quote=False),
        html.escape(audience_label(broadcast.audience, language), quote=False),
    ]
    line = " · ".join(parts)
    text = plain_snippet(text_for(broadcast.texts, language, config.union.default_language), 40)
    line += "\n  " + translate(language, "“{text}”", text=text)
    if broadcast.next_run_at is not None:
        when = local_time(broadcast.next_run_at, zone)
        line += "\n  " + translate_in("officers", language, "Next: {when}", when=when)
    if report is not None:
        line += "\n  " + report_counts(report, language, attend=broadcast.attend_button)
    return line


STATUS_LABELS: dict[BroadcastStatus, str] = {
    BroadcastStatus.SCHEDULED: NP_("officers", "scheduled"),
    BroadcastStatus.SENDING: NP_("officers", "sending"),
    BroadcastStatus.DONE: NP_("officers", "done"),
    BroadcastStatus.CANCELLED: NP_("officers", "cancelled"),
}


def report_counts(report: BroadcastReport, language: str, *, attend: bool) -> str:
    text = translate_in(
        "officers",
        language,
        "Sent: {sent} · blocked the bot: {blocked} · failed: {failed} · skipped: {skipped}",
        sent=report.sent,
        blocked=report.blocked,
        failed=report.failed,
        skipped=report.skipped,
    )
    if report.pending:
        text += " · " + translate_in("officers", language, "still to send: {count}", count=report.pending)
    if attend:
        text += " · " + translate_in("officers", language, "will attend: {count}", count=report.attending)
    return text


# -- delivery --------------------------------------------------------------------------------------


class Pacer:
    """At most ``rate`` sends a second, evenly spaced; :meth:`pause` holds every send back.

    Time is injectable (``monotonic``, ``sleep``) so tests check the pacing without waiting. After a
    late wake-up the next send may follow at once, but never more than one interval is caught up: in
    any second at most ``rate + 1`` messages go out.
    """

    def __init__(
        self, rate: float, *, monotonic: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.interval = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: float | None = None  # the earliest moment of the next send

    async def wait_turn(self) -> None:
        now = self._monotonic()
        if self._next is None:
            self._next = now
        if now < self._next:
            await self._sleep(self._next - now)
            now = self._monotonic()
        # Late (a slow request, a late wake-up): catch up at most one interval, never burst.
        self._next = max(self._next, now - self.interval) + self.interval

    def pause(self, seconds: float) -> None:
        self._next = max(self._next or float("-inf"), self._monotonic() + seconds)


class BroadcastDispatcher:
    """Starts due occurrences and delivers them; one sweep at a time, one message in flight at a time."""

    def __init__(
        self,
        storage: Storage,
        bot: UnionBot,
        clock: Clock,
        config: Config,
        *,
        rate: float,
        on_report: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        batch: int = BATCH,
    ) -> None:
        self._storage = storage
        self._bot = bot
        self._clock = clock
        self._config = config
        self._pacer = Pacer(rate, monotonic=monotonic, sleep=sleep)
        self._on_report = on_report
        self._batch = batch
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failures_in_a_row = 0  # passing failures since the last message Telegram took

    # -- running in the background ----------------------------------------------------------------

    def wake(self) -> None:
        """Sweep in the background now, unless a sweep is already running (it picks up new work)."""
        if self._closing or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.create_task(self._sweep_logged(), name="broadcasts:sweep")

    async def _sweep_logged(self) -> None:
        try:
            await self.sweep()
        except Exception:
            logger.exception("Broadcast sweep failed; the next sweep tries again")

    async def close(self, *, grace: float = 3.0) -> None:
        """Stop after the message in flight (given ``grace`` seconds; then cancelled, as a crash would)."""
        self._closing = True
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- the sweep --------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Start what is due and deliver every unfinished occurrence's due rows; returns messages sent.

        Rows waiting for a retry are left for a later sweep (every few seconds, bot/app.py); an
        occurrence finishes once none of its rows is pending any more.
        """
        sent = 0
        async with self._lock:
            progress = True
            while progress and not self._closing:
                await self._start_due()
                progress = False
                for occurrence in await self._storage.unfinished_broadcast_occurrences():
                    tried, delivered = await self._deliver_occurrence(occurrence)
                    sent += delivered
                    progress |= tried > 0
        return sent

    async def _start_due(self) -> None:
        now = self._clock.now()
        zone = self._config.union.zone
        for broadcast in await self._storage.due_broadcasts(now):
            assert broadcast.next_run_at is not None  # due means it has one
            # A recurring broadcast missed while the bot was down goes out once, late; the next one is
            # planned after now, so no backlog of old weeks follows it.
            following = next_run(broadcast.schedule, zone, after=max(broadcast.next_run_at, now))
            occurrence = await self._storage.start_broadcast_occurrence(
                broadcast.id,
                run_at=broadcast.next_run_at,
                next_run_at=following,
                default_language=self._config.union.default_language,
            )
            if occurrence is not None:
                logger.info("Broadcast %s: occurrence %s started", broadcast.id, occurrence.id)

    async def _deliver_occurrence(self, occurrence: BroadcastOccurrence) -> tuple[int, int]:
        """Send the occurrence's rows that are due: (rows tried, messages sent)."""
        broadcast = await self._storage.get_broadcast(occurrence.broadcast_id)
        assert broadcast is not None  # occurrences reference their broadcast
        tried = sent = 0
        while not self._closing:
            rows = await self._storage.pending_broadcast_deliveries(
                occurrence.id, limit=self._batch, now=self._clock.now()
            )
            if not rows:
                break
            for row in rows:
                if self._closing:
                    break
                tried += 1
                sent += await self._deliver(broadcast, occurrence, row) == _SENT
        if not self._closing and not await self._storage.pending_broadcast_deliveries(occurrence.id, limit=1):
            await self._finish(broadcast, occurrence)
        return tried, sent

    async def _deliver(
        self, broadcast: Broadcast, occurrence: BroadcastOccurrence, row: BroadcastDelivery
    ) -> str:
        storage = self._storage
        if row.opted_out or row.blocked:  # changed since the row was written
            await storage.mark_delivery_skipped(row.id, reason="unsubscribed" if row.opted_out else "blocked")
            return _DONE
        default = self._config.union.default_language
        language = row.language if row.language in LANGUAGES else default
        method, params = render(
            texts=broadcast.texts,
            media_kind=broadcast.media_kind,
            media_file_id=broadcast.media_file_id,
            attend_button=broadcast.attend_button,
            language=language,
            default_language=default,
            union_name=self._config.union.name_in(language),
            attend_data=f"{ATTEND}{occurrence.id}",
            signup_data=None if broadcast.training_id is None else f"{SIGN_UP}{broadcast.training_id}",
        )
        await self._pacer.wait_turn()
        try:
            await self._bot.call_stored(method, {"chat_id": row.worker_id, **params})
        except TelegramError as error:
            return await self._failed(broadcast, occurrence, row, error)
        # Recorded the moment Telegram accepted it. A crash before this line is the only way a worker
        # gets a broadcast twice: the restart sends again at most this one message, the one in flight.
        await storage.mark_delivery_sent(row.id)
        self._failures_in_a_row = 0
        return _SENT

    async def _failed(
        self,
        broadcast: Broadcast,
        occurrence: BroadcastOccurrence,
        row: BroadcastDelivery,
        error: TelegramError,
    ) -> str:
        storage = self._storage
        failure = failure_of(error)
        if failure.kind == FailureKind.BLOCKED:
            await storage.mark_delivery_blocked(row.id)
            logger.info("Broadcast %s: a worker has blocked the bot (%s)", broadcast.id, failure)
            return _DONE
        if failure.kind in (FailureKind.PERMANENT, FailureKind.UNCHANGED):
            await storage.record_delivery_failure(row.id, error=str(failure), give_up=True)
            logger.warning("Broadcast %s: a message was refused (%s)", broadcast.id, failure)
            return _DONE
        # Rate limited: everything waits as long as Telegram asks. Failed otherwise: failures in a row look
        # like an outage, so the next worker waits a little longer each time, as a probe. Either way this
        # row is tried again later and the others go on. (A timeout may hide a message that did arrive;
        # trying again favours reaching the worker.)
        now = self._clock.now()
        if failure.kind == FailureKind.RATE_LIMITED and failure.retry_after is not None:
            retry_in = pause = failure.retry_after
        else:
            self._failures_in_a_row += 1
            retry_in = backoff(row.attempts + 1)
            pause = backoff(self._failures_in_a_row, longest=LONGEST_PAUSE)
        give_up = now - occurrence.started_at >= self._config.delivery.give_up_after
        await storage.record_delivery_failure(
            row.id, error=str(failure), give_up=give_up, retry_at=None if give_up else now + retry_in
        )
        self._pacer.pause(pause.total_seconds())
        # Once per message; while Telegram cannot be reached at all, the outage's own line says it.
        said = row.attempts > 0 or self._bot.reachability.down
        logger.log(
            logging.WARNING if give_up or not said else logging.DEBUG,
            "Broadcast %s: a message %s (%s); next worker in %d s",
            broadcast.id,
            "was given up" if give_up else "will be tried again",
            failure,
            round(pause.total_seconds()),
        )
        return _DONE

    async def _finish(self, broadcast: Broadcast, occurrence: BroadcastOccurrence) -> None:
        report = await self._storage.broadcast_report(occurrence.id)
        assert report is not None  # the occurrence exists
        messages = await self._report_messages(broadcast, report)
        if await self._storage.finish_broadcast_occurrence(occurrence.id, outbox=messages):
            logger.info(
                "Broadcast %s: occurrence %s done (%s sent, %s blocked, %s failed, %s skipped)",
                broadcast.id,
                occurrence.id,
                report.sent,
                report.blocked,
                report.failed,
                report.skipped,
            )
            self._on_report()

    async def _report_messages(self, broadcast: Broadcast, report: BroadcastReport) -> list[OutboxMessage]:
        """The delivery report for whoever created it; for the command line's broadcasts, every admin."""
        storage = self._storage
        default = self._config.union.default_language
        creator = await storage.get_officer(broadcast.created_by) if broadcast.created_by else None
        if creator is not None and creator.active:
            readers = [creator]
        else:
            readers = [
                officer
                for officer in await storage.list_officers(active_only=True)
                if officer.role == OfficerRole.ADMIN
            ]
        messages = []
        for officer in readers:
            language = officer_language(officer, default)
            text = translate_in(
                "officers",
                language,
                "📊 Broadcast #{number} ({when}) has gone out.",
                number=broadcast.id,
                when=local_time(report.run_at, self._config.union.zone),
            )
            snippet = plain_snippet(text_for(broadcast.texts, language, default))
            text += "\n" + translate(language, "“{text}”", text=snippet) + "\n\n"
            text += report_counts(report, language, attend=broadcast.attend_button)
            if broadcast.attend_button:
                text += "\n" + translate_in("officers", language, "/broadcasts shows the latest count.")
            messages.append(
                OutboxMessage(
                    chat_id=officer.telegram_id,
                    params={"text": text, "parse_mode": ParseMode.HTML.value},
                    dedupe_key=f"broadcast-report:{report.occurrence_id}:{officer.telegram_id}",
                )
            )
        return messages


_SENT, _DONE = "sent", "done"


def cancellable(broadcast: Broadcast) -> bool:
    """Whether the broadcast still has something to send."""
    return broadcast.status in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)
