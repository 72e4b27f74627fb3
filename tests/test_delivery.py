"""The one delivery policy: what each kind of Telegram failure means, and how long to wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.runtime.delivery import (
    JITTER,
    LONGEST_RETRY,
    FailureKind,
    backoff,
    failure_of,
    method_of,
    note_method,
    retry_delay,
)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadRequest("Message is too long"), FailureKind.PERMANENT),
        (BadRequest("Chat not found"), FailureKind.PERMANENT),
        (
            BadRequest("Message is not modified: specified new message content and reply markup are exactly"),
            FailureKind.UNCHANGED,
        ),
        (Forbidden("Forbidden: bot was blocked by the user"), FailureKind.BLOCKED),
        (RetryAfter(3), FailureKind.RATE_LIMITED),
        (NetworkError("Bad Gateway"), FailureKind.TEMPORARY),
        (NetworkError("Internal Server Error"), FailureKind.TEMPORARY),
        (TimedOut(), FailureKind.TEMPORARY),
        (Conflict("terminated by other getUpdates request"), FailureKind.TEMPORARY),
        # A token revoked while running: the messages must wait for a fixed token, not be dropped.
        (InvalidToken(), FailureKind.TEMPORARY),
    ],
)
def test_each_failure_has_one_meaning(error: Exception, kind: FailureKind) -> None:
    assert failure_of(error, "sendMessage").kind == kind  # type: ignore[arg-type]


def test_a_failure_names_the_method_recorded_on_the_error_and_telegrams_reason() -> None:
    error = NetworkError("Bad Gateway")
    note_method(error, "sendPhoto")
    note_method(error, "an outer layer")  # the innermost, first note wins
    assert method_of(error) == "sendPhoto"
    failure = failure_of(error)
    assert str(failure) == "sendPhoto: Bad Gateway"
    assert str(failure_of(TimedOut(), "getUpdates")) == "getUpdates: Timed out"
    assert failure_of(RetryAfter(3), "sendMessage").retry_after == timedelta(seconds=3)


def test_only_passing_failures_are_tried_again() -> None:
    assert {kind for kind in FailureKind if kind.retried} == {FailureKind.RATE_LIMITED, FailureKind.TEMPORARY}


def test_backoff_doubles_from_five_seconds_up_to_ten_minutes_within_its_jitter() -> None:
    def middle() -> float:
        return 0.5

    assert [backoff(n, jitter=middle) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (5, 10, 20)]
    assert backoff(30, jitter=middle) == LONGEST_RETRY
    assert backoff(1, jitter=lambda: 0.0) == timedelta(seconds=5) * (1 - JITTER)
    assert backoff(1, jitter=lambda: 0.999999) < timedelta(seconds=5) * (1 + JITTER)
    assert backoff(9, longest=timedelta(minutes=1), jitter=middle) == timedelta(minutes=1)


def test_telegrams_retry_after_is_waited_exactly() -> None:
    assert retry_delay(failure_of(RetryAfter(7), "sendMessage"), 3) == timedelta(seconds=7)
    assert retry_delay(failure_of(NetworkError("Bad Gateway"), "sendMessage"), 2, jitter=lambda: 0.5) == (
        timedelta(seconds=10)
    )
