"""One delivery policy for everything the bot sends: what a Bot API failure means, and what to do next.

The outbox (alerts, replies, news about cases), broadcasts and the bot's own replies in handlers all
decide the same way (bot/outbox.py, bot/broadcasts.py, bot/botapi.py):

- **unchanged** (400 "message is not modified"): what we wanted is already on the screen; done.
- **permanent** (any other 400): Telegram refuses the message itself; trying again cannot help, so give
  up at once and record why.
- **blocked** (403): the person blocked the bot (or never started it); give up at once and mark them, so
  nothing more is tried until they come back.
- **rate limited** (429): wait as long as Telegram says, then try again.
- **temporary** (5xx, 502, a timeout, the network): try again after a growing pause with jitter, until
  ``[delivery] give_up_after`` has passed since the message was queued; then give up and tell the admins.

A timeout may hide a message that did arrive: trying again favours reaching the person over the small
chance of a duplicate.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)
JITTER = 0.2  # each pause is 80% to 120% of the nominal one, so retries of many messages spread out

# Set on every error that left the bot's request layer (bot/botapi.py), so whoever handles the error
# can name the Bot API method that failed.
METHOD_ATTRIBUTE = "api_method"

Random = Callable[[], float]  # a number in [0, 1), like random.random


class FailureKind(StrEnum):
    UNCHANGED = "unchanged"
    PERMANENT = "permanent"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate limited"
    TEMPORARY = "temporary"

    @property
    def retried(self) -> bool:
        return self in (FailureKind.RATE_LIMITED, FailureKind.TEMPORARY)


@dataclass(frozen=True)
class Failure:
    """One refused or failed Bot API call, as the delivery policy sees it."""

    kind: FailureKind
    method: str
    reason: str  # Telegram's description, or what went wrong on the way ("Timed out")
    retry_after: timedelta | None = None  # only for RATE_LIMITED

    def __str__(self) -> str:
        return f"{self.method}: {self.reason}"


def failure_of(error: TelegramError, method: str | None = None) -> Failure:
    """Classify a PTB error; ``method`` defaults to the one recorded on the error by the bot."""
    method = method or method_of(error) or "a Bot API call"
    reason = error.message or type(error).__name__
    if isinstance(error, RetryAfter):
        return Failure(FailureKind.RATE_LIMITED, method, reason, _as_timedelta(error.retry_after))
    if isinstance(error, Forbidden):
        return Failure(FailureKind.BLOCKED, method, reason)
    if isinstance(error, BadRequest):
        unchanged = "message is not modified" in reason.lower()
        return Failure(FailureKind.UNCHANGED if unchanged else FailureKind.PERMANENT, method, reason)
    if isinstance(error, TimedOut):
        return Failure(FailureKind.TEMPORARY, method, "Timed out")
    # NetworkError (5xx, 502, connection trouble), Conflict, InvalidToken: nothing about the message is
    # wrong, so it must wait rather than be dropped.
    return Failure(FailureKind.TEMPORARY, method, reason)


def method_of(error: BaseException) -> str | None:
    return getattr(error, METHOD_ATTRIBUTE, None)


def note_method(error: BaseException, method: str) -> None:
    """Record which Bot API method failed, unless an inner layer already did."""
    if method_of(error) is None:
        setattr(error, METHOD_ATTRIBUTE, method)


def backoff(
    attempts: int, *, longest: timedelta = LONGEST_RETRY, jitter: Random = random.random
) -> timedelta:
    """The pause after the ``attempts``-th failure in a row: 5 s, 10 s, 20 s … at most ``longest``, ±20%."""
    doubling: int = 2 ** max(attempts - 1, 0)  # int ** int is typed Any (a negative power is a float)
    nominal = min(FIRST_RETRY * doubling, longest)
    return nominal * (1 - JITTER + 2 * JITTER * jitter())


def retry_delay(failure: Failure, attempts: int, *, jitter: Random = random.random) -> timedelta:
    """How long to wait before trying a message again after ``failure``, its ``attempts``-th."""
    if failure.kind == FailureKind.RATE_LIMITED and failure.retry_after is not None:
        return failure.retry_after
    return backoff(attempts, jitter=jitter)


def _as_timedelta(value: float | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
