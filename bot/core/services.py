"""What the handlers, flows and sweeps need of the running application, as a Protocol.

``bot.app.UnionApplication`` provides it; code below the app types against this and never imports the
app, so the import graph stays one way (see the README's code layout).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from telegram.ext import ExtBot

from bot.core.clock import Clock
from bot.core.config import Config
from storage import Storage
from storage.models import Case, OutboxMessage


class CollectiveCheck(Protocol):
    async def check(self, case: Case, now: datetime) -> list[OutboxMessage]: ...


class Waker(Protocol):
    def wake(self) -> None: ...


class AnsweredPresses(Protocol):
    def was_answered(self, query_id: str) -> bool: ...


class Services(Protocol):
    """The running bot's shared parts and the few things it does for everyone."""

    storage: Storage
    config: Config
    clock: Clock

    # Read-only, so the app may hold more than the Protocol asks (a settable member would have to match).
    @property
    def collective(self) -> CollectiveCheck: ...

    @property
    def broadcasts(self) -> Waker: ...

    @property
    def bot(self) -> ExtBot[Any]: ...

    @property
    def union_bot(self) -> AnsweredPresses: ...

    def language_of(self, user_id: int | None) -> str: ...

    def remember_language(self, user_id: int, language: str) -> None: ...

    def forget_user_state(self, user_id: int, *, language: bool) -> None: ...

    def send_outbox_soon(self) -> None: ...

    async def write_notes(self) -> None: ...
