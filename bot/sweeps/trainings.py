"""The training sweep: tell workers moved up from a waiting list, and remind every seat twice.

Reminders go 24 hours before the start (the same clock time the day before, so "the day before" needs no
time of its own and a training at 08:00 is recalled at 08:00, not in the night) and 2 hours before. Each
is recorded on the sign-up in the transaction that queues it, so it goes once across restarts. A reminder
whose moment had passed when the seat became the worker's is skipped: the sign-up or promotion message
told them the same just before. The day-before one is also skipped once the 2-hour one is due (the bot
was down): two reminders at once say nothing more than one.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import Clock
from bot.core.config import Config
from flows.training import promotion_notice, reminder
from storage import Storage
from storage.models import TrainingReminder, WorkerTraining

DAY_BEFORE = timedelta(hours=24)
SOON = timedelta(hours=2)
AHEAD: dict[TrainingReminder, timedelta] = {
    TrainingReminder.DAY_BEFORE: DAY_BEFORE,
    TrainingReminder.SOON: SOON,
}


class TrainingSweep:
    """Promotion notices and reminders for trainings, read from SQLite at each pass."""

    def __init__(self, storage: Storage, config: Config, clock: Clock) -> None:
        self._storage = storage
        self._config = config
        self._clock = clock

    async def run(self) -> int:
        """One pass; returns how many workers were told or reminded."""
        return await self._promotions() + sum([await self._reminders(kind) for kind in TrainingReminder])

    async def _language(self, worker_id: int) -> str | None:
        """The worker's language, or None when nobody can be told (forgotten meanwhile, or blocked us)."""
        worker = await self._storage.get_worker(worker_id)
        if worker is None or worker.blocked:
            return None
        return worker.language or self._config.union.default_language

    async def _promotions(self) -> int:
        told = 0
        for item in await self._storage.due_promotion_notices():
            language = await self._language(item.signup.worker_id)
            if language is None:
                await self._storage.mark_promotion_told(item.signup.id)  # nobody to tell; do not try again
                continue
            notice = promotion_notice(item.training, item.signup.worker_id, language, self._config.union.zone)
            told += await self._storage.mark_promotion_told(item.signup.id, outbox=notice)
        return told

    async def _reminders(self, kind: TrainingReminder) -> int:
        now = self._clock.now()
        sent = 0
        for item in await self._storage.due_training_reminders(
            kind, starts_before=now + AHEAD[kind], now=now
        ):
            language = await self._language(item.signup.worker_id)
            if language is None or self._needless(item, kind):
                await self._storage.mark_training_reminder(item.signup.id, kind)  # recorded, not sent
                continue
            messages = reminder(item.training, item.signup.worker_id, kind, language, self._config.union.zone)
            sent += await self._storage.mark_training_reminder(item.signup.id, kind, outbox=messages)
        return sent

    def _needless(self, item: WorkerTraining, kind: TrainingReminder) -> bool:
        due = item.training.starts_at - AHEAD[kind]
        confirmed = item.signup.confirmed_at
        if confirmed is not None and confirmed > due:
            return True
        return kind == TrainingReminder.DAY_BEFORE and self._clock.now() >= item.training.starts_at - SOON
