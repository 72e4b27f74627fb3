"""The refusal type of the sandbox: an error answered in Telegram's error format."""

from __future__ import annotations

from typing import Any


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
