"""One file per worker (一人一档), end to end over the sandbox, in zh-Hans and English: every kind of case,
assistance granted, trainings attended, the hardship plan and its review date, notes, access and audit."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.officers.workerfile import add_months, paginate, parse_review_date, visible_length
from bot.sandbox.people import SentMessage
from bot.sandbox.server import Person
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, WORKER_ID
from storage.migrations import MIGRATIONS, migrate
from storage.models import (
    ANONYMOUS_WORKER_ID,
    CaseKind,
    CaseStatus,
    NewCase,
    NewTraining,
    OfficerIn,
    Outcome,
    Resolution,
)
from storage.sqlite import SQLiteStorage

# The test clock starts on Monday 5 January 2026, 17:00 in Shanghai (FakeClock).
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TODAY = date(2026, 1, 5)
HOSTILE = "<b>张</b> & *_[ 三"


@dataclass(frozen=True)
class Seeded:
    wages: int
    legal: int
    membership: int
    assistance: int


async def _seed(bot: UnionApplication, clock: FakeClock, *, legal_officer: int = BACKUP_ID) -> Seeded:
    """A worker with a wages case (recovered), a legal case (in progress), a membership case (approved), a
    hardship grant and a training attended. Wang is primary on wages and assistance, ``legal_officer``
    on the legal case, the admin on the membership application; Chen is the wages case's backup."""
    storage = bot.storage
    await storage.ensure_worker(WORKER_ID, language="zh-Hans")
    await storage.update_worker_profile(
        WORKER_ID,
        {
            "name": HOSTILE,
            "telegram_name": "小张",
            "phone": "13812345678",
            "hometown": "四川广安",
            "workplace": "城关镇",
            "employer": "宏达建筑劳务公司",
            "trade": "construction",
        },
    )

    async def filed(kind: CaseKind, assignee: int, backup: int | None, fields: dict[str, object]) -> int:
        clock.advance(timedelta(hours=1))
        case = await storage.create_case(
            NewCase(kind=kind, worker_id=WORKER_ID, fields=fields, assignee_id=assignee, backup_id=backup)
        )
        return case.id

    async def resolved(case_id: int, resolution: Resolution, actor: int) -> None:
        clock.advance(timedelta(hours=1))
        await storage.resolve_case(
            case_id, expected=CaseStatus.NEW, resolution=resolution, actor_id=actor, actor_role="officer"
        )

    wages = await filed(CaseKind.WAGES, OFFICER_ID, BACKUP_ID, {"employer": "宏达", "amount_owed": "8500"})
    await resolved(
        wages,
        Resolution(outcome=Outcome.RECOVERED_FULL, amount_recovered=Decimal(8500), workers_helped=1),
        OFFICER_ID,
    )
    legal = await filed(CaseKind.LEGAL, legal_officer, None, {"problem": "work_injury"})
    await storage.change_case_status(
        legal,
        expected=CaseStatus.NEW,
        new=CaseStatus.IN_PROGRESS,
        actor_id=legal_officer,
        actor_role="officer",
    )
    membership = await filed(CaseKind.MEMBERSHIP, ADMIN_ID, None, {"name": HOSTILE, "trade": "construction"})
    await resolved(
        membership, Resolution(outcome=Outcome.MEMBERSHIP_APPROVED, member_number="2026-00007"), ADMIN_ID
    )
    await storage.update_worker_profile(WORKER_ID, {"member_number": "2026-00007"})
    assistance = await filed(CaseKind.ASSISTANCE, OFFICER_ID, None, {"help_kind": "hardship"})
    await resolved(assistance, Resolution(outcome=Outcome.GRANTED, amount_granted=Decimal(12000)), OFFICER_ID)

    training = await storage.create_training(
        NewTraining(
            titles={"zh-Hans": "电工安全培训", "en": "Electrical safety"},
            starts_at=START + timedelta(days=2),
            ends_at=START + timedelta(days=2, hours=3),
            place="城关镇文化站",
            seats=20,
            signup_deadline=START + timedelta(days=1),
        )
    )
    await storage.sign_up(training.id, WORKER_ID)
    await storage.mark_attendance(training.id, WORKER_ID, True)
    clock.set(START)
    return Seeded(wages, legal, membership, assistance)


def _section(text: str, title: str) -> list[str]:
    """The lines of one section of the file, from its title to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title)
    end = next((index for index in range(start, len(lines)) if not lines[index]), len(lines))
    return lines[start + 1 : end]


async def _open(officer: Person, reference: str) -> str:
    officer.send_command(f"/worker {reference}")
    file = await officer.next_message(lambda m: "工人档案" in m.text or "Worker file" in m.text)
    return file.text


# -- the file --------------------------------------------------------------------------------------


async def test_the_file_shows_every_kind_of_case_assistance_and_training_in_chinese(
    bot: UnionApplication, clock: FakeClock, wang: Person
) -> None:
    seeded = await _seed(bot, clock)

    text = await _open(wang, "w-000001")  # any case letter, with or without zeros
    assert text.splitlines()[:2] == [
        f"📁 工人档案：{HOSTILE}",  # what the worker typed stays text, never markup
        "仅供工会干事查看，不要给工会以外的人看。",
    ]
    assert _section(text, "基本情况") == [
        f"姓名：{HOSTILE}",
        "Telegram 上的名字：小张",
        "电话：13812345678",
        "籍贯：四川广安",
        "现工作乡镇/街道：城关镇",
        "工作单位：宏达建筑劳务公司",
        "行业：建筑工地",
        "语言：简体中文",
    ]
    assert _section(text, "会员情况") == ["会员编号：2026-00007"]
    assert _section(text, "案件共4件") == [
        "A-000004 · 申请帮扶 · 2026-01-05 · 已办结 · 给予帮扶：1.2万元",
        "M-000003 · 入会申请 · 2026-01-05 · 已办结 · 批准入会",
        "L-000002 · 法律援助 · 2026-01-05 · 办理中",
        "W-000001 · 欠薪 · 2026-01-05 · 已办结 · 欠薪全部追回：8500元",
    ]
    assert _section(text, "获得的帮扶") == ["A-000004 · 2026-01-06 · 1.2万元", "合计：1笔，1.2万元"]
    assert _section(text, "参加过的培训") == ["2026-01-07 · 电工安全培训"]
    assert _section(text, "帮扶措施") == ["还没有制定帮扶措施。"]
    assert _section(text, "干事备注") == ["没有"]
    buttons = wang.last_message
    assert buttons is not None and buttons.button_labels == ["✏️ 帮扶措施", "📅 复核日期", "🗒 添加备注"]

    # Every reference of the worker's, any kind, opens the same file; each view is audited.
    for reference in ("L-000002", "m3", "A-000004"):
        assert await _open(wang, reference) == text
    views = await bot.storage.list_worker_file_views(WORKER_ID)
    assert [(view.viewer_id, view.via, view.case_id) for view in views] == [
        (OFFICER_ID, "command", seeded.assistance),
        (OFFICER_ID, "command", seeded.membership),
        (OFFICER_ID, "command", seeded.legal),
        (OFFICER_ID, "command", seeded.wages),
    ]


async def test_an_english_speaking_officer_reads_the_file_in_english(
    bot: UnionApplication, clock: FakeClock, chen: Person
) -> None:
    await bot.storage.ensure_worker(BACKUP_ID, language="en")  # how an officer's /language is kept
    await _seed(bot, clock)

    text = await _open(chen, "L-000002")  # Chen is the backup on the wages case, primary on this one
    lines = text.splitlines()
    assert lines[:2] == [
        f"📁 Worker file: {HOSTILE}",
        "Only for union officers: do not show it outside the union.",
    ]
    assert _section(text, "Membership") == ["Member number: 2026-00007"]
    assert _section(text, "4 cases") == [
        "A-000004 · Hardship assistance · 2026-01-05 · resolved · Assistance granted: 12,000 yuan",
        "M-000003 · Membership application · 2026-01-05 · resolved · Membership approved",
        "L-000002 · Legal aid · 2026-01-05 · in progress",
        "W-000001 · Unpaid wages · 2026-01-05 · resolved · Wages recovered in full: 8,500 yuan",
    ]
    assert _section(text, "Assistance received") == [
        "A-000004 · 2026-01-06 · 12,000 yuan",
        "In all: 1 grant, 12,000 yuan",
    ]
    assert _section(text, "Trainings attended") == ["2026-01-07 · Electrical safety"]
    assert "Language: 简体中文" in _section(text, "Who")
    assert chen.last_message is not None
    assert chen.last_message.button_labels == ["✏️ Hardship plan", "📅 Review date", "🗒 Add a note"]


async def test_the_case_card_has_a_button_that_opens_the_file(
    bot: UnionApplication, clock: FakeClock, wang: Person
) -> None:
    seeded = await _seed(bot, clock)

    wang.send_command("/case W-000001")
    card = await wang.next_message(lambda m: "W-000001 · 欠薪" in m.text)
    assert card.button_labels[-1] == "📁 工人档案"
    wang.press("📁 工人档案", message_id=card.message_id)
    file = await wang.next_message(lambda m: "工人档案：" in m.text)
    assert "W-000001 · 欠薪" in file.text
    views = await bot.storage.list_worker_file_views(WORKER_ID)
    assert [(view.viewer_id, view.viewer_role, view.via, view.case_id) for view in views] == [
        (OFFICER_ID, "officer", "button", seeded.wages)
    ]


async def test_access_is_the_rule_for_cases_and_a_forgotten_worker_has_no_file(
    bot: UnionApplication, clock: FakeClock, worker: Person, wang: Person, chen: Person, admin: Person
) -> None:
    seeded = await _seed(bot, clock, legal_officer=OFFICER_ID)
    # Chen is the wages case's backup: take him off it, so he is on none of the worker's cases.
    await bot.storage.reassign_case(
        seeded.wages, assignee_id=OFFICER_ID, backup_id=None, actor_id=ADMIN_ID, actor_role="admin"
    )

    chen.send_command("/worker W-000001")
    assert (await chen.next_message()).text == "这名工人不在您负责的案件里。"
    query = chen.press_data(f"wf:{seeded.wages}")
    refusal = await chen.next_answer(query)
    assert (refusal["text"], refusal["show_alert"]) == ("这名工人不在您负责的案件里。", True)
    query = chen.press_data(f"wf:note:{seeded.wages}")  # a forged action button is checked too
    assert (await chen.next_answer(query))["text"] == "这名工人不在您负责的案件里。"
    query = chen.press_data(f"wf:in:{seeded.wages}:3")
    assert (await chen.next_answer(query))["text"] == "这名工人不在您负责的案件里。"
    query = chen.press_data(f"wf:in:{seeded.wages}:5")  # months the buttons never offer
    assert (await chen.next_answer(query))["text"] == "这个按钮已经失效了。"

    # The admin sees everyone's file; a worker nobody's.
    assert "会员编号：2026-00007" in await _open(admin, "W-000001")  # not one of the admin's cases
    worker.send_command("/worker W-000001")
    assert (await worker.next_message()).text == "这个功能只供工会干事使用。"

    # Missing, malformed and unknown references get an answer that says what to send.
    for command in ("/worker", "/worker 宏达", "/worker W-000001 L-000002"):
        wang.send_command(command)
        assert (await wang.next_message()).text == (
            "请发送这名工人的任一案件编号（哪类案件都可以），比如 /worker W-000123。"
        )
    wang.send_command("/worker W-000099")
    assert (await wang.next_message()).text == "没有 W-000099 这个案件。请核对编号后再发一次。"

    # Nobody saw the file but the admin.
    views = await bot.storage.list_worker_file_views(WORKER_ID)
    assert [view.viewer_id for view in views] == [ADMIN_ID]

    # Forgotten: the cases no longer point at the worker, and there is no file to open.
    await bot.storage.forget_worker(WORKER_ID)
    wang.send_command("/worker W-000001")
    assert (await wang.next_message()).text == (
        "W-000001 没有工人档案：工人的资料已删除（本人要求删除，或已过保存期限）。"
    )
    case = await bot.storage.get_case(seeded.wages)
    assert case is not None and case.worker_id == ANONYMOUS_WORKER_ID
    wang.send_command("/case W-000001")
    card = await wang.next_message(lambda m: "W-000001" in m.text and "已匿名" in m.text)
    assert "📁 工人档案" not in card.button_labels


# -- the plan, its review date and notes -----------------------------------------------------------


async def test_the_plan_review_date_and_a_note_are_kept_and_shown(
    bot: UnionApplication, clock: FakeClock, wang: Person, chen: Person
) -> None:
    await _seed(bot, clock)
    await _open(wang, "W-000001")

    wang.press("✏️ 帮扶措施")
    prompt = await wang.next_message(lambda m: "帮扶措施" in m.text)
    assert prompt.text == (
        f"请输入{HOSTILE}的帮扶措施：工会要做什么，什么时候做完。不超过1500个字。发送 /cancel 取消。"
    )
    wang.send_text("长" * 1501)
    assert (await wang.next_message()).text == "太长了，请不要超过1500个字。"
    wang.send_sticker()
    assert (await wang.next_message()).text == "请用文字输入。"
    wang.send_command("/cases")
    assert (await wang.next_message()).text == "您正在工人档案里填写内容。请先发送，或发送 /cancel 取消。"
    plan_text = "1. 申请困难补助 <送温暖> & 慰问\n2. 介绍电工培训"
    wang.send_text(plan_text)
    assert (await wang.next_message()).text == f"已保存{HOSTILE}的帮扶措施。"
    asked = await wang.next_message()
    assert "什么时候复核" in asked.text
    assert asked.button_labels == ["1个月后", "3个月后", "6个月后"]

    for typed, answer in (
        ("2026-02-30", "请输入日期，比如2026-12-31或12-31，或点下面的按钮。"),
        ("下个月", "请输入日期，比如2026-12-31或12-31，或点下面的按钮。"),
        ("2026-01-04", "这个日期已经过了，请输入今天或以后的日期。"),
        ("2031-01-01", "日期太远了，请输入3年以内的日期。"),
    ):
        wang.send_text(typed)
        assert (await wang.next_message()).text == answer
    wang.send_text("１２月３１日")  # typed on a Chinese keyboard
    saved = await wang.next_message()
    assert saved.text == f"{HOSTILE}的帮扶措施将于2026-12-31复核。从那天起，每天早上的提醒会列出它。"
    assert saved.button_labels == ["📁 工人档案"]

    plan = await bot.storage.get_worker_plan(WORKER_ID)
    assert plan is not None
    assert (plan.plan, plan.review_on, plan.responsible_id, plan.updated_by) == (
        plan_text,
        date(2026, 12, 31),
        OFFICER_ID,
        OFFICER_ID,
    )

    # Chen (the wages backup) moves the review earlier with a button: the review becomes his.
    await _open(chen, "W-000001")
    chen.press("📅 复核日期")
    await chen.next_message(lambda m: "什么时候复核" in m.text)
    chen.press("3个月后")
    assert (await chen.next_message()).text.startswith(f"{HOSTILE}的帮扶措施将于2026-04-05复核。")
    clock.advance(timedelta(minutes=5))
    chen.press("🗒 添加备注", message_id=(await _last_file(chen)).message_id)
    await chen.next_message(lambda m: "备注" in m.text)
    chen.send_text("家里老人住院 <急>")
    noted = await chen.next_message()
    assert noted.text == f"备注已保存到{HOSTILE}的档案。只有工会干事能看到。"

    chen.press("📁 工人档案", message_id=noted.message_id)
    file = await chen.next_message(lambda m: "工人档案：" in m.text)
    assert _section(file.text, "帮扶措施") == [
        "1. 申请困难补助 <送温暖> & 慰问",
        "2. 介绍电工培训",
        "复核日期：2026-04-05",
        "责任人：陈干事",
        "最近由陈干事于2026-01-05 17:00修改。",
    ]
    assert _section(file.text, "干事备注") == ["2026-01-05 17:05 陈干事：家里老人住院 <急>"]
    notes = await bot.storage.list_worker_notes(WORKER_ID)
    assert [(note.author_id, note.text) for note in notes] == [(BACKUP_ID, "家里老人住院 <急>")]

    # A review date that has come is marked in the file.
    clock.set(datetime(2026, 4, 5, 1, 0, tzinfo=UTC))
    assert "复核日期：2026-04-05 ⚠️ 已到期" in await _open(chen, "W-000001")


async def test_an_english_officer_sets_the_plan_and_a_reply_left_on_a_card_never_reaches_the_worker(
    bot: UnionApplication, clock: FakeClock, worker: Person, wang: Person
) -> None:
    await bot.storage.ensure_worker(OFFICER_ID, language="en")
    await _seed(bot, clock, legal_officer=OFFICER_ID)

    # Wang starts a reply to the worker on the case card, then turns to the file instead.
    wang.send_command("/case L-000002")
    card = await wang.next_message(lambda m: "L-000002" in m.text)
    wang.press("↩️ Reply to worker", message_id=card.message_id)
    await wang.next_message(lambda m: "Write your reply" in m.text)
    wang.press("📁 Worker file", message_id=card.message_id)
    file = await wang.next_message(lambda m: "Worker file:" in m.text)
    wang.press("✏️ Hardship plan", message_id=file.message_id)
    prompt = await wang.next_message()
    assert prompt.text == (
        f"Type the hardship plan for {HOSTILE}: what the union will do, and by when. "
        "Up to 1500 characters. /cancel to stop."
    )
    wang.send_text("Visit in winter; apply for the school grant")
    assert (await wang.next_message()).text == f"Plan saved for {HOSTILE}."
    asked = await wang.next_message()
    assert asked.button_labels == ["In 1 month", "In 3 months", "In 6 months"]
    wang.press("In 1 month")
    saved = await wang.next_message()
    assert saved.text == (
        f"The plan for {HOSTILE} is to be reviewed on 2026-02-05. "
        "It comes up in your morning digest from that day."
    )

    # Typing now is not the old reply: it goes nowhere near the worker.
    seen = len(worker.messages)
    wang.send_text("thanks")
    assert (await wang.next_message()).text == (
        "Nothing was sent. To write to a worker, press the case's button again."
    )
    await bot.outbox.send_due()
    assert len(worker.messages) == seen

    wang.press("🗒 Add a note", message_id=file.message_id)
    await wang.next_message(lambda m: "Type your note" in m.text)
    wang.send_command("/cancel")
    assert (await wang.next_message()).text == "Cancelled. Nothing was sent or changed."
    assert await bot.storage.list_worker_notes(WORKER_ID) == []

    # Another officer button while a note is awaited ends the note, and does what it says.
    wang.press("🗒 Add a note", message_id=file.message_id)
    await wang.next_message(lambda m: "Type your note" in m.text)
    wang.press("📝 Internal note", message_id=card.message_id)
    await wang.next_message(lambda m: "internal note on L-000002" in m.text)
    wang.send_text("Employer called back")
    await wang.next_message(lambda m: "Note saved on L-000002" in m.text)
    assert await bot.storage.list_worker_notes(WORKER_ID) == []


async def _last_file(officer: Person) -> SentMessage:
    return next(m for m in reversed(officer.messages) if "🗒 添加备注" in m.button_labels)


# -- forgetting and retention ----------------------------------------------------------------------


async def test_forget_removes_the_plan_and_notes_and_keeps_who_looked(
    bot: UnionApplication, clock: FakeClock, worker: Person, wang: Person
) -> None:
    await _seed(bot, clock)
    storage = bot.storage
    await storage.set_worker_plan(
        WORKER_ID, updated_by=OFFICER_ID, responsible_id=OFFICER_ID, plan="送温暖", review_on=TODAY
    )
    await storage.add_worker_note(WORKER_ID, author_id=OFFICER_ID, text="家里困难")
    await _open(wang, "W-000001")

    worker.send_command("/forget")
    await worker.next_message(lambda m: "删除" in m.text)
    worker.press("🗑 是的，删除我的资料")
    await worker.next_message(lambda m: "您的资料已经删除" in m.text)

    assert await storage.get_worker_plan(WORKER_ID) is None
    assert await storage.list_worker_notes(WORKER_ID) == []
    assert await storage.due_plan_reviews(TODAY) == []
    assert await storage.list_worker_file_views(WORKER_ID) == []
    kept = await storage.list_worker_file_views(ANONYMOUS_WORKER_ID)
    assert [(view.viewer_id, view.via) for view in kept] == [(OFFICER_ID, "command")]
    dump = "\n".join(str(row) for row in _dump(bot.config.storage.database, "worker_plans", "worker_notes"))
    assert "送温暖" not in dump and "家里困难" not in dump


def _dump(database: str, *tables: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as conn:
        return [row for table in tables for row in conn.execute(f"SELECT * FROM {table}")]


@pytest.fixture
async def storage(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(str(tmp_path / "files.db"), now=clock.now)
    await store.open()
    await store.upsert_officer(OfficerIn(telegram_id=OFFICER_ID, name="王干事"))
    await store.upsert_officer(OfficerIn(telegram_id=BACKUP_ID, name="陈干事"))
    yield store
    await store.close()


async def _worker_with_plan(storage: SQLiteStorage, worker_id: int, *, closed: bool) -> int:
    await storage.ensure_worker(worker_id, language="zh-Hans")
    await storage.update_worker_profile(worker_id, {"name": "李四"})
    case = await storage.create_case(
        NewCase(kind=CaseKind.WAGES, worker_id=worker_id, fields={}, assignee_id=None)
    )
    if closed:
        await storage.change_case_status(
            case.id,
            expected=CaseStatus.NEW,
            new=CaseStatus.WITHDRAWN,
            actor_id=worker_id,
            actor_role="worker",
        )
    await storage.set_worker_plan(worker_id, updated_by=OFFICER_ID, responsible_id=OFFICER_ID, plan="帮扶")
    await storage.add_worker_note(worker_id, author_id=OFFICER_ID, text="备注")
    return case.id


async def test_retention_erases_the_plans_and_notes_of_inactive_workers_and_of_fully_anonymised_ones(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    await _worker_with_plan(storage, 5001, closed=True)  # inactive, nothing open
    await _worker_with_plan(storage, 5002, closed=False)  # inactive, but a case is open
    await _worker_with_plan(storage, 5003, closed=True)  # still active: only their finished case ages
    clock.advance(timedelta(days=400))
    await storage.save_persistence([], seen_workers=[5003])

    assert await storage.erase_inactive_workers(clock.now() - timedelta(days=30)) == [5001]
    assert await storage.get_worker_plan(5001) is None and await storage.list_worker_notes(5001) == []
    assert await storage.get_worker_plan(5003) is not None
    assert await storage.get_worker_plan(5002) is not None

    # Once the only case is anonymised nobody can reach the file: the plan and notes go with it.
    assert len(await storage.anonymise_finished_cases(clock.now() - timedelta(days=30))) == 2
    assert await storage.get_worker_plan(5003) is None and await storage.list_worker_notes(5003) == []
    assert await storage.get_worker_plan(5002) is not None
    assert [note.text for note in await storage.list_worker_notes(5002)] == ["备注"]


# -- storage ---------------------------------------------------------------------------------------


async def test_a_plan_keeps_what_a_change_does_not_give_and_reviews_come_due_by_officer(
    storage: SQLiteStorage, clock: FakeClock
) -> None:
    for worker_id in (5001, 5002):
        await storage.ensure_worker(worker_id)
    await storage.set_worker_plan(5001, updated_by=OFFICER_ID, responsible_id=OFFICER_ID, plan="一")
    clock.advance(timedelta(hours=1))
    plan = await storage.set_worker_plan(
        5001, updated_by=BACKUP_ID, responsible_id=BACKUP_ID, review_on=date(2026, 2, 1)
    )
    assert (plan.plan, plan.review_on, plan.responsible_id) == ("一", date(2026, 2, 1), BACKUP_ID)
    assert plan.updated_at > plan.created_at
    await storage.set_worker_plan(5002, updated_by=OFFICER_ID, responsible_id=OFFICER_ID, review_on=TODAY)

    assert [p.worker_id for p in await storage.due_plan_reviews(TODAY)] == [5002]
    assert [p.worker_id for p in await storage.due_plan_reviews(date(2026, 2, 1))] == [5002, 5001]
    due = await storage.due_plan_reviews(date(2026, 2, 1), responsible_id=BACKUP_ID)
    assert [p.worker_id for p in due] == [5001]
    with pytest.raises(Exception, match="anonymous"):
        await storage.set_worker_plan(ANONYMOUS_WORKER_ID, updated_by=1, responsible_id=OFFICER_ID, plan="x")


async def test_the_worker_files_migration_upgrades_an_older_database(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    before = MIGRATIONS[: [m.name for m in MIGRATIONS].index("worker_files")]
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await migrate(conn, FakeClock().now(), migrations=before)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(
            "INSERT INTO workers (telegram_id, profile, created_at, updated_at)"
            " VALUES (1001, '{\"name\": \"王小明\"}', '2025-12-01T08:00:00.000000+00:00',"
            " '2025-12-01T08:00:00.000000+00:00')"
        )
        conn.execute(
            "INSERT INTO officers (telegram_id, name, created_at, updated_at)"
            " VALUES (2001, '王干事', '2025-12-01T08:00:00.000000+00:00', '2025-12-01T08:00:00.000000+00:00')"
        )

    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    try:
        plan = await store.set_worker_plan(1001, updated_by=2001, responsible_id=2001, plan="送温暖")
        await store.add_worker_note(1001, author_id=2001, text="备注")
        await store.record_worker_file_view(
            1001, viewer_id=2001, viewer_role="officer", via="command", case_id=None
        )
        worker = await store.get_worker(1001)
        notes = await store.list_worker_notes(1001)
        views = await store.list_worker_file_views(1001)
    finally:
        await store.close()

    assert worker is not None and worker.profile == {"name": "王小明"}
    assert (plan.plan, plan.review_on, plan.responsible_id) == ("送温暖", None, 2001)
    assert [note.text for note in notes] == ["备注"]
    assert [view.via for view in views] == ["command"]


# -- dates and pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-31", date(2026, 12, 31)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("12-31", date(2026, 12, 31)),
        ("1月5日", date(2026, 1, 5)),  # today
        ("1-4", date(2027, 1, 4)),  # passed this year: next year's
        ("２０２６－０２－０１", date(2026, 2, 1)),
        ("2026-02-29", None),
        ("13-01", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_review_dates_as_officers_type_them(typed: str, expected: date | None) -> None:
    assert parse_review_date(typed, TODAY) == expected


def test_months_later_keep_the_day_or_take_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(TODAY, 6) == date(2026, 7, 5)


def test_a_long_file_is_split_between_blocks_or_lines_under_telegrams_limit() -> None:
    blocks = [f"<b>{index}</b>\n" + "帮" * 900 for index in range(9)]
    pages = paginate(blocks)
    assert len(pages) > 1
    assert all(visible_length(page) <= 3800 for page in pages)
    assert "\n\n".join(pages) == "\n\n".join(blocks)  # whole blocks moved to the next page
    cases = "<b>300 cases</b>\n" + "\n".join(f"<b>W-{n:06d}</b> · 欠薪 · 已办结" for n in range(300))
    pages = paginate(["<b>Who</b>\nName: 张三", cases])
    assert len(pages) > 1 and all(visible_length(page) <= 3800 for page in pages)
    assert all(line.count("<b>") == line.count("</b>") for page in pages for line in page.splitlines())
    assert sum(page.count("W-0") for page in pages) == 300  # nothing lost at a break
    assert visible_length("<b>a&amp;b</b> 😀") == 6  # "a&b 😀": the emoji counts twice in UTF-16
