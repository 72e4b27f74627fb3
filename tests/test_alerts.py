"""A new case reaches its two officers through the outbox: the primary's alert and the backup's note."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime

from bot.app import UnionApplication
from bot.cases.alerts import MESSAGE_LIMIT, alert_messages, backup_note, officer_language, primary_alert
from bot.cases.assignment import Assignment
from bot.core.clock import FakeClock
from bot.runtime.delivery import JITTER, LONGEST_RETRY
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import BACKUP_ID, OFFICER_ID
from storage.models import AttachmentIn, Case, CaseKind, CaseStatus, Officer, Priority
from tests.flow_helpers import answer, onboard
from tests.test_wages import (
    AMOUNT_Q,
    CONTRACT_Q,
    DISCLOSE_Q,
    EVIDENCE_Q,
    SUMMARY_Q,
    WORK_Q,
    WORKERS_Q,
    start_wages,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOSTILE = "<b>宏达</b> & 劳务"

WAGES_FIELDS = {
    "employer": HOSTILE,
    "site": "阳光花园 城关镇",
    "location": None,
    "work": "砌砖",
    "unpaid_for": None,
    "unpaid_months": 3,
    "amount_owed": "12000.00",
    "workers_affected": 12,
    "collective": True,
    "contract": "no",
    "disclose_identity": False,
}


def _officer(telegram_id: int, name: str, languages: tuple[str, ...] = ()) -> Officer:
    return Officer(
        telegram_id=telegram_id,
        name=name,
        role="officer",
        specialties=list(CaseKind),
        regions=[],
        languages=list(languages),
        active=True,
        created_at=NOW,
        updated_at=NOW,
    )


def _case(kind: CaseKind = CaseKind.WAGES, priority: Priority = Priority.HIGH, **fields: object) -> Case:
    base = WAGES_FIELDS if kind == CaseKind.WAGES else {}
    prefix = {CaseKind.WAGES: "W", CaseKind.LEGAL: "L", CaseKind.MEMBERSHIP: "M"}[kind]
    return Case(
        id=123,
        reference=f"{prefix}-000123",
        kind=kind,
        status=CaseStatus.NEW,
        priority=priority,
        worker_id=1001,
        assignee_id=2001,
        backup_id=2002,
        fields={**base, **fields},
        created_at=NOW,
        updated_at=NOW,
        first_response_due_at=None,
        next_update_due_at=None,
        acknowledged_at=None,
        resolved_at=None,
        closed_at=None,
    )


def _visible(text: str) -> str:
    """What Telegram shows of an HTML message: tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


WANG, CHEN = _officer(2001, "王干事"), _officer(2002, "陈干事")


# -- the messages ------------------------------------------------------------------------------------


def test_a_collective_wages_alert_stands_out_and_keeps_the_reporter_hidden() -> None:
    text = primary_alert(_case(), "zh-Hans", backup=CHEN, evidence=2, worker_name="小张")
    visible = _visible(text).splitlines()
    assert visible[0] == "🔴 群体性案件：涉及12名工人，请优先处理。"
    assert visible[1] == "🆕 新案件 W-000123：欠薪"
    assert "替补：陈干事" in visible[2]
    assert "<b>⚠️ 绝不能让用人单位知道是谁反映的。</b>" in text
    assert f"欠薪方：{HOSTILE}" in visible
    assert "欠薪金额：1.2万元" in visible
    assert "证据：2个文件" in visible
    assert "工人：小张（Telegram）" in visible
    assert "&lt;b&gt;宏达&lt;/b&gt; &amp; 劳务" in text  # escaped, not markup


def test_a_single_worker_who_may_be_named_gets_a_plain_alert_in_the_officers_language() -> None:
    case = _case(priority=Priority.NORMAL, workers_affected=1, collective=False, disclose_identity=True)
    visible = _visible(primary_alert(case, "en", backup=None, evidence=0, worker_name="Ah <Zhang>"))
    assert visible.startswith(
        "🆕 New case W-000123: Unpaid wages\nYou are the primary officer. There is no backup."
    )
    assert "Collective" not in visible
    assert "The worker agreed that their name and phone may go to the employer." in visible
    assert "Evidence: none" in visible
    assert "Worker: Ah <Zhang>, in Telegram" in visible


def test_a_legal_alert_shows_the_phone_only_when_the_worker_asked_for_a_call() -> None:
    fields = {
        "problem": "work_injury",
        "description_kind": "text",
        "description": "从脚手架上摔下来",
        "deadline": "2026-03-05",
        "contact_method": "telegram",
        "phone": None,
        "contact_time": "evenings",
    }
    by_telegram = _visible(
        primary_alert(
            _case(CaseKind.LEGAL, Priority.URGENT, **fields),
            "zh-Hans",
            backup=CHEN,
            evidence=0,
            worker_name="小张",
        )
    )
    assert by_telegram.startswith("🔴 紧急")
    assert "问题：工伤" in by_telegram and "从脚手架上摔下来" in by_telegram
    assert "电话" not in by_telegram
    fields.update(contact_method="phone", phone="13812345678")
    by_phone = _visible(
        primary_alert(
            _case(CaseKind.LEGAL, Priority.NORMAL, **fields),
            "zh-Hans",
            backup=CHEN,
            evidence=0,
            worker_name="小张",
        )
    )
    assert "13812345678" in by_phone


def test_long_free_text_is_cut_and_the_alert_stays_under_telegrams_limit() -> None:
    fields = {
        "problem": "other",
        "description_kind": "text",
        "description": "很长的故事" * 400,  # 2000 characters, the form's maximum
        "contact_method": "telegram",
        "contact_time": "any",
    }
    case = _case(CaseKind.LEGAL, Priority.NORMAL, **fields)
    text = primary_alert(case, "zh-Hans", backup=CHEN, evidence=0, worker_name="小" * 64)
    assert len(_visible(text)) < MESSAGE_LIMIT
    assert "…" in text


def test_a_membership_alert_lists_the_roster_details() -> None:
    fields = {
        "name": "张三",
        "phone": "13812345678",
        "employer": "宏达劳务",
        "trade": "construction",
        "hometown": "四川广安",
        "workplace": "城关镇",
    }
    visible = _visible(
        primary_alert(
            _case(CaseKind.MEMBERSHIP, Priority.NORMAL, **fields),
            "zh-Hans",
            backup=None,
            evidence=0,
            worker_name="小张",
        )
    )
    assert "M-000123" in visible and "13812345678" in visible and "四川广安" in visible
    assert "证据" not in visible


def test_the_backup_note_is_short_and_names_the_primary() -> None:
    note = backup_note(_case(), "zh-Hans", primary=_officer(2001, "王<干事>"))
    assert note == ("您是 W-000123（欠薪）的替补。主办人：王&lt;干事&gt;。主办人不在时，请接手这个案件。")


def test_each_officer_gets_keyed_messages_in_their_language_and_the_primary_gets_the_files() -> None:
    english_backup = _officer(2002, "Chen", languages=("en", "zh-Hans"))
    messages = alert_messages(
        _case(),
        Assignment(WANG, english_backup),
        attachments=[AttachmentIn(kind="photo", file_id="a")],
        worker_name="小张",
        default_language="zh-Hans",
    )
    assert [(m.chat_id, m.method, m.dedupe_key) for m in messages] == [
        (2001, "sendMessage", "alert:123:2001"),
        (2001, "sendPhoto", "alert-files:123:2001:1"),
        (2002, "sendMessage", "alert:123:2002"),
    ]
    assert "新案件" in messages[0].params["text"]
    buttons = [
        b["callback_data"] for row in messages[0].params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == [
        f"oc:{action}:123" for action in ("take", "reply", "ask", "note", "resolve", "reassign")
    ]
    assert messages[1].params == {
        "photo": "a",
        "caption": "W-000123 · 第1个文件，共1个",
        "parse_mode": "HTML",
    }
    assert messages[2].params["text"].startswith("You are the backup for W-000123")
    assert "reply_markup" not in messages[2].params
    assert officer_language(_officer(1, "x", languages=("fr", "zh-Hant")), "zh-Hans") == "zh-Hant"
    assert (
        alert_messages(
            _case(), Assignment(None, None), attachments=[], worker_name="x", default_language="en"
        )
        == []
    )


# -- end to end --------------------------------------------------------------------------------------


def _officers(sandbox: BotApiSandbox) -> dict[int, Person]:
    """The two wages officers of the sandbox config, with chats the bot can write to."""
    return {
        officer_id: sandbox.person(officer_id, first_name=name)
        for officer_id, name in ((OFFICER_ID, "王干事"), (BACKUP_ID, "陈干事"))
    }


async def _fill_wages(
    worker: Person,
    *,
    employer: str,
    workers: str | None,
    disclose: bool,
    site: str = "阳光花园项目 城关镇",
    work: str | None = None,
) -> None:
    """Answer every wages question in zh-Hans, with one photo, up to the summary."""
    await start_wages(worker)
    await answer(worker, employer)
    worker.send_text(site)
    await worker.next_message(lambda m: WORK_Q in m.text)
    worker.send_text(work or "砌砖")
    await worker.next_message(lambda m: "欠了多长时间" in m.text)
    worker.press("3个月")
    await worker.next_message(lambda m: AMOUNT_Q in m.text)
    worker.send_text("8500")
    await worker.next_message(lambda m: WORKERS_Q in m.text)
    if workers is None:
        worker.press("只有我")
    else:
        worker.send_text(workers)
    await worker.next_message(lambda m: CONTRACT_Q in m.text)
    worker.press("签了")
    await worker.next_message(lambda m: EVIDENCE_Q in m.text)
    worker.send_photo()
    await worker.next_message(lambda m: "收到了（1）" in m.text)
    worker.press("✅ 好了")
    await worker.next_message(lambda m: DISCLOSE_Q in m.text)
    worker.press("可以，老板可以知道" if disclose else "🔒 不能，替我保密")
    await worker.next_message(lambda m: SUMMARY_Q in m.text)


async def test_a_collective_wages_report_alerts_the_primary_and_the_backup(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    officers = _officers(sandbox)
    await onboard(worker)
    await _fill_wages(worker, employer=HOSTILE, workers="12", disclose=False)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000001" in m.text)

    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.assignee_id is not None and case.backup_id is not None
    assert {case.assignee_id, case.backup_id} == {OFFICER_ID, BACKUP_ID}
    primary, backup = officers[case.assignee_id], officers[case.backup_id]
    alert = await primary.next_message()
    lines = alert.text.splitlines()
    assert lines[0] == "🔴 群体性案件：涉及12名工人，请优先处理。"
    assert "🆕 新案件 W-000001：欠薪" in lines
    assert "⚠️ 绝不能让用人单位知道是谁反映的。" in lines
    assert f"欠薪方：{HOSTILE}" in lines  # arrives intact, as text
    assert "证据：1个文件" in lines
    assert "工人：小张（Telegram）" in lines
    assert "✋ 接手" in alert.button_labels
    photo = await primary.next_message(lambda m: m.kind == "photo")
    assert "W-000001" in photo.text
    note = await backup.next_message()
    primary_name = "王干事" if case.assignee_id == OFFICER_ID else "陈干事"
    assert "W-000001" in note.text and f"主办人：{primary_name}" in note.text
    await bot.outbox.send_due()
    assert (len(primary.messages), len(backup.messages)) == (2, 1)


async def test_the_next_case_goes_to_the_other_officer_and_says_the_worker_may_be_named(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    officers = _officers(sandbox)
    await onboard(worker)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=False)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000001" in m.text)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=True)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "W-000002" in m.text)

    first = await bot.storage.get_case_by_reference("W-000001")
    second = await bot.storage.get_case_by_reference("W-000002")
    assert first is not None and second is not None
    assert (second.assignee_id, second.backup_id) == (first.backup_id, first.assignee_id)
    assert second.assignee_id is not None
    alert = await officers[second.assignee_id].next_message(lambda m: "W-000002" in m.text)
    assert "群体性" not in alert.text
    assert "工人同意：可以把他/她的姓名和电话告诉用人单位。" in alert.text
    assert "该工人是单独反映的" not in alert.text
    # The first report was hidden and alone: its officer is told the details may give the worker away.
    assert first.assignee_id is not None
    hidden = await officers[first.assignee_id].next_message(lambda m: "W-000001" in m.text)
    assert (
        "该工人是单独反映的：工地、金额和日期可能让用人单位猜出是谁。给工会以外的人看之前请慎重。"
        in hidden.text
    )


async def _wait_for_sends(sandbox: BotApiSandbox, chat_ids: set[int], since: int) -> None:
    """Until the bot has tried sendMessage to each of these chats (failed attempts count)."""
    pending = set(chat_ids)
    while pending:
        await asyncio.to_thread(sandbox.wait_for_call, "sendMessage", since=since)
        calls = sandbox.calls
        pending -= {int(p["chat_id"]) for name, p in calls[since:] if name == "sendMessage"}
        since = len(calls)


async def test_alerts_survive_a_telegram_outage_and_arrive_once(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, clock: FakeClock
) -> None:
    officers = _officers(sandbox)
    await onboard(worker)
    await _fill_wages(worker, employer="宏达劳务", workers=None, disclose=False)
    mark = len(sandbox.calls)
    sandbox.fail("sendMessage", 502)
    worker.press("✅ 提交")
    # The alerts fail, and so does the worker's "received" reply (a direct send, not through the
    # outbox): wait until all three were tried, then end the outage.
    await _wait_for_sends(sandbox, {worker.chat_id, OFFICER_ID, BACKUP_ID}, mark)
    sandbox.clear_faults()
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.assignee_id is not None  # written before anything was sent
    assert all(officer.messages == [] for officer in officers.values())

    # A sweep still recording the outage's failures finishes first (send_due waits for it); only then
    # does the clock move past the retry time it recorded.
    await bot.outbox.send_due()
    clock.advance(LONGEST_RETRY * (1 + JITTER))
    await bot.outbox.send_due()
    await officers[OFFICER_ID].next_message(lambda m: "W-000001" in m.text)
    await officers[BACKUP_ID].next_message(lambda m: "W-000001" in m.text)
    await bot.outbox.send_due()
    assert (len(officers[OFFICER_ID].messages), len(officers[BACKUP_ID].messages)) == (2, 1)
    assert await bot.storage.due_outbox(clock.now() + LONGEST_RETRY * (1 + JITTER)) == []


def test_a_location_sent_from_the_site_follows_the_alert_as_a_map_pin() -> None:
    case = _case(location={"latitude": 30.65, "longitude": 104.06})
    messages = alert_messages(
        case, Assignment(WANG, CHEN), attachments=[], worker_name="小张", default_language="zh-Hans"
    )
    assert [(m.chat_id, m.method) for m in messages] == [
        (2001, "sendMessage"),
        (2001, "sendLocation"),
        (2002, "sendMessage"),
    ]
    assert messages[1].params == {"latitude": 30.65, "longitude": 104.06}
