"""The outbox: queued messages reach people once, even when Telegram fails for a while."""

from __future__ import annotations

from datetime import timedelta

from bot.app import UnionApplication
from bot.clock import FakeClock
from bot.outbox import LONGEST_RETRY, retry_delay
from bot.sandbox.server import BotApiSandbox, Person
from storage.models import OutboxMessage


def _message(person: Person, text: str, key: str | None = None) -> OutboxMessage:
    return OutboxMessage(chat_id=person.chat_id, params={"text": text, "parse_mode": "HTML"}, dedupe_key=key)


async def test_a_queued_message_is_delivered_once(bot: UnionApplication, worker: Person) -> None:
    await bot.storage.enqueue_outbox(_message(worker, "<b>新案件</b> W-000001"))
    await bot.outbox.send_due()
    await bot.outbox.send_due()
    delivered = await worker.next_message()
    assert delivered.text == "新案件 W-000001"
    assert [m.text for m in worker.messages] == ["新案件 W-000001"]
    assert await bot.storage.due_outbox(bot.clock.now()) == []


async def test_an_outage_delays_but_loses_nothing(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, clock: FakeClock
) -> None:
    sandbox.fail_requests(status=502, description="Bad Gateway", methods=["sendMessage"])
    for number in range(3):
        await bot.storage.enqueue_outbox(_message(worker, f"提醒 {number}"))
    await bot.outbox.send_due()
    assert worker.messages == []
    clock.advance(timedelta(minutes=1))  # Telegram still down: tried again, still waiting
    await bot.outbox.send_due()
    assert worker.messages == []

    sandbox.restore()
    clock.advance(LONGEST_RETRY)
    await bot.outbox.send_due()
    await worker.next_message(lambda m: m.text == "提醒 2")
    assert sorted(m.text for m in worker.messages) == ["提醒 0", "提醒 1", "提醒 2"]


async def test_retry_after_is_honoured(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, clock: FakeClock
) -> None:
    sandbox.fail_requests(status=429, description="Too Many Requests: retry after 1", methods=["sendMessage"])
    await bot.storage.enqueue_outbox(_message(worker, "稍后"))
    await bot.outbox.send_due()
    sandbox.restore()
    await bot.outbox.send_due()
    assert worker.messages == []  # not before the time Telegram asked for
    clock.advance(timedelta(seconds=2))
    await bot.outbox.send_due()
    assert (await worker.next_message()).text == "稍后"


async def test_a_blocked_recipient_is_given_up_on(
    bot: UnionApplication, worker: Person, clock: FakeClock
) -> None:
    await bot.storage.ensure_worker(worker.user_id)
    worker.block()
    await bot.storage.enqueue_outbox(_message(worker, "你好"))
    await bot.outbox.send_due()
    clock.advance(timedelta(days=1))
    assert await bot.storage.due_outbox(clock.now()) == []
    stored = await bot.storage.get_worker(worker.user_id)
    assert stored is not None and stored.blocked  # so broadcasts skip them too


async def test_the_same_alert_queued_twice_is_sent_once(bot: UnionApplication, worker: Person) -> None:
    first = await bot.storage.enqueue_outbox(_message(worker, "一次", key="alert:W-000001"))
    second = await bot.storage.enqueue_outbox(_message(worker, "一次", key="alert:W-000001"))
    assert first == second
    await bot.outbox.send_due()
    await worker.next_message()
    assert [m.text for m in worker.messages] == ["一次"]


def test_retry_delay_grows_and_is_capped() -> None:
    assert retry_delay(1) == timedelta(seconds=5)
    assert retry_delay(2) == timedelta(seconds=10)
    assert retry_delay(30) == LONGEST_RETRY
