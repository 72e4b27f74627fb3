"""Wiring: the PTB Application, its handlers, and durable update processing."""

from __future__ import annotations

import logging
import warnings
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.warnings import PTBUserWarning

import flows
from bot import casework, commands, officers, reporting
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import BotContext
from bot.digests import DigestSweep
from bot.outbox import OutboxDispatcher
from bot.persistence import SQLitePersistence
from bot.reminders import ReminderSweep
from flows.followup import FollowupSweep
from storage import SQLiteStorage, Storage

logger = logging.getLogger(__name__)

# Our conversations are tracked per user on purpose: a form spans many messages, and its buttons are
# matched by their data. PTB warns about that combination at every start; the warning is not for us.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
# The outbox replays stored Bot API calls by method name on purpose (bot/outbox.py).
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)


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
        self.outbox = OutboxDispatcher(storage, self.bot, clock)
        self.reminders = ReminderSweep(storage, config, clock)
        self.digests = DigestSweep(storage, config, clock)
        self.followups = FollowupSweep(storage, config, clock)

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
        self.create_task(self.outbox.send_due(), name="outbox:send_due")

    async def initialize(self) -> None:
        await self.storage.open()
        await self.storage.sync_officers([officer.to_officer() for officer in self.config.officers])
        await super().initialize()

    async def shutdown(self) -> None:
        await super().shutdown()
        await self.storage.close()

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        if await self.storage.is_update_processed(update.update_id):
            logger.info("Skipping update %s: already processed before a restart", update.update_id)
            return
        await self._load_language(update)
        await super().process_update(update)
        await self.update_persistence()
        await self.durable_persistence.commit(processed_update_id=update.update_id)

    @property
    def durable_persistence(self) -> SQLitePersistence:
        assert isinstance(self.persistence, SQLitePersistence)
        return self.persistence

    def language_of(self, user_id: int | None) -> str:
        default = self.config.union.default_language
        return default if user_id is None else self._languages.get(user_id, default)

    def remember_language(self, user_id: int, language: str) -> None:
        self._languages[user_id] = language

    async def _load_language(self, update: Update) -> None:
        user = update.effective_user
        if user is None or user.id in self._languages:
            return
        worker = await self.storage.get_worker(user.id)
        if worker is not None and worker.language:
            self._languages[user.id] = worker.language


OUTBOX_SWEEP_SECONDS = 5
SCHEDULE_SWEEP_SECONDS = 60  # reminders are counted in hours: once a minute is on time


async def on_start(application: Application) -> None:  # type: ignore[type-arg]
    """Once the bot is connected: publish the command menus and start sweeping the outbox."""
    assert isinstance(application, UnionApplication) and application.job_queue is not None
    await commands.publish_commands(application)

    async def sweep(_context: object) -> None:
        await application.outbox.send_due()

    async def scheduled(_context: object) -> None:
        await application.run_schedules()

    # Starting twice (tests restart the bot in one process) must not double the sweeps.
    for name in ("outbox-sweep", "schedule-sweep"):
        for job in application.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    application.job_queue.run_repeating(sweep, interval=OUTBOX_SWEEP_SECONDS, first=0, name="outbox-sweep")
    application.job_queue.run_repeating(
        scheduled, interval=SCHEDULE_SWEEP_SECONDS, first=1, name="schedule-sweep"
    )


def build_application(
    config: Config,
    *,
    token: str,
    storage: Storage | None = None,
    clock: Clock | None = None,
) -> UnionApplication:
    """Build the bot from its configuration; nothing touches the network until it is started."""
    clock = clock or SystemClock()
    storage = storage or SQLiteStorage(config.storage.database, clock=clock)
    application = (
        ApplicationBuilder()
        .application_class(UnionApplication, kwargs={"storage": storage, "config": config, "clock": clock})
        .token(token)
        .base_url(config.telegram.api_base_url)
        .base_file_url(config.telegram.api_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        # Telegram allows ~30 messages/s overall; retry a few times when it still says "retry after".
        .rate_limiter(AIORateLimiter(overall_max_rate=25, max_retries=3))
        .persistence(SQLitePersistence(storage))
        .context_types(ContextTypes(context=BotContext))
        .post_init(on_start)
        .build()
    )
    assert isinstance(application, UnionApplication)
    # Officers' handlers first: their buttons and commands never collide with a worker's form.
    commands.add_handlers(
        application,
        [*casework.handlers(), *officers.handlers(), *reporting.handlers(), *flows.conversation_handlers()],
    )
    return application
