"""Logging set-up: the token never reaches a log line, nor does what workers tell us.

The bot's own loggers write case numbers, counts and ids of rows, never names, phones or typed text.
python-telegram-bot logs every request's parameters (message texts) at DEBUG, and httpx every URL (with
the token) at INFO: both are kept quieter than that whatever level the bot runs at.
"""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Replace known secrets (the bot token) in every record, whatever logger wrote it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "[token]")
            record.msg, record.args = message, None
        return True


def quiet_libraries(level: int = logging.INFO) -> None:
    """Libraries that would log the token or message contents: httpx logs every request URL at INFO (Bot
    API URLs contain the token); PTB logs every call's parameters at DEBUG (the messages' text)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))


def configure_logging(*, level: int = logging.INFO, secrets: list[str] | None = None) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, force=True)
    quiet_libraries(level)
    redact = RedactSecrets(secrets or [])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
