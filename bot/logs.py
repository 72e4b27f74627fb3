"""Logging set-up: the token never reaches a log line."""

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


def configure_logging(*, level: int = logging.INFO, secrets: list[str] | None = None) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, force=True)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    redact = RedactSecrets(secrets or [])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
