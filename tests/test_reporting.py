"""/stats, /report and /export: who may use them, and what a mistyped period gets. The figures themselves
are checked against a known data set in test_reports.py and test_exports.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.sandbox.server import BotApiSandbox, Person
from storage.models import OutboxMessage

ONLY_OFFICERS = "这个功能只供工会干事使用。"
STALE = "这个按钮已经失效了。"


async def test_a_worker_gets_no_figures_and_no_files(bot: UnionApplication, worker: Person) -> None:
    for command in ("/stats", "/report", "/report 2026-01-01 2026-01-31", "/export", "/export members"):
        worker.send_command(command)
        assert (await worker.next_message()).text == ONLY_OFFICERS
    for data in ("rp:p:y0", "rp:c:20260101-20260131", "ex:c", "ex:m:w0", "ex:c:20260101-20260131:x:u"):
        query = worker.press_data(data)
        answer = await worker.next_answer(query)
        assert (answer["text"], answer["show_alert"]) == (ONLY_OFFICERS, True)
    assert not any(m.kind in ("document", "photo") for m in worker.messages)


async def test_an_officer_is_told_what_is_wrong_with_typed_dates(bot: UnionApplication, wang: Person) -> None:
    for typed, expected in [
        ("/report 2026-03-01 2026-01-01", "第一个日期不能晚于第二个日期。"),
        ("/report 2025-01-01 2026-06-30", "一份报表最多统计366天。更长的时间请用 /export 导出案件。"),
        ("/report 昨天", "请输入两个日期，比如2026-01-01 2026-03-31。"),
        ("/report 2026-01-01 2026-02-30", "请输入两个日期，比如2026-01-01 2026-03-31。"),
        ("/export payroll", "请用 /export、/export cases 或 /export members，后面可以加两个日期。"),
        ("/export cases 2026-01-01", "请输入两个日期，比如2026-01-01 2026-03-31。"),
    ]:
        wang.send_command(typed)
        assert (await wang.next_message()).text == expected, typed

    # A longer period is fine for an export, and the roster has no third-party choice.
    wang.send_command("/export members 2020-01-01 2026-01-31")
    formats = await wang.next_message()
    assert formats.text == "2020-01-01 至 2026-01-31 入会的会员。用什么格式？"
    assert formats.button_labels == ["Excel（.xlsx）", "CSV"]


async def test_forged_or_stale_report_buttons_do_nothing(bot: UnionApplication, wang: Person) -> None:
    wang.send_command("/report")
    await wang.next_message()  # a message with buttons, to forge presses on
    for data in (
        "rp:x:y0",
        "rp:p:zz",
        "rp:c:20260131-20260101",
        "rp:c:20200101-20260101",  # longer than a report may be
        "ex:z",
        "ex:c:y9",
        "ex:m:w0:x:t",  # the roster is never for a third party
        "ex:c:w0:p:u",
    ):
        query = wang.press_data(data)
        assert (await wang.next_answer(query))["text"] == STALE, data
    assert not any(m.kind == "document" for m in wang.messages)


async def test_an_officer_with_no_cases_gets_an_empty_report(bot: UnionApplication, wang: Person) -> None:
    wang.send_command("/report 2026-01-01 2026-01-31")
    report = await wang.next_message()
    lines = report.text.splitlines()
    assert lines[:4] == [
        "📊 统计报表：2026-01-01 至 2026-01-31",
        "您的案件（您是主办人或替补的）",
        "",
        "新案件：0",
    ]
    assert "首次回应用时（中位数）：—" in lines and "按时处理：—（0件中0件）" in lines
    assert "这些新案件目前的状态：" not in lines and "新会员：0" in lines
    assert report.button_labels == ["📈 图表"]


async def test_a_chart_that_fails_gets_an_apology(
    bot: UnionApplication, wang: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.reports import charts

    def broken(*_args: object) -> list[bytes]:
        raise RuntimeError("no memory left")

    monkeypatch.setattr(charts, "all_charts", broken)
    wang.send_command("/report 2026-01-01 2026-01-31")
    report = await wang.next_message()
    wang.press("📈 图表", message_id=report.message_id)
    assert (await wang.next_message()).text == "抱歉，我们这边出了问题。请过一分钟再试。"


async def test_an_export_goes_on_when_uploading_is_not_shown_and_is_recorded_once_sent(
    bot: UnionApplication, sandbox: BotApiSandbox, admin: Person
) -> None:
    sandbox.fail("sendChatAction", 500)  # the "uploading…" a phone shows: nice to have, no more
    admin.send_command("/export cases 2026-01-01 2026-01-31")
    choose = await admin.next_message(lambda m: bool(m.button_labels))
    admin.press("Excel，工会内部用", message_id=choose.message_id)
    document = await admin.next_message(lambda m: m.kind == "document")
    assert document.raw["document"]["file_name"].endswith(".xlsx")


async def test_an_export_telegram_does_not_take_is_not_recorded_and_the_officer_is_told(
    bot: UnionApplication, sandbox: BotApiSandbox, admin: Person
) -> None:
    sandbox.fail("sendDocument", 502, chat_id=admin.user_id, times=1)
    admin.send_command("/export cases 2026-01-01 2026-01-31")
    choose = await admin.next_message(lambda m: bool(m.button_labels))
    admin.press("Excel，工会内部用", message_id=choose.message_id)
    told = await admin.next_message(lambda m: "文件" in (m.text or ""))
    assert (
        told.text
        == "抱歉，文件刚才没能发出去：Telegram 没有接收。这次不记为已导出。请过几分钟再发送 /export。"
    )


async def test_admins_see_in_stats_what_waits_to_be_delivered_and_what_is_stuck(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock, wang: Person, admin: Person
) -> None:
    fault = sandbox.fail("sendMessage", 502, chat_id=wang.user_id)  # Telegram keeps failing for 王干事
    await bot.storage.enqueue_outbox(OutboxMessage(chat_id=wang.user_id, params={"text": "新案件"}))
    await bot.outbox.send_due()
    clock.advance(timedelta(minutes=20))
    admin.send_command("/stats")
    lines = (await admin.next_message(lambda m: "本周" in (m.text or ""))).text.splitlines()
    assert lines[lines.index("发给工会干事和工人的消息：") :] == [
        "发给工会干事和工人的消息：",
        "等待送达：1，最早的一条已经等了20分钟",
        "⚠️ 卡住了（等了超过15分钟）：1",
        "最近7天放弃发送的：0",
        "",
        "其他时间段和图表：/report。导出表格：/export。",
    ]
    fault.clear()
    wang.send_command("/stats")  # an officer sees their cases, not the bot's delivery
    assert (
        "发给工会干事和工人的消息：" not in (await wang.next_message(lambda m: "本周" in (m.text or ""))).text
    )
