"""Wiring: the PTB Application, its handlers, and durable update processing."""

from __future__ import annotations

import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

import flows
from bot import broadcast_admin, casework, collective, commands, officers, privacy, reporting
from bot.botapi import BoundedRequest
from bot.broadcasts import BroadcastDispatcher
from bot.chatlog import RecordingBot
from bot.clock import Clock, SystemClock
from bot.collective import CollectiveDetector
from bot.config import Config
from bot.context import BotContext
from bot.digests import DigestSweep
from bot.outbox import OutboxDispatcher
from bot.persistence import SQLitePersistence
from bot.reminders import ReminderSweep
from bot.updates import PerUserUpdateProcessor
from flows import subscription
from flows.followup import FollowupSweep
from storage import SQLiteStorage, Storage

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


class UnionApplication(Application):  # type: ignore[type-arg]
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
        self.outbox = OutboxDispatcher(storage, self.bot, clock)
        self.reminders = ReminderSweep(storage, config, clock)
        self.digests = DigestSweep(storage, config, clock)
        self.followups = FollowupSweep(storage, config, clock)
        self.collective = CollectiveDetector(storage, config)
        self.broadcasts = BroadcastDispatcher(
            storage,
            self.bot,
            clock,
            config,
            rate=min(config.broadcast.messages_per_second, OVERALL_MAX_RATE),
            on_report=self.send_outbox_soon,
        )
        if isinstance(self.bot, RecordingBot):
            self.bot.listen(self._record_sent)

    async def run_schedules(self) -> None:
        """One pass of the scheduled work: reminders and escalations, digests, follow-ups; then send.

        Everything due is read from SQLite, so a pass after a restart catches up and repeats nothing.
        """
        for sweep in (self.reminders.run, self.digests.run, self.followups.run):
            try:
                await sweep()
            except Exception:  # one failing part must not stop the others, nor the next pass
                logger.exception("Scheduled work failed; it is tried again at the next pass")
        await self.outbox.send_due()

    def send_outbox_soon(self) -> None:
        """Deliver newly queued outbox messages now rather than at the next sweep."""
        self.create_task(self._send_outbox(), name="outbox:send_due")

    async def _send_outbox(self) -> None:
        await self.outbox.send_due()
        await self.write_notes()

    async def initialize(self) -> None:
        await self.storage.open()
        latest = await self.storage.latest_processed_update_id()
        self._first_new_update_id = 0 if latest is None else latest + 1
        await self.storage.sync_officers([officer.to_officer() for officer in self.config.officers])
        await super().initialize()

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

    A job added before the job queue starts (as in post_init) first runs one interval later, even with
    first=0: anything that must run at once is started directly by on_start.
    """
    assert application.job_queue is not None
    for old in application.job_queue.get_jobs_by_name(name):
        old.schedule_removal()

    async def callback(_context: object) -> None:
        await job()
        await application.write_notes()

    application.job_queue.run_repeating(callback, interval=seconds, first=seconds, name=name)


async def on_start(application: Application) -> None:  # type: ignore[type-arg]
    """Once the bot is connected: publish the command menus and start the sweeps."""
    assert isinstance(application, UnionApplication)
    await commands.publish_commands(application)
    _every(application, "outbox-sweep", OUTBOX_SWEEP_SECONDS, application.outbox.send_due)
    _every(application, "schedule-sweep", SCHEDULE_SWEEP_SECONDS, application.run_schedules)
    _every(application, "privacy-sweep", PRIVACY_SWEEP_SECONDS, lambda: privacy.sweep(application))

    async def wake_broadcasts() -> None:
        # Returns at once: a broadcast to thousands takes minutes, and the job must not overlap itself.
        application.broadcasts.wake()

    _every(application, "broadcast-sweep", BROADCAST_SWEEP_SECONDS, wake_broadcasts)
    # A broadcast cut off by a restart carries on now (the outbox's waiting messages go within seconds).
    application.broadcasts.wake()


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
    storage = storage or SQLiteStorage(config.storage.database, clock=clock)
    # Built here rather than by the builder so that it is our RecordingBot (bot/chatlog.py); the requests
    # are a few connections for sending (bot/botapi.py says why few) and one for long polling.
    bot = RecordingBot(
        token=token,
        base_url=config.telegram.api_base_url,
        base_file_url=config.telegram.api_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        # Retry a few times when Telegram still says "retry after".
        rate_limiter=AIORateLimiter(overall_max_rate=OVERALL_MAX_RATE, max_retries=3)
        if rate_limited
        else None,
        request=BoundedRequest(config.telegram.requests_in_flight),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )
    application = (
        ApplicationBuilder()
        .application_class(UnionApplication, kwargs={"storage": storage, "config": config, "clock": clock})
        .bot(bot)
        # Different people's updates overlap; each person's stay in order (bot/updates.py).
        .concurrent_updates(PerUserUpdateProcessor())
        .persistence(SQLitePersistence(storage))
        .context_types(ContextTypes(context=BotContext))
        .post_init(on_start)
        .build()
    )
    assert isinstance(application, UnionApplication)
    # Officers' handlers first: their buttons and commands never collide with a worker's form. Then
    # /subscribe, /unsubscribe and "I will attend", which work in the middle of a form too.
    commands.add_handlers(
        application,
        [
            *casework.handlers(),
            *collective.handlers(),
            *officers.handlers(),
            *reporting.handlers(),
            *broadcast_admin.handlers(),
            *subscription.handlers(),
            *flows.conversation_handlers(),
        ],
    )
    # A worker's own data and chat, from anywhere, even mid-form (flows/privacy.py).
    for handler in flows.privacy_handlers():
        application.add_handler(handler, group=flows.PRIVACY_GROUP)
    return application
