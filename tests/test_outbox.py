"""The outbox: queued messages reach people once, even when Telegram fails for a while."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.runtime.delivery import JITTER, LONGEST_RETRY
from bot.runtime.outbox import HOLD
from bot.sandbox.server import BotApiSandbox, Person
from storage.models import CaseKind, NewCase, OutboxMessage
from tests.flow_helpers import eventually, onboard, press
from tests.test_alerts import _fill_wages


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
    sandbox.fail("sendMessage", 502, description="Bad Gateway")
    for number in range(3):
        await bot.storage.enqueue_outbox(_message(worker, f"提醒 {number}"))
    await bot.outbox.send_due()
    assert worker.messages == []
    clock.advance(timedelta(minutes=1))  # Telegram still down: tried again, still waiting
    await bot.outbox.send_due()
    assert worker.messages == []

    sandbox.clear_faults()
    clock.advance(LONGEST_RETRY * (1 + JITTER))
    await bot.outbox.send_due()
    await worker.next_message(lambda m: m.text == "提醒 2")
    assert sorted(m.text for m in worker.messages) == ["提醒 0", "提醒 1", "提醒 2"]


async def test_retry_after_is_honoured(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, clock: FakeClock
) -> None:
    sandbox.fail("sendMessage", 429, description="Too Many Requests: retry after 1")
    await bot.storage.enqueue_outbox(_message(worker, "稍后"))
    await bot.outbox.send_due()
    sandbox.clear_faults()
    await bot.outbox.send_due()
    assert worker.messages == []  # not before the time Telegram asked for
    clock.advance(timedelta(seconds=2))
    await bot.outbox.send_due()
    assert (await worker.next_message()).text == "稍后"


@pytest.mark.refusals
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


# -- one failing message holds up nobody -------------------------------------------------------------


async def test_a_photo_that_keeps_failing_holds_up_nobody_and_is_given_up_with_a_notice(
    bot: UnionApplication,
    sandbox: BotApiSandbox,
    worker: Person,
    wang: Person,
    admin: Person,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await onboard(worker)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=False)
    photos = sandbox.fail("sendPhoto", 502, chat_id=wang.user_id)  # the evidence never gets through
    worker.press("✅ 提交")
    await wang.next_message(lambda m: "🆕 新案件 W-000001" in (m.text or ""))
    await eventually(lambda: _value(photos.hits), lambda hits: hits >= 1)
    await bot.outbox.send_due()  # the first try has been recorded

    # The officer's next case is not held up: another worker's report reaches him at once.
    other = sandbox.person(1002, first_name="老李")
    await onboard(other)
    await _fill_wages(other, employer="顺达物流", workers=None, disclose=False)
    other.press("✅ 提交")
    await wang.next_message(lambda m: "W-000002" in (m.text or ""))

    # Nor, after a minute, is the news of the same case: the worker's message follows the photo.
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, "W-000001 · 欠薪")
    await press(worker, "✉️ 给工会干事留言")
    worker.send_text("工资条在我这里")
    await worker.next_message(lambda m: (m.text or "").startswith("已发送"))
    await bot.outbox.send_due()
    assert not any("工资条在我这里" in (m.text or "") for m in wang.messages)  # in order, for now
    clock.advance(HOLD + timedelta(seconds=1))
    await bot.outbox.send_due()
    await wang.next_message(lambda m: "工资条在我这里" in (m.text or ""))

    # Said once, with the method and Telegram's reason, and no traceback: it is the network, not a bug.
    [failure] = [r for r in caplog.records if r.levelno >= logging.WARNING and "sendPhoto" in r.getMessage()]
    assert "not delivered (sendPhoto: Bad Gateway); trying again in" in failure.getMessage()
    assert failure.exc_info is None

    # A day later it is given up, and the admins are told in the bot; nothing is dropped silently.
    clock.advance(bot.config.delivery.give_up_after)
    await bot.outbox.send_due()
    notice = await admin.next_message(lambda m: "没能送达" in (m.text or ""))
    assert notice.text.splitlines() == [
        "⚠️ 发给工会干事王干事的照片没能送达。",
        "案件：W-000001",
        "原因：Telegram 连续24小时都没发成功（最后一次：Bad Gateway）。",
        "请用别的办法联系对方，比如打电话。",
    ]
    backlog = await bot.storage.outbox_backlog(
        clock.now(), stuck_after=timedelta(minutes=15), given_up_since=clock.now() - timedelta(days=1)
    )
    assert (backlog.waiting, backlog.given_up) == (0, 1)


async def _value(value: int) -> int:
    return value


@pytest.mark.refusals
async def test_a_message_telegram_refuses_is_given_up_at_once_and_the_admins_are_told(
    bot: UnionApplication, sandbox: BotApiSandbox, wang: Person, admin: Person
) -> None:
    sandbox.fail("sendMessage", 400, description="Bad Request: can't parse entities", chat_id=wang.user_id)
    await bot.storage.enqueue_outbox(_message(wang, "<b>坏的"))
    await bot.outbox.send_due()
    notice = await admin.next_message(lambda m: "没能送达" in (m.text or ""))
    assert notice.text.splitlines() == [
        "⚠️ 发给工会干事王干事的消息没能送达。",
        "原因：Telegram 拒收了（Can't parse entities）。",
        "请用别的办法联系对方，比如打电话。",
    ]
    await bot.outbox.send_due()
    assert await bot.storage.due_outbox(bot.clock.now() + timedelta(days=1)) == []


@pytest.mark.refusals
async def test_a_worker_who_blocked_the_bot_is_marked_and_their_officer_told(
    bot: UnionApplication, worker: Person, wang: Person, admin: Person
) -> None:
    await onboard(worker)
    case = await bot.storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=worker.user_id, fields={}, assignee_id=wang.user_id)
    )
    worker.block()
    await bot.storage.enqueue_outbox(_message(worker, "进展").model_copy(update={"case_id": case.id}))
    await bot.outbox.send_due()
    for reader in (wang, admin):  # the officer whose news it was, and the admins
        notice = await reader.next_message(lambda m: "没能送达" in (m.text or ""))
        assert notice.text.splitlines()[:3] == [
            f"⚠️ 发给案件 {case.reference} 的工人的消息没能送达。",
            f"案件：{case.reference}",
            "原因：对方屏蔽了机器人，Telegram 不让发。",
        ]
    stored = await bot.storage.get_worker(worker.user_id)
    assert stored is not None and stored.blocked
