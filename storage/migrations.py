"""Schema migrations for the SQLite backend, and the transaction primitive they share with it.

Each migration is a numbered, named function. ``migrate()`` applies the pending ones in order, each in
its own ``BEGIN IMMEDIATE`` transaction together with the ``schema_migrations`` row that records it, so
a migration is either fully applied and recorded or not there at all.

Rules for editing this file: never change a migration that has shipped (databases in the field have
already run it); add a new one at the end instead. Statements are executed one by one because
``executescript`` commits on its own and would break the all-or-nothing guarantee. Enum values in
CHECK constraints are spelled out rather than generated from ``storage.models`` so that a migration
produces the same schema forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.base import StorageError


def utc_text(moment: datetime) -> str:
    """ISO-8601 UTC text with a fixed shape, so stored timestamps also compare correctly as strings."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: storage needs timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any error (cancellation included).

    IMMEDIATE takes the write lock up front, so a transaction that reads and then writes cannot fail
    half-way with "database is locked". The connection must use ``isolation_level=None``.
    """
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        # SQLite rolls back by itself after some errors; a second ROLLBACK would mask the first error.
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[aiosqlite.Connection], Awaitable[None]]


async def _execute_all(conn: aiosqlite.Connection, statements: Sequence[str]) -> None:
    for statement in statements:
        await conn.execute(statement)


_INITIAL = (
    """
    CREATE TABLE workers (
        telegram_id INTEGER PRIMARY KEY,
        language TEXT,
        consent_at TEXT,
        consent_version TEXT,
        opted_out INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),
        blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
        profile TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE officers (
        telegram_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'officer' CHECK (role IN ('officer', 'admin')),
        specialties TEXT NOT NULL DEFAULT '[]',
        regions TEXT NOT NULL DEFAULT '[]',
        languages TEXT NOT NULL DEFAULT '[]',
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    # reference is NULL only between the INSERT of a case and the UPDATE that follows it in the same
    # transaction: it is derived from the id, which SQLite assigns on insert.
    """
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reference TEXT UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('membership', 'wages', 'legal')),
        status TEXT NOT NULL DEFAULT 'new' CHECK (status IN (
            'new', 'acknowledged', 'in_progress', 'waiting_for_worker',
            'resolved', 'closed', 'withdrawn', 'reopened'
        )),
        priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'high', 'urgent')),
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id),
        assignee_id INTEGER REFERENCES officers (telegram_id),
        backup_id INTEGER REFERENCES officers (telegram_id),
        fields TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        first_response_due_at TEXT,
        next_update_due_at TEXT,
        acknowledged_at TEXT,
        resolved_at TEXT,
        closed_at TEXT
    )
    """,
    "CREATE INDEX cases_by_worker ON cases (worker_id, id)",
    "CREATE INDEX cases_by_status_first_response ON cases (status, first_response_due_at)",
    "CREATE INDEX cases_by_status_next_update ON cases (status, next_update_due_at)",
    "CREATE INDEX cases_by_assignee ON cases (assignee_id, status)",
    # The audit trail: one row per thing that happened to a case, never updated.
    """
    CREATE TABLE case_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id INTEGER NOT NULL REFERENCES cases (id),
        actor_id INTEGER,
        actor_role TEXT NOT NULL,
        action TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT,
        note TEXT,
        visible_to_worker INTEGER NOT NULL DEFAULT 0 CHECK (visible_to_worker IN (0, 1)),
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX case_events_by_case ON case_events (case_id, id)",
    """
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id INTEGER NOT NULL REFERENCES cases (id),
        kind TEXT NOT NULL,
        file_id TEXT NOT NULL,
        file_unique_id TEXT,
        file_name TEXT,
        mime_type TEXT,
        caption TEXT,
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX attachments_by_case ON attachments (case_id, id)",
)

_OUTBOX_AND_PERSISTENCE = (
    # Telegram calls that must survive a crash; gave_up_at marks messages that will never be retried.
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id INTEGER NOT NULL,
        method TEXT NOT NULL,
        params TEXT NOT NULL,
        dedupe_key TEXT UNIQUE,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        gave_up_at TEXT,
        created_at TEXT NOT NULL
    )
    """,
    # Only pending rows are indexed: the sender polls for these, and sent rows pile up forever.
    """
    CREATE INDEX outbox_due ON outbox (next_attempt_at)
        WHERE sent_at IS NULL AND gave_up_at IS NULL
    """,
    # python-telegram-bot persistence: user/chat/bot data and conversation states, as JSON.
    """
    CREATE TABLE ptb_persistence (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    )
    """,
    # Recently handled Telegram update ids, so a redelivered update is not handled twice.
    """
    CREATE TABLE processed_updates (
        update_id INTEGER PRIMARY KEY,
        processed_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX processed_updates_by_time ON processed_updates (processed_at)",
)


_CASE_LIFECYCLE = (
    # How a case ended, for the union's figures: amounts as exact decimal text (yuan), never floats.
    "ALTER TABLE cases ADD COLUMN outcome TEXT",
    "ALTER TABLE cases ADD COLUMN amount_recovered TEXT",
    "ALTER TABLE cases ADD COLUMN workers_helped INTEGER",
    "ALTER TABLE cases ADD COLUMN member_number TEXT",
    "CREATE INDEX cases_by_backup ON cases (backup_id, status)",
    # An admin's choice in the bot (/officers activate|deactivate) wins over the config file's
    # ``active``, which is re-read at every start; NULL means "as the config says".
    "ALTER TABLE officers ADD COLUMN bot_active INTEGER CHECK (bot_active IN (0, 1))",
    # The outbox keeps each chat's messages in order: the sender looks for earlier pending ones.
    """
    CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, id)
        WHERE sent_at IS NULL AND gave_up_at IS NULL
    """,
)


_SCHEDULE = (
    # The sweep's bookmark on each case: when to look at it again (NULL: nothing to watch), and where
    # it is in the current deadline's reminders. Every change to a case sets remind_at to "now", so
    # the sweep only ever reads the cases that are due, not every open case.
    "ALTER TABLE cases ADD COLUMN remind_at TEXT",
    "ALTER TABLE cases ADD COLUMN sla_started_at TEXT",
    "ALTER TABLE cases ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE cases ADD COLUMN followup_sent_at TEXT",
    "CREATE INDEX cases_by_remind_at ON cases (remind_at) WHERE remind_at IS NOT NULL",
    """
    CREATE INDEX cases_for_followup ON cases (resolved_at)
        WHERE status = 'resolved' AND followup_sent_at IS NULL
    """,
    # Open cases of a database from before this migration are looked at by the first sweep.
    """
    UPDATE cases SET remind_at = updated_at
        WHERE status IN ('new', 'acknowledged', 'in_progress', 'waiting_for_worker', 'reopened')
    """,
    # Digests and reports already sent, one row per (kind, recipient, period), so each goes out once.
    """
    CREATE TABLE scheduled_sends (
        kind TEXT NOT NULL,
        recipient INTEGER NOT NULL,
        period TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (kind, recipient, period)
    )
    """,
)


_COLLECTIVE = (
    # Reports linked into one collective case (群体性案件): a group id shared by its cases.
    """
    CREATE TABLE case_groups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL
    )
    """,
    "ALTER TABLE cases ADD COLUMN group_id INTEGER REFERENCES case_groups (id)",
    "CREATE INDEX cases_by_group ON cases (group_id) WHERE group_id IS NOT NULL",
    "CREATE INDEX cases_by_kind_created ON cases (kind, created_at)",
)


_PRIVACY = (
    # When a worker last sent the bot anything: "inactive" workers' profiles are erased after
    # privacy.retain_inactive_workers. Existing workers start from their last change.
    "ALTER TABLE workers ADD COLUMN last_seen_at TEXT",
    "UPDATE workers SET last_seen_at = updated_at",
    # The placeholder worker that anonymised cases point at (storage.models.ANONYMOUS_WORKER_ID): the
    # cases keep their foreign key, and no real person is named. Telegram user ids are positive.
    """
    INSERT INTO workers (telegram_id, created_at, updated_at)
    VALUES (0, '1970-01-01T00:00:00.000000+00:00', '1970-01-01T00:00:00.000000+00:00')
    ON CONFLICT (telegram_id) DO NOTHING
    """,
    "ALTER TABLE cases ADD COLUMN anonymised_at TEXT",
    # Retention looks for finished cases not yet anonymised.
    "CREATE INDEX cases_to_anonymise ON cases (status, anonymised_at)",
    # The outbox remembers which case a message is about, so forgetting a worker drops their news.
    "ALTER TABLE outbox ADD COLUMN case_id INTEGER",
    "CREATE INDEX outbox_by_case ON outbox (case_id) WHERE case_id IS NOT NULL",
    # The outbox is a delivery queue, not an archive: what was delivered keeps no text (alerts hold
    # names and phones). Rows stay for their dedupe keys.
    "UPDATE outbox SET params = '{}' WHERE sent_at IS NOT NULL",
    # Message ids in private chats, both ways, so the bot can delete them when the worker asks. Telegram
    # lets a bot delete messages in a private chat for 48 hours; rows are pruned after that.
    """
    CREATE TABLE chat_messages (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        from_bot INTEGER NOT NULL CHECK (from_bot IN (0, 1)),
        sent_at TEXT NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    )
    """,
    "CREATE INDEX chat_messages_by_time ON chat_messages (sent_at)",
)


_BROADCASTS = (
    # What admins send to workers. texts: {"zh-Hans": html, ...}; audience and schedule as JSON (see
    # storage.models.Audience, Schedule). next_run_at is the next occurrence due, NULL when none is.
    """
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_by INTEGER,
        texts TEXT NOT NULL,
        media_kind TEXT CHECK (media_kind IN ('photo', 'document')),
        media_file_id TEXT,
        audience TEXT NOT NULL,
        schedule TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'scheduled'
            CHECK (status IN ('scheduled', 'sending', 'done', 'cancelled')),
        next_run_at TEXT,
        attend_button INTEGER NOT NULL DEFAULT 0 CHECK (attend_button IN (0, 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX broadcasts_due ON broadcasts (next_run_at)
        WHERE status IN ('scheduled', 'sending') AND next_run_at IS NOT NULL
    """,
    # One sending of a broadcast; a recurring broadcast has one per run. finished_at: all delivered and
    # the report queued.
    """
    CREATE TABLE broadcast_occurrences (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
        run_at TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (broadcast_id, run_at)
    )
    """,
    "CREATE INDEX broadcast_occurrences_unfinished ON broadcast_occurrences (id) WHERE finished_at IS NULL",
    # One row per (occurrence, worker): written all at once when the occurrence starts, so a restart
    # resumes with the rows still pending and never adds a worker twice. Deleting a worker's data
    # deletes their rows too.
    """
    CREATE TABLE broadcast_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        occurrence_id INTEGER NOT NULL REFERENCES broadcast_occurrences (id),
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id) ON DELETE CASCADE,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sent', 'blocked', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        sent_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (occurrence_id, worker_id)
    )
    """,
    """
    CREATE INDEX broadcast_deliveries_pending ON broadcast_deliveries (occurrence_id, id)
        WHERE status = 'pending'
    """,
    "CREATE INDEX broadcast_deliveries_by_worker ON broadcast_deliveries (worker_id)",
    # "I will attend", pressed under a training announcement.
    """
    CREATE TABLE broadcast_attendance (
        occurrence_id INTEGER NOT NULL REFERENCES broadcast_occurrences (id),
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        PRIMARY KEY (occurrence_id, worker_id)
    )
    """,
    "CREATE INDEX broadcast_attendance_by_worker ON broadcast_attendance (worker_id)",
)


_DELIVERY = (
    # What an outbox message is (storage.models.OutboxKind): queued on purpose, a reply Telegram did not
    # take at once, or a notice to the admins that a message was given up.
    """
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
        CHECK (kind IN ('message', 'reply', 'notice'))
    """,
    # Order is kept within one chat and one case (messages about no case form one thread), not across
    # a whole chat: a message that keeps failing must not hold up a person's other news.
    "DROP INDEX outbox_pending_by_chat",
    """
    CREATE INDEX outbox_pending_by_thread ON outbox (chat_id, case_id, id)
        WHERE sent_at IS NULL AND gave_up_at IS NULL
    """,
    # For /stats and `union-bot status`: what was given up lately.
    "CREATE INDEX outbox_given_up ON outbox (gave_up_at) WHERE gave_up_at IS NOT NULL",
    # A broadcast row that failed for a temporary reason waits until then; the others go on meanwhile.
    "ALTER TABLE broadcast_deliveries ADD COLUMN next_attempt_at TEXT",
    # What the running bot says about itself, for `union-bot status` in another process: when it last
    # swept, since when Telegram has not answered.
    """
    CREATE TABLE bot_status (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
)


# Filled in by the work of issue 15 (one migration each: assistance, worker files, trainings).

# Every column of ``cases`` as migrations 1 to 8 left it, in order: copied across the rebuild below.
_CASES_COLUMNS = (
    "id, reference, kind, status, priority, worker_id, assignee_id, backup_id, fields, created_at,"
    " updated_at, first_response_due_at, next_update_due_at, acknowledged_at, resolved_at, closed_at,"
    " outcome, amount_recovered, workers_helped, member_number, remind_at, sla_started_at,"
    " reminders_sent, followup_sent_at, group_id, anonymised_at"
)

_ASSISTANCE = (
    # Hardship assistance (申请帮扶) is a new kind of case. SQLite cannot change a CHECK constraint, so
    # the table is rebuilt: copied aside, dropped, created with 'assistance' allowed, copied back with
    # the same ids. case_events, attachments and the rest point at case ids, and foreign keys stay on
    # (they cannot be switched off inside a transaction): deferred, the rows they point at are gone
    # only until the copy comes back, and the commit checks they are all there again.
    "PRAGMA defer_foreign_keys = ON",
    f"CREATE TABLE cases_before_assistance AS SELECT {_CASES_COLUMNS} FROM cases",
    # AUTOINCREMENT's high-water mark goes with the dropped table: kept, so no case number is reused.
    """
    CREATE TABLE cases_sequence_before_assistance AS
        SELECT seq FROM sqlite_sequence WHERE name = 'cases'
    """,
    "DROP TABLE cases",
    """
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reference TEXT UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('membership', 'wages', 'legal', 'assistance')),
        status TEXT NOT NULL DEFAULT 'new' CHECK (status IN (
            'new', 'acknowledged', 'in_progress', 'waiting_for_worker',
            'resolved', 'closed', 'withdrawn', 'reopened'
        )),
        priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'high', 'urgent')),
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id),
        assignee_id INTEGER REFERENCES officers (telegram_id),
        backup_id INTEGER REFERENCES officers (telegram_id),
        fields TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        first_response_due_at TEXT,
        next_update_due_at TEXT,
        acknowledged_at TEXT,
        resolved_at TEXT,
        closed_at TEXT,
        outcome TEXT,
        amount_recovered TEXT,
        workers_helped INTEGER,
        member_number TEXT,
        remind_at TEXT,
        sla_started_at TEXT,
        reminders_sent INTEGER NOT NULL DEFAULT 0,
        followup_sent_at TEXT,
        group_id INTEGER REFERENCES case_groups (id),
        anonymised_at TEXT,
        -- What an assistance case decided: the grant as exact decimal text (yuan), or why not eligible.
        amount_granted TEXT,
        decision_reason TEXT
    )
    """,
    f"INSERT INTO cases ({_CASES_COLUMNS}) SELECT {_CASES_COLUMNS} FROM cases_before_assistance",
    """
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'cases', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'cases')
    """,
    """
    UPDATE sqlite_sequence
        SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM cases_sequence_before_assistance), 0))
        WHERE name = 'cases'
    """,
    "DROP TABLE cases_before_assistance",
    "DROP TABLE cases_sequence_before_assistance",
    # The indexes went with the old table.
    "CREATE INDEX cases_by_worker ON cases (worker_id, id)",
    "CREATE INDEX cases_by_status_first_response ON cases (status, first_response_due_at)",
    "CREATE INDEX cases_by_status_next_update ON cases (status, next_update_due_at)",
    "CREATE INDEX cases_by_assignee ON cases (assignee_id, status)",
    "CREATE INDEX cases_by_backup ON cases (backup_id, status)",
    "CREATE INDEX cases_by_remind_at ON cases (remind_at) WHERE remind_at IS NOT NULL",
    """
    CREATE INDEX cases_for_followup ON cases (resolved_at)
        WHERE status = 'resolved' AND followup_sent_at IS NULL
    """,
    "CREATE INDEX cases_by_group ON cases (group_id) WHERE group_id IS NOT NULL",
    "CREATE INDEX cases_by_kind_created ON cases (kind, created_at)",
    "CREATE INDEX cases_to_anonymise ON cases (status, anonymised_at)",
)

_WORKER_FILES: tuple[str, ...] = (
    # One file per worker (一人一档): the hardship plan (帮扶措施), at most one per worker. review_on is
    # the union's local date (YYYY-MM-DD) the plan is to be looked at again; the responsible officer gets
    # it in their morning digest from that day until a new date is set. The worker's row keeps no
    # cascade: forgetting them deletes these rows on purpose (storage.sqlite.forget_worker), and a
    # deletion that missed them fails instead of leaving them behind.
    """
    CREATE TABLE worker_plans (
        worker_id INTEGER PRIMARY KEY REFERENCES workers (telegram_id),
        plan TEXT,
        review_on TEXT,
        responsible_id INTEGER REFERENCES officers (telegram_id),
        updated_by INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX worker_plans_due ON worker_plans (review_on) WHERE review_on IS NOT NULL",
    # Officers' notes about a worker (not about one case): personal data, deleted with the worker.
    """
    CREATE TABLE worker_notes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id),
        author_id INTEGER,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX worker_notes_by_worker ON worker_notes (worker_id, id)",
    # Who opened a worker's file, and how: never updated, except that forgetting the worker points
    # their rows at the anonymous worker (0), so the audit keeps who looked and when, not at whom.
    """
    CREATE TABLE worker_file_views (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id),
        viewer_id INTEGER NOT NULL,
        viewer_role TEXT NOT NULL,
        via TEXT NOT NULL,
        case_id INTEGER REFERENCES cases (id),
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX worker_file_views_by_worker ON worker_file_views (worker_id, id)",
)

_TRAININGS = (
    # Trainings workers sign up to (培训). titles: {"zh-Hans": "...", ...} as JSON. trade: a trade value
    # (bot/cases/vocabulary.py), NULL for every trade; region: text the worker's workplace contains, NULL
    # for everywhere. Coordinates are REAL: a place on a map, not an amount.
    """
    CREATE TABLE trainings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        titles TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        place TEXT NOT NULL,
        latitude REAL,
        longitude REAL,
        seats INTEGER NOT NULL CHECK (seats >= 1),
        trade TEXT,
        region TEXT,
        allowance_note TEXT,
        signup_deadline TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
        created_by INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX trainings_by_start ON trainings (starts_at)",
    # One row per (training, worker), whatever happens to it: signing up again after cancelling reuses
    # the row. queue_number orders the waiting list (a timestamp can repeat; a re-signup goes to the end).
    # confirmed_at: when the seat became theirs, so reminders already due then are not sent late.
    # promoted_at without promotion_told_at: moved up from the waiting list and not told yet (the sweep
    # tells them, so a crash between the change and the message loses nothing).
    # day_reminder_at / soon_reminder_at: the reminders the day before and 2 hours before, done (sent or
    # deliberately skipped), so each goes out once across restarts.
    """
    CREATE TABLE training_signups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        training_id INTEGER NOT NULL REFERENCES trainings (id),
        worker_id INTEGER NOT NULL REFERENCES workers (telegram_id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('confirmed', 'waiting', 'cancelled')),
        queue_number INTEGER NOT NULL,
        attended INTEGER CHECK (attended IN (0, 1)),
        confirmed_at TEXT,
        promoted_at TEXT,
        promotion_told_at TEXT,
        day_reminder_at TEXT,
        soon_reminder_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (training_id, worker_id)
    )
    """,
    "CREATE INDEX training_signups_by_worker ON training_signups (worker_id)",
    "CREATE INDEX training_signups_by_queue ON training_signups (training_id, status, queue_number)",
    # Promotion notices still to send: few rows, looked for by every sweep.
    """
    CREATE INDEX training_signups_to_tell ON training_signups (promoted_at)
        WHERE promoted_at IS NOT NULL AND promotion_told_at IS NULL
    """,
    # A broadcast that announces a training carries its sign-up button (bot/trainings).
    "ALTER TABLE broadcasts ADD COLUMN training_id INTEGER REFERENCES trainings (id)",
)


async def _initial(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _INITIAL)


async def _outbox_and_persistence(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _OUTBOX_AND_PERSISTENCE)


async def _case_lifecycle(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _CASE_LIFECYCLE)


async def _schedule(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _SCHEDULE)


async def _collective_groups(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _COLLECTIVE)


async def _privacy(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _PRIVACY)


async def _broadcasts(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _BROADCASTS)


async def _delivery(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _DELIVERY)


async def _assistance(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _ASSISTANCE)


async def _worker_files(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _WORKER_FILES)


async def _trainings(conn: aiosqlite.Connection) -> None:
    await _execute_all(conn, _TRAININGS)


MIGRATIONS: list[Migration] = [
    Migration(1, "initial", _initial),
    Migration(2, "outbox_and_persistence", _outbox_and_persistence),
    Migration(3, "case_lifecycle", _case_lifecycle),
    Migration(4, "schedule", _schedule),
    Migration(5, "collective_groups", _collective_groups),
    Migration(6, "privacy", _privacy),
    Migration(7, "broadcasts", _broadcasts),
    Migration(8, "delivery", _delivery),
    Migration(9, "assistance", _assistance),
    Migration(10, "worker_files", _worker_files),
    Migration(11, "trainings", _trainings),
]


async def applied_versions(conn: aiosqlite.Connection) -> set[int]:
    async with conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def migrate(
    conn: aiosqlite.Connection, now: datetime, *, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the pending ``migrations`` in order; return the names of those applied now.

    Refuses a database whose schema is newer than this code knows: running old code against it could
    silently misread or damage data.
    """
    async with transaction(conn):
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    known = {migration.version for migration in migrations}
    unknown = await applied_versions(conn) - known
    if unknown:
        raise StorageError(f"database has schema versions {sorted(unknown)} unknown to this code")
    applied: list[str] = []
    for migration in migrations:
        async with transaction(conn):
            # Checked inside the write lock: another process may have applied it since we looked.
            if migration.version in await applied_versions(conn):
                continue
            await migration.apply(conn)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, utc_text(now)),
            )
        applied.append(migration.name)
    return applied
