"""Exports of a known data set built through the flows, reopened with openpyxl and checked cell by cell;
in the bot, on the command line, for the union and for a third party."""

from __future__ import annotations

import asyncio
import csv
import io
import stat
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.app import UnionApplication
from bot.cases import privacy
from bot.cli import main
from bot.core.clock import FakeClock
from bot.reports.exports import (
    CASE_COLUMNS,
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
     "宏达劳务", SITE, None, 20000, 12, 4000, 3, None, None, "小张", "否", "王干事"],
    ["M-000002", "入会申请", "已办结", "否", _at(1, 6, 9), _at(1, 6, 11), _at(1, 6, 11), "批准入会",
     JOB, "城关镇", None, None, None, None, None, "李四", "13900001111", "李四", "否", "陈干事"],
    ["W-000003", "欠薪", "已办结", "否", _at(1, 13, 9), _at(1, 13, 14), _at(2, 3, 9), "欠薪全部追回",
     "明星电子厂", SITE, None, 3000, 1, 3000, 1, "王五", "13700002222", "王五", "是", "陈干事"],
    ["L-000004", "法律援助", "已办结", "否", _at(1, 20, 11), _at(1, 20, 12), _at(1, 22, 11), "转交劳动仲裁",
     None, None, "被辞退或合同问题", None, None, None, None, "李四", "13900001111", "李四", "否", "王干事"],
    ["L-000005", "法律援助", "新案件", "否", _at(2, 2, 9), None, None, None,
     None, None, "工伤", None, None, None, None, None, None, "小张", "否", "王干事"],
    ["M-000006", "入会申请", "已办结", "否", _at(2, 3, 10), _at(2, 4, 9), _at(2, 4, 9), "批准入会",
     JOB, "城关镇", None, None, None, None, None, "王五", "13700002222", "王五", "否", "李主席"],
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
    _check_types(sheet, [*CASE_COLUMNS, Column("Officer")])
    _check_layout(sheet)

    # For a third party: only 王五, who said his name and phone may go to the employer, is named; no
    # officer column, and no membership applications.
    third = await export(ExportKind.CASES, ExportFormat.XLSX, Audience.THIRD_PARTY, "zh-Hans")
    assert (third.file_name, third.rows) == ("cases-2026-01-01-2026-02-28-third-party.xlsx", 4)
    sheet = _sheet(third.content)
    assert sheet.title == "案件（给外部单位）"
    hidden = []
    for row in CASE_ROWS:
        row = row[:-1]
        if row[0].startswith("M-"):
            continue
        if row[-1] == "否":
            row[IDENTITY] = [None, None, None]
        hidden.append(row)
    assert _values(sheet) == [CASE_HEADERS[:-1], *hidden]
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
    assert rows[0][-2:] == ["Name and phone may go to the employer", "Officer"]
    assert rows[1] == [
        "W-000001", "Unpaid wages", "resolved", "Yes", "2026-01-05 17:00", "2026-01-05 17:30",
        "2026-01-20 10:00", "Wages recovered in part", "宏达劳务", SITE, "", "20000.00", "12",
        "4000.00", "3", "", "", "小张", "No", "王干事",
    ]  # fmt: skip
    assert len(rows) == 7

    # In the bot: the admin walks through the buttons to a third-party file of this year.
    admin = data.officers[ADMIN_ID]
    admin.send_command("/export")
    what = await admin.next_message(lambda m: m.text == "要导出什么？")
    assert what.button_labels == ["📋 案件", "👥 会员花名册"]
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
