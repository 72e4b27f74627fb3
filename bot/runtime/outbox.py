"""Delivering the outbox: messages that must not be lost (officer alerts, replies, news about cases).

Callers store a message with ``storage.enqueue_outbox`` inside their own handling, in the same
transaction as the change it announces, then ask for it to be sent soon. The dispatcher sends what is
due and records each result, following the one delivery policy of bot/delivery.py: a message Telegram
refuses (400) or whose reader blocked the bot (403) is given up at once; one that fails for a passing
reason (429, 5xx, a timeout) waits in SQLite and is tried again, across restarts too, until
``[delivery] give_up_after``. Whatever is given up is told to the admins in the bot: nothing is
dropped silently.

Nobody waits for somebody else's trouble: different chats are served side by side, and within a chat
only the messages about the same case keep their order (storage's ``due_outbox``), so one photo that
keeps failing delays neither the officer's next alert nor, after a minute, its own case's next news.
"""

from __future__ import annotations

import asyncio
import html
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.core.clock import Clock
from bot.core.config import DeliveryConfig
from bot.core.i18n import N_, officer_language, translate
from bot.runtime.botapi import UnionBot
from bot.runtime.delivery import Failure, FailureKind, Random, failure_of, retry_delay
from storage import Storage
from storage.models import Case, Officer, OfficerRole, OutboxItem, OutboxKind, OutboxMessage

logger = logging.getLogger(__name__)

HOLD = timedelta(minutes=1)  # the longest a failing message holds up later news of the same case
CHATS_AT_ONCE = 4  # chats served side by side; the bot's request turns (bot/botapi.py) bound the wire
STOP_AFTER_FAILURES = 3  # failed chats in one pass that mean Telegram is struggling: try again later

# What the admins read about a message given up, by the kind of call it was.
WHAT_WAS_SENT: dict[str, str] = {
    "sendMessage": N_("A message"),
    "sendPhoto": N_("A photo"),
    "sendDocument": N_("A file"),
    "sendVoice": N_("A voice message"),
    "sendAudio": N_("A recording"),
    "sendVideo": N_("A video"),
    "sendVideoNote": N_("A round video"),
    "sendLocation": N_("A location"),
}


class OutboxDispatcher:
    def __init__(
        self,
        storage: Storage,
        bot: UnionBot,
        clock: Clock,
        policy: DeliveryConfig,
        *,
        default_language: str,
        batch: int = 50,
        jitter: Random = random.random,
    ) -> None:
        self._storage = storage
        self._bot = bot
        self._clock = clock
        self._policy = policy
        self._default_language = default_language
        self._batch = batch
        self._jitter = jitter
        self._lock = asyncio.Lock()  # one pass at a time, so nothing is sent twice

    async def send_due(self) -> int:
        """Send every due message once; returns how many were delivered."""
        async with self._lock:
            delivered = 0
            while items := await self._storage.due_outbox(self._clock.now(), limit=self._batch, hold=HOLD):
                chats: dict[int, list[OutboxItem]] = {}
                for item in items:
                    chats.setdefault(item.chat_id, []).append(item)
                turns = asyncio.Semaphore(CHATS_AT_ONCE)
                results = await asyncio.gather(*(self._deliver_chat(chat, turns) for chat in chats.values()))
                delivered += sum(sent for sent, _ in results)
                if sum(failed for _, failed in results) >= min(STOP_AFTER_FAILURES, len(chats)):
                    # Telegram is struggling: what failed waits for its retry, the rest for the next pass.
                    break
            return delivered

    async def _deliver_chat(self, items: Sequence[OutboxItem], turns: asyncio.Semaphore) -> tuple[int, bool]:
        """One chat's due messages in order: (how many were delivered, whether one failed for now)."""
        async with turns:
            sent, failed = 0, False
            for item in items:
                outcome = await self._deliver(item)
                sent += outcome is True
                failed |= outcome is None
            return sent, failed

    async def _deliver(self, item: OutboxItem) -> bool | None:
        """True: delivered; False: given up; None: to be tried again."""
        try:
            await self._bot.call_stored(item.method, {"chat_id": item.chat_id, **item.params})
        except TelegramError as error:
            return await self._failed(item, failure_of(error, item.method))
        except Exception as error:
            # A stored call PTB itself refuses is our bug; trying it at every pass would stop the queue.
            logger.exception("Outbox message %s could not be made (%s)", item.id, item.method)
            failure = Failure(FailureKind.PERMANENT, item.method, type(error).__name__)
            return await self._failed(item, failure)
        await self._storage.mark_outbox_sent(item.id)
        self._done(item)
        return True

    async def _failed(self, item: OutboxItem, failure: Failure) -> bool | None:
        now = self._clock.now()
        if failure.kind == FailureKind.BLOCKED and await self._storage.get_worker(item.chat_id) is not None:
            # Broadcasts skip them too, until they unblock the bot (flows/subscription.py).
            await self._storage.set_worker_flags(item.chat_id, blocked=True)
        if failure.kind.retried and now - item.created_at < self._policy.give_up_after:
            delay = retry_delay(failure, item.attempts + 1, jitter=self._jitter)
            await self._storage.mark_outbox_failed(item.id, error=str(failure), retry_at=now + delay)
            # Said once per message (a queued reply's failure was said when it was queued); while
            # Telegram is out of reach altogether, the outage says it.
            first = item.attempts == 0 and item.kind != OutboxKind.REPLY and not self._bot.reachability.down
            logger.log(
                logging.WARNING if first else logging.DEBUG,
                "Outbox message %s not delivered (%s); trying again in %d s",
                item.id,
                failure,
                round(delay.total_seconds()),
            )
            return None
        expired = failure.kind.retried
        notices = await self._notices(item, failure, expired=expired, now=now)
        await self._storage.mark_outbox_failed(item.id, error=str(failure), retry_at=None, notices=notices)
        self._done(item)
        logger.warning(
            "Outbox message %s given up (%s)%s; %d admin notice(s) queued",
            item.id,
            failure,
            f" after {item.attempts + 1} tries" if expired else "",
            len(notices),
        )
        return False

    def _done(self, item: OutboxItem) -> None:
        if item.kind == OutboxKind.REPLY:
            self._bot.release(item.chat_id)

    # -- telling the admins ---------------------------------------------------------------------------

    async def _notices(
        self, item: OutboxItem, failure: Failure, *, expired: bool, now: datetime
    ) -> list[OutboxMessage]:
        """What the admins (and the officer of the case, for a worker's message) read about it."""
        if item.kind == OutboxKind.NOTICE:
            return []  # a notice about a notice would never end; the log has it
        storage = self._storage
        officers = await storage.list_officers(active_only=True)
        case = await storage.get_case(item.case_id) if item.case_id is not None else None
        readers = [officer for officer in officers if officer.role == OfficerRole.ADMIN]
        if case is not None and case.worker_id == item.chat_id:
            readers += [officer for officer in officers if officer.telegram_id == case.assignee_id]
        recipient = await storage.get_officer(item.chat_id)
        # A worker's message about no case (a training reminder, say) is traced by whom it was for.
        worker = None
        if recipient is None and (case is None or case.worker_id != item.chat_id):
            worker = await storage.get_worker(item.chat_id)
        worker_name = (
            str(worker.profile.get("name") or worker.profile.get("telegram_name") or "") if worker else ""
        )
        notices = []
        for reader in {officer.telegram_id: officer for officer in readers}.values():
            if reader.telegram_id == item.chat_id:
                continue
            language = officer_language(reader, self._default_language)
            text = _notice_text(
                language, item, failure, case, recipient, worker_name, expired=expired, now=now
            )
            notices.append(
                OutboxMessage(
                    chat_id=reader.telegram_id,
                    params={"text": text, "parse_mode": ParseMode.HTML.value},
                    dedupe_key=f"gave-up:{item.id}:{reader.telegram_id}",
                    kind=OutboxKind.NOTICE,
                )
            )
        if not notices:
            logger.warning("Outbox message %s was given up and there is no admin to tell", item.id)
        return notices


def _notice_text(
    language: str,
    item: OutboxItem,
    failure: Failure,
    case: Case | None,
    recipient: Officer | None,
    worker_name: str,
    *,
    expired: bool,
    now: datetime,
) -> str:
    what = translate(language, WHAT_WAS_SENT.get(item.method, N_("A message")))
    if recipient is not None:
        whom = translate(language, "officer {name}", name=recipient.name)
    elif case is not None and case.worker_id == item.chat_id:
        whom = translate(language, "the worker of {reference}", reference=case.reference)
    elif worker_name:
        whom = translate(language, "worker {name}", name=html.escape(worker_name, quote=False))
    else:
        whom = translate(language, "a worker")
    lines = [translate(language, "⚠️ {what} to {whom} could not be delivered.", what=what, whom=whom)]
    if case is not None:
        lines.append(translate(language, "About: {reference}", reference=case.reference))
    if failure.kind == FailureKind.BLOCKED:
        lines.append(translate(language, "Why: they have blocked the bot, so Telegram refuses it."))
    elif expired:
        hours = max(1, round((now - item.created_at) / timedelta(hours=1)))
        lines.append(
            translate(
                language,
                "Why: Telegram kept failing for {hours} h (last: {reason}).",
                hours=hours,
                reason=failure.reason,
            )
        )
    else:
        lines.append(translate(language, "Why: Telegram refused it ({reason}).", reason=failure.reason))
    lines.append(translate(language, "Please reach them another way, such as by phone."))
    return "\n".join(lines)
