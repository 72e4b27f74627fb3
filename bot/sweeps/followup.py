"""The follow-up sweep: some days after a case is resolved, ask its worker once whether it is solved.

The question and its answers belong to the worker's conversation (flows/followup.py); this only decides
who is due and queues the question in the outbox.
"""

from __future__ import annotations

from bot.core.clock import Clock
from bot.core.config import Config
from flows.followup import question
from storage import Storage
from storage.models import ANONYMOUS_WORKER_ID


class FollowupSweep:
    """Asks the workers whose cases were resolved ``[followup] after`` ago, once each."""

    def __init__(self, storage: Storage, config: Config, clock: Clock) -> None:
        self._storage = storage
        self._config = config
        self._clock = clock

    async def run(self) -> int:
        if not self._config.followup.enabled:
            return 0
        asked = 0
        due = await self._storage.due_followups(self._clock.now() - self._config.followup.after)
        for case in due:
            worker = await self._storage.get_worker(case.worker_id)
            if worker is None or worker.blocked or worker.telegram_id == ANONYMOUS_WORKER_ID:
                await self._storage.mark_followup_sent(case.id)  # nobody to ask; do not try again
                continue
            language = worker.language or self._config.union.default_language
            asked += await self._storage.mark_followup_sent(case.id, outbox=[question(case, language)])
        return asked
