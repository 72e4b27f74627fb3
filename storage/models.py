"""Pydantic models at the storage boundary: what goes in and what comes out."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class _Row(BaseModel):
    # Validation errors never repeat the values: they reach logs, and the values are personal data.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


class _In(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)


class CaseKind(StrEnum):
    MEMBERSHIP = "membership"
    WAGES = "wages"
    LEGAL = "legal"
    ASSISTANCE = "assistance"  # hardship assistance (申请帮扶)


# One letter per kind, so a worker or officer can tell cases apart by reference alone.
REFERENCE_PREFIX: dict[CaseKind, str] = {
    CaseKind.MEMBERSHIP: "M",
    CaseKind.WAGES: "W",
    CaseKind.LEGAL: "L",
    CaseKind.ASSISTANCE: "A",
}


class CaseStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_WORKER = "waiting_for_worker"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"


# A case in one of these still needs the union's attention.
OPEN_STATUSES = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.ACKNOWLEDGED,
        CaseStatus.IN_PROGRESS,
        CaseStatus.WAITING_FOR_WORKER,
        CaseStatus.REOPENED,
    }
)


# The case lifecycle: new → acknowledged → in_progress ⇄ waiting_for_worker → resolved → closed, with
# withdrawn (by the worker) and reopened. An officer may resolve straight from the alert (a membership
# approval needs no separate "taken" step); a resolved or closed case can only be reopened.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset(
        {
            CaseStatus.ACKNOWLEDGED,
            CaseStatus.IN_PROGRESS,
            CaseStatus.WAITING_FOR_WORKER,
            CaseStatus.RESOLVED,
            CaseStatus.WITHDRAWN,
        }
    ),
    CaseStatus.ACKNOWLEDGED: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.WAITING_FOR_WORKER, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.IN_PROGRESS: frozenset(
        {CaseStatus.WAITING_FOR_WORKER, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.WAITING_FOR_WORKER: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN}
    ),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.REOPENED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.REOPENED}),
    CaseStatus.WITHDRAWN: frozenset(),
    CaseStatus.REOPENED: frozenset(
        {
            CaseStatus.ACKNOWLEDGED,
            CaseStatus.IN_PROGRESS,
            CaseStatus.WAITING_FOR_WORKER,
            CaseStatus.RESOLVED,
            CaseStatus.WITHDRAWN,
        }
    ),
}


def can_move(current: CaseStatus, new: CaseStatus) -> bool:
    return new in TRANSITIONS[current]


class Outcome(StrEnum):
    """How a case ended, as the union reports it upward."""

    RECOVERED_FULL = "recovered_full"
    RECOVERED_PART = "recovered_part"
    NOT_RECOVERED = "not_recovered"
    REFERRED_INSPECTION = "referred_inspection"  # labour inspection (劳动监察)
    REFERRED_ARBITRATION = "referred_arbitration"  # labour arbitration (劳动仲裁)
    REFERRED_COURT = "referred_court"
    REFERRED_LEGAL_AID = "referred_legal_aid"  # a legal-aid centre (法律援助中心)
    ADVICE_GIVEN = "advice_given"
    MEMBERSHIP_APPROVED = "membership_approved"
    MEMBERSHIP_REJECTED = "membership_rejected"
    GRANTED = "granted"  # hardship assistance granted, with an amount
    NOT_ELIGIBLE = "not_eligible"  # with the reason
    REFERRED_UPWARD = "referred_upward"  # decided above the township, by the union federation (总工会)


_REFERRALS = (
    Outcome.REFERRED_INSPECTION,
    Outcome.REFERRED_ARBITRATION,
    Outcome.REFERRED_COURT,
    Outcome.REFERRED_LEGAL_AID,
)

# The outcomes an officer may choose for each kind of case, in the order the buttons show them.
OUTCOMES: dict[CaseKind, tuple[Outcome, ...]] = {
    CaseKind.WAGES: (Outcome.RECOVERED_FULL, Outcome.RECOVERED_PART, Outcome.NOT_RECOVERED, *_REFERRALS),
    CaseKind.LEGAL: (Outcome.ADVICE_GIVEN, *_REFERRALS),
    CaseKind.MEMBERSHIP: (Outcome.MEMBERSHIP_APPROVED, Outcome.MEMBERSHIP_REJECTED),
    CaseKind.ASSISTANCE: (Outcome.GRANTED, Outcome.NOT_ELIGIBLE, Outcome.REFERRED_UPWARD),
}

# Outcomes that recovered money: the officer is asked how much and for how many workers.
RECOVERED = frozenset({Outcome.RECOVERED_FULL, Outcome.RECOVERED_PART})


class Resolution(_In):
    """What an officer records when resolving a case."""

    outcome: Outcome
    amount_recovered: Decimal | None = Field(default=None, ge=0)
    workers_helped: int | None = Field(default=None, ge=0)
    member_number: str | None = None
    amount_granted: Decimal | None = Field(default=None, gt=0)  # hardship assistance granted, in yuan
    reason: str | None = Field(default=None, min_length=1)  # why an application was not eligible
    note: str | None = None

    @model_validator(mode="after")
    def _decision_complete(self) -> Resolution:
        if (self.outcome == Outcome.GRANTED) != (self.amount_granted is not None):
            raise ValueError("an amount is granted exactly when assistance is granted")
        if (self.outcome == Outcome.NOT_ELIGIBLE) != (self.reason is not None):
            raise ValueError("a reason is given exactly when an application is not eligible")
        return self


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"  # collective cases (more than one worker affected)
    URGENT = "urgent"


class OfficerRole(StrEnum):
    OFFICER = "officer"
    ADMIN = "admin"


# Cases whose worker was forgotten (/forget, retention) point at this placeholder worker row, which holds
# nothing: Telegram user ids are positive, so it is never a real person. Lists of people to write to
# (broadcasts) must leave it out.
ANONYMOUS_WORKER_ID = 0

# What an anonymised case keeps of its answers, per kind: the facts the union counts and reports (kinds,
# amounts, how many workers, the outcome and the dates live in their own columns). Names, phones,
# hometowns, sites, free text and files go. The employer of a wages case stays: it is not the worker's
# personal data, it is what the union's records of wage theft and the collective-case reports are about.
# A membership application's employer is the worker's own workplace, so it goes.
ANONYMOUS_FIELDS: dict[CaseKind, frozenset[str]] = {
    CaseKind.WAGES: frozenset(
        {"employer", "unpaid_months", "amount_owed", "workers_affected", "collective", "contract"}
    ),
    CaseKind.LEGAL: frozenset({"problem", "description_kind", "contact_method"}),
    CaseKind.MEMBERSHIP: frozenset({"trade"}),
    # Only what help was asked for: a household's size, income, illness and disability describe the
    # family, and are never kept without the worker.
    CaseKind.ASSISTANCE: frozenset({"help_kind"}),
}

# Case events whose note is a structured record written by the bot, never typed text: kept when a case
# is anonymised (the "outcome" note loses its member number). Every other note goes.
STRUCTURED_EVENTS = frozenset({"outcome", "assigned", "viewed", "exported", "anonymised"})


class Worker(_Row):
    telegram_id: int
    language: str | None = None
    consent_at: datetime | None = None
    consent_version: str | None = None
    opted_out: bool = False  # sent /unsubscribe: no broadcasts
    blocked: bool = False  # Telegram answered 403: stop sending
    profile: dict[str, Any] = Field(default_factory=dict)  # name, phone, hometown... (personal data)
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None = None  # their last update to the bot


class OfficerIn(_In):
    """An officer as configured or added by an admin."""

    telegram_id: int
    name: str
    role: OfficerRole = OfficerRole.OFFICER
    specialties: list[CaseKind] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    active: bool = True


class Officer(_Row):
    telegram_id: int
    name: str
    role: OfficerRole
    specialties: list[CaseKind]
    regions: list[str]
    languages: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class Workload(_Row):
    """How busy an officer is, for choosing who gets the next case."""

    open_cases: int = 0  # open cases where they are the primary officer
    open_backups: int = 0  # open cases where they are the backup
    last_assigned_at: datetime | None = None  # when they last became a case's primary officer


class AttachmentIn(_In):
    kind: str  # photo, document, voice, video, location...
    file_id: str
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    caption: str | None = None


class Attachment(_Row):
    id: int
    case_id: int
    kind: str
    file_id: str
    file_unique_id: str | None
    file_name: str | None
    mime_type: str | None
    caption: str | None
    created_at: datetime


class NewCase(_In):
    kind: CaseKind
    worker_id: int
    priority: Priority = Priority.NORMAL
    fields: dict[str, Any]  # validated by the flow's per-kind model before it gets here
    attachments: list[AttachmentIn] = Field(default_factory=list)
    assignee_id: int | None = None
    backup_id: int | None = None
    first_response_due_at: datetime | None = None


class Case(_Row):
    id: int
    reference: str  # e.g. W-000123
    kind: CaseKind
    status: CaseStatus
    priority: Priority
    worker_id: int
    assignee_id: int | None
    backup_id: int | None
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime | None
    next_update_due_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: Outcome | None = None
    amount_recovered: Decimal | None = None
    workers_helped: int | None = None
    member_number: str | None = None
    amount_granted: Decimal | None = None  # hardship assistance granted, in yuan
    decision_reason: str | None = None  # why an assistance application was not eligible
    # The SLA sweep's bookmark (see bot/reminders.py): when to look again, and the current deadline's
    # start and reminders so far.
    remind_at: datetime | None = None
    sla_started_at: datetime | None = None
    reminders_sent: int = 0
    followup_sent_at: datetime | None = None
    group_id: int | None = None  # the collective case this report was linked into
    anonymised_at: datetime | None = None  # the worker's details are gone (/forget or retention)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def officers(self) -> tuple[int, ...]:
        """The primary and backup officer ids this case has."""
        return tuple(officer for officer in (self.assignee_id, self.backup_id) if officer is not None)


# Events that only record who looked at or took out a case (the audit trail): they are not work on
# the case, so they neither restart its SLA clock nor show in its history (bot/privacy.py).
AUDIT_ONLY_ACTIONS = frozenset({"viewed", "exported"})


class NewCaseEvent(_In):
    case_id: int
    actor_id: int | None  # Telegram id of the officer or worker; None for the system
    actor_role: str  # "worker", "officer", "admin", "system"
    action: str  # created, status_changed, message, note, assigned...
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    note: str | None = None
    visible_to_worker: bool = False


class CaseEvent(_Row):
    id: int
    case_id: int
    actor_id: int | None
    actor_role: str
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus | None
    note: str | None
    visible_to_worker: bool
    created_at: datetime


class CaseQuery(_In):
    """Which cases an officer list shows; every filter is optional and they combine with AND."""

    officer_id: int | None = None  # cases where this officer is primary or backup; None: everyone's
    statuses: frozenset[CaseStatus] | None = None
    kind: CaseKind | None = None
    priority: Priority | None = None
    overdue_at: datetime | None = None  # a response or update due before this moment
    text: str | None = None  # in the reference or any typed answer (case-insensitive)
    created_from: datetime | None = None  # created at or after
    created_before: datetime | None = None
    resolved_from: datetime | None = None  # resolved (most recently) at or after
    resolved_before: datetime | None = None
    limit: int = Field(default=50, ge=1, le=100_000)


class CaseActivity(_Row):
    """A case due for the SLA sweep, with the moment its current deadline started from."""

    case: Case
    # The last status change or officer action; None when nothing has happened since it was filed.
    last_activity_at: datetime | None


class ScheduleUpdate(BaseModel):
    """What the SLA sweep writes back on a case after looking at it."""

    remind_at: datetime | None
    sla_started_at: datetime | None
    reminders_sent: int = Field(ge=0)
    first_response_due_at: datetime | None
    next_update_due_at: datetime | None


class OutboxKind(StrEnum):
    MESSAGE = "message"  # queued on purpose: an alert, a reminder, news about a case, a digest
    REPLY = "reply"  # a handler's reply Telegram did not take at once (bot/botapi.py)
    NOTICE = "notice"  # tells the admins a message was given up; never itself the subject of a notice


class OutboxMessage(_In):
    """A Telegram call that must not be lost: method name plus its parameters."""

    chat_id: int
    method: str = "sendMessage"
    params: dict[str, Any]
    dedupe_key: str | None = None  # enqueueing the same key twice keeps one message
    # The case it is about, so forgetting the case's worker also drops their news still waiting, and the
    # messages about one case keep their order. Storage fills it in for messages queued with a change to
    # a case.
    case_id: int | None = None
    kind: OutboxKind = OutboxKind.MESSAGE


class OutboxItem(_Row):
    id: int
    chat_id: int
    method: str
    params: dict[str, Any]
    dedupe_key: str | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime
    case_id: int | None = None
    kind: OutboxKind = OutboxKind.MESSAGE


class DeliveryBacklog(BaseModel):
    """What is waiting in the outbox, for /stats and ``union-bot status``."""

    waiting: int  # not delivered yet, still being tried
    oldest_queued_at: datetime | None  # of those
    stuck: int  # of those, waiting longer than [delivery] stuck_after
    given_up: int  # given up within the period asked about


class PersistenceChange(_In):
    """One staged write of PTB persistence data (see bot/persistence.py)."""

    kind: str  # "user_data", "chat_data", "bot_data", "callback_data", "conversation"
    key: str  # user/chat id, conversation name + key as JSON, or "" for bot/callback data
    value: Any  # JSON-serialisable; None deletes the row


class DatabaseBackup(_Row):
    """A finished copy of the database (not to be confused with a case's backup officer)."""

    path: str  # absolute
    size: int  # bytes
    schema_version: int


class ChatMessage(_Row):
    """A message in a private chat with the bot (either way), kept only while Telegram lets the bot
    delete it (48 hours), so a worker can have the chat cleared."""

    chat_id: int
    message_id: int
    from_bot: bool
    sent_at: datetime


class NewChatMessage(BaseModel):
    """A message id to remember for deleting later (see ChatMessage); its time is when it is stored."""

    model_config = ConfigDict(frozen=True)

    chat_id: int
    message_id: int
    from_bot: bool


class Forgotten(_Row):
    """What forgetting a worker did."""

    withdrawn: list[str]  # references of open cases that were withdrawn
    anonymised: list[str]  # references of every case of theirs, now without their details


# -- broadcasts ------------------------------------------------------------------------------------


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    MEMBERS = "members"  # the profile has a member number
    LANGUAGE = "language"  # value: zh-Hans, zh-Hant or en (workers who chose none count as the default)
    TRADE = "trade"  # value: the profile's trade, e.g. construction
    REGION = "region"  # value: text the profile's workplace contains, case-insensitive
    OPEN_CASE = "open-case"  # workers with a case still open


_AUDIENCE_WITH_VALUE = frozenset({AudienceKind.LANGUAGE, AudienceKind.TRADE, AudienceKind.REGION})


class Audience(BaseModel):
    """Who gets a broadcast, among the workers who consented and neither unsubscribed nor blocked."""

    model_config = ConfigDict(frozen=True)

    kind: AudienceKind
    value: str | None = Field(default=None, min_length=1, max_length=50)

    @model_validator(mode="after")
    def _value_when_needed(self) -> Audience:
        needs_value = self.kind in _AUDIENCE_WITH_VALUE
        if needs_value != (self.value is not None):
            raise ValueError(f"audience {self.kind} {'needs a' if needs_value else 'takes no'} value")
        return self


class ScheduleKind(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"


class Schedule(BaseModel):
    """When a broadcast goes out: once at a moment, or every day / every week at a local wall-clock time."""

    model_config = ConfigDict(frozen=True)

    kind: ScheduleKind
    at: datetime | None = None  # ONCE: the moment (timezone-aware)
    weekday: int | None = Field(default=None, ge=0, le=6)  # WEEKLY: 0 is Monday
    time: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # DAILY, WEEKLY: "HH:MM"

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Schedule:
        once = self.kind == ScheduleKind.ONCE
        if once != (self.at is not None) or once == (self.time is not None):
            raise ValueError("a one-off schedule has a moment; a recurring one a time of day")
        if (self.kind == ScheduleKind.WEEKLY) != (self.weekday is not None):
            raise ValueError("only a weekly schedule has a weekday")
        return self


class BroadcastStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for next_run_at
    SENDING = "sending"  # an occurrence is being delivered
    DONE = "done"  # a one-off broadcast, delivered
    CANCELLED = "cancelled"


class MediaKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


class NewBroadcast(BaseModel):
    """A broadcast as an admin composed it. Texts are Telegram HTML, by language code."""

    created_by: int | None  # the admin's Telegram id; None from the command line
    texts: dict[str, str] = Field(min_length=1)
    media_kind: MediaKind | None = None
    media_file_id: str | None = None
    audience: Audience
    schedule: Schedule
    attend_button: bool = False
    next_run_at: datetime  # the first occurrence
    # A training's announcement (bot/trainings): workers get its sign-up button instead of "I will attend".
    training_id: int | None = None

    @model_validator(mode="after")
    def _media_complete(self) -> NewBroadcast:
        if (self.media_kind is None) != (self.media_file_id is None):
            raise ValueError("media needs both its kind and its file id")
        return self


class Broadcast(_Row):
    id: int
    created_by: int | None
    texts: dict[str, str]
    media_kind: MediaKind | None
    media_file_id: str | None
    audience: Audience
    schedule: Schedule
    status: BroadcastStatus
    next_run_at: datetime | None  # None once nothing more is planned
    attend_button: bool
    created_at: datetime
    updated_at: datetime
    training_id: int | None = None  # the training it announces


class BroadcastOccurrence(_Row):
    """One sending of a broadcast (a recurring one has one per week or day)."""

    id: int
    broadcast_id: int
    run_at: datetime  # the scheduled moment this occurrence stands for
    started_at: datetime
    finished_at: datetime | None  # every delivery done and the report queued


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"  # Telegram answered 403: the worker blocked the bot
    FAILED = "failed"  # refused, or still failing after a few tries
    SKIPPED = "skipped"  # unsubscribed or unreachable before we sent, or the broadcast was cancelled


class BroadcastDelivery(_Row):
    """A delivery row waiting to be sent, with what the sender needs to know about its worker now."""

    id: int
    occurrence_id: int
    worker_id: int
    attempts: int
    language: str | None  # the worker's current choice
    opted_out: bool
    blocked: bool


class BroadcastReport(_Row):
    """How one occurrence went."""

    occurrence_id: int
    broadcast_id: int
    run_at: datetime
    finished_at: datetime | None
    pending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    attending: int = 0


# -- worker files (一人一档) --------------------------------------------------------------------------


class WorkerPlan(_Row):
    """A worker's hardship plan (帮扶措施), one per worker, and when it is to be looked at again."""

    worker_id: int
    plan: str | None  # None while only a review date was set
    review_on: date | None  # a local date in the union's time zone
    responsible_id: int | None  # the officer whose morning digest brings the review
    updated_by: int | None  # the officer who last set the plan or its review date
    created_at: datetime
    updated_at: datetime


class WorkerNote(_Row):
    """An officer's note about a worker (not about one case): only officers see it."""

    id: int
    worker_id: int
    author_id: int | None
    text: str
    created_at: datetime


class WorkerFileView(_Row):
    """Someone opened a worker's file: who, how (``via``), from which case, and when."""

    id: int
    worker_id: int  # ANONYMOUS_WORKER_ID once the worker is forgotten
    viewer_id: int
    viewer_role: str
    via: str
    case_id: int | None
    created_at: datetime


# -- trainings -----------------------------------------------------------------------------------


class TrainingStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class NewTraining(_In):
    """A training as an admin set it up. Times are timezone-aware; titles by language code."""

    titles: dict[str, str] = Field(min_length=1)  # zh-Hans expected: it is every reader's fallback
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(min_length=1, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    seats: int = Field(ge=1, le=100_000)
    trade: str | None = None  # a bot.cases.vocabulary.Trade value; None: every trade
    region: str | None = Field(default=None, min_length=1, max_length=50)  # in the workplace; None: anywhere
    allowance_note: str | None = Field(default=None, max_length=500)  # travel / lost-work allowance
    signup_deadline: AwareDatetime
    created_by: int | None = None  # the admin's Telegram id; None from the command line

    @model_validator(mode="after")
    def _consistent(self) -> NewTraining:
        if not all(title.strip() and len(title) <= 200 for title in self.titles.values()):
            raise ValueError("every title needs 1 to 200 characters")
        if self.ends_at <= self.starts_at:
            raise ValueError("a training ends after it starts")
        if self.signup_deadline > self.starts_at:
            raise ValueError("sign-up closes by the start at the latest")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("a location needs both latitude and longitude")
        return self


class Training(_Row):
    id: int
    titles: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    place: str
    latitude: float | None
    longitude: float | None
    seats: int
    trade: str | None
    region: str | None
    allowance_note: str | None
    signup_deadline: datetime
    created_by: int | None
    status: TrainingStatus
    created_at: datetime
    updated_at: datetime
    seats_taken: int = 0  # confirmed sign-ups when it was read

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class SignupStatus(StrEnum):
    CONFIRMED = "confirmed"  # has a seat
    WAITING = "waiting"  # on the waiting list, moved up when a seat frees
    CANCELLED = "cancelled"  # by the worker


class TrainingSignup(_Row):
    id: int
    training_id: int
    worker_id: int
    status: SignupStatus
    attended: bool | None  # None: not marked
    created_at: datetime
    updated_at: datetime
    position: int | None = None  # number on the waiting list (1 = next in line); None unless waiting
    confirmed_at: datetime | None = None  # when the seat became theirs
    promoted_at: datetime | None = None  # moved up from the waiting list
    promotion_told_at: datetime | None = None
    day_reminder_at: datetime | None = None  # the day-before reminder done (sent or skipped)
    soon_reminder_at: datetime | None = None  # the 2-hours-before reminder done


class WorkerTraining(_Row):
    training: Training
    signup: TrainingSignup


class SignupCancellation(_Row):
    """What cancelling a sign-up did: the sign-up as cancelled, and whoever got the freed seat."""

    signup: TrainingSignup
    promoted: TrainingSignup | None  # told by the sweep (or at once by the caller) via the outbox


class TrainingReminder(StrEnum):
    DAY_BEFORE = "day_before"
    SOON = "soon"  # 2 hours before


class SignupRefusal(StrEnum):
    """Why a sign-up (or its cancellation) was not done."""

    NO_TRAINING = "no_training"  # unknown id: a forged or very old button
    CANCELLED = "cancelled"  # the training was called off
    DEADLINE_PASSED = "deadline_passed"
    STARTED = "started"
