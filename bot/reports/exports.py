"""Spreadsheets for officers and for the union above: the cases of a period, the member roster
(联系花名册), the trainings held and who attended them.

- XLSX (openpyxl) with typed columns: dates and times as real dates in the union's time zone, amounts
  as numbers, counts as integers; headers in the reader's language, the header row frozen, widths that
  fit. Text cells are always text: a worker's answer that starts with "=" is never run as a formula.
- CSV as UTF-8 with a byte-order mark: Excel on Chinese Windows reads a CSV without it as GBK and shows
  mojibake, and with it as UTF-8; LibreOffice, WPS and Python's ``utf-8-sig`` read it too. Its cells are
  plain text, so one that starts with = + - @ gets a leading apostrophe (no formula when opened).
- Disclosure: an export is for the union's own use or for a third party (an employer, labour
  inspection, a court). For a third party a case shows the worker's name, phone and Telegram name only
  where ``bot.cases.privacy.may_name_worker`` allows (the one rule for what leaves the union); a case
  without that choice (legal aid) counts as "no", and no officer names go out. Membership applications
  and the roster never go to a third party: being in the union is what employers retaliate against.
  Nor do hardship-assistance applications, which hold a family's income and illnesses, nor the training
  lists.

Officers export the cases where they are primary or backup; admins, and the command line, everything.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.cases import privacy
from bot.cases.vocabulary import (
    HELP_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    PROBLEM_LABELS,
    TRADE_LABELS,
    HelpKind,
    Problem,
    Trade,
    status_name_in,
)
from bot.core.i18n import N_, OFFICERS, translate_in
from bot.reports.figures import ALL_CASES, Period, trainings_between
from storage import Storage
from storage.models import (
    Case,
    CaseKind,
    CaseQuery,
    Officer,
    Outcome,
    Priority,
    SignupStatus,
    Training,
    Worker,
)


class ExportKind(StrEnum):
    CASES = "cases"
    MEMBERS = "members"
    TRAININGS = "trainings"  # one row per training held in the period, with its counts
    ATTENDANCE = "attendance"  # one row per seat taken: who signed up for which training, and came


# Exports that name workers or hold their families' situation: never for a third party.
UNION_ONLY = frozenset({ExportKind.MEMBERS, ExportKind.TRAININGS, ExportKind.ATTENDANCE})


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class Audience(StrEnum):
    UNION = "union"  # the union's own use: everything
    THIRD_PARTY = "third-party"  # employers, authorities: workers who asked to stay hidden are not named


class ThirdPartyRoster(ValueError):
    """The roster and the training lists name workers: they are never exported for a third party."""


class ColumnType(StrEnum):
    TEXT = "text"
    DATETIME = "datetime"
    DATE = "date"
    AMOUNT = "amount"
    COUNT = "count"


@dataclass(frozen=True)
class Column:
    header: str  # message id
    type: ColumnType = ColumnType.TEXT


Value = str | datetime | date | Decimal | int | None

CASE_COLUMNS = [
    Column(N_("Case number")),
    Column(N_("Kind")),
    Column(N_("Status")),
    Column(N_("Collective")),
    Column(N_("Received"), ColumnType.DATETIME),
    Column(N_("First response"), ColumnType.DATETIME),
    Column(N_("Resolved"), ColumnType.DATETIME),
    Column(N_("Outcome")),
    Column(N_("Employer")),
    Column(N_("Project / site")),
    Column(N_("Problem")),
    Column(N_("Amount owed (yuan)"), ColumnType.AMOUNT),
    Column(N_("Workers affected"), ColumnType.COUNT),
    Column(N_("Wages recovered (yuan)"), ColumnType.AMOUNT),
    Column(N_("Workers helped"), ColumnType.COUNT),
    Column(N_("Name")),
    Column(N_("Phone")),
    Column(N_("Telegram name")),
    Column(N_("Name and phone may go to the employer")),
]
# The union's own exports only: who handled a case, and what a family in hardship was granted.
GRANTED_COLUMN = Column(N_("Assistance granted (yuan)"), ColumnType.AMOUNT)
OFFICER_COLUMN = Column(N_("Officer"))

MEMBER_COLUMNS = [
    Column(N_("Name")),
    Column(N_("Phone")),
    Column(N_("Hometown")),
    Column(N_("Employer")),
    Column(N_("Trade")),
    Column(N_("Current township")),
    Column(N_("Member number")),
    Column(N_("Joined"), ColumnType.DATE),
]

TRAINING_COLUMNS = [
    Column(N_("Starts"), ColumnType.DATETIME),
    Column(N_("Month")),
    Column(N_("Training")),
    Column(N_("Place")),
    Column(N_("Trade")),
    Column(N_("Region")),
    Column(N_("Seats"), ColumnType.COUNT),
    Column(N_("Signed up"), ColumnType.COUNT),
    Column(N_("Waiting list"), ColumnType.COUNT),
    Column(N_("Attended"), ColumnType.COUNT),
    Column(N_("Allowance")),
]

ATTENDANCE_COLUMNS = [
    Column(N_("Starts"), ColumnType.DATETIME),
    Column(N_("Month")),
    Column(N_("Training")),
    Column(N_("Name")),
    Column(N_("Phone")),
    Column(N_("Telegram name")),
    Column(N_("Trade")),
    Column(N_("Attended")),
]

NUMBER_FORMATS = {
    ColumnType.DATETIME: "yyyy-mm-dd hh:mm",
    ColumnType.DATE: "yyyy-mm-dd",
    ColumnType.AMOUNT: "#,##0.00",
    ColumnType.COUNT: "0",
}
MEDIA_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv",
}
MIN_WIDTH, MAX_WIDTH = 8, 40  # characters; a CJK character counts two
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    rows: list[list[Value]]
    case_ids: list[int] = field(default_factory=list)  # the cases behind the rows, for the audit trail


@dataclass(frozen=True)
class ExportFile:
    file_name: str  # e.g. cases-2026-01-01-2026-03-31-third-party.xlsx
    content: bytes
    media_type: str
    rows: int
    case_ids: tuple[int, ...] = ()  # every export is recorded on each case it holds (bot/cases/privacy.py)


async def build_export(
    storage: Storage,
    *,
    what: ExportKind,
    period: Period,
    format: ExportFormat,
    language: str,
    zone: tzinfo,
    audience: Audience = Audience.UNION,
    officer_id: int | None = None,
) -> ExportFile:
    """The cases received in ``period``, or the members who joined in it, as a file.

    ``officer_id`` limits it to the cases where that officer is primary or backup; ``language`` is the
    headers' and the labels'. Raises ThirdPartyRoster for the roster with a third-party audience.
    """
    if what in UNION_ONLY and audience != Audience.UNION:
        raise ThirdPartyRoster(f"the {what.value} export is only for the union's own use")
    if what == ExportKind.MEMBERS:
        table = await member_table(storage, period, language=language, zone=zone, officer_id=officer_id)
    elif what == ExportKind.TRAININGS:
        table = await training_table(storage, period, language=language, zone=zone)
    elif what == ExportKind.ATTENDANCE:
        table = await attendance_table(storage, period, language=language, zone=zone)
    else:
        table = await case_table(
            storage, period, language=language, zone=zone, audience=audience, officer_id=officer_id
        )
    suffix = "-third-party" if audience == Audience.THIRD_PARTY else ""
    name = f"{what.value}-{period.first.isoformat()}-{period.last.isoformat()}{suffix}.{format.value}"
    # Writing thousands of rows takes a moment: off the event loop, so the bot answers others meanwhile.
    if format == ExportFormat.XLSX:
        title = sheet_title(what, audience, language)
        content = await asyncio.to_thread(write_xlsx, table, language=language, title=title)
    else:
        content = await asyncio.to_thread(write_csv, table, language=language)
    return ExportFile(
        file_name=name,
        content=content,
        media_type=MEDIA_TYPES[format],
        rows=len(table.rows),
        case_ids=tuple(table.case_ids),
    )


def save(exported: ExportFile, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the file, readable by its owner only (it holds personal data), complete or not at all; an
    existing file is replaced only with ``overwrite`` (else FileExistsError)."""
    target = Path(path).expanduser().absolute()
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:  # mkstemp makes it 0600
            file.write(exported.content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def sheet_title(what: ExportKind, audience: Audience, language: str) -> str:
    if what == ExportKind.MEMBERS:
        return translate_in(OFFICERS, language, "Members")
    if what == ExportKind.TRAININGS:
        return translate_in(OFFICERS, language, "Trainings")
    if what == ExportKind.ATTENDANCE:
        return translate_in(OFFICERS, language, "Training attendance")
    if audience == Audience.THIRD_PARTY:
        return translate_in(OFFICERS, language, "Cases for a third party")
    return translate_in(OFFICERS, language, "Cases")


# -- the rows -----------------------------------------------------------------------------------------


async def case_table(
    storage: Storage,
    period: Period,
    *,
    language: str,
    zone: tzinfo,
    audience: Audience = Audience.UNION,
    officer_id: int | None = None,
) -> Table:
    """One row per case received in the period, oldest first."""
    cases = await storage.find_cases(
        CaseQuery(
            officer_id=officer_id,
            created_from=period.start(zone),
            created_before=period.end(zone),
            limit=ALL_CASES,
        )
    )
    internal = audience == Audience.UNION
    if not internal:
        # Union membership is what employers retaliate against, and an assistance application holds a
        # family's income and illnesses: neither leaves the union.
        cases = [case for case in cases if case.kind not in (CaseKind.MEMBERSHIP, CaseKind.ASSISTANCE)]
    cases.sort(key=lambda case: case.id)
    workers = await _workers(storage, cases)
    officers = {officer.telegram_id: officer for officer in await storage.list_officers()} if internal else {}
    rows = [
        _case_row(case, workers.get(case.worker_id), language, zone, internal=internal, officers=officers)
        for case in cases
    ]
    return Table(
        columns=CASE_COLUMNS + ([GRANTED_COLUMN, OFFICER_COLUMN] if internal else []),
        rows=rows,
        case_ids=[case.id for case in cases],
    )


async def member_table(
    storage: Storage, period: Period, *, language: str, zone: tzinfo, officer_id: int | None = None
) -> Table:
    """The roster: one row per membership approved in the period, in the order they joined."""
    cases = await storage.find_cases(
        CaseQuery(
            officer_id=officer_id,
            kind=CaseKind.MEMBERSHIP,
            resolved_from=period.start(zone),
            resolved_before=period.end(zone),
            limit=ALL_CASES,
        )
    )
    members = sorted(
        (case for case in cases if case.outcome == Outcome.MEMBERSHIP_APPROVED),
        key=lambda case: (case.resolved_at or case.created_at, case.id),
    )
    rows: list[list[Value]] = []
    for case in members:
        fields = case.fields
        rows.append(
            [
                _text(fields.get("name")),
                _text(fields.get("phone")),
                _text(fields.get("hometown")),
                _text(fields.get("employer")),
                _label(language, TRADE_LABELS, Trade, fields.get("trade")),
                _text(fields.get("workplace")),
                case.member_number,
                case.resolved_at.astimezone(zone).date() if case.resolved_at else None,
            ]
        )
    return Table(columns=MEMBER_COLUMNS, rows=rows, case_ids=[case.id for case in members])


async def training_table(storage: Storage, period: Period, *, language: str, zone: tzinfo) -> Table:
    """One row per training (not cancelled) that starts in the period, earliest first."""
    rows: list[list[Value]] = []
    for training, signups in await trainings_between(storage, period.start(zone), period.end(zone)):
        seated = [signup for signup in signups if signup.status == SignupStatus.CONFIRMED]
        rows.append(
            [
                _local(training.starts_at, zone),
                f"{training.starts_at.astimezone(zone):%Y-%m}",
                _training_title(training, language),
                training.place,
                _label(language, TRADE_LABELS, Trade, training.trade) if training.trade else None,
                training.region,
                training.seats,
                len(seated),
                sum(1 for signup in signups if signup.status == SignupStatus.WAITING),
                sum(1 for signup in seated if signup.attended),
                training.allowance_note,
            ]
        )
    return Table(columns=TRAINING_COLUMNS, rows=rows)


async def attendance_table(storage: Storage, period: Period, *, language: str, zone: tzinfo) -> Table:
    """One row per seat taken at the trainings that start in the period, training by training."""
    rows: list[list[Value]] = []
    workers: dict[int, Worker | None] = {}
    for training, signups in await trainings_between(storage, period.start(zone), period.end(zone)):
        for signup in signups:
            if signup.status != SignupStatus.CONFIRMED:
                continue
            if signup.worker_id not in workers:
                workers[signup.worker_id] = await storage.get_worker(signup.worker_id)
            worker = workers[signup.worker_id]
            profile = worker.profile if worker is not None else {}
            attended = {True: N_("Yes"), False: N_("No"), None: N_("Not marked")}[signup.attended]
            rows.append(
                [
                    _local(training.starts_at, zone),
                    f"{training.starts_at.astimezone(zone):%Y-%m}",
                    _training_title(training, language),
                    _text(profile.get("name")),
                    _text(profile.get("phone")),
                    _text(profile.get("telegram_name")),
                    _label(language, TRADE_LABELS, Trade, profile.get("trade")),
                    translate_in(OFFICERS, language, attended),
                ]
            )
    return Table(columns=ATTENDANCE_COLUMNS, rows=rows)


def _training_title(training: Training, language: str) -> str:
    """The title in the reader's language, else the first one the admin wrote."""
    return training.titles.get(language) or next(iter(training.titles.values()))


async def _workers(storage: Storage, cases: list[Case]) -> dict[int, Worker]:
    workers = {}
    for worker_id in sorted({case.worker_id for case in cases}):
        worker = await storage.get_worker(worker_id)
        if worker is not None:
            workers[worker_id] = worker
    return workers


def _case_row(
    case: Case,
    worker: Worker | None,
    language: str,
    zone: tzinfo,
    *,
    internal: bool,
    officers: dict[int, Officer],
) -> list[Value]:
    def t(msgid: str, /, **params: object) -> str:
        return translate_in(OFFICERS, language, msgid, **params)

    fields = case.fields
    profile = worker.profile if worker is not None else {}
    named = internal or privacy.may_name_worker(case)
    wages = case.kind == CaseKind.WAGES
    row: list[Value] = [
        case.reference,
        t(KIND_LABELS[case.kind]),
        status_name_in(language, case.status),
        t("Yes") if case.priority == Priority.HIGH else t("No"),
        _local(case.created_at, zone),
        _local(case.acknowledged_at, zone),
        _local(case.resolved_at, zone),
        t(OUTCOME_LABELS[case.outcome]) if case.outcome is not None else None,
        _text(fields.get("employer")),
        _text(fields.get("site") or fields.get("workplace")),
        _label(language, HELP_LABELS, HelpKind, fields.get("help_kind"))
        if case.kind == CaseKind.ASSISTANCE
        else _label(language, PROBLEM_LABELS, Problem, fields.get("problem")),
        Decimal(str(fields["amount_owed"])) if wages and fields.get("amount_owed") is not None else None,
        int(fields["workers_affected"]) if wages and fields.get("workers_affected") is not None else None,
        case.amount_recovered,
        case.workers_helped,
        _text(fields.get("name") or profile.get("name")) if named else None,
        _text(fields.get("phone") or profile.get("phone")) if named else None,
        _text(profile.get("telegram_name")) if named else None,
        t("Yes") if privacy.may_name_worker(case) else t("No"),
    ]
    if internal:
        officer = officers.get(case.assignee_id) if case.assignee_id is not None else None
        row += [case.amount_granted, officer.name if officer else None]
    return row


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """The union's wall-clock time, without a zone (spreadsheets have none), to the minute."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _label(
    language: str, labels: Mapping[Any, str], choices: Callable[[Any], Any], value: object
) -> str | None:
    try:
        return translate_in(OFFICERS, language, labels[choices(value)])
    except (KeyError, ValueError):
        return _text(value)


# -- the files ----------------------------------------------------------------------------------------


def write_xlsx(table: Table, *, language: str, title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _sheet_name(title)
    workbook.properties.title = title
    headers = [translate_in(OFFICERS, language, column.header) for column in table.columns]
    sheet.append(headers)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for values in table.rows:
        sheet.append([None] * len(table.columns))
        row = sheet.max_row
        for index, (column, value) in enumerate(zip(table.columns, values, strict=True), start=1):
            if value is None:
                continue
            cell = sheet.cell(row=row, column=index)
            cell.value = value
            if column.type == ColumnType.TEXT:
                cell.data_type = "s"  # never a formula, whatever the text starts with
            else:
                cell.number_format = NUMBER_FORMATS[column.type]
    for index, column in enumerate(table.columns, start=1):
        shown = [headers[index - 1], *(_shown(column, row[index - 1]) for row in table.rows)]
        width = max(_width(text) for text in shown) + 2
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, max(MIN_WIDTH, width))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(1, sheet.max_row)}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(table: Table, *, language: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([translate_in(OFFICERS, language, column.header) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(column, value) for column, value in zip(table.columns, row, strict=True)])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(column: Column, value: Value) -> str:
    if value is None:
        return ""
    if column.type == ColumnType.TEXT:
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return _shown(column, value)


def _shown(column: Column, value: Value) -> str:
    """The value as a spreadsheet shows it (for widths) and as the CSV holds it."""
    if value is None:
        return ""
    if column.type == ColumnType.DATETIME and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if column.type == ColumnType.DATE and isinstance(value, date):
        return value.isoformat()
    if column.type == ColumnType.AMOUNT and isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _sheet_name(title: str) -> str:
    """Excel's sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return cleaned[:31] or "Sheet"
