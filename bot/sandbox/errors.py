"""Telegram's error answers: refusals by the sandbox's rules, and faults a test injects on purpose.

``ApiError`` is a refusal a rule made (a too-long text, a second callback answer...); ``Fault`` is
one failure a test asked for with ``BotApiSandbox.fail`` (Telegram down, a lost answer...).
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from typing import Any, Final

TIMEOUT: Final = "timeout"  # the status of a fault that never answers

FaultStatus = int | str  # an HTTP error status, or TIMEOUT


class ApiError(Exception):
    """A refusal, carried up to the HTTP layer and answered in Telegram's error format."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# What Telegram says for each status, so a test that only names the status sees a realistic answer.
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected fault",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def check_fault_status(status: FaultStatus) -> None:
    """An error status (400-599) or TIMEOUT; anything else is a mistake in the test."""
    if status == TIMEOUT:
        return
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"a fault's status is an HTTP error status (400-599) or {TIMEOUT!r}, not {status!r}")


def default_description(status: FaultStatus, retry_after: int) -> str:
    if status == TIMEOUT:
        return "no answer (the request times out)"
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    if status in _DEFAULT_DESCRIPTIONS:
        return _DEFAULT_DESCRIPTIONS[status]
    if isinstance(status, str):  # no HTTP status (HTTPStatus would refuse it too)
        return "Unknown Error"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"


class Fault:
    """One injected failure (see ``BotApiSandbox.fail``); ``clear()`` ends it, ``hits`` counts its victims.

    A fault is live until it is cleared, its ``seconds`` have passed by the sandbox clock, or it has
    failed ``times`` calls, whichever comes first.  Its state is guarded by the sandbox's lock.
    """

    def __init__(
        self,
        lock: threading.Condition,
        *,
        method: str | None,
        status: FaultStatus,
        description: str,
        started_at: float,
        seconds: float | None = None,
        times: int | None = None,
        chat_id: int | None = None,
        retry_after: int = 1,
        delivered: bool = False,
    ) -> None:
        self._lock = lock
        self.method = method
        self.status = status
        self.description = description
        self.seconds = seconds
        self.times = times
        self.chat_id = chat_id
        self.retry_after = retry_after
        self.delivered = delivered
        self._ends_at = None if seconds is None else started_at + seconds
        self._hits = 0
        self._cleared = False

    def __repr__(self) -> str:
        options = [f"method={self.method!r}" if self.method else "every method"]
        options.append(f"status={self.status!r}")
        options.append(f"description={self.description!r}")
        for name in ("seconds", "times", "chat_id"):
            if getattr(self, name) is not None:
                options.append(f"{name}={getattr(self, name)!r}")
        if self.delivered:
            options.append("delivered=True")
        options.append(f"hits={self.hits}")
        if self.cleared:
            options.append("cleared")
        return f"Fault({', '.join(options)})"

    @property
    def hits(self) -> int:
        """How many calls this fault has failed so far."""
        with self._lock:
            return self._hits

    @property
    def cleared(self) -> bool:
        with self._lock:
            return self._cleared

    def clear(self) -> None:
        """End the fault now (requests it left unanswered stay so until their client gives up)."""
        with self._lock:
            self._cleared = True
            self._lock.notify_all()

    # -- used by the sandbox under its lock ----------------------------------------------------

    def expired(self, now: float) -> bool:
        return self._cleared or (self._ends_at is not None and now >= self._ends_at)

    def live(self, now: float) -> bool:
        """Whether it still fails new calls."""
        return not self.expired(now) and (self.times is None or self._hits < self.times)

    def matches(self, method: str, chat_id: int | None) -> bool:
        """``method`` as the sandbox names it; ``chat_id`` of the call, None when it has none."""
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def hit(self) -> None:
        self._hits += 1

    def error(self) -> ApiError:
        """The answer for a failed call (not for TIMEOUT, which gets none)."""
        assert isinstance(self.status, int)
        return ApiError(self.status, self.description, self.retry_after if self.status == 429 else None)
