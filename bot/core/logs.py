"""Logging set-up: the token never reaches a log line, nor does what workers tell us.

The bot's own loggers (``bot.*``, ``flows.*``, ``storage.*``) write case numbers, counts and ids of rows,
never names, phones or typed text. The libraries below can print an update or a URL, as installed:

- ``telegram.Bot`` / ``telegram.ext.ExtBot`` (telegram/_bot.py): CRITICAL "Error while parsing updates!
  Received data was %r" with the raw updates (the worker's name and what they typed) when PTB cannot
  parse them; DEBUG "Calling Bot API endpoint ... with parameters" (every message's text).
- ``telegram.ext.Application``: CRITICAL "Error while building CallbackContext for update %s" (the whole
  update), DEBUG "Processing update %s". ``telegram.ext.Updater`` (the webhook handler logs under it too):
  CRITICAL and DEBUG with the received data. ``telegram.request.BaseRequest``: ERROR with a response
  body that is not JSON (which may be the updates themselves).
- ``httpx`` (INFO): every request URL, and Bot API URLs contain the token. ``httpcore`` (DEBUG): each
  connection step, written into the message itself, so only its level keeps it out.
- ``apscheduler`` (INFO): every job run, with the job's name and schedule.

So those loggers are kept at WARNING whatever level the bot runs at, and their records never carry their
arguments: a record factory replaces each one by its type (``<list>``, ``<Update>``) when the record is
made, before any handler sees it, so pytest's caplog or a journal handler added later gets the same.
Numbers, booleans and None stay: "Rate limit hit. Retrying after 3.0 seconds" tells nothing personal.
The same factory redacts the token from every record (ours too), tracebacks included: PTB puts the token
in InvalidToken's message. Tracebacks are otherwise kept: they show code, and PTB's parse errors name
fields and types, not values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

# Everything below these names (telegram.ext.Application, apscheduler.executors.default...) is covered.
LIBRARY_LOGGERS = ("telegram", "httpx", "httpcore", "apscheduler")
_PREFIXES = tuple(f"{name}." for name in LIBRARY_LOGGERS)
_REDACTED = "[token]"


class _Withheld:
    """Stands for a library log argument: shows its type, and ``%r`` shows no quotes around it."""

    __slots__ = ("_label",)

    def __init__(self, value: object) -> None:
        self._label = f"<{type(value).__name__}>"

    def __repr__(self) -> str:
        return self._label

    __str__ = __repr__


def _withhold(value: object) -> object:
    # A number keeps %d and %f working, and no number a library logs is a name, a phone or a text.
    if value is None or isinstance(value, int | float):
        return value
    return _Withheld(value)


def _is_library(name: str) -> bool:
    return name in LIBRARY_LOGGERS or name.startswith(_PREFIXES)


class _RecordGuard:
    """The log record factory: withholds library arguments and redacts secrets in every record."""

    def __init__(self, make_record: Callable[..., logging.LogRecord]) -> None:
        self.make_record = make_record
        self.secrets: tuple[str, ...] = ()

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        record = self.make_record(*args, **kwargs)
        if _is_library(record.name):
            _withhold_arguments(record)
        if self.secrets:
            _redact(record, self.secrets)
        return record


def _withhold_arguments(record: logging.LogRecord) -> None:
    if not isinstance(record.msg, str):  # logger.info(update) logs str(update)
        record.msg = _Withheld(record.msg)
    if isinstance(record.args, Mapping):  # logger.info("%(name)s", {...})
        record.args = {key: _withhold(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_withhold(value) for value in record.args)


def _redact(record: logging.LogRecord, secrets: tuple[str, ...]) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: the handler reports it, as it would without us
        return
    if any(secret in message for secret in secrets):
        record.msg, record.args = _replace(message, secrets), ()
    if record.exc_info and not record.exc_text:
        # Formatters reuse exc_text when it is set, so the traceback is written redacted.
        traceback = _TRACEBACKS.formatException(record.exc_info)
        if any(secret in traceback for secret in secrets):
            record.exc_text = _replace(traceback, secrets)


def _replace(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text


_TRACEBACKS = logging.Formatter()


def guard_log_records(secrets: list[str] | None = None) -> None:
    """Install the record factory (once: calling again only replaces the secrets to redact)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RecordGuard):
        factory = _RecordGuard(factory)
        logging.setLogRecordFactory(factory)
    factory.secrets = tuple(secret for secret in secrets or [] if secret)


def quiet_libraries(level: int = logging.WARNING) -> None:
    """The libraries that can log an update or a URL write warnings and errors only (or less, above)."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def configure_logging(*, level: int = logging.INFO, secrets: list[str] | None = None) -> None:
    """As ``union-bot run`` logs: to stderr at ``level``, libraries quieted, ``secrets`` never written."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level, force=True)
    quiet_libraries(level)
    guard_log_records(secrets)
