"""The SQLite backend of :class:`storage.base.Storage`.

Connection discipline: one writer connection, used by one write transaction at a time (an asyncio
lock), each transaction started with ``BEGIN IMMEDIATE`` so read-then-write never hits "database is
locked". File databases run in WAL mode with a second, read-only connection, so reads never wait for
the writer. An in-memory database exists only inside its one connection, so it serves reads too.

The few reads made for nearly every update (who is this worker, is this an officer) look up one row by
its key. They run on the event loop's own thread through a third, read-only connection: a point read
takes microseconds, while a trip to the reader's thread and back costs several times that in CPU
(see ``_point_read``).

Timestamps are stored as ISO-8601 UTC text and JSON columns as UTF-8 text (Chinese stays readable).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from storage.base import CaseChanged, InvalidTransition, SignupRefused, Storage, StorageError
from storage.migrations import applied_versions, migrate, transaction, utc_text
from storage.models import (
    ANONYMOUS_FIELDS,
    ANONYMOUS_WORKER_ID,
    AUDIT_ONLY_ACTIONS,
    OPEN_STATUSES,
    REFERENCE_PREFIX,
    STRUCTURED_EVENTS,
    Attachment,
    AttachmentIn,
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastDelivery,
    BroadcastOccurrence,
    BroadcastReport,
    BroadcastStatus,
    Case,
    CaseActivity,
    CaseEvent,
    CaseQuery,
    CaseStatus,
    ChatMessage,
    DatabaseBackup,
    DeliveryBacklog,
    DeliveryStatus,
    Forgotten,
    NewBroadcast,
    NewCase,
    NewCaseEvent,
    NewChatMessage,
    NewTraining,
    Officer,
    OfficerIn,
    OutboxItem,
    OutboxMessage,
    PersistenceChange,
    Resolution,
    ScheduleUpdate,
    SignupCancellation,
    SignupRefusal,
    SignupStatus,
    Training,
    TrainingReminder,
    TrainingSignup,
    TrainingStatus,
    Worker,
    WorkerFileView,
    WorkerNote,
    WorkerPlan,
    WorkerTraining,
    Workload,
    can_move,
)

_MEMORY = ":memory:"

# Telegram may restart update ids from a random number after a week without updates, so remembering
# ids for longer could wrongly skip a new update.
_PROCESSED_UPDATE_RETENTION = timedelta(days=7)
_PRUNE_EVERY = 256  # updates between prunings of processed_updates

# Officers as the bot sees them: an admin's choice in the bot (bot_active) wins over the config's.
_OFFICER_SELECT = (
    "SELECT telegram_id, name, role, specialties, regions, languages,"
    " COALESCE(bot_active, active) AS active, created_at, updated_at FROM officers"
)
_OFFICER_BY_ID = f"{_OFFICER_SELECT} WHERE telegram_id = ?"
_WORKER_SELECT = "SELECT * FROM workers WHERE telegram_id = ?"

_PRIORITY_ORDER = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END"

# Columns stored as JSON text, decoded when rows become models.
_JSON_COLUMNS = frozenset(
    {
        "profile",
        "specialties",
        "regions",
        "languages",
        "fields",
        "params",
        "texts",
        "audience",
        "schedule",
        "titles",
    }
)

_Params = Sequence[Any] | dict[str, Any]
_M = TypeVar("_M", bound=BaseModel)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_fields(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``data`` with these fields as JSON text, ready to bind (see _JSON_COLUMNS for the way back)."""
    return {**data, **{name: _json(data[name]) for name in names}}


def _model(model: type[_M], row: sqlite3.Row) -> _M:
    data = {key: json.loads(row[key]) if key in _JSON_COLUMNS else row[key] for key in row.keys()}
    return model.model_validate(data)


def _model_or_none(model: type[_M], row: sqlite3.Row | None) -> _M | None:
    return _model(model, row) if row is not None else None


# -- query helpers: return rows, change nothing ---------------------------------------------------


async def _select(conn: aiosqlite.Connection, sql: str, params: _Params = ()) -> list[sqlite3.Row]:
    # Execute and fetch in one step on the connection's thread: a cursor left open while another
    # coroutine reads would hold one read transaction for both, and the second read would miss
    # writes committed in between (a worker not seeing the case they just filed).
    return list(await conn.execute_fetchall(sql, params))


async def _select_one(conn: aiosqlite.Connection, sql: str, params: _Params = ()) -> sqlite3.Row | None:
    rows = await _select(conn, sql, params)
    return rows[0] if rows else None


# -- execute helpers: change things, return what changed ------------------------------------------


async def _execute(conn: aiosqlite.Connection, sql: str, params: _Params = ()) -> int:
    """Run one statement; return the number of rows it changed."""
    async with conn.execute(sql, params) as cursor:
        return cursor.rowcount


async def _insert(conn: aiosqlite.Connection, sql: str, params: _Params = ()) -> int:
    """Run one INSERT; return the new row's id."""
    async with conn.execute(sql, params) as cursor:
        if cursor.lastrowid is None:
            raise StorageError("INSERT produced no row id")
        return cursor.lastrowid


def _require_changed(count: int, what: str) -> None:
    """Turn an UPDATE that matched nothing into an error instead of a silent no-op."""
    if count == 0:
        raise StorageError(f"{what} does not exist")


class SQLiteStorage(Storage):
    def __init__(self, database: str, *, now: Callable[[], datetime] | None = None) -> None:
        self._database = database
        # The application's clock (tests use a fake one); storage imports nothing from the bot.
        self._clock_now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._point_reader: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()

    # -- connections and transactions ------------------------------------------------------------

    @property
    def _is_file(self) -> bool:
        return self._database != _MEMORY

    def _now(self) -> str:
        return utc_text(self._clock_now())

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: the sqlite3 module must not open transactions behind our back.
        conn = await aiosqlite.connect(self._database, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA busy_timeout = 5000")  # other processes: backups, admin scripts
        # SQLite's lower() only folds ASCII; a region like "Zürich" must match "zürich" too.
        await conn.create_function("casefold", 1, _casefold, deterministic=True)
        return conn

    async def open(self) -> None:
        if self._writer is not None:
            raise StorageError("storage is already open")
        if self._is_file:
            Path(self._database).parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        try:
            if self._is_file:
                await self._writer.execute("PRAGMA journal_mode = WAL")
                # Safe in WAL mode: a power cut may lose the last commits but never corrupts the file.
                await self._writer.execute("PRAGMA synchronous = NORMAL")
            await self.migrate()
            if self._is_file:
                self._reader = await self._connect()
                await self._reader.execute("PRAGMA query_only = ON")
                self._point_reader = _connect_point_reader(self._database)
            else:
                self._reader = self._writer
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        reader, writer = self._reader, self._writer
        self._reader = self._writer = None
        if self._point_reader is not None:
            self._point_reader.close()
            self._point_reader = None
        if reader is not None and reader is not writer:
            await reader.close()
        if writer is not None:
            await writer.close()

    def _writer_conn(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StorageError("storage is not open")
        return self._writer

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the writer connection; constraint violations become StorageError."""
        conn = self._writer_conn()
        async with self._write_lock:
            try:
                async with transaction(conn):
                    yield conn
            except sqlite3.IntegrityError as exc:
                raise StorageError(str(exc)) from exc

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for reads that need no write transaction."""
        conn = self._reader
        if conn is None:
            raise StorageError("storage is not open")
        if conn is self._writer:
            # Shared with the writer (":memory:"): wait for the open transaction, or we would see
            # rows it may still roll back.
            async with self._write_lock:
                yield conn
        else:
            yield conn

    async def _point_read(self, sql: str, params: _Params) -> sqlite3.Row | None:
        """One row found by its key, read without leaving the event loop's thread.

        Only for queries that use an index to find a single row: they take microseconds, so blocking
        the loop that long is cheaper than the thread hop. In WAL mode a reader never waits for the
        writer; if SQLite still says busy (another process recovering the file, say), the read goes
        to the reader's thread, which may wait.
        """
        if self._point_reader is not None:
            try:
                # fetchall: a statement stepped to its end holds no read transaction open after it.
                rows = self._point_reader.execute(sql, params).fetchall()
                return rows[0] if rows else None
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
        async with self._read() as conn:
            return await _select_one(conn, sql, params)

    async def migrate(self) -> list[str]:
        conn = self._writer_conn()
        async with self._write_lock:
            return await migrate(conn, self._clock_now())

    async def schema_version(self) -> int:
        async with self._read() as conn:
            return max(await applied_versions(conn), default=0)

    async def backup(self, destination: str, *, overwrite: bool = False) -> DatabaseBackup:
        if not self._is_file:
            raise StorageError("an in-memory database keeps nothing to back up")
        # In a thread with connections of its own: it works the same beside a bot in another process.
        return await asyncio.to_thread(_backup, Path(self._database), Path(destination), overwrite=overwrite)

    # -- workers ---------------------------------------------------------------------------------

    async def get_worker(self, telegram_id: int) -> Worker | None:
        row = await self._point_read(_WORKER_SELECT, (telegram_id,))
        return _model_or_none(Worker, row)

    async def ensure_worker(self, telegram_id: int, *, language: str | None = None) -> Worker:
        async with self._write() as conn:
            now = self._now()
            await _execute(
                conn,
                "INSERT INTO workers (telegram_id, language, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (telegram_id) DO NOTHING",
                (telegram_id, language, now, now),
            )
            worker = await _get_worker(conn, telegram_id)
        assert worker is not None  # inserted or already there, inside this transaction
        return worker

    async def set_worker_language(self, telegram_id: int, language: str) -> None:
        async with self._write() as conn:
            changed = await _execute(
                conn,
                "UPDATE workers SET language = ?, updated_at = ? WHERE telegram_id = ?",
                (language, self._now(), telegram_id),
            )
            _require_changed(changed, f"worker {telegram_id}")

    async def record_consent(self, telegram_id: int, version: str) -> None:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE workers SET consent_at = ?, consent_version = ?, updated_at = ?"
                " WHERE telegram_id = ?",
                (now, version, now, telegram_id),
            )
            _require_changed(changed, f"worker {telegram_id}")

    async def update_worker_profile(self, telegram_id: int, profile: dict[str, Any]) -> None:
        async with self._write() as conn:
            worker = await _get_worker(conn, telegram_id)
            if worker is None:
                raise StorageError(f"worker {telegram_id} does not exist")
            merged = {**worker.profile, **profile}
            merged = {key: value for key, value in merged.items() if value is not None}
            await _execute(
                conn,
                "UPDATE workers SET profile = ?, updated_at = ? WHERE telegram_id = ?",
                (_json(merged), self._now(), telegram_id),
            )

    async def set_worker_flags(
        self, telegram_id: int, *, opted_out: bool | None = None, blocked: bool | None = None
    ) -> None:
        async with self._write() as conn:
            # COALESCE keeps the stored flag when the caller passed None.
            changed = await _execute(
                conn,
                "UPDATE workers SET opted_out = COALESCE(?, opted_out), blocked = COALESCE(?, blocked),"
                " updated_at = ? WHERE telegram_id = ?",
                (opted_out, blocked, self._now(), telegram_id),
            )
            _require_changed(changed, f"worker {telegram_id}")

    # -- privacy ---------------------------------------------------------------------------------

    async def forget_worker(
        self, telegram_id: int, *, withdrawal_news: Mapping[int, Sequence[OutboxMessage]] | None = None
    ) -> Forgotten:
        if telegram_id == ANONYMOUS_WORKER_ID:
            raise StorageError("the anonymous worker cannot be forgotten")
        news = withdrawal_news or {}
        async with self._write() as conn:
            now = self._now()
            rows = await _select(conn, "SELECT * FROM cases WHERE worker_id = ? ORDER BY id", (telegram_id,))
            withdrawn: list[Case] = []
            anonymised: list[str] = []
            for case in (_model(Case, row) for row in rows):
                if case.is_open:
                    await _move_case(conn, case.id, expected=case.status, new=CaseStatus.WITHDRAWN, now=now)
                    await _insert_event(
                        conn,
                        NewCaseEvent(
                            case_id=case.id,
                            actor_id=telegram_id,  # nulled with the rest of the worker's traces below
                            actor_role="worker",
                            action="status_changed",
                            from_status=case.status,
                            to_status=CaseStatus.WITHDRAWN,
                            visible_to_worker=True,
                        ),
                        now,
                    )
                    withdrawn.append(case)
                await _anonymise_case(conn, case, now, actor_id=None, actor_role="worker", reason="forget")
                anonymised.append(case.reference)
            for case in withdrawn:
                for message in news.get(case.id, ()):
                    await _enqueue(conn, message, now, case_id=case.id)
            # Nothing more reaches them, and what did keeps no text.
            await _execute(
                conn,
                "DELETE FROM outbox WHERE chat_id = ? AND sent_at IS NULL AND gave_up_at IS NULL",
                (telegram_id,),
            )
            await _execute(conn, "UPDATE outbox SET params = '{}' WHERE chat_id = ?", (telegram_id,))
            await _forget_persistence(conn, telegram_id)
            await _remove_signups(conn, telegram_id, now)
            await _execute(conn, "DELETE FROM chat_messages WHERE chat_id = ?", (telegram_id,))
            await _erase_worker_file(conn, telegram_id)
            # The audit keeps who opened the file and when, no longer whose it was.
            await _execute(
                conn,
                "UPDATE worker_file_views SET worker_id = ? WHERE worker_id = ?",
                (ANONYMOUS_WORKER_ID, telegram_id),
            )
            await _execute(conn, "DELETE FROM workers WHERE telegram_id = ?", (telegram_id,))
        return Forgotten(withdrawn=[case.reference for case in withdrawn], anonymised=anonymised)

    async def anonymise_finished_cases(self, finished_before: datetime) -> list[str]:
        async with self._write() as conn:
            now = self._now()
            rows = await _select(
                conn,
                "SELECT * FROM cases WHERE anonymised_at IS NULL"
                " AND status IN ('resolved', 'closed', 'withdrawn')"
                " AND (CASE status WHEN 'closed' THEN closed_at WHEN 'resolved' THEN resolved_at"
                "  ELSE updated_at END) < ?"
                " ORDER BY id",
                (utc_text(finished_before),),
            )
            cases = [_model(Case, row) for row in rows]
            for case in cases:
                await _anonymise_case(conn, case, now, actor_id=None, actor_role="system", reason="retention")
            # A worker's file is reached through their cases: with the last one anonymised, nobody can
            # open it, so their plan and notes go too.
            for worker_id in sorted({case.worker_id for case in cases} - {ANONYMOUS_WORKER_ID}):
                if not await _select_one(
                    conn, "SELECT 1 FROM cases WHERE worker_id = ? LIMIT 1", (worker_id,)
                ):
                    await _erase_worker_file(conn, worker_id)
        return [case.reference for case in cases]

    async def erase_inactive_workers(self, seen_before: datetime) -> list[int]:
        statuses = {f"open{index}": status for index, status in enumerate(sorted(OPEN_STATUSES))}
        is_open = ", ".join(":" + name for name in statuses)
        async with self._write() as conn:
            rows = await _select(
                conn,
                "SELECT telegram_id FROM workers AS w WHERE telegram_id != :anonymous"
                " AND COALESCE(last_seen_at, updated_at) < :before"
                " AND (profile != '{}' OR EXISTS (SELECT 1 FROM ptb_persistence"
                "  WHERE kind = 'user_data' AND key = CAST(w.telegram_id AS TEXT))"
                "  OR EXISTS (SELECT 1 FROM training_signups WHERE worker_id = w.telegram_id)"
                "  OR EXISTS (SELECT 1 FROM worker_plans WHERE worker_id = w.telegram_id)"
                "  OR EXISTS (SELECT 1 FROM worker_notes WHERE worker_id = w.telegram_id))"
                " AND NOT EXISTS (SELECT 1 FROM cases WHERE worker_id = w.telegram_id"
                f"  AND status IN ({is_open}))"
                " ORDER BY telegram_id",
                {"anonymous": ANONYMOUS_WORKER_ID, "before": utc_text(seen_before), **statuses},
            )
            erased = [int(row["telegram_id"]) for row in rows]
            now = self._now()
            for telegram_id in erased:
                await _execute(
                    conn,
                    "UPDATE workers SET profile = '{}', updated_at = ? WHERE telegram_id = ?",
                    (now, telegram_id),
                )
                await _forget_persistence(conn, telegram_id)
                await _remove_signups(conn, telegram_id, now)
                await _erase_worker_file(conn, telegram_id)
        return erased

    async def list_chat_messages(self, chat_id: int) -> list[ChatMessage]:
        async with self._read() as conn:
            rows = await _select(
                conn, "SELECT * FROM chat_messages WHERE chat_id = ? ORDER BY sent_at, message_id", (chat_id,)
            )
        return [_model(ChatMessage, row) for row in rows]

    async def forget_chat_messages(self, chat_id: int, message_ids: Sequence[int]) -> None:
        async with self._write() as conn:
            params: dict[str, Any] = {"chat": chat_id}
            names = _bind_list(params, "message", list(message_ids))
            await _execute(
                conn, f"DELETE FROM chat_messages WHERE chat_id = :chat AND message_id IN ({names})", params
            )

    async def prune_chat_messages(self, sent_before: datetime) -> int:
        async with self._write() as conn:
            return await _execute(
                conn, "DELETE FROM chat_messages WHERE sent_at < ?", (utc_text(sent_before),)
            )

    # -- officers --------------------------------------------------------------------------------

    async def sync_officers(self, officers: list[OfficerIn]) -> None:
        async with self._write() as conn:
            now = self._now()
            for officer in officers:
                await _upsert_officer(conn, officer, now)

    async def upsert_officer(self, officer: OfficerIn) -> Officer:
        async with self._write() as conn:
            await _upsert_officer(conn, officer, self._now())
            stored = await _get_officer(conn, officer.telegram_id)
        assert stored is not None  # written inside this transaction
        return stored

    async def get_officer(self, telegram_id: int) -> Officer | None:
        row = await self._point_read(_OFFICER_BY_ID, (telegram_id,))
        return _model_or_none(Officer, row)

    async def list_officers(self, *, active_only: bool = False) -> list[Officer]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                f"SELECT * FROM ({_OFFICER_SELECT}) WHERE active = 1 OR NOT ? ORDER BY name, telegram_id",
                (active_only,),
            )
        return [_model(Officer, row) for row in rows]

    async def set_officer_active(self, telegram_id: int, active: bool) -> Officer:
        async with self._write() as conn:
            changed = await _execute(
                conn,
                "UPDATE officers SET bot_active = ?, updated_at = ? WHERE telegram_id = ?",
                (active, self._now(), telegram_id),
            )
            _require_changed(changed, f"officer {telegram_id}")
            officer = await _get_officer(conn, telegram_id)
        assert officer is not None  # updated inside this transaction
        return officer

    async def officer_workloads(self) -> dict[int, Workload]:
        # One row per (officer, role) they hold on some case; "open" is a named parameter list.
        statuses = {f"open{index}": status for index, status in enumerate(sorted(OPEN_STATUSES))}
        is_open = f"status IN ({', '.join(':' + name for name in statuses)})"
        async with self._read() as conn:
            rows = await _select(
                conn,
                f"SELECT assignee_id AS officer_id, 'primary' AS role, SUM({is_open}) AS open_count,"
                " MAX(created_at) AS last_at FROM cases WHERE assignee_id IS NOT NULL GROUP BY assignee_id"
                f" UNION ALL SELECT backup_id, 'backup', SUM({is_open}), NULL FROM cases"
                " WHERE backup_id IS NOT NULL GROUP BY backup_id",
                statuses,
            )
        found: dict[int, dict[str, Any]] = {}
        for row in rows:
            workload = found.setdefault(row["officer_id"], {})
            if row["role"] == "primary":
                workload.update(open_cases=row["open_count"], last_assigned_at=row["last_at"])
            else:
                workload["open_backups"] = row["open_count"]
        return {officer_id: Workload.model_validate(data) for officer_id, data in found.items()}

    # -- cases -----------------------------------------------------------------------------------

    async def create_case(self, new_case: NewCase, *, actor_role: str = "worker") -> Case:
        due = new_case.first_response_due_at
        async with self._write() as conn:
            now = self._now()
            case_id = await _insert(
                conn,
                "INSERT INTO cases (kind, status, priority, worker_id, assignee_id, backup_id, fields,"
                " created_at, updated_at, first_response_due_at, remind_at)"
                " VALUES (:kind, :status, :priority, :worker_id, :assignee_id, :backup_id, :fields,"
                " :now, :now, :due, :now)",
                {
                    "kind": new_case.kind,
                    "status": CaseStatus.NEW,
                    "priority": new_case.priority,
                    "worker_id": new_case.worker_id,
                    "assignee_id": new_case.assignee_id,
                    "backup_id": new_case.backup_id,
                    "fields": _json(new_case.model_dump(mode="json")["fields"]),
                    "now": now,
                    "due": utc_text(due) if due is not None else None,
                },
            )
            reference = f"{REFERENCE_PREFIX[new_case.kind]}-{case_id:06d}"
            await _execute(conn, "UPDATE cases SET reference = ? WHERE id = ?", (reference, case_id))
            for attachment in new_case.attachments:
                await _insert_attachment(conn, case_id, attachment, now)
            await _insert_event(
                conn,
                NewCaseEvent(
                    case_id=case_id,
                    # Only a worker creating their own case is a known actor here.
                    actor_id=new_case.worker_id if actor_role == "worker" else None,
                    actor_role=actor_role,
                    action="created",
                    to_status=CaseStatus.NEW,
                    visible_to_worker=True,
                ),
                now,
            )
            case = await _get_case(conn, case_id)
        assert case is not None  # inserted inside this transaction
        return case

    async def get_case(self, case_id: int) -> Case | None:
        async with self._read() as conn:
            return await _get_case(conn, case_id)

    async def get_case_by_reference(self, reference: str) -> Case | None:
        async with self._read() as conn:
            row = await _select_one(conn, "SELECT * FROM cases WHERE reference = ?", (reference,))
        return _model_or_none(Case, row)

    async def list_cases_for_worker(self, worker_id: int) -> list[Case]:
        async with self._read() as conn:
            rows = await _select(
                conn, "SELECT * FROM cases WHERE worker_id = ? ORDER BY id DESC", (worker_id,)
            )
        return [_model(Case, row) for row in rows]

    async def change_case_status(
        self,
        case_id: int,
        *,
        expected: CaseStatus,
        new: CaseStatus,
        actor_id: int | None,
        actor_role: str,
        note: str | None = None,
        visible_to_worker: bool = True,
        outbox: Sequence[OutboxMessage] = (),
    ) -> Case:
        _check_transition(expected, new)
        async with self._write() as conn:
            now = self._now()
            await _move_case(conn, case_id, expected=expected, new=new, now=now)
            await _insert_event(
                conn,
                NewCaseEvent(
                    case_id=case_id,
                    actor_id=actor_id,
                    actor_role=actor_role,
                    action="status_changed",
                    from_status=expected,
                    to_status=new,
                    note=note,
                    visible_to_worker=visible_to_worker,
                ),
                now,
            )
            return await _announced(conn, case_id, outbox, now)

    async def resolve_case(
        self,
        case_id: int,
        *,
        expected: CaseStatus,
        resolution: Resolution,
        actor_id: int,
        actor_role: str,
        outbox: Sequence[OutboxMessage] = (),
    ) -> Case:
        _check_transition(expected, CaseStatus.RESOLVED)
        async with self._write() as conn:
            now = self._now()
            await _move_case(conn, case_id, expected=expected, new=CaseStatus.RESOLVED, now=now)
            await _execute(
                conn,
                "UPDATE cases SET outcome = :outcome, amount_recovered = :amount_recovered,"
                " workers_helped = :workers_helped, member_number = :member_number,"
                " amount_granted = :amount_granted, decision_reason = :reason WHERE id = :id",
                {**resolution.model_dump(mode="json", exclude={"note"}), "id": case_id},
            )
            for event in (
                NewCaseEvent(
                    case_id=case_id,
                    actor_id=actor_id,
                    actor_role=actor_role,
                    action="status_changed",
                    from_status=expected,
                    to_status=CaseStatus.RESOLVED,
                    note=resolution.note,
                    visible_to_worker=True,
                ),
                NewCaseEvent(
                    case_id=case_id,
                    actor_id=actor_id,
                    actor_role=actor_role,
                    action="outcome",
                    note=_json(resolution.model_dump(mode="json", exclude={"note"}, exclude_none=True)),
                ),
            ):
                await _insert_event(conn, event, now)
            return await _announced(conn, case_id, outbox, now)

    async def reassign_case(
        self,
        case_id: int,
        *,
        assignee_id: int,
        backup_id: int | None,
        actor_id: int | None,
        actor_role: str,
        outbox: Sequence[OutboxMessage] = (),
    ) -> Case:
        if assignee_id == backup_id:
            raise StorageError("the primary and the backup officer must be two people")
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE cases SET assignee_id = ?, backup_id = ?, updated_at = ?, remind_at = ? WHERE id = ?",
                (assignee_id, backup_id, now, now, case_id),
            )
            _require_changed(changed, f"case {case_id}")
            await _insert_event(
                conn,
                NewCaseEvent(
                    case_id=case_id,
                    actor_id=actor_id,
                    actor_role=actor_role,
                    action="assigned",
                    note=_json({"primary": assignee_id, "backup": backup_id}),
                ),
                now,
            )
            return await _announced(conn, case_id, outbox, now)

    async def link_cases(
        self, case_ids: Sequence[int], *, group_id: int | None, actor_id: int | None, actor_role: str
    ) -> int:
        async with self._write() as conn:
            now = self._now()
            if group_id is None:
                group_id = await _insert(conn, "INSERT INTO case_groups (created_at) VALUES (?)", (now,))
            for case_id in case_ids:
                changed = await _execute(
                    conn,
                    # Urgent stays urgent; everything else becomes collective, with the SLA that goes with it.
                    "UPDATE cases SET group_id = :group,"
                    " priority = CASE WHEN priority = 'normal' THEN 'high' ELSE priority END,"
                    " updated_at = :now, remind_at = :now WHERE id = :id",
                    {"group": group_id, "now": now, "id": case_id},
                )
                _require_changed(changed, f"case {case_id}")
                await _insert_event(
                    conn,
                    NewCaseEvent(
                        case_id=case_id,
                        actor_id=actor_id,
                        actor_role=actor_role,
                        action="linked",
                        note=_json({"group": group_id}),
                    ),
                    now,
                )
            return group_id

    async def find_cases(self, query: CaseQuery) -> list[Case]:
        where = ["1 = 1"]
        params: dict[str, Any] = {"limit": query.limit}
        if query.officer_id is not None:
            where.append("(assignee_id = :officer OR backup_id = :officer)")
            params["officer"] = query.officer_id
        if query.statuses is not None:
            names = _bind_list(params, "status", sorted(query.statuses))
            where.append(f"status IN ({names})")
        if query.kind is not None:
            where.append("kind = :kind")
            params["kind"] = query.kind
        if query.priority is not None:
            where.append("priority = :priority")
            params["priority"] = query.priority
        if query.overdue_at is not None:
            # A first response is due while nobody has acknowledged; an update while it is handled.
            where.append(
                "((acknowledged_at IS NULL AND first_response_due_at < :overdue)"
                " OR (acknowledged_at IS NOT NULL AND next_update_due_at < :overdue))"
            )
            params["overdue"] = utc_text(query.overdue_at)
        for column, bound, operator in (
            ("created_at", query.created_from, ">="),
            ("created_at", query.created_before, "<"),
            ("resolved_at", query.resolved_from, ">="),
            ("resolved_at", query.resolved_before, "<"),
        ):
            if bound is not None:
                name = f"{column}{'_from' if operator == '>=' else '_before'}"
                where.append(f"{column} {operator} :{name}")
                params[name] = utc_text(bound)
        if query.text:
            # LIKE over the JSON text of the answers: enough for a union's few thousand cases.
            where.append("(reference LIKE :text ESCAPE '\\' OR fields LIKE :text ESCAPE '\\')")
            params["text"] = "%" + _like_escape(query.text) + "%"
        async with self._read() as conn:
            rows = await _select(
                conn,
                f"SELECT * FROM cases WHERE {' AND '.join(where)}"
                f" ORDER BY {_PRIORITY_ORDER}, id LIMIT :limit",
                params,
            )
        return [_model(Case, row) for row in rows]

    async def add_case_event(
        self,
        event: NewCaseEvent,
        *,
        attachments: Sequence[AttachmentIn] = (),
        outbox: Sequence[OutboxMessage] = (),
    ) -> CaseEvent:
        async with self._write() as conn:
            now = self._now()
            event_id = await _insert_event(conn, event, now)
            if event.action not in AUDIT_ONLY_ACTIONS:
                # Work on the case may change what the SLA sweep should do: it looks again at its next run.
                await _execute(conn, "UPDATE cases SET remind_at = ? WHERE id = ?", (now, event.case_id))
            for attachment in attachments:
                await _insert_attachment(conn, event.case_id, attachment, now)
            for message in outbox:
                await _enqueue(conn, message, now, case_id=event.case_id)
            row = await _select_one(conn, "SELECT * FROM case_events WHERE id = ?", (event_id,))
        assert row is not None  # inserted inside this transaction
        return _model(CaseEvent, row)

    async def add_case_events(self, events: Sequence[NewCaseEvent]) -> None:
        if any(event.action not in AUDIT_ONLY_ACTIONS for event in events):
            raise StorageError(
                "only audit events are recorded in bulk; case work goes through add_case_event"
            )
        async with self._write() as conn:
            now = self._now()
            for event in events:
                await _insert_event(conn, event, now)

    async def list_case_events(self, case_id: int, *, worker_visible_only: bool = False) -> list[CaseEvent]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM case_events WHERE case_id = ? AND (visible_to_worker = 1 OR NOT ?)"
                " ORDER BY id",
                (case_id, worker_visible_only),
            )
        return [_model(CaseEvent, row) for row in rows]

    async def add_attachment(self, case_id: int, attachment: AttachmentIn) -> Attachment:
        async with self._write() as conn:
            now = self._now()
            attachment_id = await _insert_attachment(conn, case_id, attachment, now)
            row = await _select_one(conn, "SELECT * FROM attachments WHERE id = ?", (attachment_id,))
        assert row is not None  # inserted inside this transaction
        return _model(Attachment, row)

    async def list_attachments(self, case_id: int) -> list[Attachment]:
        async with self._read() as conn:
            rows = await _select(conn, "SELECT * FROM attachments WHERE case_id = ? ORDER BY id", (case_id,))
        return [_model(Attachment, row) for row in rows]

    # -- schedules -------------------------------------------------------------------------------

    async def due_for_review(self, now: datetime, *, limit: int = 200) -> list[CaseActivity]:
        params: dict[str, Any] = {"now": utc_text(now), "limit": limit}
        # Looking at a case is not acting on it: audit events do not restart its clock.
        audit = _bind_list(params, "audit", sorted(AUDIT_ONLY_ACTIONS))
        async with self._read() as conn:
            rows = await _select(
                conn,
                # The partial index on remind_at keeps this proportional to the due cases.
                "SELECT cases.*, (SELECT MAX(created_at) FROM case_events"
                "  WHERE case_events.case_id = cases.id"
                "  AND (action = 'status_changed' OR actor_role IN ('officer', 'admin'))"
                f"  AND action NOT IN ({audit})) AS last_activity_at"
                " FROM cases WHERE remind_at IS NOT NULL AND remind_at <= :now"
                " ORDER BY remind_at LIMIT :limit",
                params,
            )
        return [
            CaseActivity(case=_model(Case, row), last_activity_at=row["last_activity_at"]) for row in rows
        ]

    async def update_schedule(
        self,
        case_id: int,
        *,
        seen_remind_at: datetime,
        update: ScheduleUpdate,
        outbox: Sequence[OutboxMessage] = (),
    ) -> bool:
        async with self._write() as conn:
            now = self._now()
            data = update.model_dump(mode="python")
            changed = await _execute(
                conn,
                "UPDATE cases SET remind_at = :remind_at, sla_started_at = :sla_started_at,"
                " reminders_sent = :reminders_sent, first_response_due_at = :first_response_due_at,"
                " next_update_due_at = :next_update_due_at WHERE id = :id AND remind_at = :seen",
                {
                    **{
                        key: utc_text(value) if isinstance(value, datetime) else value
                        for key, value in data.items()
                    },
                    "id": case_id,
                    "seen": utc_text(seen_remind_at),
                },
            )
            if changed == 0:
                return False
            for message in outbox:
                await _enqueue(conn, message, now, case_id=case_id)
            return True

    async def claim_scheduled_send(
        self, kind: str, recipient: int, period: str, *, outbox: Sequence[OutboxMessage] = ()
    ) -> bool:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "INSERT INTO scheduled_sends (kind, recipient, period, sent_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (kind, recipient, period, now),
            )
            if changed == 0:
                return False
            for message in outbox:
                await _enqueue(conn, message, now)
            return True

    async def has_scheduled_send(self, kind: str, recipient: int, period: str) -> bool:
        async with self._read() as conn:
            row = await _select_one(
                conn,
                "SELECT 1 FROM scheduled_sends WHERE kind = ? AND recipient = ? AND period = ?",
                (kind, recipient, period),
            )
        return row is not None

    async def due_followups(self, resolved_before: datetime, *, limit: int = 200) -> list[Case]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM cases WHERE status = 'resolved' AND followup_sent_at IS NULL"
                " AND resolved_at <= ? ORDER BY resolved_at LIMIT ?",
                (utc_text(resolved_before), limit),
            )
        return [_model(Case, row) for row in rows]

    async def mark_followup_sent(self, case_id: int, *, outbox: Sequence[OutboxMessage] = ()) -> bool:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE cases SET followup_sent_at = ? WHERE id = ? AND followup_sent_at IS NULL",
                (now, case_id),
            )
            if changed == 0:
                return False
            for message in outbox:
                await _enqueue(conn, message, now, case_id=case_id)
            return True

    # -- outbox ----------------------------------------------------------------------------------

    async def enqueue_outbox(self, message: OutboxMessage, *, not_before: datetime | None = None) -> int:
        async with self._write() as conn:
            return await _enqueue(conn, message, self._now(), not_before=not_before)

    async def due_outbox(
        self, now: datetime, *, limit: int = 100, hold: timedelta = timedelta(minutes=1)
    ) -> list[OutboxItem]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL"
                " AND next_attempt_at <= :now"
                # Messages about one case (or about none) to one chat keep their order: an alert's
                # evidence never arrives before the alert. But an earlier one that keeps failing holds
                # them up only for `hold` after it was queued; other cases' messages never wait for it.
                " AND NOT EXISTS (SELECT 1 FROM outbox AS earlier WHERE earlier.chat_id = outbox.chat_id"
                "  AND earlier.case_id IS outbox.case_id AND earlier.id < outbox.id"
                "  AND earlier.sent_at IS NULL AND earlier.gave_up_at IS NULL AND earlier.created_at > :held)"
                " ORDER BY id LIMIT :limit",
                {"now": utc_text(now), "held": utc_text(now - hold), "limit": limit},
            )
        return [_model(OutboxItem, row) for row in rows]

    async def mark_outbox_sent(self, item_id: int) -> None:
        async with self._write() as conn:
            changed = await _execute(
                conn, "UPDATE outbox SET sent_at = ?, params = '{}' WHERE id = ?", (self._now(), item_id)
            )
            _require_changed(changed, f"outbox item {item_id}")

    async def mark_outbox_failed(
        self,
        item_id: int,
        *,
        error: str,
        retry_at: datetime | None,
        notices: Sequence[OutboxMessage] = (),
    ) -> None:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE outbox SET attempts = attempts + 1, last_error = :error,"
                " next_attempt_at = COALESCE(:retry_at, next_attempt_at),"
                " gave_up_at = CASE WHEN :retry_at IS NULL THEN :now END,"
                # Given up, the text goes like a delivered one's: the outbox is no archive.
                " params = CASE WHEN :retry_at IS NULL THEN '{}' ELSE params END"
                " WHERE id = :id",
                {
                    "error": error,
                    "retry_at": utc_text(retry_at) if retry_at is not None else None,
                    "now": now,
                    "id": item_id,
                },
            )
            _require_changed(changed, f"outbox item {item_id}")
            for notice in notices:
                await _enqueue(conn, notice, now)

    async def outbox_backlog(
        self, now: datetime, *, stuck_after: timedelta, given_up_since: datetime
    ) -> DeliveryBacklog:
        async with self._read() as conn:
            waiting = await _select_one(
                conn,
                "SELECT COUNT(*) AS waiting, MIN(created_at) AS oldest,"
                " COUNT(*) FILTER (WHERE created_at <= ?) AS stuck"
                " FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL",
                (utc_text(now - stuck_after),),
            )
            given_up = await _select_one(
                conn, "SELECT COUNT(*) AS n FROM outbox WHERE gave_up_at >= ?", (utc_text(given_up_since),)
            )
        assert waiting is not None and given_up is not None  # aggregates always give a row
        return DeliveryBacklog(
            waiting=waiting["waiting"],
            oldest_queued_at=waiting["oldest"],
            stuck=waiting["stuck"],
            given_up=given_up["n"],
        )

    # -- the running bot's own state ---------------------------------------------------------------

    async def set_bot_status(self, values: Mapping[str, str | None]) -> None:
        async with self._write() as conn:
            now = self._now()
            for key, value in values.items():
                if value is None:
                    await _execute(conn, "DELETE FROM bot_status WHERE key = ?", (key,))
                else:
                    await _execute(
                        conn,
                        "INSERT INTO bot_status (key, value, updated_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET"
                        " value = excluded.value, updated_at = excluded.updated_at",
                        (key, value, now),
                    )

    async def bot_status(self) -> dict[str, str]:
        async with self._read() as conn:
            rows = await _select(conn, "SELECT key, value FROM bot_status")
        return {row["key"]: row["value"] for row in rows}

    async def last_update_processed_at(self) -> datetime | None:
        async with self._read() as conn:
            row = await _select_one(conn, "SELECT MAX(processed_at) AS latest FROM processed_updates")
        return None if row is None or row["latest"] is None else datetime.fromisoformat(row["latest"])

    # -- broadcasts ------------------------------------------------------------------------------

    async def create_broadcast(self, broadcast: NewBroadcast) -> Broadcast:
        data = broadcast.model_dump(mode="json")
        async with self._write() as conn:
            now = self._now()
            broadcast_id = await _insert(
                conn,
                "INSERT INTO broadcasts (created_by, texts, media_kind, media_file_id, audience, schedule,"
                " status, next_run_at, attend_button, training_id, created_at, updated_at)"
                " VALUES (:created_by, :texts, :media_kind, :media_file_id, :audience, :schedule,"
                " :status, :next_run_at, :attend_button, :training_id, :now, :now)",
                {
                    **_json_fields(data, "texts", "audience", "schedule"),
                    "status": BroadcastStatus.SCHEDULED,
                    "next_run_at": utc_text(broadcast.next_run_at),
                    "now": now,
                },
            )
            stored = await _get_broadcast(conn, broadcast_id)
        assert stored is not None  # inserted inside this transaction
        return stored

    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None:
        async with self._read() as conn:
            return await _get_broadcast(conn, broadcast_id)

    async def list_broadcasts(self, *, limit: int = 20) -> list[Broadcast]:
        async with self._read() as conn:
            rows = await _select(conn, "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))
        return [_model(Broadcast, row) for row in rows]

    async def cancel_broadcast(self, broadcast_id: int) -> Broadcast:
        async with self._write() as conn:
            now = self._now()
            if await _get_broadcast(conn, broadcast_id) is None:
                raise StorageError(f"broadcast {broadcast_id} does not exist")
            changed = await _execute(
                conn,
                "UPDATE broadcasts SET status = 'cancelled', next_run_at = NULL, updated_at = ?"
                " WHERE id = ? AND status IN ('scheduled', 'sending')",
                (now, broadcast_id),
            )
            if changed:
                await _execute(
                    conn,
                    "UPDATE broadcast_deliveries SET status = 'skipped', error = 'cancelled', updated_at = ?"
                    " WHERE broadcast_id = ? AND status = 'pending'",
                    (now, broadcast_id),
                )
                await _execute(
                    conn,
                    "UPDATE broadcast_occurrences SET finished_at = ?"
                    " WHERE broadcast_id = ? AND finished_at IS NULL",
                    (now, broadcast_id),
                )
            broadcast = await _get_broadcast(conn, broadcast_id)
        assert broadcast is not None  # read inside this transaction
        return broadcast

    async def count_audience(self, audience: Audience, *, default_language: str) -> int:
        params: dict[str, Any] = {}
        where = _audience_where(audience, default_language, params)
        async with self._read() as conn:
            row = await _select_one(
                conn,
                f"SELECT COUNT(*) AS n FROM workers AS w WHERE w.consent_at IS NOT NULL AND {where}"
                " AND w.opted_out = 0 AND w.blocked = 0",
                params,
            )
        return int(row["n"]) if row is not None else 0

    async def due_broadcasts(self, now: datetime) -> list[Broadcast]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM broadcasts WHERE status IN ('scheduled', 'sending')"
                " AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id",
                (utc_text(now),),
            )
        return [_model(Broadcast, row) for row in rows]

    async def start_broadcast_occurrence(
        self, broadcast_id: int, *, run_at: datetime, next_run_at: datetime | None, default_language: str
    ) -> BroadcastOccurrence | None:
        async with self._write() as conn:
            now = self._now()
            broadcast = await _get_broadcast(conn, broadcast_id)
            if (
                broadcast is None
                or broadcast.status not in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)
                or broadcast.next_run_at != run_at
            ):
                return None
            await _execute(
                conn,
                "INSERT OR IGNORE INTO broadcast_occurrences (broadcast_id, run_at, started_at)"
                " VALUES (?, ?, ?)",
                (broadcast_id, utc_text(run_at), now),
            )
            row = await _select_one(
                conn,
                "SELECT * FROM broadcast_occurrences WHERE broadcast_id = ? AND run_at = ?",
                (broadcast_id, utc_text(run_at)),
            )
            assert row is not None  # inserted or already there, inside this transaction
            occurrence = _model(BroadcastOccurrence, row)
            params: dict[str, Any] = {"occurrence": occurrence.id, "broadcast": broadcast_id, "now": now}
            where = _audience_where(broadcast.audience, default_language, params)
            # One statement, in SQL: ten thousand workers never pass through Python memory.
            await _execute(
                conn,
                "INSERT OR IGNORE INTO broadcast_deliveries"
                " (occurrence_id, broadcast_id, worker_id, status, error, created_at, updated_at)"
                " SELECT :occurrence, :broadcast, w.telegram_id,"
                "  CASE WHEN w.opted_out OR w.blocked THEN 'skipped' ELSE 'pending' END,"
                "  CASE WHEN w.opted_out THEN 'unsubscribed' WHEN w.blocked THEN 'blocked before' END,"
                "  :now, :now"
                f" FROM workers AS w WHERE w.consent_at IS NOT NULL AND {where} ORDER BY w.telegram_id",
                params,
            )
            await _execute(
                conn,
                "UPDATE broadcasts SET status = 'sending', next_run_at = ?, updated_at = ? WHERE id = ?",
                (utc_text(next_run_at) if next_run_at is not None else None, now, broadcast_id),
            )
        return occurrence

    async def unfinished_broadcast_occurrences(self) -> list[BroadcastOccurrence]:
        async with self._read() as conn:
            rows = await _select(
                conn, "SELECT * FROM broadcast_occurrences WHERE finished_at IS NULL ORDER BY id"
            )
        return [_model(BroadcastOccurrence, row) for row in rows]

    async def pending_broadcast_deliveries(
        self, occurrence_id: int, *, limit: int, now: datetime | None = None
    ) -> list[BroadcastDelivery]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT d.id, d.occurrence_id, d.worker_id, d.attempts, w.language, w.opted_out, w.blocked"
                " FROM broadcast_deliveries AS d JOIN workers AS w ON w.telegram_id = d.worker_id"
                " WHERE d.occurrence_id = :occurrence AND d.status = 'pending'"
                " AND (:now IS NULL OR d.next_attempt_at IS NULL OR d.next_attempt_at <= :now)"
                " ORDER BY d.id LIMIT :limit",
                {
                    "occurrence": occurrence_id,
                    "now": utc_text(now) if now is not None else None,
                    "limit": limit,
                },
            )
        return [_model(BroadcastDelivery, row) for row in rows]

    async def mark_delivery_sent(self, delivery_id: int) -> None:
        await self._set_delivery(delivery_id, DeliveryStatus.SENT, error=None, sent=True)

    async def mark_delivery_skipped(self, delivery_id: int, *, reason: str) -> None:
        await self._set_delivery(delivery_id, DeliveryStatus.SKIPPED, error=reason)

    async def mark_delivery_blocked(self, delivery_id: int) -> None:
        async with self._write() as conn:
            now = self._now()
            row = await _select_one(
                conn, "SELECT worker_id FROM broadcast_deliveries WHERE id = ?", (delivery_id,)
            )
            if row is None:
                raise StorageError(f"broadcast delivery {delivery_id} does not exist")
            await _execute(
                conn,
                "UPDATE broadcast_deliveries SET status = 'blocked', attempts = attempts + 1,"
                " error = 'forbidden', updated_at = ? WHERE id = ?",
                (now, delivery_id),
            )
            await _execute(
                conn,
                "UPDATE workers SET blocked = 1, updated_at = ? WHERE telegram_id = ?",
                (now, row["worker_id"]),
            )

    async def record_delivery_failure(
        self, delivery_id: int, *, error: str, give_up: bool, retry_at: datetime | None = None
    ) -> int:
        async with self._write() as conn:
            changed = await _execute(
                conn,
                "UPDATE broadcast_deliveries SET attempts = attempts + 1, error = :error,"
                " status = CASE WHEN :give_up THEN 'failed' ELSE status END, next_attempt_at = :retry_at,"
                " updated_at = :now WHERE id = :id",
                {
                    "error": error,
                    "give_up": give_up,
                    "retry_at": utc_text(retry_at) if retry_at is not None else None,
                    "now": self._now(),
                    "id": delivery_id,
                },
            )
            _require_changed(changed, f"broadcast delivery {delivery_id}")
            row = await _select_one(
                conn, "SELECT attempts FROM broadcast_deliveries WHERE id = ?", (delivery_id,)
            )
        assert row is not None  # updated inside this transaction
        return int(row["attempts"])

    async def _set_delivery(
        self, delivery_id: int, status: DeliveryStatus, *, error: str | None, sent: bool = False
    ) -> None:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE broadcast_deliveries SET status = :status, error = :error,"
                " attempts = attempts + :sent, sent_at = CASE WHEN :sent THEN :now ELSE sent_at END,"
                " updated_at = :now WHERE id = :id",
                {"status": status, "error": error, "sent": int(sent), "now": now, "id": delivery_id},
            )
            _require_changed(changed, f"broadcast delivery {delivery_id}")

    async def broadcast_report(self, occurrence_id: int) -> BroadcastReport | None:
        async with self._read() as conn:
            return await _broadcast_report(conn, occurrence_id)

    async def broadcast_reach(self, start: datetime, end: datetime) -> int:
        async with self._read() as conn:
            row = await _select_one(
                conn,
                "SELECT COUNT(DISTINCT worker_id) AS reached FROM broadcast_deliveries"
                " WHERE status = 'sent' AND sent_at >= ? AND sent_at < ?",
                (utc_text(start), utc_text(end)),
            )
        return int(row["reached"]) if row is not None else 0

    async def latest_broadcast_report(self, broadcast_id: int) -> BroadcastReport | None:
        async with self._read() as conn:
            row = await _select_one(
                conn,
                "SELECT id FROM broadcast_occurrences WHERE broadcast_id = ? ORDER BY run_at DESC, id DESC"
                " LIMIT 1",
                (broadcast_id,),
            )
            return await _broadcast_report(conn, int(row["id"])) if row is not None else None

    async def finish_broadcast_occurrence(
        self, occurrence_id: int, *, outbox: Sequence[OutboxMessage] = ()
    ) -> bool:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE broadcast_occurrences SET finished_at = ? WHERE id = ? AND finished_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM broadcast_deliveries"
                "  WHERE occurrence_id = ? AND status = 'pending')",
                (now, occurrence_id, occurrence_id),
            )
            if not changed:
                return False
            # Back to scheduled (or done) unless another occurrence of it is still going out.
            await _execute(
                conn,
                "UPDATE broadcasts SET updated_at = :now,"
                " status = CASE WHEN next_run_at IS NULL THEN 'done' ELSE 'scheduled' END"
                " WHERE id = (SELECT broadcast_id FROM broadcast_occurrences WHERE id = :occurrence)"
                " AND status = 'sending' AND NOT EXISTS (SELECT 1 FROM broadcast_occurrences AS other"
                "  WHERE other.broadcast_id = broadcasts.id AND other.finished_at IS NULL)",
                {"now": now, "occurrence": occurrence_id},
            )
            for message in outbox:
                await _enqueue(conn, message, now)
        return True

    async def record_attendance(self, occurrence_id: int, worker_id: int) -> bool | None:
        async with self._write() as conn:
            received = await _select_one(
                conn,
                "SELECT 1 FROM broadcast_deliveries WHERE occurrence_id = ? AND worker_id = ?"
                " AND status = 'sent'",
                (occurrence_id, worker_id),
            )
            if received is None:
                return None
            added = await _execute(
                conn,
                "INSERT OR IGNORE INTO broadcast_attendance (occurrence_id, worker_id, created_at)"
                " VALUES (?, ?, ?)",
                (occurrence_id, worker_id, self._now()),
            )
        return added > 0

    # -- PTB persistence -------------------------------------------------------------------------

    async def load_persistence(self, kind: str) -> dict[str, Any]:
        async with self._read() as conn:
            rows = await _select(conn, "SELECT key, value FROM ptb_persistence WHERE kind = ?", (kind,))
        return {row["key"]: json.loads(row["value"]) for row in rows}

    async def save_persistence(
        self,
        changes: list[PersistenceChange],
        *,
        processed_update_ids: Sequence[int] = (),
        seen_workers: Sequence[int] = (),
        chat_messages: Sequence[NewChatMessage] = (),
    ) -> None:
        now = self._clock_now()
        deletes = [(change.kind, change.key) for change in changes if change.value is None]
        upserts = [
            (change.kind, change.key, _json(change.value), utc_text(now))
            for change in changes
            if change.value is not None
        ]
        async with self._write() as conn:
            # One statement per kind of change, however many: this runs after every update.
            if deletes:
                await conn.executemany("DELETE FROM ptb_persistence WHERE kind = ? AND key = ?", deletes)
            if upserts:
                await conn.executemany(
                    "INSERT INTO ptb_persistence (kind, key, value, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value,"
                    " updated_at = excluded.updated_at",
                    upserts,
                )
            if seen_workers:
                await conn.executemany(
                    "UPDATE workers SET last_seen_at = ? WHERE telegram_id = ?",
                    [(utc_text(now), telegram_id) for telegram_id in sorted(set(seen_workers))],
                )
            if chat_messages:
                await conn.executemany(
                    "INSERT INTO chat_messages (chat_id, message_id, from_bot, sent_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (chat_id, message_id) DO NOTHING",
                    [(m.chat_id, m.message_id, m.from_bot, utc_text(now)) for m in chat_messages],
                )
            if not processed_update_ids:
                return
            if any(update_id % _PRUNE_EVERY == 0 for update_id in processed_update_ids):
                # Now and then is enough: is_update_processed ignores old ids anyway.
                await _execute(
                    conn,
                    "DELETE FROM processed_updates WHERE processed_at < ?",
                    (utc_text(now - _PROCESSED_UPDATE_RETENTION),),
                )
            await conn.executemany(
                "INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?)"
                " ON CONFLICT (update_id) DO UPDATE SET processed_at = excluded.processed_at",
                [(update_id, utc_text(now)) for update_id in processed_update_ids],
            )

    async def latest_processed_update_id(self) -> int | None:
        cutoff = utc_text(self._clock_now() - _PROCESSED_UPDATE_RETENTION)
        async with self._read() as conn:
            row = await _select_one(
                conn,
                "SELECT MAX(update_id) AS latest FROM processed_updates WHERE processed_at >= ?",
                (cutoff,),
            )
        return None if row is None or row["latest"] is None else int(row["latest"])

    async def is_update_processed(self, update_id: int) -> bool:
        # Old ids are ignored even before they are pruned: they may belong to a restarted sequence.
        cutoff = utc_text(self._clock_now() - _PROCESSED_UPDATE_RETENTION)
        row = await self._point_read(
            "SELECT 1 FROM processed_updates WHERE update_id = ? AND processed_at >= ?", (update_id, cutoff)
        )
        return row is not None

    # -- worker files (一人一档) -------------------------------------------------------------------

    async def get_worker_plan(self, worker_id: int) -> WorkerPlan | None:
        async with self._read() as conn:
            return await _get_worker_plan(conn, worker_id)

    async def set_worker_plan(
        self,
        worker_id: int,
        *,
        updated_by: int,
        responsible_id: int,
        plan: str | None = None,
        review_on: date | None = None,
    ) -> WorkerPlan:
        if worker_id == ANONYMOUS_WORKER_ID:
            raise StorageError("the anonymous worker has no plan")
        async with self._write() as conn:
            now = self._now()
            # COALESCE keeps what the caller did not give; the worker's row must exist (foreign key).
            await _execute(
                conn,
                "INSERT INTO worker_plans (worker_id, plan, review_on, responsible_id, updated_by,"
                " created_at, updated_at)"
                " VALUES (:worker, :plan, :review_on, :responsible, :by, :now, :now)"
                " ON CONFLICT (worker_id) DO UPDATE SET plan = COALESCE(excluded.plan, plan),"
                " review_on = COALESCE(excluded.review_on, review_on),"
                " responsible_id = excluded.responsible_id, updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                {
                    "worker": worker_id,
                    "plan": plan,
                    "review_on": review_on.isoformat() if review_on is not None else None,
                    "responsible": responsible_id,
                    "by": updated_by,
                    "now": now,
                },
            )
            stored = await _get_worker_plan(conn, worker_id)
        assert stored is not None  # written inside this transaction
        return stored

    async def add_worker_note(self, worker_id: int, *, author_id: int, text: str) -> WorkerNote:
        if worker_id == ANONYMOUS_WORKER_ID:
            raise StorageError("the anonymous worker has no notes")
        async with self._write() as conn:
            note_id = await _insert(
                conn,
                "INSERT INTO worker_notes (worker_id, author_id, text, created_at) VALUES (?, ?, ?, ?)",
                (worker_id, author_id, text, self._now()),
            )
            row = await _select_one(conn, "SELECT * FROM worker_notes WHERE id = ?", (note_id,))
        assert row is not None  # inserted inside this transaction
        return _model(WorkerNote, row)

    async def list_worker_notes(self, worker_id: int, *, limit: int = 100) -> list[WorkerNote]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM worker_notes WHERE worker_id = ? ORDER BY id DESC LIMIT ?",
                (worker_id, limit),
            )
        return [_model(WorkerNote, row) for row in rows]

    async def record_worker_file_view(
        self, worker_id: int, *, viewer_id: int, viewer_role: str, via: str, case_id: int | None
    ) -> None:
        async with self._write() as conn:
            await _insert(
                conn,
                "INSERT INTO worker_file_views (worker_id, viewer_id, viewer_role, via, case_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (worker_id, viewer_id, viewer_role, via, case_id, self._now()),
            )

    async def list_worker_file_views(self, worker_id: int, *, limit: int = 100) -> list[WorkerFileView]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM worker_file_views WHERE worker_id = ? ORDER BY id DESC LIMIT ?",
                (worker_id, limit),
            )
        return [_model(WorkerFileView, row) for row in rows]

    async def due_plan_reviews(
        self, on_or_before: date, *, responsible_id: int | None = None, limit: int = 200
    ) -> list[WorkerPlan]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                "SELECT * FROM worker_plans WHERE review_on IS NOT NULL AND review_on <= :day"
                " AND (:responsible IS NULL OR responsible_id = :responsible)"
                " ORDER BY review_on, worker_id LIMIT :limit",
                {"day": on_or_before.isoformat(), "responsible": responsible_id, "limit": limit},
            )
        return [_model(WorkerPlan, row) for row in rows]

    # -- trainings -----------------------------------------------------------------------------

    async def create_training(self, new: NewTraining) -> Training:
        data = new.model_dump(mode="json")
        async with self._write() as conn:
            now = self._now()
            training_id = await _insert(
                conn,
                "INSERT INTO trainings (titles, starts_at, ends_at, place, latitude, longitude, seats, trade,"
                " region, allowance_note, signup_deadline, status, created_by, created_at, updated_at)"
                " VALUES (:titles, :starts_at, :ends_at, :place, :latitude, :longitude, :seats, :trade,"
                " :region, :allowance_note, :signup_deadline, :status, :created_by, :now, :now)",
                {
                    **_json_fields(data, "titles"),
                    "starts_at": utc_text(new.starts_at),
                    "ends_at": utc_text(new.ends_at),
                    "signup_deadline": utc_text(new.signup_deadline),
                    "status": TrainingStatus.OPEN,
                    "now": now,
                },
            )
            return await _require_training(conn, training_id)

    async def get_training(self, training_id: int) -> Training | None:
        async with self._read() as conn:
            return await _get_training(conn, training_id)

    async def list_trainings(
        self, *, starting_after: datetime | None = None, include_cancelled: bool = False, limit: int = 50
    ) -> list[Training]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                f"{_TRAINING_SELECT} WHERE (:after IS NULL OR t.starts_at > :after)"
                " AND (:cancelled OR t.status = 'open') ORDER BY t.starts_at, t.id LIMIT :limit",
                {
                    "after": utc_text(starting_after) if starting_after is not None else None,
                    "cancelled": include_cancelled,
                    "limit": limit,
                },
            )
        return [_model(Training, row) for row in rows]

    async def cancel_training(self, training_id: int, *, outbox: Sequence[OutboxMessage] = ()) -> Training:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE trainings SET status = 'cancelled', updated_at = ? WHERE id = ? AND status = 'open'",
                (now, training_id),
            )
            if changed:
                for message in outbox:
                    await _enqueue(conn, message, now)
            return await _require_training(conn, training_id)

    async def sign_up(self, training_id: int, worker_id: int) -> TrainingSignup:
        async with self._write() as conn:
            now = self._now()
            training = await _get_training(conn, training_id)
            if training is None:
                raise SignupRefused(SignupRefusal.NO_TRAINING)
            if training.status == TrainingStatus.CANCELLED:
                raise SignupRefused(SignupRefusal.CANCELLED)
            existing = await _get_signup(conn, training_id, worker_id)
            if existing is not None and existing.status != SignupStatus.CANCELLED:
                return existing
            if now >= utc_text(training.starts_at):
                raise SignupRefused(SignupRefusal.STARTED)
            if now >= utc_text(training.signup_deadline):
                raise SignupRefused(SignupRefusal.DEADLINE_PASSED)
            status = SignupStatus.CONFIRMED if training.seats_taken < training.seats else SignupStatus.WAITING
            # A fresh start on the reused row: a new place at the end of the queue, nothing done yet.
            await _execute(
                conn,
                "INSERT INTO training_signups (training_id, worker_id, status, queue_number, confirmed_at,"
                " created_at, updated_at)"
                " VALUES (:training, :worker, :status, (SELECT COALESCE(MAX(queue_number), 0) + 1"
                "  FROM training_signups WHERE training_id = :training), :confirmed_at, :now, :now)"
                " ON CONFLICT (training_id, worker_id) DO UPDATE SET status = excluded.status,"
                " queue_number = excluded.queue_number, confirmed_at = excluded.confirmed_at,"
                " attended = NULL, promoted_at = NULL, promotion_told_at = NULL, day_reminder_at = NULL,"
                " soon_reminder_at = NULL, updated_at = excluded.updated_at",
                {
                    "training": training_id,
                    "worker": worker_id,
                    "status": status,
                    "confirmed_at": now if status == SignupStatus.CONFIRMED else None,
                    "now": now,
                },
            )
            return await _require_signup(conn, training_id, worker_id)

    async def cancel_signup(self, training_id: int, worker_id: int) -> SignupCancellation | None:
        async with self._write() as conn:
            now = self._now()
            training = await _get_training(conn, training_id)
            if training is None:
                raise SignupRefused(SignupRefusal.NO_TRAINING)
            if training.status == TrainingStatus.CANCELLED:
                raise SignupRefused(SignupRefusal.CANCELLED)
            existing = await _get_signup(conn, training_id, worker_id)
            if existing is None or existing.status == SignupStatus.CANCELLED:
                return None
            if now >= utc_text(training.starts_at):
                raise SignupRefused(SignupRefusal.STARTED)
            await _execute(
                conn,
                "UPDATE training_signups SET status = 'cancelled', updated_at = ? WHERE id = ?",
                (now, existing.id),
            )
            promoted = await _promote_waiting(conn, training_id, now)
            cancelled = await _require_signup(conn, training_id, worker_id)
        return SignupCancellation(signup=cancelled, promoted=promoted[0] if promoted else None)

    async def get_signup(self, training_id: int, worker_id: int) -> TrainingSignup | None:
        async with self._read() as conn:
            return await _get_signup(conn, training_id, worker_id)

    async def list_signups(self, training_id: int) -> list[TrainingSignup]:
        async with self._read() as conn:
            rows = await _select(
                conn,
                f"{_SIGNUP_SELECT} WHERE s.training_id = ?"
                " ORDER BY CASE s.status WHEN 'confirmed' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END,"
                " s.queue_number",
                (training_id,),
            )
        return [_model(TrainingSignup, row) for row in rows]

    async def list_signups_starting_between(self, start: datetime, end: datetime) -> list[WorkerTraining]:
        async with self._read() as conn:
            return await _worker_trainings(
                conn,
                "t.status = 'open' AND t.starts_at >= :start AND t.starts_at < :end"
                " ORDER BY t.starts_at, t.id,"
                " CASE s.status WHEN 'confirmed' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END, s.queue_number",
                {"start": utc_text(start), "end": utc_text(end)},
            )

    async def list_worker_trainings(self, worker_id: int) -> list[WorkerTraining]:
        async with self._read() as conn:
            return await _worker_trainings(
                conn,
                "s.worker_id = :worker ORDER BY t.starts_at, t.id",
                {"worker": worker_id},
            )

    async def mark_attendance(self, training_id: int, worker_id: int, attended: bool) -> TrainingSignup:
        async with self._write() as conn:
            changed = await _execute(
                conn,
                "UPDATE training_signups SET attended = ?, updated_at = ?"
                " WHERE training_id = ? AND worker_id = ? AND status != 'cancelled'",
                (attended, self._now(), training_id, worker_id),
            )
            _require_changed(changed, f"sign-up of worker {worker_id} to training {training_id}")
            return await _require_signup(conn, training_id, worker_id)

    async def due_training_reminders(
        self, reminder: TrainingReminder, *, starts_before: datetime, now: datetime, limit: int = 200
    ) -> list[WorkerTraining]:
        done = _REMINDER_COLUMNS[reminder]
        async with self._read() as conn:
            # trainings_by_start narrows this to the trainings of the next hours.
            return await _worker_trainings(
                conn,
                f"s.status = 'confirmed' AND s.{done} IS NULL AND t.status = 'open'"
                " AND t.starts_at > :now AND t.starts_at <= :before ORDER BY t.starts_at, s.id LIMIT :limit",
                {"now": utc_text(now), "before": utc_text(starts_before), "limit": limit},
            )

    async def mark_training_reminder(
        self, signup_id: int, reminder: TrainingReminder, *, outbox: Sequence[OutboxMessage] = ()
    ) -> bool:
        done = _REMINDER_COLUMNS[reminder]
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                f"UPDATE training_signups SET {done} = :now WHERE id = :id AND {done} IS NULL"
                " AND status = 'confirmed' AND EXISTS (SELECT 1 FROM trainings AS t"
                "  WHERE t.id = training_signups.training_id AND t.status = 'open')",
                {"now": now, "id": signup_id},
            )
            if changed == 0:
                return False
            for message in outbox:
                await _enqueue(conn, message, now)
            return True

    async def due_promotion_notices(self, *, limit: int = 200) -> list[WorkerTraining]:
        async with self._read() as conn:
            return await _worker_trainings(
                conn,
                "s.promoted_at IS NOT NULL AND s.promotion_told_at IS NULL AND s.status = 'confirmed'"
                " AND t.status = 'open' AND t.starts_at > :now ORDER BY s.promoted_at, s.id LIMIT :limit",
                {"now": self._now(), "limit": limit},
            )

    async def mark_promotion_told(self, signup_id: int, *, outbox: Sequence[OutboxMessage] = ()) -> bool:
        async with self._write() as conn:
            now = self._now()
            changed = await _execute(
                conn,
                "UPDATE training_signups SET promotion_told_at = ? WHERE id = ?"
                " AND promoted_at IS NOT NULL AND promotion_told_at IS NULL AND status = 'confirmed'",
                (now, signup_id),
            )
            if changed == 0:
                return False
            for message in outbox:
                await _enqueue(conn, message, now)
            return True


def _casefold(text: object) -> object:
    return text.casefold() if isinstance(text, str) else text


def _backup(database: Path, destination: Path, *, overwrite: bool) -> DatabaseBackup:
    source, target = database.resolve(), destination.resolve()
    if not source.is_file():
        raise StorageError(f"{source}: no such database")
    if target == source:
        raise StorageError(f"{target}: that is the database itself")
    if target.is_dir():
        raise StorageError(f"{target}: is a folder")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target}: already exists")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Beside the destination, so the rename below is atomic and a half-written copy never carries
        # its name; mkstemp's owner-only permissions suit a file full of workers' personal data.
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        os.close(handle)
    except OSError as exc:
        raise StorageError(f"{target.parent}: {exc.strerror}") from exc
    temp = Path(temp_name)
    try:
        schema_version = _copy_database(source, temp)
        # Checked again: another backup may have finished there meanwhile. (A small window remains;
        # os.link would close it, but not every filesystem backups go to has hard links, e.g. exFAT.)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target}: already exists")
        os.replace(temp, target)
    except sqlite3.Error as exc:
        raise StorageError(f"{source}: {exc}") from exc
    finally:
        for leftover in (temp, *(Path(f"{temp}{suffix}") for suffix in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return DatabaseBackup(path=str(target), size=target.stat().st_size, schema_version=schema_version)


def _copy_database(source: Path, target: Path) -> int:
    """Copy ``source`` into the empty database file ``target``; return the copy's schema version."""
    # mode=rw: never create the database, should it vanish after we looked.
    with (
        closing(sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=5)) as src,
        closing(sqlite3.connect(target, isolation_level=None)) as dst,
    ):
        src.execute("PRAGMA query_only = ON")
        # All pages in one step, i.e. one read transaction: in WAL mode a consistent snapshot that writers
        # never wait for. Copying in chunks would start over whenever the bot commits in between.
        src.backup(dst)
        # The copy inherits the WAL flag; in rollback-journal mode it is one self-contained file, to be
        # moved around and restored as is (the bot turns WAL back on when it opens it).
        dst.execute("PRAGMA journal_mode = DELETE")
        has_migrations = dst.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if has_migrations is None:
            return 0
        return int(dst.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


# -- statements shared by several methods; they run on the connection they are given ---------------


async def _get_worker(conn: aiosqlite.Connection, telegram_id: int) -> Worker | None:
    row = await _select_one(conn, _WORKER_SELECT, (telegram_id,))
    return _model_or_none(Worker, row)


async def _get_officer(conn: aiosqlite.Connection, telegram_id: int) -> Officer | None:
    row = await _select_one(conn, _OFFICER_BY_ID, (telegram_id,))
    return _model_or_none(Officer, row)


def _connect_point_reader(database: str) -> sqlite3.Connection:
    """The read-only connection for point reads on the event loop's thread (see _point_read)."""
    conn = sqlite3.connect(database, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA busy_timeout = 0")  # never block the event loop: busy goes to the reader
    return conn


async def _get_broadcast(conn: aiosqlite.Connection, broadcast_id: int) -> Broadcast | None:
    row = await _select_one(conn, "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    return _model_or_none(Broadcast, row)


def _audience_where(audience: Audience, default_language: str, params: dict[str, Any]) -> str:
    """The SQL condition on workers ``w`` for an audience; its values are added to ``params``."""
    params["audience_value"] = audience.value
    if audience.kind == AudienceKind.EVERYONE:
        return "1 = 1"
    if audience.kind == AudienceKind.MEMBERS:
        return "COALESCE(json_extract(w.profile, '$.member_number'), '') != ''"
    if audience.kind == AudienceKind.LANGUAGE:
        params["default_language"] = default_language
        return "COALESCE(w.language, :default_language) = :audience_value"
    if audience.kind == AudienceKind.TRADE:
        return "json_extract(w.profile, '$.trade') = :audience_value"
    if audience.kind == AudienceKind.REGION:
        return (
            "instr(casefold(COALESCE(json_extract(w.profile, '$.workplace'), '')),"
            " casefold(:audience_value)) > 0"
        )
    if audience.kind == AudienceKind.OPEN_CASE:
        statuses = _bind_list(params, "open_status", sorted(OPEN_STATUSES))
        return (
            "EXISTS (SELECT 1 FROM cases AS c WHERE c.worker_id = w.telegram_id"
            f" AND c.status IN ({statuses}))"
        )
    raise StorageError(f"unknown audience {audience.kind}")


async def _broadcast_report(conn: aiosqlite.Connection, occurrence_id: int) -> BroadcastReport | None:
    occurrence = await _select_one(conn, "SELECT * FROM broadcast_occurrences WHERE id = ?", (occurrence_id,))
    if occurrence is None:
        return None
    counts = await _select(
        conn,
        "SELECT status, COUNT(*) AS n FROM broadcast_deliveries WHERE occurrence_id = ? GROUP BY status",
        (occurrence_id,),
    )
    attending = await _select_one(
        conn, "SELECT COUNT(*) AS n FROM broadcast_attendance WHERE occurrence_id = ?", (occurrence_id,)
    )
    return BroadcastReport.model_validate(
        {
            "occurrence_id": occurrence_id,
            "broadcast_id": occurrence["broadcast_id"],
            "run_at": occurrence["run_at"],
            "finished_at": occurrence["finished_at"],
            **{row["status"]: row["n"] for row in counts},
            "attending": attending["n"] if attending is not None else 0,
        }
    )


async def _get_case(conn: aiosqlite.Connection, case_id: int) -> Case | None:
    row = await _select_one(conn, "SELECT * FROM cases WHERE id = ?", (case_id,))
    return _model_or_none(Case, row)


async def _announced(
    conn: aiosqlite.Connection, case_id: int, outbox: Sequence[OutboxMessage], now: str
) -> Case:
    """Queue a case change's news in its transaction; the case as changed."""
    for message in outbox:
        await _enqueue(conn, message, now, case_id=case_id)
    case = await _get_case(conn, case_id)
    assert case is not None  # changed inside this transaction
    return case


def _check_transition(current: CaseStatus, new: CaseStatus) -> None:
    if not can_move(current, new):
        raise InvalidTransition(f"a case cannot go from {current} to {new}")


async def _move_case(
    conn: aiosqlite.Connection, case_id: int, *, expected: CaseStatus, new: CaseStatus, now: str
) -> None:
    """Compare-and-set the status in the UPDATE itself, so the check and the change cannot be separated."""
    changed = await _execute(
        conn,
        "UPDATE cases SET status = :new, updated_at = :now, remind_at = :now,"
        " acknowledged_at = CASE WHEN :acknowledges THEN COALESCE(acknowledged_at, :now)"
        "  ELSE acknowledged_at END,"
        " resolved_at = CASE WHEN :resolves THEN :now ELSE resolved_at END,"
        " closed_at = CASE WHEN :closes THEN :now ELSE closed_at END"
        " WHERE id = :id AND status = :expected",
        {
            "new": new,
            "now": now,
            "acknowledges": new != CaseStatus.WITHDRAWN,
            "resolves": new == CaseStatus.RESOLVED,
            "closes": new == CaseStatus.CLOSED,
            "id": case_id,
            "expected": expected,
        },
    )
    if changed == 0:
        current = await _get_case(conn, case_id)
        if current is None:
            raise StorageError(f"case {case_id} does not exist")
        raise CaseChanged(
            f"case {current.reference} is {current.status}, not {expected}: someone else acted first"
        )


def _bind_list(params: dict[str, Any], prefix: str, values: Sequence[Any]) -> str:
    """Add ``values`` as named parameters; return the ``:name, :name`` list for an IN (...)."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    params.update(zip(names, values, strict=True))
    return ", ".join(f":{name}" for name in names) or "NULL"


def _like_escape(text: str) -> str:
    """Make the user's text match literally inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _upsert_officer(conn: aiosqlite.Connection, officer: OfficerIn, now: str) -> None:
    data = officer.model_dump(mode="json")
    await _execute(
        conn,
        "INSERT INTO officers (telegram_id, name, role, specialties, regions, languages, active,"
        " created_at, updated_at)"
        " VALUES (:telegram_id, :name, :role, :specialties, :regions, :languages, :active, :now, :now)"
        " ON CONFLICT (telegram_id) DO UPDATE SET name = excluded.name, role = excluded.role,"
        " specialties = excluded.specialties, regions = excluded.regions, languages = excluded.languages,"
        " active = excluded.active, updated_at = excluded.updated_at",
        {
            **_json_fields(data, "specialties", "regions", "languages"),
            "now": now,
        },
    )


async def _insert_attachment(
    conn: aiosqlite.Connection, case_id: int, attachment: AttachmentIn, now: str
) -> int:
    return await _insert(
        conn,
        "INSERT INTO attachments (case_id, kind, file_id, file_unique_id, file_name, mime_type, caption,"
        " created_at)"
        " VALUES (:case_id, :kind, :file_id, :file_unique_id, :file_name, :mime_type, :caption, :now)",
        {**attachment.model_dump(mode="json"), "case_id": case_id, "now": now},
    )


async def _enqueue(
    conn: aiosqlite.Connection,
    message: OutboxMessage,
    now: str,
    *,
    not_before: datetime | None = None,
    case_id: int | None = None,
) -> int:
    if message.dedupe_key is not None:
        existing = await _select_one(
            conn, "SELECT id FROM outbox WHERE dedupe_key = ?", (message.dedupe_key,)
        )
        if existing is not None:
            return int(existing["id"])
    return await _insert(
        conn,
        "INSERT INTO outbox (chat_id, method, params, dedupe_key, next_attempt_at, created_at, case_id, kind)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message.chat_id,
            message.method,
            _json(message.model_dump(mode="json")["params"]),
            message.dedupe_key,
            utc_text(not_before) if not_before is not None else now,
            now,
            message.case_id if message.case_id is not None else case_id,
            message.kind,
        ),
    )


async def _insert_event(conn: aiosqlite.Connection, event: NewCaseEvent, now: str) -> int:
    return await _insert(
        conn,
        "INSERT INTO case_events (case_id, actor_id, actor_role, action, from_status, to_status, note,"
        " visible_to_worker, created_at)"
        " VALUES (:case_id, :actor_id, :actor_role, :action, :from_status, :to_status, :note,"
        " :visible_to_worker, :now)",
        {**event.model_dump(mode="json"), "now": now},
    )


# Keys of a recorded outcome (a Resolution) that name or describe the worker.
_PERSONAL_OUTCOME_KEYS = frozenset({"member_number", "reason"})


async def _anonymise_case(
    conn: aiosqlite.Connection,
    case: Case,
    now: str,
    *,
    actor_id: int | None,
    actor_role: str,
    reason: str,
) -> None:
    """Keep the case's anonymous facts (storage.models.ANONYMOUS_FIELDS), drop everything that names or
    describes the worker: their link, typed answers, notes, files, and the text of its messages."""
    keep = ANONYMOUS_FIELDS[case.kind]
    # The reason an assistance application was refused is typed text about the household: it goes. The
    # amount granted stays, for the union's figures.
    await _execute(
        conn,
        "UPDATE cases SET worker_id = ?, fields = ?, member_number = NULL, decision_reason = NULL,"
        " anonymised_at = ? WHERE id = ?",
        (ANONYMOUS_WORKER_ID, _json({k: v for k, v in case.fields.items() if k in keep}), now, case.id),
    )
    await _execute(
        conn, "UPDATE case_events SET actor_id = NULL WHERE case_id = ? AND actor_role = 'worker'", (case.id,)
    )
    params: dict[str, Any] = {"case": case.id}
    structured = _bind_list(params, "action", sorted(STRUCTURED_EVENTS))
    await _execute(
        conn,
        f"UPDATE case_events SET note = NULL WHERE case_id = :case AND action NOT IN ({structured})",
        params,
    )
    # A member number identifies the member, and a refusal's reason describes the household: the
    # recorded outcome keeps the rest.
    for row in await _select(
        conn, "SELECT id, note FROM case_events WHERE case_id = ? AND action = 'outcome'", (case.id,)
    ):
        outcome = json.loads(row["note"]) if row["note"] else {}
        if isinstance(outcome, dict) and outcome.keys() & _PERSONAL_OUTCOME_KEYS:
            kept = {key: value for key, value in outcome.items() if key not in _PERSONAL_OUTCOME_KEYS}
            await _execute(conn, "UPDATE case_events SET note = ? WHERE id = ?", (_json(kept), row["id"]))
    await _execute(conn, "DELETE FROM attachments WHERE case_id = ?", (case.id,))
    await _execute(
        conn,
        "DELETE FROM outbox WHERE case_id = ? AND sent_at IS NULL AND gave_up_at IS NULL",
        (case.id,),
    )
    await _execute(conn, "UPDATE outbox SET params = '{}' WHERE case_id = ?", (case.id,))
    await _insert_event(
        conn,
        NewCaseEvent(
            case_id=case.id, actor_id=actor_id, actor_role=actor_role, action="anonymised", note=reason
        ),
        now,
    )


async def _get_worker_plan(conn: aiosqlite.Connection, worker_id: int) -> WorkerPlan | None:
    row = await _select_one(conn, "SELECT * FROM worker_plans WHERE worker_id = ?", (worker_id,))
    return _model_or_none(WorkerPlan, row)


async def _erase_worker_file(conn: aiosqlite.Connection, worker_id: int) -> None:
    """The worker's hardship plan and officers' notes about them: personal data, gone with the worker."""
    await _execute(conn, "DELETE FROM worker_plans WHERE worker_id = ?", (worker_id,))
    await _execute(conn, "DELETE FROM worker_notes WHERE worker_id = ?", (worker_id,))


async def _forget_persistence(conn: aiosqlite.Connection, telegram_id: int) -> None:
    """The user's PTB data (drafts) and conversation states (keys are [name, [chat id, user id]])."""
    await _execute(
        conn,
        "DELETE FROM ptb_persistence WHERE kind = 'user_data' AND key = ?",
        (str(telegram_id),),
    )
    await _execute(
        conn,
        "DELETE FROM ptb_persistence WHERE kind = 'conversation' AND EXISTS"
        " (SELECT 1 FROM json_each(ptb_persistence.key, '$[1]') WHERE json_each.value = ?)",
        (telegram_id,),
    )


# -- trainings: statements shared by several methods ----------------------------------------------

# A training with its confirmed sign-ups counted; a sign-up with its number on the waiting list.
_TRAINING_SELECT = (
    "SELECT t.*, (SELECT COUNT(*) FROM training_signups AS c"
    " WHERE c.training_id = t.id AND c.status = 'confirmed') AS seats_taken FROM trainings AS t"
)
_SIGNUP_SELECT = (
    "SELECT s.*, CASE WHEN s.status = 'waiting' THEN (SELECT COUNT(*) FROM training_signups AS q"
    "  WHERE q.training_id = s.training_id AND q.status = 'waiting' AND q.queue_number <= s.queue_number)"
    " END AS position FROM training_signups AS s"
)

# Column names, never user input: they are formatted into the SQL.
_REMINDER_COLUMNS: dict[TrainingReminder, str] = {
    TrainingReminder.DAY_BEFORE: "day_reminder_at",
    TrainingReminder.SOON: "soon_reminder_at",
}


async def _get_training(conn: aiosqlite.Connection, training_id: int) -> Training | None:
    row = await _select_one(conn, f"{_TRAINING_SELECT} WHERE t.id = ?", (training_id,))
    return _model_or_none(Training, row)


async def _require_training(conn: aiosqlite.Connection, training_id: int) -> Training:
    training = await _get_training(conn, training_id)
    if training is None:
        raise StorageError(f"training {training_id} does not exist")
    return training


async def _get_signup(conn: aiosqlite.Connection, training_id: int, worker_id: int) -> TrainingSignup | None:
    row = await _select_one(
        conn, f"{_SIGNUP_SELECT} WHERE s.training_id = ? AND s.worker_id = ?", (training_id, worker_id)
    )
    return _model_or_none(TrainingSignup, row)


async def _require_signup(conn: aiosqlite.Connection, training_id: int, worker_id: int) -> TrainingSignup:
    signup = await _get_signup(conn, training_id, worker_id)
    assert signup is not None  # written inside the caller's transaction
    return signup


async def _worker_trainings(
    conn: aiosqlite.Connection, where_order_limit: str, params: dict[str, Any]
) -> list[WorkerTraining]:
    """Sign-ups ``s`` joined with their trainings ``t`` that match the condition, in its order: two
    queries, whatever the number of rows (the reminder sweep reads up to a few hundred a pass)."""
    rows = await _select(
        conn,
        f"{_SIGNUP_SELECT} JOIN trainings AS t ON t.id = s.training_id WHERE {where_order_limit}",
        params,
    )
    signups = [_model(TrainingSignup, row) for row in rows]
    ids = sorted({signup.training_id for signup in signups})
    trainings = {
        training.id: training
        for training in (
            _model(Training, row)
            for row in await _select(
                conn, f"{_TRAINING_SELECT} WHERE t.id IN ({', '.join('?' * len(ids))})", ids
            )
        )
    }
    return [WorkerTraining(training=trainings[signup.training_id], signup=signup) for signup in signups]


async def _promote_waiting(conn: aiosqlite.Connection, training_id: int, now: str) -> list[TrainingSignup]:
    """Give the free seats of an open training that has not started to the first waiting workers, marked
    "to tell" (storage.base.Storage.due_promotion_notices); the sign-ups moved up."""
    training = await _require_training(conn, training_id)
    if training.status != TrainingStatus.OPEN or now >= utc_text(training.starts_at):
        return []
    rows = await _select(
        conn,
        "SELECT worker_id FROM training_signups WHERE training_id = ? AND status = 'waiting'"
        " ORDER BY queue_number LIMIT ?",
        (training_id, max(training.seats - training.seats_taken, 0)),
    )
    promoted: list[TrainingSignup] = []
    for row in rows:
        await _execute(
            conn,
            "UPDATE training_signups SET status = 'confirmed', confirmed_at = :now, promoted_at = :now,"
            " promotion_told_at = NULL, updated_at = :now"
            " WHERE training_id = :training AND worker_id = :worker",
            {"now": now, "training": training_id, "worker": row["worker_id"]},
        )
        promoted.append(await _require_signup(conn, training_id, int(row["worker_id"])))
    return promoted


async def _remove_signups(conn: aiosqlite.Connection, worker_id: int, now: str) -> None:
    """Delete the worker's sign-ups (/forget, retention); the seats they held go to the waiting list."""
    held = await _select(
        conn,
        "SELECT training_id FROM training_signups WHERE worker_id = ? AND status = 'confirmed'",
        (worker_id,),
    )
    await _execute(conn, "DELETE FROM training_signups WHERE worker_id = ?", (worker_id,))
    for row in held:
        await _promote_waiting(conn, int(row["training_id"]), now)
