"""Pydantic models at the storage boundary: what goes in and what comes out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CaseKind(StrEnum):
    MEMBERSHIP = "membership"
    WAGES = "wages"
    LEGAL = "legal"


# One letter per kind, so a worker or officer can tell cases apart by reference alone.
REFERENCE_PREFIX: dict[CaseKind, str] = {
    CaseKind.MEMBERSHIP: "M",
    CaseKind.WAGES: "W",
    CaseKind.LEGAL: "L",
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


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"  # collective cases (more than one worker affected)
    URGENT = "urgent"


class OfficerRole(StrEnum):
    OFFICER = "officer"
    ADMIN = "admin"


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


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


class OfficerIn(BaseModel):
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


class AttachmentIn(BaseModel):
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


class NewCase(BaseModel):
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


class NewCaseEvent(BaseModel):
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


class OutboxMessage(BaseModel):
    """A Telegram call that must not be lost: method name plus its parameters."""

    chat_id: int
    method: str = "sendMessage"
    params: dict[str, Any]
    dedupe_key: str | None = None  # enqueueing the same key twice keeps one message


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


class PersistenceChange(BaseModel):
    """One staged write of PTB persistence data (see bot/persistence.py)."""

    kind: str  # "user_data", "chat_data", "bot_data", "callback_data", "conversation"
    key: str  # user/chat id, conversation name + key as JSON, or "" for bot/callback data
    value: Any  # JSON-serialisable; None deletes the row


class DatabaseBackup(_Row):
    """A finished copy of the database (not to be confused with a case's backup officer)."""

    path: str  # absolute
    size: int  # bytes
    schema_version: int
