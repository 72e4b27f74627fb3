"""Exports of a known data set built through the flows, reopened with openpyxl and checked cell by cell;
in the bot, on the command line, for the union and for a third party."""

from __future__ import annotations

import asyncio
import csv
import io
import stat
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.app import UnionApplication
from bot.cases import privacy
from bot.cli import main
from bot.core.clock import FakeClock
from bot.reports.exports import (
    ATTENDANCE_COLUMNS,
    CASE_COLUMNS,
    GRANTED_COLUMN,
    OFFICER_COLUMN,
    TRAINING_COLUMNS,
    Audience,
    Column,
    ColumnType,
    ExportFile,
    ExportFormat,
    ExportKind,
    Table,
    ThirdPartyRoster,
    build_export,
    save,
    write_csv,
    write_xlsx,
)
from bot.reports.figures import Period
from bot.sandbox.server import BotApiSandbox, Person, SentMessage
from bot.sandbox.session import ADMIN_ID, OFFICER_ID
from storage import SQLiteStorage
from storage.models import CaseKind, CaseStatus, NewCase, NewTraining, Outcome, Resolution
from tests import report_data

TWO_MONTHS = Period(first=date(2026, 1, 1), last=date(2026, 2, 28))

CASE_HEADERS = [
    "案件编号",
    "类别",
    "状态",
    "群体性",
    "收到时间",
    "首次回应",
    "办结时间",
    "结果",
    "用人单位",
    "项目/工地",
    "问题",
    "欠薪金额（元）",
    "涉及工人数",
    "追回欠薪（元）",
    "受助工人数",
    "姓名",
    "电话",
    "Telegram 名字",
    "可把姓名和电话告诉用人单位",
    "发放帮扶款（元）",
    "工会干事",
]
SITE = "阳光花园项目 城关镇"
JOB = "宏达建筑劳务公司"


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Wall-clock time in Shanghai, as the spreadsheet holds it (no zone)."""
    return datetime(2026, month, day, hour, minute)


# Every case of the data set as the union's own export shows it (Shanghai time: UTC + 8).
CASE_ROWS: list[list[Any]] = [
    ["W-000001", "欠薪", "已办结", "是", _at(1, 5, 17), _at(1, 5, 17, 30), _at(1, 20, 10), "欠薪部分追回",
     "宏达劳务", SITE, None, 20000, 12, 4000, 3, None, None, "小张", "否", None, "王干事"],
    ["M-000002", "入会申请", "已办结", "否", _at(1, 6, 9), _at(1, 6, 11), _at(1, 6, 11), "批准入会",
     JOB, "城关镇", None, None, None, None, None, "李四", "13900001111", "李四", "否", None, "陈干事"],
    ["W-000003", "欠薪", "已办结", "否", _at(1, 13, 9), _at(1, 13, 14), _at(2, 3, 9), "欠薪全部追回",
     "明星电子厂", SITE, None, 3000, 1, 3000, 1, "王五", "13700002222", "王五", "是", None, "陈干事"],
    ["L-000004", "法律援助", "已办结", "否", _at(1, 20, 11), _at(1, 20, 12), _at(1, 22, 11), "转交劳动仲裁",
     None, None, "被辞退或合同问题", None, None, None, None, "李四", "13900001111", "李四", "否", None,
     "王干事"],
    ["L-000005", "法律援助", "新案件", "否", _at(2, 2, 9), None, None, None,
     None, None, "工伤", None, None, None, None, None, None, "小张", "否", None, "王干事"],
    ["M-000006", "入会申请", "已办结", "否", _at(2, 3, 10), _at(2, 4, 9), _at(2, 4, 9), "批准入会",
     JOB, "城关镇", None, None, None, None, None, "王五", "13700002222", "王五", "否", None, "李主席"],
]  # fmt: skip
IDENTITY = slice(15, 18)  # name, phone, Telegram name

MEMBER_HEADERS = ["姓名", "电话", "籍贯", "用人单位", "行业", "现工作乡镇/街道", "会员编号", "入会日期"]
MEMBER_ROWS = [
    ["李四", "13900001111", "四川广安", JOB, "建筑工地", "城关镇", "2026-00002", datetime(2026, 1, 6)],
    ["王五", "13700002222", "河南周口", JOB, "工厂（制造业）", "城关镇", "2026-00006", datetime(2026, 2, 4)],
]


def _sheet(content: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def _values(sheet: Worksheet) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _check_types(sheet: Worksheet, columns: list[Column]) -> None:
    """Every filled cell has its column's type: text, a real date, a number with its format."""
    for row in sheet.iter_rows(min_row=2):
        for cell, column in zip(row, columns, strict=True):
            if cell.value is None:
                continue
            if column.type == ColumnType.TEXT:
                assert cell.data_type == "s" and isinstance(cell.value, str), cell.coordinate
            elif column.type in (ColumnType.DATETIME, ColumnType.DATE):
                assert cell.is_date and isinstance(cell.value, datetime), cell.coordinate
                assert cell.number_format == (
                    "yyyy-mm-dd hh:mm" if column.type == ColumnType.DATETIME else "yyyy-mm-dd"
                )
            elif column.type == ColumnType.AMOUNT:
                assert cell.data_type == "n" and cell.number_format == "#,##0.00", cell.coordinate
            else:
                assert cell.data_type == "n" and isinstance(cell.value, int), cell.coordinate


def _check_layout(sheet: Worksheet) -> None:
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    widths = [sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]]
    assert all(8 <= width <= 40 for width in widths)


async def _file(person: Person, bot: UnionApplication) -> tuple[SentMessage, bytes]:
    message = await person.next_message(lambda m: m.kind == "document", timeout=30)
    return message, await report_data.downloaded(bot, message.raw["document"]["file_id"])


async def test_exports_of_a_known_data_set_cell_by_cell(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    data = await report_data.build(bot, sandbox, clock)
    zone = bot.config.union.zone

    async def export(what: ExportKind, fmt: ExportFormat, audience: Audience, language: str) -> ExportFile:
        return await build_export(
            bot.storage,
            what=what,
            period=TWO_MONTHS,
            format=fmt,
            language=language,
            zone=zone,
            audience=audience,
        )

    # The union's own: everything, with types.
    union = await export(ExportKind.CASES, ExportFormat.XLSX, Audience.UNION, "zh-Hans")
    assert (union.file_name, union.rows) == ("cases-2026-01-01-2026-02-28.xlsx", 6)
    sheet = _sheet(union.content)
    assert sheet.title == "案件"
    assert _values(sheet) == [CASE_HEADERS, *CASE_ROWS]
    _check_types(sheet, [*CASE_COLUMNS, GRANTED_COLUMN, OFFICER_COLUMN])
    _check_layout(sheet)

    # For a third party: only 王五, who said his name and phone may go to the employer, is named; no
    # officer column, and no membership applications.
    third = await export(ExportKind.CASES, ExportFormat.XLSX, Audience.THIRD_PARTY, "zh-Hans")
    assert (third.file_name, third.rows) == ("cases-2026-01-01-2026-02-28-third-party.xlsx", 4)
    sheet = _sheet(third.content)
    assert sheet.title == "案件（给外部单位）"
    hidden = []
    for row in CASE_ROWS:
        row = row[:-2]  # no grant or officer column
        if row[0].startswith("M-"):
            continue
        if row[-1] == "否":
            row[IDENTITY] = [None, None, None]
        hidden.append(row)
    assert _values(sheet) == [CASE_HEADERS[:-2], *hidden]
    assert [row[0] for row in hidden] == ["W-000001", "W-000003", "L-000004", "L-000005"]
    assert [row[15] for row in _values(sheet)[1:]] == [None, "王五", None, None]
    _check_types(sheet, CASE_COLUMNS)

    # The roster.
    members = await export(ExportKind.MEMBERS, ExportFormat.XLSX, Audience.UNION, "zh-Hans")
    assert (members.file_name, members.rows) == ("members-2026-01-01-2026-02-28.xlsx", 2)
    sheet = _sheet(members.content)
    assert _values(sheet) == [MEMBER_HEADERS, *MEMBER_ROWS]
    _check_layout(sheet)
    with pytest.raises(ThirdPartyRoster):
        await export(ExportKind.MEMBERS, ExportFormat.XLSX, Audience.THIRD_PARTY, "zh-Hans")

    # CSV, in English: UTF-8 with a byte-order mark, plain values.
    text = await export(ExportKind.CASES, ExportFormat.CSV, Audience.UNION, "en")
    assert text.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Case number", "Kind", "Status", "Collective", "Received"]
    assert rows[0][-3:] == ["Name and phone may go to the employer", "Assistance granted (yuan)", "Officer"]
    assert rows[1] == [
        "W-000001", "Unpaid wages", "resolved", "Yes", "2026-01-05 17:00", "2026-01-05 17:30",
        "2026-01-20 10:00", "Wages recovered in part", "宏达劳务", SITE, "", "20000.00", "12",
        "4000.00", "3", "", "", "小张", "No", "", "王干事",
    ]  # fmt: skip
    assert len(rows) == 7

    # In the bot: the admin walks through the buttons to a third-party file of this year.
    admin = data.officers[ADMIN_ID]
    admin.send_command("/export")
    what = await admin.next_message(lambda m: m.text == "要导出什么？")
    assert what.button_labels == ["📋 案件", "👥 会员花名册", "🎓 培训", "✅ 培训签到"]
    admin.press("📋 案件", message_id=what.message_id)
    await admin.next_edit(lambda m: "今年" in m.button_labels, message_id=what.message_id)
    admin.press("今年", message_id=what.message_id)
    formats = await admin.next_edit(
        lambda m: "Excel，工会内部用" in m.button_labels, message_id=what.message_id
    )
    assert formats.text.startswith("2026-01-01 至 2026-02-04 收到的案件。")
    query = admin.press("Excel，给外部单位", message_id=what.message_id)
    assert (await admin.next_answer(query))["text"] == "正在生成文件…"
    message, content = await _file(admin, bot)
    assert message.raw["document"]["file_name"] == "cases-2026-01-01-2026-02-04-third-party.xlsx"
    assert message.text == (
        "📋 2026-01-01 至 2026-02-04 收到的案件：4件。\n"
        "给外部单位：要求保密的工人，表里没有姓名、电话和 Telegram 名字。"
        "但用人单位、工地、金额和日期都还在，可能让人认出单独反映的工人：发出工会之前，请逐行检查。"
    )
    assert _values(_sheet(content))[1:] == [row for row in hidden]
    assert admin.inline_buttons(what.message_id) == []

    # Wang, an officer, gets his own cases only: typed dates, CSV for the union.
    wang = data.officers[OFFICER_ID]
    wang.send_command("/export cases 2026-01-01 2026-02-28")
    formats = await wang.next_message(lambda m: "CSV，工会内部用" in m.button_labels)
    wang.press("CSV，工会内部用", message_id=formats.message_id)
    message, content = await _file(wang, bot)
    assert message.raw["document"]["file_name"] == "cases-2026-01-01-2026-02-28.csv"
    assert message.text.endswith("只含您的案件（您是主办人或替补的）。")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["W-000001", "W-000003", "L-000004", "L-000005"]

    # The command line, against the running bot's database.
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{bot.config.storage.database}"\n[union]\nname = "测试工会"\n',
        encoding="utf-8",
    )
    output = tmp_path / "out" / "roster.xlsx"
    command = ["export", "members", "--from", "2026-01-01", "--to", "2026-02-28", "--config", str(config)]
    assert await asyncio.to_thread(main, [*command, "--output", str(output)]) == 0
    assert _values(_sheet(output.read_bytes())) == [MEMBER_HEADERS, *MEMBER_ROWS]
    assert stat.S_IMODE(output.stat().st_mode) == 0o600  # personal data: the owner's only
    assert await asyncio.to_thread(main, [*command, "--output", str(output)]) == 1  # no --force
    assert await asyncio.to_thread(main, [*command, "--output", str(output), "--for", "third-party"]) == 2
    cases = tmp_path / "cases.csv"
    english = ["--format", "csv", "--for", "third-party", "--language", "en", "--output", str(cases)]
    command[1] = "cases"
    assert await asyncio.to_thread(main, [*command, *english]) == 0
    rows = list(csv.reader(io.StringIO(cases.read_text(encoding="utf-8-sig"))))
    assert [row[15] for row in rows] == ["Name", "", "王五", "", ""]

    # Every export is in the audit trail of each case it held: who (an officer, or the command line),
    # and for whom.
    w1 = await bot.storage.get_case_by_reference("W-000001")
    assert w1 is not None
    exports = [
        (event.actor_id, event.actor_role, event.note)
        for event in await bot.storage.list_case_events(w1.id)
        if event.action == privacy.EXPORTED
    ]
    assert (OFFICER_ID, "officer", privacy.EXPORT_UNION) in exports
    assert (None, "command line", privacy.EXPORT_THIRD_PARTY) in exports


# -- files ---------------------------------------------------------------------------------------------

HOSTILE = Table(
    columns=[Column("Name"), Column("Phone"), Column("Workers helped", ColumnType.COUNT)],
    rows=[['=HYPERLINK("http://evil.example","点我")', "+8613812345678", 3], ["@SUM(A1)", "-1", None]],
)


def test_worker_text_never_becomes_a_formula() -> None:
    sheet = _sheet(write_xlsx(HOSTILE, language="en", title="Cases"))
    assert _values(sheet)[1:] == [
        ['=HYPERLINK("http://evil.example","点我")', "+8613812345678", 3],
        ["@SUM(A1)", "-1", None],
    ]
    assert [cell.data_type for cell in sheet[2]] == ["s", "s", "n"]

    content = write_csv(HOSTILE, language="zh-Hans")
    assert content.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(content.decode("utf-8-sig")))) == [
        ["姓名", "电话", "受助工人数"],
        ['\'=HYPERLINK("http://evil.example","点我")', "'+8613812345678", "3"],
        ["'@SUM(A1)", "'-1", ""],
    ]


def test_a_saved_export_is_the_owners_only_and_replaces_nothing_unasked(tmp_path: Path) -> None:
    exported = ExportFile(file_name="x.csv", content=b"\xef\xbb\xbfa\r\n", media_type="text/csv", rows=0)
    path = save(exported, tmp_path / "new" / "x.csv")
    assert path.read_bytes() == exported.content and stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        save(exported, path)
    save(ExportFile("x.csv", b"again", "text/csv", 0), path, overwrite=True)
    assert path.read_bytes() == b"again"
    assert [p.name for p in path.parent.iterdir()] == ["x.csv"]  # no temporary file left behind


@pytest.fixture
async def storage() -> AsyncIterator[SQLiteStorage]:
    store = SQLiteStorage(":memory:", now=FakeClock().now)
    await store.open()
    yield store
    await store.close()


async def test_an_empty_period_exports_the_headers(storage: SQLiteStorage) -> None:
    from zoneinfo import ZoneInfo

    exported = await build_export(
        storage,
        what=ExportKind.CASES,
        period=TWO_MONTHS,
        format=ExportFormat.XLSX,
        language="zh-Hant",
        zone=ZoneInfo("Asia/Shanghai"),
    )
    sheet = _sheet(exported.content)
    assert exported.rows == 0 and sheet.max_row == 1
    assert _values(sheet)[0][:3] == ["案件編號", "類別", "狀態"]


# -- hardship assistance and trainings ----------------------------------------------------------------

MARCH = Period(first=date(2026, 3, 1), last=date(2026, 3, 31))
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def march() -> AsyncIterator[SQLiteStorage]:
    """A database whose clock stands in March, when these cases are filed."""
    store = SQLiteStorage(":memory:", now=FakeClock(datetime(2026, 3, 2, 2, tzinfo=UTC)).now)
    await store.open()
    yield store
    await store.close()


async def _trainings_and_assistance(storage: SQLiteStorage) -> None:
    """A granted assistance case, a wages case, and one March training with three seats taken."""
    for worker_id, name, trade in (
        (701, "赵六", "construction"),
        (702, "钱七", "manufacturing"),
        (703, "孙八", None),
    ):
        await storage.ensure_worker(worker_id)
        await storage.update_worker_profile(
            worker_id, {"name": name, "phone": f"1380000{worker_id}", "telegram_name": name, "trade": trade}
        )
    case = await storage.create_case(
        NewCase(
            kind=CaseKind.ASSISTANCE,
            worker_id=701,
            fields={"help_kind": "medical", "monthly_income": "2000", "illness": "yes"},
        )
    )
    await storage.resolve_case(
        case.id,
        expected=CaseStatus.NEW,
        resolution=Resolution(outcome=Outcome.GRANTED, amount_granted=Decimal(3000)),
        actor_id=ADMIN_ID,
        actor_role="admin",
    )
    await storage.create_case(
        NewCase(
            kind=CaseKind.WAGES, worker_id=702, fields={"employer": "宏达劳务", "disclose_identity": False}
        )
    )
    starts = datetime(2026, 3, 14, 1, tzinfo=UTC)  # 09:00 in Shanghai
    training = await storage.create_training(
        NewTraining(
            titles={"zh-Hans": "劳动法讲座", "en": "Labour law talk"},
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            place="镇文化站",
            seats=2,
            trade="construction",
            allowance_note="交通补贴50元",
            signup_deadline=starts - timedelta(days=1),
        )
    )
    for worker_id in (701, 702, 703):  # 703 waits: two seats
        await storage.sign_up(training.id, worker_id)
    await storage.mark_attendance(training.id, 701, True)
    await storage.mark_attendance(training.id, 702, False)


async def test_trainings_and_attendance_exports(march: SQLiteStorage) -> None:
    storage = march
    await _trainings_and_assistance(storage)
    kwargs: dict[str, Any] = {"period": MARCH, "format": ExportFormat.XLSX, "zone": SHANGHAI}

    trainings = await build_export(storage, what=ExportKind.TRAININGS, language="zh-Hans", **kwargs)
    sheet = _sheet(trainings.content)
    assert _values(sheet) == [
        ["开始时间", "月份", "培训", "地点", "行业", "地区", "名额", "已报名", "候补", "到场", "补贴"],
        [datetime(2026, 3, 14, 9), "2026-03", "劳动法讲座", "镇文化站", "建筑工地", None,
         2, 2, 1, 1, "交通补贴50元"],
    ]  # fmt: skip
    _check_types(sheet, TRAINING_COLUMNS)
    _check_layout(sheet)
    assert trainings.file_name == "trainings-2026-03-01-2026-03-31.xlsx"

    attendance = await build_export(storage, what=ExportKind.ATTENDANCE, language="en", **kwargs)
    sheet = _sheet(attendance.content)
    assert _values(sheet) == [
        ["Starts", "Month", "Training", "Name", "Phone", "Telegram name", "Trade", "Attended"],
        [datetime(2026, 3, 14, 9), "2026-03", "Labour law talk", "赵六", "1380000701", "赵六",
         "Construction", "Yes"],
        [datetime(2026, 3, 14, 9), "2026-03", "Labour law talk", "钱七", "1380000702", "钱七",
         "Factory / manufacturing", "No"],
    ]  # fmt: skip
    _check_types(sheet, ATTENDANCE_COLUMNS)

    # Lists that name workers never leave the union.
    for what in (ExportKind.TRAININGS, ExportKind.ATTENDANCE):
        with pytest.raises(ThirdPartyRoster):
            await build_export(
                storage, what=what, language="zh-Hans", audience=Audience.THIRD_PARTY, **kwargs
            )


async def test_assistance_stays_inside_the_union(march: SQLiteStorage) -> None:
    storage = march
    await _trainings_and_assistance(storage)
    kwargs: dict[str, Any] = {
        "period": MARCH,
        "format": ExportFormat.CSV,
        "zone": SHANGHAI,
        "language": "zh-Hans",
    }

    union = await build_export(storage, what=ExportKind.CASES, **kwargs)
    rows = list(csv.reader(io.StringIO(union.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["发放帮扶款（元）", "工会干事"]
    assistance = next(row for row in rows if row[0].startswith("A-"))
    assert assistance[1:3] == ["申请帮扶", "已办结"]
    assert assistance[rows[0].index("问题")] == "医疗救助" and assistance[-2] == "3000.00"

    # For a third party: the wages case only; no assistance case, no income, no illness, no grant column.
    third = await build_export(storage, what=ExportKind.CASES, audience=Audience.THIRD_PARTY, **kwargs)
    text = third.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0][:2] for row in rows[1:]] == ["W-"]
    assert "发放帮扶款（元）" not in rows[0] and "工会干事" not in rows[0]
    assert "2000" not in text and "3000" not in text


async def test_admins_export_the_trainings_in_the_bot_and_officers_cannot(
    bot: UnionApplication, clock: FakeClock, admin: Person, wang: Person, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 3, 2, 2, tzinfo=UTC))
    await _trainings_and_assistance(bot.storage)
    clock.set(datetime(2026, 3, 20, 2, tzinfo=UTC))  # the training was on the 14th

    # In Chinese, from the buttons: trainings held in a typed period, as Excel.
    admin.send_command("/export trainings 2026-03-01 2026-03-31")
    choose = await admin.next_message(lambda m: "举办的培训" in (m.text or ""))
    assert choose.text == "2026-03-01 至 2026-03-31 举办的培训。用什么格式？"
    assert choose.button_labels == ["Excel（.xlsx）", "CSV"]
    admin.press("Excel（.xlsx）", message_id=choose.message_id)
    message, content = await _file(admin, bot)
    assert message.text.splitlines()[0] == "🎓 2026-03-01 至 2026-03-31 举办的培训：1场。"
    assert _values(_sheet(content))[1][2:4] == ["劳动法讲座", "镇文化站"]

    # In English (the admin's /language): who came, as CSV.
    await bot.storage.ensure_worker(ADMIN_ID)
    await bot.storage.set_worker_language(ADMIN_ID, "en")
    bot.remember_language(ADMIN_ID, "en")
    admin.send_command("/report 2026-03-01 2026-03-31")
    report = await admin.next_message(lambda m: (m.text or "").startswith("📊 Report"))
    lines = report.text.splitlines()
    start = lines.index("Hardship assistance granted: 1 worker, 3,000 yuan in all")
    assert lines[start : start + 10] == [
        "Hardship assistance granted: 1 worker, 3,000 yuan in all",
        "Not eligible: 0",
        "Referred upward to the federation: 0",
        "",
        "Trainings held: 1",
        "Seats taken: 2; attended: 1",
        "Workers trained: 1",
        "Workers trained by trade:",
        "  · Construction: 1",
        "",
    ]
    admin.send_command("/export")
    what = await admin.next_message(lambda m: m.text == "What should I export?")
    assert what.button_labels[2:] == ["🎓 Trainings", "✅ Training attendance"]
    admin.press("✅ Training attendance", message_id=what.message_id)
    await admin.next_edit(lambda m: "This month" in m.button_labels, message_id=what.message_id)
    admin.press("This month", message_id=what.message_id)
    await admin.next_edit(lambda m: "CSV" in m.button_labels, message_id=what.message_id)
    admin.press("CSV", message_id=what.message_id)
    message, content = await _file(admin, bot)
    assert message.text.splitlines() == [
        "✅ Seats taken at the trainings of 2026-03-01 to 2026-03-20: 2.",
        "For the union's own use: it holds workers' names and phones.",
    ]
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row[3] for row in rows[1:]] == ["赵六", "钱七"]

    # An officer exports their own cases: no training buttons, and a forged one is refused.
    wang.send_command("/export")
    what = await wang.next_message(lambda m: m.text == "要导出什么？")
    assert what.button_labels == ["📋 案件", "👥 会员花名册"]
    query = wang.press_data("ex:a:m0:c:u", message_id=what.message_id)
    assert (await wang.next_answer(query))["text"] == "只有管理员可以导出培训。"
    wang.send_command("/export attendance")
    assert (await wang.next_message()).text == (
        "请用 /export、/export cases 或 /export members，后面可以加两个日期。"
    )

    # The command line: for the union only.
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{bot.config.storage.database}"\n[union]\nname = "测试工会"\n',
        encoding="utf-8",
    )
    command = ["export", "trainings", "--from", "2026-03-01", "--to", "2026-03-31", "--config", str(config)]
    output = tmp_path / "trainings.csv"
    assert await asyncio.to_thread(main, [*command, "--format", "csv", "--output", str(output)]) == 0
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8-sig"))))
    assert [row[2:4] for row in rows[1:]] == [["劳动法讲座", "镇文化站"]]
    assert await asyncio.to_thread(main, [*command, "--for", "third-party"]) == 2
