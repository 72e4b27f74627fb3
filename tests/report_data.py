"""A known data set for reports and exports, built through the flows over the sandbox: workers file with
/wages, /join and /legal; officers take and resolve with the buttons; the clock moves between steps.

Times are UTC (Shanghai is 8 hours ahead). The six cases, in the order they are filed:

| case     | who  | filed (UTC)  | first response      | resolved                                     |
| W-000001 | 小张 | Jan 5 09:00  | taken 30 min later  | Jan 20 02:00, part recovered: 4,000 for 3    |
| M-000002 | 李四 | Jan 6 01:00  | approved 2 h later  | Jan 6 03:00, construction                    |
| W-000003 | 王五 | Jan 13 01:00 | taken 5 h later     | Feb 3 01:00, all recovered: 3,000 for 1      |
| L-000004 | 李四 | Jan 20 03:00 | taken 1 h later     | Jan 22 03:00, referred to arbitration        |
| L-000005 | 小张 | Feb 2 01:00  | never               | open, overdue                                |
| M-000006 | 王五 | Feb 3 02:00  | approved 23 h later | Feb 4 01:00, factory                         |

W-000001 is collective (12 workers, 20,000 owed) and 小张 asked that the employer must not get his name
and phone; 王五 said they may go to the employer (W-000003, 3,000 owed). The clock ends at NOW, Feb 4 02:00.
Building it takes a few seconds: only tests that check figures against it use it, once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.officers.casework import suggested_member_number
from bot.sandbox.server import BotApiSandbox, Person, SentMessage
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, WORKER_ID
from tests.flow_helpers import answer, onboard
from tests.test_wages import (
    AMOUNT_Q,
    CONTRACT_Q,
    DISCLOSE_Q,
    EMPLOYER_Q,
    EVIDENCE_Q,
    SUMMARY_Q,
    WORK_Q,
    WORKERS_Q,
)

LI_ID, WANG_WU_ID = 1011, 1012
NOW = datetime(2026, 2, 4, 2, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class KnownData:
    workers: dict[str, Person]  # 小张, 李四, 王五
    officers: dict[int, Person]  # by Telegram id: 王干事, 陈干事, 李主席
    handled_by: dict[str, int]  # case reference -> the officer who took or resolved it


def people(sandbox: BotApiSandbox) -> tuple[dict[str, Person], dict[int, Person]]:
    workers = {
        "小张": sandbox.person(WORKER_ID, first_name="小张"),
        "李四": sandbox.person(LI_ID, first_name="李四"),
        "王五": sandbox.person(WANG_WU_ID, first_name="王五"),
    }
    officers = {
        OFFICER_ID: sandbox.person(OFFICER_ID, first_name="王干事"),
        BACKUP_ID: sandbox.person(BACKUP_ID, first_name="陈干事"),
        ADMIN_ID: sandbox.person(ADMIN_ID, first_name="李主席"),
    }
    return workers, officers


async def build(bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock) -> KnownData:
    """File, take and resolve the six cases above, in time order; ends with the clock at NOW."""
    workers, officers = people(sandbox)
    data = KnownData(workers=workers, officers=officers, handled_by={})
    xiao, li, wang_wu = workers["小张"], workers["李四"], workers["王五"]

    clock.set(at(1, 5, 8, 30))
    for worker in workers.values():
        await onboard(worker)

    clock.set(at(1, 5, 9))
    await file_wages(xiao, "W-000001", employer="宏达劳务", amount="20000", workers=12, disclose=False)
    clock.set(at(1, 5, 9, 30))
    await take(bot, data, "W-000001")

    clock.set(at(1, 6, 1))
    await join(li, "M-000002", name="李四", phone="13900001111", trade="建筑工地", hometown="四川广安")
    clock.set(at(1, 6, 3))
    await approve(bot, data, "M-000002")

    clock.set(at(1, 13, 1))
    await file_wages(wang_wu, "W-000003", employer="明星电子厂", amount="3000", workers=1, disclose=True)
    clock.set(at(1, 13, 6))
    await take(bot, data, "W-000003")

    clock.set(at(1, 20, 2))
    await resolve_with_wages(bot, data, "W-000001", "欠薪部分追回", amount="4000", workers="3")

    clock.set(at(1, 20, 3))
    await ask_legal_aid(li, "L-000004", problem="被辞退或合同问题", story="老板突然把我辞退了，没给补偿")
    clock.set(at(1, 20, 4))
    await take(bot, data, "L-000004")
    clock.set(at(1, 22, 3))
    await resolve(bot, data, "L-000004", "转交劳动仲裁")

    clock.set(at(2, 2, 1))
    await ask_legal_aid(xiao, "L-000005", problem="工伤", story="在工地摔伤了腿")

    clock.set(at(2, 3, 1))
    await resolve_with_wages(bot, data, "W-000003", "欠薪全部追回", amount="3000", workers="1")

    clock.set(at(2, 3, 2))
    await join(
        wang_wu, "M-000006", name="王五", phone="13700002222", trade="工厂（制造业）", hometown="河南周口"
    )
    clock.set(at(2, 4, 1))
    await approve(bot, data, "M-000006")

    clock.set(NOW)
    await bot.reminders.run()  # sets the due times that make L-000005 overdue
    return data


async def downloaded(bot: UnionApplication, file_id: str) -> bytes:
    """A file the bot sent, fetched back as any client would (getFile, then the file URL)."""
    file = await bot.bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())


# -- workers -----------------------------------------------------------------------------------------


async def _submitted(worker: Person, reference: str) -> None:
    worker.press("✅ 提交")
    await worker.next_message(lambda m: reference in (m.text or ""))


async def file_wages(
    worker: Person, reference: str, *, employer: str, amount: str, workers: int, disclose: bool
) -> None:
    worker.send_command("/wages")
    await worker.next_message(lambda m: EMPLOYER_Q in (m.text or ""))
    await answer(worker, employer)
    worker.send_text("阳光花园项目 城关镇")
    await worker.next_message(lambda m: WORK_Q in (m.text or ""))
    await answer(worker, "砌砖")
    worker.press("3个月")
    await worker.next_message(lambda m: AMOUNT_Q in (m.text or ""))
    worker.send_text(amount)
    await worker.next_message(lambda m: WORKERS_Q in (m.text or ""))
    if workers == 1:
        worker.press("只有我")
    else:
        worker.send_text(f"{workers}人")
    await worker.next_message(lambda m: CONTRACT_Q in (m.text or ""))
    worker.press("没签合同")
    await worker.next_message(lambda m: EVIDENCE_Q in (m.text or ""))
    worker.press("跳过：我没有")
    await worker.next_message(lambda m: DISCLOSE_Q in (m.text or ""))
    worker.press("可以，老板可以知道" if disclose else "🔒 不能，替我保密")
    await worker.next_message(lambda m: SUMMARY_Q in (m.text or ""))
    await _submitted(worker, reference)


async def join(worker: Person, reference: str, *, name: str, phone: str, trade: str, hometown: str) -> None:
    worker.send_command("/join")
    await worker.next_message(lambda m: "名字" in (m.text or ""))
    await answer(worker, name)
    worker.send_text(phone)
    await worker.next_message(lambda m: "哪里干活" in (m.text or ""))
    await answer(worker, "宏达建筑劳务公司")
    worker.press(trade)
    await worker.next_message(lambda m: "老家" in (m.text or ""))
    await answer(worker, hometown)
    worker.send_text("城关镇")
    await worker.next_message(lambda m: SUMMARY_Q in (m.text or "") or "✅ 提交" in m.button_labels)
    await _submitted(worker, reference)


async def ask_legal_aid(worker: Person, reference: str, *, problem: str, story: str) -> None:
    worker.send_command("/legal")
    await worker.next_message(lambda m: m.text == "是哪方面的问题？")
    worker.press(problem)
    await worker.next_message(lambda m: "发生了什么事" in (m.text or ""))
    worker.send_text(story)
    await worker.next_message(lambda m: "我不知道有这样的日期" in m.button_labels)
    worker.press("我不知道有这样的日期")
    await worker.next_message(lambda m: "跳过：我没有" in m.button_labels)
    worker.press("跳过：我没有")
    await worker.next_message(lambda m: "在 Telegram 上给我发消息" in m.button_labels)
    worker.press("在 Telegram 上给我发消息")
    await worker.next_message(lambda m: "随时" in m.button_labels)
    worker.press("随时")
    await worker.next_message(lambda m: "✅ 提交" in m.button_labels)
    await _submitted(worker, reference)


# -- officers ----------------------------------------------------------------------------------------


async def _officer_of(bot: UnionApplication, data: KnownData, reference: str) -> Person:
    case = await bot.storage.get_case_by_reference(reference)
    assert case is not None and case.assignee_id is not None
    data.handled_by[reference] = case.assignee_id
    return data.officers[case.assignee_id]


async def _card(officer: Person, reference: str) -> SentMessage:
    officer.send_command(f"/case {reference}")
    return await officer.next_message(lambda m: f"{reference} · " in (m.text or "") and bool(m.button_labels))


async def take(bot: UnionApplication, data: KnownData, reference: str) -> None:
    officer = await _officer_of(bot, data, reference)
    await officer.next_message(lambda m: f"新案件 {reference}" in (m.text or ""), since=0)
    card = await _card(officer, reference)
    officer.press("✋ 接手", message_id=card.message_id)
    await officer.next_message(lambda m: f"您已接手 {reference}" in (m.text or ""))


async def _choose_outcome(officer: Person, reference: str, outcome: str) -> None:
    card = await _card(officer, reference)
    officer.press("✅ 办结", message_id=card.message_id)
    await officer.next_message(lambda m: f"{reference} 的办理结果是什么" in (m.text or ""))
    officer.press(outcome)


async def resolve(bot: UnionApplication, data: KnownData, reference: str, outcome: str) -> None:
    officer = await _officer_of(bot, data, reference)
    await _choose_outcome(officer, reference, outcome)
    await officer.next_message(lambda m: f"{reference} 已办结" in (m.text or ""))


async def resolve_with_wages(
    bot: UnionApplication, data: KnownData, reference: str, outcome: str, *, amount: str, workers: str
) -> None:
    officer = await _officer_of(bot, data, reference)
    await _choose_outcome(officer, reference, outcome)
    await officer.next_message(lambda m: "追回了多少钱" in (m.text or ""))
    officer.send_text(amount)
    await officer.next_message(lambda m: "有几名工人拿回了钱" in (m.text or ""))
    officer.send_text(workers)
    await officer.next_message(lambda m: f"{reference} 已办结" in (m.text or ""))


async def approve(bot: UnionApplication, data: KnownData, reference: str) -> None:
    """Approve straight from the alert: approving is the first response."""
    officer = await _officer_of(bot, data, reference)
    await officer.next_message(lambda m: f"新案件 {reference}" in (m.text or ""), since=0)
    await _choose_outcome(officer, reference, "批准入会")
    await officer.next_message(lambda m: "请输入新会员的编号" in (m.text or ""))
    case = await bot.storage.get_case_by_reference(reference)
    assert case is not None
    officer.press(f"使用 {suggested_member_number(case)}")
    await officer.next_message(lambda m: f"{reference} 已办结" in (m.text or ""))
