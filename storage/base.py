"""The storage interface the bot talks to.

Everything the bot stores goes through :class:`Storage`. The SQLite backend is the only one today; a
PostgreSQL backend for multi-instance deployments implements the same methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from storage.models import (
    Attachment,
    AttachmentIn,
    Audience,
    Broadcast,
    BroadcastDelivery,
    BroadcastOccurrence,
    BroadcastReport,
    Case,
    CaseActivity,
    CaseEvent,
    CaseQuery,
    CaseStatus,
    ChatMessage,
    DatabaseBackup,
    DeliveryBacklog,
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
    Training,
    TrainingReminder,
    TrainingSignup,
    Worker,
    WorkerFileView,
    WorkerNote,
    WorkerPlan,
    WorkerTraining,
    Workload,
)


class StorageError(Exception):
    """A storage operation failed in a way the caller should report."""


class InvalidTransition(StorageError):
    """The case's lifecycle does not allow this status change (see storage.models.TRANSITIONS)."""


class CaseChanged(StorageError):
    """The case is no longer in the status the caller saw: someone else acted first."""


class SignupRefused(StorageError):
    """A training sign-up (or its cancellation) is not possible: ``reason`` says why, for the worker."""

    def __init__(self, reason: SignupRefusal) -> None:
        super().__init__(f"sign-up refused: {reason}")
        self.reason = reason


class Storage(ABC):
    # -- lifecycle -------------------------------------------------------------------------------
    @abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def migrate(self) -> list[str]:
        """Apply pending migrations; return the names of those applied now."""

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def backup(self, destination: str, *, overwrite: bool = False) -> DatabaseBackup:
        """Write a consistent copy of the database to ``destination`` while the bot keeps writing.

        The copy appears at ``destination`` complete or not at all; an existing file there raises
        FileExistsError unless ``overwrite``. Works without :meth:`open`, and never creates or migrates
        the database: a backup taken before an upgrade must keep the old schema.
        """

    # -- workers ---------------------------------------------------------------------------------
    @abstractmethod
    async def get_worker(self, telegram_id: int) -> Worker | None: ...

    @abstractmethod
    async def ensure_worker(self, telegram_id: int, *, language: str | None = None) -> Worker:
        """Return the worker, creating the row on first contact (language only set on creation)."""

    @abstractmethod
    async def set_worker_language(self, telegram_id: int, language: str) -> None: ...

    @abstractmethod
    async def record_consent(self, telegram_id: int, version: str) -> None: ...

    @abstractmethod
    async def update_worker_profile(self, telegram_id: int, profile: dict[str, Any]) -> None:
        """Merge these keys into the worker's profile (None values remove keys)."""

    @abstractmethod
    async def set_worker_flags(
        self, telegram_id: int, *, opted_out: bool | None = None, blocked: bool | None = None
    ) -> None: ...

    # -- privacy ---------------------------------------------------------------------------------
    @abstractmethod
    async def forget_worker(
        self, telegram_id: int, *, withdrawal_news: Mapping[int, Sequence[OutboxMessage]] | None = None
    ) -> Forgotten:
        """Erase the worker, in one transaction: their open cases are withdrawn and every case of theirs
        is anonymised (see storage.models.ANONYMOUS_FIELDS); messages still waiting for them or about
        their cases are dropped, and sent ones keep no text; their PTB persistence (drafts, conversation
        states) and chat message records go; then the worker row itself (language and consent too).

        ``withdrawal_news`` maps a case id to the messages that tell its officers; they are queued only
        for the cases this call actually withdrew (a case resolved meanwhile is not withdrawn).
        """

    @abstractmethod
    async def anonymise_finished_cases(self, finished_before: datetime) -> list[str]:
        """Anonymise resolved, closed and withdrawn cases that ended before this moment (closed_at,
        resolved_at, or the withdrawal); returns their references."""

    @abstractmethod
    async def erase_inactive_workers(self, seen_before: datetime) -> list[int]:
        """Erase the profile and drafts of workers who sent nothing since ``seen_before`` and have no open
        case; returns their ids (the caller drops what the running bot holds in memory)."""

    @abstractmethod
    async def list_chat_messages(self, chat_id: int) -> list[ChatMessage]:
        """The chat's remembered messages, oldest first."""

    @abstractmethod
    async def forget_chat_messages(self, chat_id: int, message_ids: Sequence[int]) -> None: ...

    @abstractmethod
    async def prune_chat_messages(self, sent_before: datetime) -> int:
        """Forget message ids too old to delete; returns how many."""

    # -- officers --------------------------------------------------------------------------------
    @abstractmethod
    async def sync_officers(self, officers: list[OfficerIn]) -> None:
        """Insert or update the configured officers (officers added in the bot are kept)."""

    @abstractmethod
    async def upsert_officer(self, officer: OfficerIn) -> Officer: ...

    @abstractmethod
    async def get_officer(self, telegram_id: int) -> Officer | None: ...

    @abstractmethod
    async def list_officers(self, *, active_only: bool = False) -> list[Officer]: ...

    @abstractmethod
    async def set_officer_active(self, telegram_id: int, active: bool) -> Officer:
        """An admin's choice in the bot; it wins over the config file's ``active`` from now on."""

    @abstractmethod
    async def officer_workloads(self) -> dict[int, Workload]:
        """Open cases and last assignment per officer id; officers with no cases at all are absent."""

    # -- cases -----------------------------------------------------------------------------------
    @abstractmethod
    async def create_case(self, new_case: NewCase, *, actor_role: str = "worker") -> Case:
        """Write the case, its attachments and its 'created' event in one transaction."""

    @abstractmethod
    async def get_case(self, case_id: int) -> Case | None: ...

    @abstractmethod
    async def get_case_by_reference(self, reference: str) -> Case | None: ...

    @abstractmethod
    async def list_cases_for_worker(self, worker_id: int) -> list[Case]:
        """Newest first."""

    @abstractmethod
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
        """Move the case from ``expected`` to ``new`` and record the event, atomically.

        Raises InvalidTransition if the lifecycle forbids the move, CaseChanged if the case is no
        longer in ``expected`` (someone else acted first). The ``outbox`` messages (telling the worker
        and officers) are queued in the same transaction: the change and its news stand or fall together.
        """

    @abstractmethod
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
        """Resolve with its outcome (amount recovered, workers helped, member number), atomically;
        the outcome is also recorded as an internal event, so a later resolution keeps the first in
        the audit trail. Raises as change_case_status does."""

    @abstractmethod
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
        """Give the case a new primary (and backup) officer and record who did it."""

    @abstractmethod
    async def link_cases(
        self, case_ids: Sequence[int], *, group_id: int | None, actor_id: int | None, actor_role: str
    ) -> int:
        """Put the cases into one collective group (a new one when ``group_id`` is None) and mark them
        collective (high priority); one internal event per case. Returns the group id."""

    @abstractmethod
    async def find_cases(self, query: CaseQuery) -> list[Case]:
        """Cases matching every filter of ``query``, most urgent first (priority, then oldest)."""

    @abstractmethod
    async def add_case_event(
        self,
        event: NewCaseEvent,
        *,
        attachments: Sequence[AttachmentIn] = (),
        outbox: Sequence[OutboxMessage] = (),
    ) -> CaseEvent:
        """Record the event with its files and the messages it sends, in one transaction."""

    @abstractmethod
    async def add_case_events(self, events: Sequence[NewCaseEvent]) -> None:
        """Record many events (an export's audit trail) in one transaction."""

    @abstractmethod
    async def list_case_events(self, case_id: int, *, worker_visible_only: bool = False) -> list[CaseEvent]:
        """Oldest first."""

    @abstractmethod
    async def add_attachment(self, case_id: int, attachment: AttachmentIn) -> Attachment: ...

    @abstractmethod
    async def list_attachments(self, case_id: int) -> list[Attachment]: ...

    # -- schedules -------------------------------------------------------------------------------
    @abstractmethod
    async def due_for_review(self, now: datetime, *, limit: int = 200) -> list[CaseActivity]:
        """Cases whose ``remind_at`` has come, earliest first, with their last activity."""

    @abstractmethod
    async def update_schedule(
        self,
        case_id: int,
        *,
        seen_remind_at: datetime,
        update: ScheduleUpdate,
        outbox: Sequence[OutboxMessage] = (),
    ) -> bool:
        """Write the sweep's decision and its reminders in one transaction, only if the case's
        ``remind_at`` is still ``seen_remind_at``; False if the case changed meanwhile (look again)."""

    @abstractmethod
    async def claim_scheduled_send(
        self, kind: str, recipient: int, period: str, *, outbox: Sequence[OutboxMessage] = ()
    ) -> bool:
        """Record that a digest or report of ``kind`` for ``period`` went to ``recipient``, queueing its
        messages in the same transaction; False (and nothing queued) if it was recorded before."""

    @abstractmethod
    async def has_scheduled_send(self, kind: str, recipient: int, period: str) -> bool: ...

    @abstractmethod
    async def due_followups(self, resolved_before: datetime, *, limit: int = 200) -> list[Case]:
        """Resolved cases, resolved at or before the given time, whose worker was not asked yet."""

    @abstractmethod
    async def mark_followup_sent(self, case_id: int, *, outbox: Sequence[OutboxMessage] = ()) -> bool:
        """Record the follow-up question and queue it, once; False if it was already sent."""

    # -- outbox ----------------------------------------------------------------------------------
    @abstractmethod
    async def enqueue_outbox(self, message: OutboxMessage, *, not_before: datetime | None = None) -> int:
        """Store a message to send; returns its id (the existing id when dedupe_key repeats)."""

    @abstractmethod
    async def due_outbox(
        self, now: datetime, *, limit: int = 100, hold: timedelta = timedelta(minutes=1)
    ) -> list[OutboxItem]:
        """Unsent messages whose next attempt is due, oldest first. Messages to one chat about one case
        (or about no case) keep their order: one waits while an earlier one is pending, but only for
        ``hold`` after that one was queued, so a message that keeps failing holds nobody up for long."""

    @abstractmethod
    async def mark_outbox_sent(self, item_id: int) -> None:
        """Delivered: the row keeps its dedupe key but no longer the text (the outbox is no archive)."""

    @abstractmethod
    async def mark_outbox_failed(
        self,
        item_id: int,
        *,
        error: str,
        retry_at: datetime | None,
        notices: Sequence[OutboxMessage] = (),
    ) -> None:
        """Record a failed attempt; retry_at None gives up on the message (kept with its error, without
        its text) and queues ``notices`` (telling the admins) in the same transaction."""

    @abstractmethod
    async def outbox_backlog(
        self, now: datetime, *, stuck_after: timedelta, given_up_since: datetime
    ) -> DeliveryBacklog:
        """How many messages wait, the oldest, how many wait longer than ``stuck_after``, and how many
        were given up since ``given_up_since``."""

    # -- the running bot's own state ---------------------------------------------------------------
    @abstractmethod
    async def set_bot_status(self, values: Mapping[str, str | None]) -> None:
        """Store what the running bot says about itself, by key; None removes a key."""

    @abstractmethod
    async def bot_status(self) -> dict[str, str]:
        """All the keys the running bot stored (for ``union-bot status`` in another process)."""

    @abstractmethod
    async def last_update_processed_at(self) -> datetime | None:
        """When the bot last finished handling an update (within the last week), or None."""

    # -- broadcasts ------------------------------------------------------------------------------
    # Who gets a broadcast: workers who consented and match its audience. Each occurrence (a one-off
    # broadcast has one, a recurring one one per run) writes one delivery row per such worker when it
    # starts; the sender works through the pending rows and records each result as it comes.

    @abstractmethod
    async def create_broadcast(self, broadcast: NewBroadcast) -> Broadcast:
        """Store a broadcast, scheduled for ``broadcast.next_run_at``."""

    @abstractmethod
    async def get_broadcast(self, broadcast_id: int) -> Broadcast | None: ...

    @abstractmethod
    async def list_broadcasts(self, *, limit: int = 20) -> list[Broadcast]:
        """Newest first."""

    @abstractmethod
    async def cancel_broadcast(self, broadcast_id: int) -> Broadcast:
        """Plan nothing more, skip deliveries still pending and close its open occurrences, atomically.

        A broadcast already done or cancelled is returned unchanged; StorageError if there is none.
        """

    @abstractmethod
    async def count_audience(self, audience: Audience, *, default_language: str) -> int:
        """How many workers would get a broadcast for ``audience`` now (consented, subscribed, reachable);
        workers who chose no language count as ``default_language``."""

    @abstractmethod
    async def due_broadcasts(self, now: datetime) -> list[Broadcast]:
        """Broadcasts (scheduled or sending) whose next occurrence is due at ``now``, oldest due first."""

    @abstractmethod
    async def start_broadcast_occurrence(
        self, broadcast_id: int, *, run_at: datetime, next_run_at: datetime | None, default_language: str
    ) -> BroadcastOccurrence | None:
        """Start the occurrence due at ``run_at`` in one transaction: its delivery rows (pending, or
        skipped for workers who unsubscribed or blocked the bot), the broadcast marked sending and moved
        on to ``next_run_at`` (None: nothing more planned).

        Compare-and-set on the broadcast's next_run_at: None when it is no longer due at ``run_at``
        (cancelled, or started already). Inserts are INSERT OR IGNORE, so nothing is ever added twice.
        """

    @abstractmethod
    async def unfinished_broadcast_occurrences(self) -> list[BroadcastOccurrence]:
        """Occurrences still being delivered (after a restart too), oldest first."""

    @abstractmethod
    async def pending_broadcast_deliveries(
        self, occurrence_id: int, *, limit: int, now: datetime | None = None
    ) -> list[BroadcastDelivery]:
        """The occurrence's next pending rows in id order, with each worker's current language and flags;
        with ``now``, only those not waiting for a later retry."""

    @abstractmethod
    async def mark_delivery_sent(self, delivery_id: int) -> None:
        """Telegram accepted the message: record it at once (and count the attempt)."""

    @abstractmethod
    async def mark_delivery_skipped(self, delivery_id: int, *, reason: str) -> None:
        """Not sent on purpose (the worker unsubscribed or became unreachable since the row was written)."""

    @abstractmethod
    async def mark_delivery_blocked(self, delivery_id: int) -> None:
        """Telegram answered 403: the row is blocked and the worker flagged blocked, in one transaction,
        so no later broadcast tries them again (as ``set_worker_flags(blocked=True)`` would)."""

    @abstractmethod
    async def record_delivery_failure(
        self, delivery_id: int, *, error: str, give_up: bool, retry_at: datetime | None = None
    ) -> int:
        """Count a failed attempt; the row stays pending (tried again from ``retry_at``) unless
        ``give_up`` (then failed). Returns the number of attempts so far."""

    @abstractmethod
    async def broadcast_report(self, occurrence_id: int) -> BroadcastReport | None:
        """Counts of the occurrence's rows by status, and how many said they will attend."""

    @abstractmethod
    async def broadcast_reach(self, start: datetime, end: datetime) -> int:
        """How many different workers a broadcast reached (delivered) in [start, end)."""

    @abstractmethod
    async def latest_broadcast_report(self, broadcast_id: int) -> BroadcastReport | None:
        """The report of the broadcast's latest occurrence, if it has started one."""

    @abstractmethod
    async def finish_broadcast_occurrence(
        self, occurrence_id: int, *, outbox: Sequence[OutboxMessage] = ()
    ) -> bool:
        """Close an occurrence with nothing pending left, queueing ``outbox`` (the delivery report) in the
        same transaction; the broadcast goes back to scheduled, or done when nothing more is planned.
        False if it was closed already or still has pending rows (then nothing is queued)."""

    @abstractmethod
    async def record_attendance(self, occurrence_id: int, worker_id: int) -> bool | None:
        """The worker pressed "I will attend": True if newly recorded, False if already, None if no
        message of this occurrence was sent to them (a forged or foreign button)."""

    # -- PTB persistence -------------------------------------------------------------------------
    @abstractmethod
    async def load_persistence(self, kind: str) -> dict[str, Any]:
        """All stored values of one persistence kind, by key."""

    @abstractmethod
    async def save_persistence(
        self,
        changes: list[PersistenceChange],
        *,
        processed_update_ids: Sequence[int] = (),
        seen_workers: Sequence[int] = (),
        chat_messages: Sequence[NewChatMessage] = (),
    ) -> None:
        """Write staged persistence changes, mark the updates processed, note the workers seen and the
        chat message ids to remember, in one transaction: the bookkeeping of a batch of updates."""

    @abstractmethod
    async def latest_processed_update_id(self) -> int | None:
        """The highest update id handled within the last week, or None."""

    @abstractmethod
    async def is_update_processed(self, update_id: int) -> bool:
        """Whether this Telegram update was already handled (Telegram redelivers unconfirmed ones)."""

    # -- worker files (一人一档) -------------------------------------------------------------------
    # A worker's file is read from their cases; these keep what belongs to the worker rather than to one
    # case: the hardship plan, officers' notes, and the audit of who opened the file. Forgetting the
    # worker (forget_worker) and retention (erase_inactive_workers, and anonymise_finished_cases once no
    # case of theirs is left) delete the plan and the notes.

    @abstractmethod
    async def get_worker_plan(self, worker_id: int) -> WorkerPlan | None: ...

    @abstractmethod
    async def set_worker_plan(
        self,
        worker_id: int,
        *,
        updated_by: int,
        responsible_id: int,
        plan: str | None = None,
        review_on: date | None = None,
    ) -> WorkerPlan:
        """Create or change the worker's plan: ``plan`` and ``review_on`` replace the stored values when
        given (None keeps them); ``responsible_id`` gets the review in their digest. StorageError when
        the worker does not exist or is the anonymous worker."""

    @abstractmethod
    async def add_worker_note(self, worker_id: int, *, author_id: int, text: str) -> WorkerNote: ...

    @abstractmethod
    async def list_worker_notes(self, worker_id: int, *, limit: int = 100) -> list[WorkerNote]:
        """Newest first."""

    @abstractmethod
    async def record_worker_file_view(
        self, worker_id: int, *, viewer_id: int, viewer_role: str, via: str, case_id: int | None
    ) -> None:
        """Someone was shown the worker's file (the audit trail)."""

    @abstractmethod
    async def list_worker_file_views(self, worker_id: int, *, limit: int = 100) -> list[WorkerFileView]:
        """Newest first."""

    @abstractmethod
    async def due_plan_reviews(
        self, on_or_before: date, *, responsible_id: int | None = None, limit: int = 200
    ) -> list[WorkerPlan]:
        """Plans whose review date is ``on_or_before`` or earlier (of one responsible officer, or of
        everyone), earliest first."""

    # -- trainings -----------------------------------------------------------------------------
    # Seats are enforced in one write transaction: a sign-up takes a free seat or joins the waiting
    # list; cancelling a seat moves the first waiting worker up in the same transaction and marks them
    # "to tell" (due_promotion_notices), so the news survives a crash.

    @abstractmethod
    async def create_training(self, new: NewTraining) -> Training: ...

    @abstractmethod
    async def get_training(self, training_id: int) -> Training | None: ...

    @abstractmethod
    async def list_trainings(
        self, *, starting_after: datetime | None = None, include_cancelled: bool = False, limit: int = 50
    ) -> list[Training]:
        """Trainings starting after ``starting_after`` (all of them when None), soonest first."""

    @abstractmethod
    async def cancel_training(self, training_id: int, *, outbox: Sequence[OutboxMessage] = ()) -> Training:
        """Call the training off, queueing ``outbox`` (telling its workers) in the same transaction.

        Sign-ups keep their status (reports count them); no reminders or promotions follow. A training
        already cancelled is returned unchanged and nothing is queued; StorageError if there is none.
        """

    @abstractmethod
    async def sign_up(self, training_id: int, worker_id: int) -> TrainingSignup:
        """A seat while seats are free, else a place at the end of the waiting list.

        Signing up again while confirmed or waiting changes nothing and returns that sign-up; after a
        cancellation it signs up anew (at the end of the list). SignupRefused when the training is
        unknown, cancelled, started, or its sign-up deadline has passed.
        """

    @abstractmethod
    async def cancel_signup(self, training_id: int, worker_id: int) -> SignupCancellation | None:
        """Cancel the worker's sign-up; a freed seat goes to the first waiting worker, atomically.

        None when they had no sign-up to cancel. SignupRefused when the training is unknown,
        cancelled, or already started.
        """

    @abstractmethod
    async def get_signup(self, training_id: int, worker_id: int) -> TrainingSignup | None: ...

    @abstractmethod
    async def list_signups(self, training_id: int) -> list[TrainingSignup]:
        """Every sign-up: confirmed, then waiting in list order, then cancelled."""

    @abstractmethod
    async def list_signups_starting_between(self, start: datetime, end: datetime) -> list[WorkerTraining]:
        """Every sign-up (cancelled ones too) to the trainings, not called off, that start in [start, end),
        by training start, then as list_signups orders them: for reports."""

    @abstractmethod
    async def list_worker_trainings(self, worker_id: int) -> list[WorkerTraining]:
        """Every sign-up of the worker (cancelled ones too) with its training, by training start."""

    @abstractmethod
    async def mark_attendance(self, training_id: int, worker_id: int, attended: bool) -> TrainingSignup:
        """Record whether the worker came; StorageError if they have no sign-up that is not cancelled."""

    @abstractmethod
    async def due_training_reminders(
        self, reminder: TrainingReminder, *, starts_before: datetime, now: datetime, limit: int = 200
    ) -> list[WorkerTraining]:
        """Confirmed sign-ups of open trainings starting in (now, starts_before] whose ``reminder``
        is not done yet, soonest training first."""

    @abstractmethod
    async def mark_training_reminder(
        self, signup_id: int, reminder: TrainingReminder, *, outbox: Sequence[OutboxMessage] = ()
    ) -> bool:
        """Record the reminder done and queue ``outbox`` with it (nothing, to skip it), once; False
        (nothing queued) if it was done already or the seat or training is gone meanwhile."""

    @abstractmethod
    async def due_promotion_notices(self, *, limit: int = 200) -> list[WorkerTraining]:
        """Workers moved up from a waiting list and not told yet, for trainings still open and ahead."""

    @abstractmethod
    async def mark_promotion_told(self, signup_id: int, *, outbox: Sequence[OutboxMessage] = ()) -> bool:
        """Record the promotion told and queue ``outbox``, once; False (nothing queued) if it was told
        already or the seat is no longer theirs."""
