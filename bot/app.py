"""Wiring: the PTB Application, its handlers, and durable update processing."""

from __future__ import annotations

import asyncio
import logging
import signal
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypedDict

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults, JobQueue
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

import flows
from bot.broadcasts import admin as broadcast_admin
from bot.broadcasts.dispatch import BroadcastDispatcher
from bot.cases import collective, privacy
from bot.cases.collective import CollectiveDetector
from bot.core.clock import Clock, SystemClock
from bot.core.config import Config
from bot.core.context import BotContext
from bot.officers import casework, workerfile
from bot.officers import lists as officers
from bot.reports import reporting
from bot.runtime import commands, status
from bot.runtime.botapi import BoundedRequest, UnionBot
from bot.runtime.delivery import backoff, failure_of
from bot.runtime.outbox import OutboxDispatcher
from bot.runtime.persistence import SQLitePersistence
from bot.runtime.updates import PerUserUpdateProcessor
from bot.sweeps.digests import DigestSweep
from bot.sweeps.followup import FollowupSweep
from bot.sweeps.reminders import ReminderSweep
from bot.sweeps.trainings import TrainingSweep
from bot.trainings import admin as training_admin
from flows import subscription, training
from storage import SQLiteStorage, Storage
from storage.models import OutboxMessage

logger = logging.getLogger(__name__)

# Our conversations are tracked per user on purpose: a form spans many messages, and its buttons are
# matched by their data. PTB warns about that combination at every start; the warning is not for us.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
# The outbox replays stored Bot API calls by method name on purpose (bot/outbox.py).
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

PROCESSED_REMEMBERED = 10_000  # update ids of this run kept in memory; Telegram redelivers recent ones

# Telegram allows about 30 messages a second overall. Every message the bot sends passes this limiter;
# broadcasts are paced on top of it, never faster (bot/broadcasts.py says how the two share it).
OVERALL_MAX_RATE = 25

# Reaching Telegram at start: tried again after 1 s, 2 s, 4 s … at most this long apart, for ever.
LONGEST_START_RETRY = timedelta(seconds=30)
LONGEST_MENU_RETRY = timedelta(minutes=10)


class UnionApplication(
    Application[UnionBot, BotContext, dict[str, Any], dict[Any, Any], dict[Any, Any], JobQueue[BotContext]]
):
    """An Application that makes each update durable before taking the next.

    After every update: the conversation state and draft answers are committed together with the
    update's id. An update Telegram delivers again (we died before confirming it) is skipped.
    """

    def __init__(self, *, storage: Storage, config: Config, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.storage = storage
        self.config = config
        self.clock = clock
        self._languages: dict[int, str] = {}
        self._first_new_update_id: int | None = None  # set at start from the processed ids on record
        self._processed_this_run: set[int] = set()
        self._processed_order: deque[int] = deque()
        assert isinstance(self.bot, UnionBot)
        self.outbox = OutboxDispatcher(
            storage, self.bot, clock, config.delivery, default_language=config.union.default_language
        )
        self.reminders = ReminderSweep(storage, config, clock)
        self.digests = DigestSweep(storage, config, clock)
        self.followups = FollowupSweep(storage, config, clock)
        self.training_reminders = TrainingSweep(storage, config, clock)
        self.collective = CollectiveDetector(storage, config)
        self.broadcasts = BroadcastDispatcher(
            storage,
            self.bot,
            clock,
            config,
            rate=min(config.broadcast.messages_per_second, OVERALL_MAX_RATE),
            on_report=self.send_outbox_soon,
        )
        self.bot.listen(self._record_sent)
        self.bot.queue_replies_with(self._queue_reply)

    @property
    def union_bot(self) -> UnionBot:
        assert isinstance(self.bot, UnionBot)
        return self.bot

    async def run_schedules(self) -> None:
        """One pass of the scheduled work: reminders and escalations, digests, follow-ups, trainings'
        reminders and waiting-list news; then send.

        Everything due is read from SQLite, so a pass after a restart catches up and repeats nothing.
        """
        sweeps = (self.reminders.run, self.digests.run, self.followups.run, self.training_reminders.run)
        for sweep in (*sweeps, self._note_status):
            try:
                await sweep()
            except Exception:  # one failing part must not stop the others, nor the next pass
                logger.exception("Scheduled work failed; it is tried again at the next pass")
        await self.outbox.send_due()

    async def _note_status(self) -> None:
        """Say that the bot runs, and since when Telegram has not answered (for `union-bot status`)."""
        await status.note_running(self.storage, self.clock.now(), self.union_bot.reachability.down_since)

    def send_outbox_soon(self) -> None:
        """Deliver newly queued outbox messages now rather than at the next sweep."""
        if self.running:  # else the first sweep sends them
            self.create_task(self._send_outbox(), name="outbox:send_due")

    async def _queue_reply(self, message: OutboxMessage) -> int:
        """A reply Telegram did not take at once: into the outbox, to be tried again soon."""
        item = await self.storage.enqueue_outbox(message)
        self.send_outbox_soon()
        return item

    async def _send_outbox(self) -> None:
        await self.outbox.send_due()
        await self.write_notes()

    async def initialize(self) -> None:
        try:
            await self._reach_telegram()
        except BaseException:
            # PTB shuts down only what initialized: the connection opened to ask must close here.
            await self.bot.request.shutdown()
            raise
        await self.storage.open()
        latest = await self.storage.latest_processed_update_id()
        self._first_new_update_id = 0 if latest is None else latest + 1
        await self.storage.sync_officers([officer.to_officer() for officer in self.config.officers])
        await super().initialize()

    async def _reach_telegram(self) -> None:
        """Ask Telegram who we are until it answers: a network blip at start must not stop the bot.

        A refused token stops it at once: no retry can mend that.
        """
        attempt = 0
        while True:
            try:
                await self.bot.initialize()
                return
            except TelegramError as error:
                if isinstance(error, InvalidToken) or not failure_of(error).kind.retried:
                    raise
            attempt += 1  # the bot logged the failure once (bot/botapi.py: Reachability)
            await asyncio.sleep(min(2 ** (attempt - 1), LONGEST_START_RETRY.total_seconds()))

    async def stop(self) -> None:
        # Before the job queue stops: the broadcast in progress ends after its message in flight.
        await self.broadcasts.close()
        await super().stop()

    async def shutdown(self) -> None:
        await super().shutdown()
        await self.storage.close()

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        if await self._already_processed(update.update_id):
            logger.info("Skipping update %s: already processed before a restart", update.update_id)
            return
        await self._note_incoming(update)
        await self._load_language(update)
        await super().process_update(update)
        await self.update_persistence()
        await self.durable_persistence.commit(processed_update_id=update.update_id)
        self._remember_processed(update.update_id)

    async def _already_processed(self, update_id: int) -> bool:
        """Whether this update was handled before (Telegram delivers at least once).

        Ids only grow: one above the highest on record at start is from this run, and this run
        remembers its own in memory; only older ones need a look-up (one read less per update).
        """
        if update_id in self._processed_this_run:
            return True
        if self._first_new_update_id is None or update_id < self._first_new_update_id:
            return await self.storage.is_update_processed(update_id)
        return False

    def _remember_processed(self, update_id: int) -> None:
        self._processed_this_run.add(update_id)
        self._processed_order.append(update_id)
        if len(self._processed_order) > PROCESSED_REMEMBERED:
            self._processed_this_run.discard(self._processed_order.popleft())

    @property
    def durable_persistence(self) -> SQLitePersistence:
        assert isinstance(self.persistence, SQLitePersistence)
        return self.persistence

    def language_of(self, user_id: int | None) -> str:
        default = self.config.union.default_language
        return default if user_id is None else self._languages.get(user_id, default)

    def remember_language(self, user_id: int, language: str) -> None:
        self._languages[user_id] = language

    def forget_user_state(self, user_id: int, *, language: bool) -> None:
        """Drop what the running bot holds about a user: drafts, conversation states, and their language
        when ``language`` (a forgotten worker; an inactive one whose profile is erased keeps it).

        PTB has no public way to end a user's conversations from outside them; its application keeps the
        persistent ones by name, and deleting a key there is tracked, so the next persistence update
        deletes the stored state too.
        """
        self.drop_user_data(user_id)
        if language:
            self._languages.pop(user_id, None)
            self.union_bot.forget(user_id)  # their waiting messages went with their data
        for states in self._conversation_handler_conversations.values():
            for key in [key for key in states if user_id in key]:
                del states[key]

    async def _record_sent(self, chat_id: int, message_ids: list[int]) -> None:
        self.durable_persistence.note_chat_messages(chat_id, message_ids, from_bot=True)

    async def _note_incoming(self, update: Update) -> None:
        """A person wrote in a private chat: they are active, and their message can be deleted later."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != ChatType.PRIVATE:
            return
        self.durable_persistence.note_seen(user.id)
        if update.message is not None:
            self.durable_persistence.note_chat_messages(chat.id, [update.message.message_id], from_bot=False)

    async def write_notes(self) -> None:
        """Write what was noted outside an update (messages the outbox or a broadcast sent)."""
        await self.durable_persistence.commit()

    async def _load_language(self, update: Update) -> None:
        user = update.effective_user
        if user is None or user.id in self._languages:
            return
        worker = await self.storage.get_worker(user.id)
        if worker is not None and worker.language:
            self._languages[user.id] = worker.language


OUTBOX_SWEEP_SECONDS = 5
SCHEDULE_SWEEP_SECONDS = 60  # reminders are counted in hours: once a minute is on time
PRIVACY_SWEEP_SECONDS = 3600  # retention is counted in days; hourly is plenty
BROADCAST_SWEEP_SECONDS = 10  # schedules are to the minute; a sweep that finds nothing costs one query


def _every(
    application: UnionApplication, name: str, seconds: float, job: Callable[[], Awaitable[Any]]
) -> None:
    """Run ``job`` every ``seconds``; starting twice (tests restart the bot in one process) replaces it.

    A job added before the job queue starts (as in on_start) first runs one interval later, even with
    first=0: anything that must run at once is started directly by on_start.
    """
    assert application.job_queue is not None
    for old in application.job_queue.get_jobs_by_name(name):
        old.schedule_removal()

    async def callback(_context: object) -> None:
        await job()
        await application.write_notes()

    application.job_queue.run_repeating(callback, interval=seconds, first=seconds, name=name)


async def on_start(application: UnionApplication) -> None:
    """Once the bot is connected: publish the command menus and start the sweeps."""
    await _publish_commands(application)
    _every(application, "outbox-sweep", OUTBOX_SWEEP_SECONDS, application.outbox.send_due)
    _every(application, "schedule-sweep", SCHEDULE_SWEEP_SECONDS, application.run_schedules)
    _every(application, "privacy-sweep", PRIVACY_SWEEP_SECONDS, lambda: privacy.sweep(application))

    async def wake_broadcasts() -> None:
        # Returns at once: a broadcast to thousands takes minutes, and the job must not overlap itself.
        application.broadcasts.wake()

    _every(application, "broadcast-sweep", BROADCAST_SWEEP_SECONDS, wake_broadcasts)
    # A broadcast cut off by a restart carries on now (the outbox's waiting messages go within seconds).
    application.broadcasts.wake()


MENU_JOB = "publish-commands"


async def _publish_commands(application: UnionApplication, attempt: int = 1) -> None:
    """Publish the command menus; when Telegram fails, try again later rather than not start."""
    if await commands.publish_commands(application):
        return
    delay = backoff(attempt, longest=LONGEST_MENU_RETRY)
    logger.warning("The command menu is not published yet; trying again in %d s", delay.total_seconds())
    assert application.job_queue is not None

    async def again(_context: object) -> None:
        await _publish_commands(application, attempt + 1)

    application.job_queue.run_once(again, when=delay, name=MENU_JOB)


def _polling_failed(_error: TelegramError) -> None:
    """PTB's polling hands its errors here instead of logging a traceback for each failed poll.

    The bot already noted the failure once (bot/botapi.py, Reachability) and logs when Telegram answers
    again; PTB keeps polling with growing pauses.
    """


@asynccontextmanager
async def running(application: UnionApplication) -> AsyncIterator[UnionApplication]:
    """The bot polling Telegram until the block ends: the one way it starts, for `union-bot run`, the
    terminal sandbox and the tests alike.

    Telegram out of reach at start is waited for (getMe, then deleteWebhook, retried for ever); pending
    updates are never dropped: what workers sent while the bot was down must be answered.
    """
    async with application:
        await on_start(application)
        assert application.updater is not None
        await application.updater.start_polling(
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            bootstrap_retries=-1,
            error_callback=_polling_failed,
        )
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


async def serve(application: UnionApplication) -> None:
    """Run until SIGINT or SIGTERM (`union-bot run`, or Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop.set)
    async with running(application):
        await stop.wait()
    logger.info("Stopped")


class _Timeouts(TypedDict):
    connect_timeout: float
    read_timeout: float
    write_timeout: float


def build_application(
    config: Config,
    *,
    token: str,
    storage: Storage | None = None,
    clock: Clock | None = None,
    rate_limited: bool = True,
) -> UnionApplication:
    """Build the bot from its configuration; nothing touches the network until it is started.

    ``rate_limited=False`` is for benchmarks against a sandbox without Telegram's limits only.
    """
    clock = clock or SystemClock()
    storage = storage or SQLiteStorage(config.storage.database, now=clock.now)
    # Each request waits this long for Telegram's answer; long polling adds its own wait on top.
    timeout = config.telegram.request_timeout
    timeouts: _Timeouts = {"connect_timeout": timeout, "read_timeout": timeout, "write_timeout": timeout}
    # Built here rather than by the builder so that it is our UnionBot (bot/botapi.py); the requests are
    # a few connections for sending (bot/botapi.py says why few) and one for long polling.
    bot = UnionBot(
        token=token,
        base_url=config.telegram.api_base_url,
        base_file_url=config.telegram.api_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        # Retry a few times when Telegram still says "retry after".
        rate_limiter=AIORateLimiter(overall_max_rate=OVERALL_MAX_RATE, max_retries=3)
        if rate_limited
        else None,
        request=BoundedRequest(config.telegram.requests_in_flight, **timeouts),
        get_updates_request=HTTPXRequest(connection_pool_size=1, **timeouts),
        clock=clock,
    )
    application = (
        ApplicationBuilder()
        .application_class(UnionApplication, kwargs={"storage": storage, "config": config, "clock": clock})
        .bot(bot)
        # Different people's updates overlap; each person's stay in order (bot/updates.py).
        .concurrent_updates(PerUserUpdateProcessor())
        .persistence(SQLitePersistence(storage))
        .context_types(ContextTypes(context=BotContext))
        .build()
    )
    assert isinstance(application, UnionApplication)
    # Officers' handlers first: their buttons and commands never collide with a worker's form. Then
    # /subscribe, /unsubscribe, "I will attend" and /training, which work in the middle of a form too.
    commands.add_handlers(
        application,
        [
            *casework.handlers(),
            *collective.handlers(),
            *officers.handlers(),
            *reporting.handlers(),
            *broadcast_admin.handlers(),
            *training_admin.handlers(),
            *subscription.handlers(),
            *training.handlers(),
            *flows.conversation_handlers(),
        ],
    )
    # A worker's own data and chat, from anywhere, even mid-form (flows/privacy.py).
    for handler in flows.privacy_handlers():
        application.add_handler(handler, group=flows.PRIVACY_GROUP)
    # The worker file (/worker and its buttons), in the same early group: see bot/officers/workerfile.py.
    for handler in workerfile.handlers():
        application.add_handler(handler, group=workerfile.GROUP)
    return application
