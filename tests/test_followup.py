"""Follow-ups: a week after resolution the worker says whether the problem is solved, and how satisfied."""

from __future__ import annotations

from datetime import timedelta

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import OFFICER_ID, WORKER_ID
from storage.models import Case, CaseKind, CaseStatus, NewCase, Outcome, Resolution
from tests.flow_helpers import onboard


async def _resolved_case(bot: UnionApplication) -> Case:
    storage = bot.storage
    case = await storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=WORKER_ID, fields={"employer": "宏达"}, assignee_id=OFFICER_ID)
    )
    return await storage.resolve_case(
        case.id,
        expected=CaseStatus.NEW,
        resolution=Resolution(outcome=Outcome.RECOVERED_PART),
        actor_id=OFFICER_ID,
        actor_role="officer",
    )


async def _status(bot: UnionApplication, case: Case) -> CaseStatus:
    stored = await bot.storage.get_case(case.id)
    assert stored is not None
    return stored.status


async def test_not_solved_reopens_the_case_and_tells_the_officer(
    bot: UnionApplication, clock: FakeClock, worker: Person, wang: Person
) -> None:
    await onboard(worker)
    case = await _resolved_case(bot)

    clock.advance(timedelta(days=6, hours=23))
    await bot.run_schedules()
    await bot.outbox.send_due()
    assert not any("解决了吗" in (m.text or "") for m in worker.messages)
    clock.advance(timedelta(hours=1))
    await bot.run_schedules()
    asked = await worker.next_message(lambda m: "解决了吗" in (m.text or ""))
    assert asked.text == "前几天，工会办完了您的求助 W-000001（欠薪）。您的问题现在解决了吗？"
    assert asked.button_labels == ["✅ 解决了", "🟡 解决了一部分", "❌ 没有解决"]

    worker.press("❌ 没有解决")
    stars = await worker.next_message(lambda m: "满意" in (m.text or ""))
    assert stars.text.startswith("很抱歉。W-000001 又重新在办了")
    assert (await worker.next_edit(message_id=asked.message_id)).text.endswith("❌ 没有解决")
    assert await _status(bot, case) == CaseStatus.REOPENED
    news = await wang.next_message(lambda m: "没有解决" in (m.text or ""))
    assert news.text == "❌ 工人说 W-000001 的问题没有解决。案件已重新办理。"

    worker.press("⭐⭐")
    assert (await worker.next_edit(message_id=stars.message_id)).text == "谢谢您告诉我们：⭐⭐"
    query = worker.press_data(f"fs:{case.id}:5", message_id=stars.message_id)  # a second rating
    assert "不能用了" in (await worker.next_answer(query))["text"]
    events = [(e.action, e.note) for e in await bot.storage.list_case_events(case.id)]
    assert ("followup", '{"solved": "no"}') in events and ("satisfaction", "2") in events

    # Asked once only, even after it is resolved again.
    await bot.run_schedules()
    await bot.outbox.send_due()
    assert sum("解决了吗" in (m.text or "") for m in worker.messages) == 1


async def test_solved_closes_the_case_and_nobody_else_can_answer(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock, worker: Person
) -> None:
    await onboard(worker, "English")
    case = await _resolved_case(bot)
    clock.advance(timedelta(days=7))
    await bot.run_schedules()
    asked = await worker.next_message(lambda m: "Is your problem solved" in (m.text or ""))

    stranger = sandbox.person(1009, first_name="路人")
    stranger.send_command("/help")
    await stranger.next_message()
    query = stranger.press_data(f"fu:{case.id}:no")
    assert "不能用了" in (await stranger.next_answer(query))["text"]
    assert await _status(bot, case) == CaseStatus.RESOLVED

    worker.press("✅ Yes, solved", message_id=asked.message_id)
    thanks = await worker.next_message(lambda m: "satisfied" in (m.text or ""))
    assert thanks.text.startswith("We are glad. Your case W-000001 is closed.")
    assert await _status(bot, case) == CaseStatus.CLOSED


async def test_a_forgotten_worker_is_not_followed_up(
    bot: UnionApplication, clock: FakeClock, worker: Person
) -> None:
    await onboard(worker)
    case = await _resolved_case(bot)
    await bot.storage.forget_worker(WORKER_ID)
    clock.advance(timedelta(days=8))

    await bot.run_schedules()

    stored = await bot.storage.get_case(case.id)
    assert stored is not None and stored.followup_sent_at is not None
    assert await bot.storage.due_outbox(clock.now()) == []
