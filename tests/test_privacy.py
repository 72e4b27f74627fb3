"""Worker safety and privacy end to end over the sandbox: consent, disclosure, /mydata, /forget, retention,
the audit trail, deleting the chat's messages, and logs that name nobody."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.app import UnionApplication
from bot.cases import privacy
from bot.core.clock import FakeClock
from bot.core.logs import quiet_libraries
from bot.reports import exports
from bot.reports.figures import Period
from bot.sandbox.server import BotApiSandbox, Person, SentMessage
from bot.sandbox.session import OFFICER_ID, SANDBOX_TOKEN, WORKER_ID
from storage.models import (
    ANONYMOUS_WORKER_ID,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    NewCase,
    NewCaseEvent,
    Outcome,
    Resolution,
)
from tests.conftest import BOT_API_SPEC
from tests.flow_helpers import eventually, onboard
from tests.test_alerts import _fill_wages

FORGET_Q = "要删除您的全部资料吗"
OLDER = "超过48小时的消息删不掉"


class ShiftedTime:
    """The sandbox's clock (Telegram's), moved together with the bot's FakeClock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def telegram_time() -> ShiftedTime:
    return ShiftedTime()


@pytest.fixture
def sandbox(telegram_time: ShiftedTime) -> Iterator[BotApiSandbox]:
    with BotApiSandbox(
        clock=telegram_time, spec_path=BOT_API_SPEC if BOT_API_SPEC.exists() else None
    ) as server:
        yield server


async def _recorded(bot: UnionApplication, message_id: int) -> None:
    """Wait until the bot has noted a message it sent (it does so once Telegram's answer is back)."""
    for _ in range(1000):
        if any(m.message_id == message_id for m in await bot.storage.list_chat_messages(WORKER_ID)):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"message {message_id} was never recorded")


def _later(clock: FakeClock, telegram_time: ShiftedTime, delta: timedelta) -> None:
    clock.advance(delta)
    telegram_time.offset += delta.total_seconds()


async def _report_wages(
    worker: Person, wang: Person, *, disclose: bool = False, work: str | None = None
) -> None:
    """Onboard, report unpaid wages (one photo), and wait for Wang's alert."""
    await onboard(worker)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=disclose, work=work)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000001" in m.text)
    await wang.next_message(lambda m: "🆕 新案件 W-000001" in (m.text or ""))


async def _case(bot: UnionApplication, reference: str = "W-000001") -> Case:
    case = await bot.storage.get_case_by_reference(reference)
    assert case is not None
    return case


async def _exports(bot: UnionApplication, case: Case) -> list[CaseEvent]:
    """The case's export records, once there are any (recorded after Telegram took the file)."""

    async def read() -> list[CaseEvent]:
        return [e for e in await bot.storage.list_case_events(case.id) if e.action == privacy.EXPORTED]

    return await eventually(read, bool)


async def _my_data(sandbox: BotApiSandbox, worker: Person) -> tuple[SentMessage, str]:
    worker.send_command("/mydata")
    document = await worker.next_message(lambda m: m.kind == "document")
    return document, sandbox.file_content(document.raw["document"]["file_id"]).decode("utf-8")


async def _forget(worker: Person, *, stopping: str | None = None) -> SentMessage:
    """/forget and yes. ``stopping``, when given, is the warning about open cases that the question must
    start with ("" for a question with no warning)."""
    worker.send_command("/forget")
    question = await worker.next_message(lambda m: FORGET_Q in m.text)
    assert question.button_labels[0] == "🗑 是的，删除我的资料"
    if stopping is not None:
        assert question.text.startswith(f"{stopping}\n\n{FORGET_Q}" if stopping else FORGET_Q)
    worker.press("🗑 是的，删除我的资料")
    return await worker.next_message(lambda m: "您的资料已经删除" in m.text)


# -- consent ---------------------------------------------------------------------------------------------


async def test_a_worker_who_declines_reads_rights_stays_reachable_and_is_asked_nothing(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    worker.send_command("/start")
    await worker.next_message()
    worker.press("简体中文")
    consent = await worker.next_message(lambda m: "您同意吗" in m.text)
    assert "/mydata" in consent.text and "/forget" in consent.text and "事情办完1年后" in consent.text
    worker.press("我不同意")
    await worker.next_edit(lambda m: "不会问您任何个人资料" in m.text)

    worker.send_command("/rights")
    topics = await worker.next_message()
    assert "💰 欠薪" in topics.button_labels
    for command in ("/wages", "/join", "/legal"):
        worker.send_command(command)
        refused = await worker.next_message()
        assert "请先发送 /start" in refused.text
    stored = await bot.storage.get_worker(WORKER_ID)
    # Still someone the union's news can reach: the row, the language, no data, no consent.
    assert stored is not None and stored.language == "zh-Hans" and not stored.opted_out
    assert stored.consent_at is None and stored.profile == {}

    _, text = await _my_data(sandbox, worker)
    assert "同意我们保管资料：没有同意" in text and "您没有求助。" in text


# -- disclosure ------------------------------------------------------------------------------------------


async def test_the_disclosure_choice_is_on_the_alert_and_the_case_card(
    bot: UnionApplication, worker: Person, wang: Person, admin: Person
) -> None:
    await onboard(worker)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=False)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000001" in m.text)
    alert = await wang.next_message(lambda m: "W-000001" in (m.text or ""))
    assert "⚠️ 绝不能让用人单位知道是谁反映的。" in alert.text.splitlines()

    wang.send_command("/case W-000001")
    card = await wang.next_message(lambda m: "W-000001 · 欠薪" in m.text)
    assert "⚠️ 绝不能让用人单位知道是谁反映的。" in card.text.splitlines()

    # Legal aid does not ask; its officers see the default, which is "no".
    await bot.storage.create_case(
        NewCase(
            kind=CaseKind.LEGAL, worker_id=WORKER_ID, fields={"problem": "work_injury", "description": "摔伤"}
        )
    )
    admin.send_command("/case L-000002")
    legal = await admin.next_message(lambda m: "L-000002 · 法律援助" in m.text)
    assert "⚠️ 绝不能让用人单位知道是谁反映的。" in legal.text.splitlines()


async def test_a_third_party_export_names_the_worker_only_if_they_said_yes(bot: UnionApplication) -> None:
    """The one disclosure rule (privacy.may_name_worker), as the third-party export applies it."""
    storage = bot.storage
    await storage.ensure_worker(WORKER_ID, language="zh-Hans")
    await storage.update_worker_profile(
        WORKER_ID, {"name": "张三", "phone": "13812345678", "telegram_name": "小张"}
    )
    fields = {
        "employer": "宏达劳务",
        "site": "阳光花园",
        "work": "砌砖",
        "unpaid_months": 3,
        "amount_owed": "8500.00",
        "workers_affected": 1,
        "collective": False,
        "contract": "yes",
    }
    hidden = await storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=WORKER_ID, fields={**fields, "disclose_identity": False})
    )
    shown = await storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=WORKER_ID, fields={**fields, "disclose_identity": True})
    )
    legal = await storage.create_case(
        NewCase(
            kind=CaseKind.LEGAL,
            worker_id=WORKER_ID,
            fields={
                "problem": "work_injury",
                "description_kind": "text",
                "description": "摔伤",
                "phone": "13812345678",
            },
        )
    )
    assert [privacy.may_name_worker(case) for case in (hidden, shown, legal)] == [False, True, False]

    today = bot.clock.now().astimezone(bot.config.union.zone).date()
    table = await exports.case_table(
        storage,
        Period(first=today, last=today),
        language="zh-Hans",
        zone=bot.config.union.zone,
        audience=exports.Audience.THIRD_PARTY,
    )
    headers = [column.header for column in table.columns]
    rows = dict(zip(table.case_ids, table.rows, strict=True))
    identity = [headers.index(header) for header in ("Name", "Phone", "Telegram name")]
    employer = headers.index("Employer")
    for case in (hidden, legal):  # no choice asked (legal aid) means no: the phone in the answers stays out
        assert [rows[case.id][index] for index in identity] == [None, None, None]
        assert "13812345678" not in repr(rows[case.id]) and "张三" not in repr(rows[case.id])
    assert [rows[shown.id][index] for index in identity] == ["张三", "13812345678", "小张"]
    assert rows[hidden.id][employer] == "宏达劳务"  # the facts go: they may still point to a lone reporter

    # Once anonymised, nobody is named, whatever the worker said.
    assert not privacy.may_name_worker(shown.model_copy(update={"anonymised_at": bot.clock.now()}))


# -- /mydata ---------------------------------------------------------------------------------------------


async def test_mydata_sends_everything_stored_in_the_workers_language(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    wang.press("↩️ 回复工人")
    await wang.next_message(lambda m: "请写下给工人的回复" in m.text)
    wang.send_text("请把工资条拍照发来")
    await worker.next_message(lambda m: "请把工资条拍照发来" in m.text)
    worker.press("✉️ 回复")
    await worker.next_message(lambda m: "请写下您要对工会干事说的话" in m.text)
    worker.send_text("明天就发")
    await worker.next_message(lambda m: "已发送" in m.text)
    wang.press("📝 内部备注")
    await wang.next_message(lambda m: "内部备注" in m.text)
    wang.send_text("老板态度很差")
    await wang.next_message(lambda m: "内部备注已保存到" in m.text)

    document, text = await _my_data(sandbox, worker)
    assert document.raw["document"]["file_name"].startswith("my-data-")
    assert "请收好这个文件" in (document.text or "")
    lines = text.splitlines()
    assert lines[0] == "沙盒镇总工会：我们保存的关于您的资料"
    assert f"Telegram 用户编号：{WORKER_ID}" in lines and "语言：简体中文" in lines
    assert "Telegram 上的名字：小张" in lines
    assert "== W-000001 · 欠薪 ==" in lines
    assert "  欠工资的老板：宏达劳务" in lines and "  欠薪金额：8500元" in lines
    assert "  证据：1个文件" in lines
    assert "    请把工资条拍照发来" in lines and "    明天就发" in lines  # both sides of the conversation
    assert any(line.startswith("  1. 照片") for line in lines)
    assert "老板态度很差" not in text  # internal notes are the officers'
    case = await _case(bot)
    exports = await _exports(bot, case)
    assert [(e.actor_role, e.note) for e in exports] == [("worker", privacy.EXPORT_MYDATA)]


async def test_when_the_file_cannot_be_sent_mydata_says_so_and_records_no_export(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    sandbox.fail("sendDocument", 500, chat_id=worker.user_id, times=1)
    worker.send_command("/mydata")
    told = await worker.next_message()
    assert told.text == (
        "抱歉，文件可能没有发到您这里：Telegram 刚才没有接收。"
        "如果上面看不到这个文件，请过几分钟再发送 /mydata。"
    )
    worker.send_command("/help")  # the next thing the bot says is the answer to that, nothing else
    assert (await worker.next_message()).text.startswith("您可以：")
    case = await _case(bot)
    assert [e for e in await bot.storage.list_case_events(case.id) if e.action == privacy.EXPORTED] == []

    await _my_data(sandbox, worker)  # asked again, it arrives and is recorded once
    assert len(await _exports(bot, case)) == 1


# -- /forget ---------------------------------------------------------------------------------------------


async def test_forget_before_the_case_is_resolved_withdraws_it_and_tells_the_officer(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    wang.press("✋ 接手")
    await worker.next_message(lambda m: "已接手" in m.text)
    case = await _case(bot)
    assert await bot.storage.list_attachments(case.id)

    done = await _forget(
        worker, stopping="⚠️ 工会会停止办理 W-000001。不会再有人帮您要工资，也不会再回复您的求助。"
    )
    assert "已撤回：W-000001。已经告诉工会干事了。" in done.text
    assert "1个求助还留在工会的记录里" in done.text
    assert OLDER not in done.text  # everything was recent
    # The chat is clear: of the bot's messages only the last word is left, and none of the worker's.
    assert [m.message_id for m in worker.messages] == [done.message_id]
    assert worker.sent_messages == []
    told = await wang.next_message(lambda m: "工人撤回了 W-000001" in m.text)
    assert "要求工会删除他/她的资料" in told.text

    case = await _case(bot)
    assert case.status == CaseStatus.WITHDRAWN and case.anonymised_at is not None
    assert case.worker_id == ANONYMOUS_WORKER_ID
    assert case.fields == {
        "employer": "宏达劳务",
        "unpaid_months": 3,
        "amount_owed": "8500.00",
        "workers_affected": 1,
        "collective": False,
        "contract": "yes",
    }
    assert await bot.storage.list_attachments(case.id) == []
    events = await bot.storage.list_case_events(case.id)
    assert all(e.actor_id != WORKER_ID for e in events)
    assert events[-1].action == privacy.ANONYMISED and events[-1].note == "forget"
    assert await bot.storage.get_worker(WORKER_ID) is None
    assert str(WORKER_ID) not in await bot.storage.load_persistence("user_data")
    # At most the final word is remembered (for /deletemessages), once the bot has written its notes.
    assert {m.message_id for m in await bot.storage.list_chat_messages(WORKER_ID)} <= {done.message_id}

    # The officer can no longer reach a worker who is gone.
    wang.send_command("/case W-000001")
    card = await wang.next_message(lambda m: "W-000001 · 欠薪" in m.text)
    assert "已匿名" in card.text and card.button_labels == ["📝 内部备注"]
    assert "小张" not in card.text and "阳光花园" not in card.text


async def test_forget_after_the_case_is_resolved_keeps_the_outcome(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    case = await _case(bot)
    await bot.storage.resolve_case(
        case.id,
        expected=case.status,
        resolution=Resolution(
            outcome=Outcome.RECOVERED_FULL, amount_recovered=Decimal(8500), workers_helped=1
        ),
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    await bot.outbox.send_due()
    seen = len(wang.messages)

    done = await _forget(worker, stopping="")  # nothing open: no warning that work stops
    assert "已撤回" not in done.text and "1个求助还留在工会的记录里" in done.text
    case = await _case(bot)
    assert case.status == CaseStatus.RESOLVED and case.anonymised_at is not None
    assert (case.outcome, case.amount_recovered, case.workers_helped) == (
        Outcome.RECOVERED_FULL,
        Decimal(8500),
        1,
    )
    assert case.fields["amount_owed"] == "8500.00" and "site" not in case.fields and "work" not in case.fields
    await bot.outbox.send_due()
    assert len(wang.messages) == seen  # nothing to act on: the officer is not disturbed


async def test_forget_in_the_middle_of_a_form_drops_the_draft_and_the_conversation(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker)
    worker.send_command("/wages")
    await worker.next_message(lambda m: "谁欠您的工资" in m.text)
    worker.send_text("宏达劳务")
    await worker.next_message(lambda m: "哪个项目或工地" in m.text)

    await _forget(worker)  # works from inside the form: no "finish the form first"
    assert await bot.storage.load_persistence("user_data") == {}
    assert await bot.storage.load_persistence("conversation") == {}
    worker.send_text("阳光花园")  # would have been the site; the form is gone
    reply = await worker.next_message()
    assert "没看懂" in reply.text


# -- retention -------------------------------------------------------------------------------------------


async def _sweep(bot: UnionApplication) -> None:
    """Run the scheduled privacy sweep now, as the job queue would."""
    assert bot.job_queue is not None
    (job,) = bot.job_queue.get_jobs_by_name("privacy-sweep")
    await job.run(bot)


async def test_retention_anonymises_ended_cases_and_erases_inactive_profiles_as_the_clock_moves(
    bot: UnionApplication, clock: FakeClock, telegram_time: ShiftedTime, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    storage = bot.storage
    case = await _case(bot)
    await storage.resolve_case(
        case.id,
        expected=case.status,
        resolution=Resolution(outcome=Outcome.NOT_RECOVERED),
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    await storage.change_case_status(
        case.id,
        expected=CaseStatus.RESOLVED,
        new=CaseStatus.CLOSED,
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    # Another worker, quiet for years but with a case still open: nothing of theirs goes.
    await storage.ensure_worker(1002, language="zh-Hans")
    await storage.update_worker_profile(1002, {"name": "李四"})
    waiting = await storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=1002, fields={"employer": "甲"})
    )

    _later(clock, telegram_time, timedelta(days=364))
    await _sweep(bot)
    assert (await _case(bot)).anonymised_at is None  # not yet a year

    _later(clock, telegram_time, timedelta(days=2))
    await _sweep(bot)
    case = await _case(bot)
    assert case.anonymised_at is not None and case.worker_id == ANONYMOUS_WORKER_ID
    assert case.status == CaseStatus.CLOSED and case.outcome == Outcome.NOT_RECOVERED
    events = await storage.list_case_events(case.id)
    assert events[-1].action == privacy.ANONYMISED and events[-1].note == "retention"
    stored = await storage.get_worker(WORKER_ID)
    assert stored is not None and stored.profile == {"telegram_name": "小张"}  # seen 366 days ago only

    _later(clock, telegram_time, timedelta(days=365))
    await _sweep(bot)
    stored = await storage.get_worker(WORKER_ID)
    assert stored is not None and stored.profile == {} and stored.language == "zh-Hans"
    other = await storage.get_worker(1002)
    assert other is not None and other.profile == {"name": "李四"}
    assert (await storage.get_case(waiting.id)).anonymised_at is None  # type: ignore[union-attr]

    # Writing to the bot again is activity: the profile starts over from there.
    worker.send_command("/start")
    await worker.next_message(lambda m: "欢迎回到" in m.text)
    await bot.write_notes()  # the bot notes activity with its next commit, which may follow its reply
    stored = await storage.get_worker(WORKER_ID)
    assert stored is not None and stored.last_seen_at == clock.now()


# -- audit -----------------------------------------------------------------------------------------------


async def test_every_view_change_and_export_is_in_the_admins_audit_trail(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person, chen: Person, admin: Person
) -> None:
    await _report_wages(worker, wang)
    wang.press("✋ 接手")
    await wang.next_message(lambda m: "您已接手 W-000001" in m.text)
    wang.send_command("/case w1")
    card = await wang.next_message(lambda m: "W-000001 · 欠薪" in m.text)
    assert "查看了" not in card.text  # the card's history is the work, not the looking
    wang.press("📎 把文件发给我", message_id=card.message_id)
    await wang.next_message(lambda m: m.kind == "photo")
    wang.press("📁 工人档案", message_id=card.message_id)
    await wang.next_message(lambda m: "工人档案" in m.text)
    await _my_data(sandbox, worker)
    # The copy is recorded once Telegram took it, just after the worker sees it: wait for the record.
    case = await _case(bot)
    await eventually(
        lambda: bot.storage.list_case_events(case.id),
        lambda events: any(e.action == privacy.EXPORTED and e.note == privacy.EXPORT_MYDATA for e in events),
    )

    chen.send_command("/audit W-000001")
    assert (await chen.next_message()).text == "只有工会管理员可以这样做。"
    admin.send_command("/audit W-000001")
    trail = await admin.next_message(lambda m: "W-000001 的查看和操作记录" in m.text)
    lines = trail.text.splitlines()
    assert lines[0] == "W-000001 的查看和操作记录，第1页，共1页："
    assert any(line.endswith("工人：收到案件") for line in lines)
    assert any(line.endswith("王干事：状态：已接手") for line in lines)
    assert any(line.endswith("王干事：查看了案件卡片（/case）") for line in lines)
    assert any(line.endswith("王干事：收到了案件文件") for line in lines)
    assert any(line.endswith("王干事：查看了工人档案") for line in lines)  # the file shows this case too
    assert any(line.endswith("工人：工人下载了自己的资料") for line in lines)
    assert "宏达" not in trail.text and "小张" not in trail.text  # who and what, never the contents


async def test_a_long_audit_trail_comes_in_pages_under_telegrams_limit(
    bot: UnionApplication, worker: Person, wang: Person, admin: Person
) -> None:
    await _report_wages(worker, wang)
    case = await _case(bot)
    for _ in range(150):
        await bot.storage.add_case_event(
            NewCaseEvent(
                case_id=case.id, actor_id=OFFICER_ID, actor_role="officer", action="viewed", note="card"
            )
        )
    admin.send_command("/audit W-000001")
    first = await admin.next_message(lambda m: "第1页" in m.text)
    pages = int(first.text.splitlines()[0].split("共")[1].split("页")[0])
    assert pages >= 2 and len(first.text) < 4096
    assert first.text.endswith("下一页：/audit W-000001 2")
    admin.send_command(f"/audit W-000001 {pages}")
    last = await admin.next_message(lambda m: f"第{pages}页" in m.text)
    assert "下一页" not in last.text and len(last.text) < 4096


# -- deleting the chat's messages ------------------------------------------------------------------------


async def test_deleting_messages_clears_the_last_48_hours_and_says_older_ones_remain(
    bot: UnionApplication, clock: FakeClock, telegram_time: ShiftedTime, worker: Person, wang: Person
) -> None:
    await _report_wages(worker, wang)
    old_bot = [m.message_id for m in worker.messages]
    old_worker = [m.message_id for m in worker.sent_messages]
    await _recorded(bot, old_bot[-1])

    _later(clock, telegram_time, timedelta(hours=49))
    wang.press("↩️ 回复工人")
    await wang.next_message(lambda m: "请写下给工人的回复" in m.text)
    wang.send_text("请明天来工会")
    recent = await worker.next_message(lambda m: "请明天来工会" in m.text)
    await _recorded(bot, recent.message_id)  # the worker can see it a moment before the bot notes it

    worker.send_command("/deletemessages")
    done = await worker.next_message(lambda m: "已删除这个对话里的" in m.text)
    # The reply and the command are gone; the 49-hour-old ones stay, and the worker is told plainly.
    assert done.text.startswith("已删除这个对话里的2条消息。") and OLDER in done.text
    shown = [m.message_id for m in worker.messages]
    assert recent.message_id not in shown and done.message_id in shown
    assert [m for m in shown if m != done.message_id] == old_bot
    assert [m.message_id for m in worker.sent_messages] == old_worker

    # After 48 hours the sweep forgets ids that can no longer be deleted.
    await bot.write_notes()  # the update's own commit, which notes the last reply, may follow that reply
    await _sweep(bot)
    assert [m.message_id for m in await bot.storage.list_chat_messages(WORKER_ID)] == [done.message_id]


async def test_deleting_messages_works_in_the_middle_of_a_form_which_then_goes_on(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker)
    worker.send_command("/wages")
    await worker.next_message(lambda m: "谁欠您的工资" in m.text)
    worker.send_command("/deletemessages")
    done = await worker.next_message(lambda m: "已删除这个对话里的" in m.text)
    assert OLDER not in done.text
    assert [m.message_id for m in worker.messages] == [done.message_id] and worker.sent_messages == []
    worker.send_text("宏达劳务")
    assert "哪个项目或工地" in (await worker.next_message()).text


async def test_when_telegram_fails_to_delete_the_worker_is_told_the_truth_not_that_they_are_old(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    await onboard(worker)
    sandbox.fail("deleteMessages", 500, times=1)
    worker.send_command("/deletemessages")
    told = await worker.next_message(lambda m: "删" in (m.text or ""))
    assert told.text.startswith("已删除这个对话里的0条消息。")
    assert "可能没有删掉：Telegram 刚才没有正常回应。请过一分钟再发送 /deletemessages" in told.text
    assert OLDER not in told.text  # they are minutes old
    assert await bot.storage.list_chat_messages(WORKER_ID) != []  # kept, so asking again deletes them

    worker.send_command("/deletemessages")
    again = await worker.next_message(lambda m: "删" in (m.text or "") and m.message_id != told.message_id)
    assert "可能没有删掉" not in again.text and not again.text.startswith("已删除这个对话里的0条")


# -- logs ------------------------------------------------------------------------------------------------


async def test_a_whole_case_leaves_no_name_phone_or_token_in_the_logs(
    bot: UnionApplication,
    sandbox: BotApiSandbox,
    worker: Person,
    wang: Person,
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = worker.phone_number
    quiet_libraries()  # as `union-bot run` configures logging
    caplog.set_level(logging.INFO)
    for name in ("bot", "flows", "storage"):
        caplog.set_level(logging.DEBUG, logger=name)

    await _report_wages(worker, wang, work=f"砌砖，我是{worker.first_name}，电话 {phone}")
    wang.press("↩️ 回复工人")
    await wang.next_message(lambda m: "请写下给工人的回复" in m.text)
    wang.send_text(f"{worker.first_name}，我们会打 {phone} 联系您")
    await worker.next_message(lambda m: "我们会打" in m.text)
    worker.press("✉️ 回复")
    await worker.next_message(lambda m: "请写下您要对工会干事说的话" in m.text)
    worker.send_text(f"好的，我的电话是 {phone}")
    await worker.next_message(lambda m: "已发送" in m.text)
    await _my_data(sandbox, worker)
    await _forget(worker)
    await bot.outbox.send_due()

    assert len(caplog.records) > 5  # the run did log
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in (worker.first_name, phone, phone.removeprefix("+86"), SANDBOX_TOKEN):
            assert secret not in text, f"{record.name}: {text}"


async def test_the_privacy_page_in_the_menu_offers_the_same_three_things(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker)
    worker.press("🔒 隐私和我的资料")
    page = await worker.next_message(lambda m: "您的资料和安全" in m.text)
    assert "事情办完1年后" in page.text and "如果您2年没有用这个机器人" in page.text
    assert page.button_labels == ["📄 拿一份我的资料", "🧹 删除这个对话里的消息", "🗑 删除我的全部资料"]
    worker.press("📄 拿一份我的资料")
    await worker.next_message(lambda m: m.kind == "document")
    worker.press("🗑 删除我的全部资料")
    await worker.next_message(lambda m: FORGET_Q in m.text)
    worker.press("不，保留我的资料")
    await worker.next_edit(lambda m: m.text == "什么都没有删除。")
    assert await bot.storage.get_worker(WORKER_ID) is not None
