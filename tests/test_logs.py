"""Logging as ``union-bot run`` sets it up: no worker's words and no token in any log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.error import InvalidToken
from telegram.request import BaseRequest, RequestData

from bot.core.logs import LIBRARY_LOGGERS, configure_logging

TOKEN = "123456:SECRETSECRETSECRETSECRET"
NAME, PHONE, TYPED = "王小明", "13812345678", "老板欠我三个月工资"
# One update as Telegram sends it, with a date PTB cannot read: parsing it fails, and PTB logs it whole.
RAW_UPDATES = [
    {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "date": "yesterday",
            "chat": {"id": 42, "type": "private", "first_name": NAME},
            "from": {"id": 42, "is_bot": False, "first_name": NAME},
            "text": f"我叫{NAME}，电话 {PHONE}，{TYPED}",
        },
    }
]


class _CannedUpdates(BaseRequest):
    """Answers every Bot API call with RAW_UPDATES, without a network."""

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        return 200, json.dumps({"ok": True, "result": RAW_UPDATES}).encode()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level, factory = root.handlers[:], root.level, logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, library_level in levels.items():
        logging.getLogger(name).setLevel(library_level)


@pytest.fixture
def later_handler(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Logging as `union-bot run` sets it up, then handlers added afterwards (pytest's, and one more)."""
    configure_logging(secrets=[TOKEN])
    root = logging.getLogger()
    root.addHandler(caplog.handler)  # basicConfig(force=True) removed it
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


async def test_an_update_ptb_cannot_parse_is_logged_without_its_contents(
    later_handler: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = Bot(TOKEN, request=_CannedUpdates(), get_updates_request=_CannedUpdates())
    with pytest.raises(TypeError):
        await bot.get_updates()

    written = later_handler.getvalue()
    assert "CRITICAL telegram.Bot: Error while parsing updates! Received data was <list>" in written
    assert [record.name for record in caplog.records] == ["telegram.Bot"]
    assert "Traceback" in written  # the traceback is kept: it names code, not the worker's words
    for output in (written, caplog.text, capsys.readouterr().err):
        for secret in (NAME, PHONE, TYPED, TOKEN):
            assert secret not in output


def test_library_arguments_become_their_type_but_numbers_stay(later_handler: io.StringIO) -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").warning(
        "Rate limit hit. Retrying after %.1f seconds", 3.0
    )
    logging.getLogger("apscheduler.executors.default").warning('Job "%s" missed by %s', NAME, None)
    logging.getLogger("telegram.ext.Updater").warning("Webhook received data: %(data)s", {"data": TYPED})
    logging.getLogger("httpx").warning(RAW_UPDATES)

    assert later_handler.getvalue().splitlines() == [
        "WARNING telegram.ext.AIORateLimiter: Rate limit hit. Retrying after 3.0 seconds",
        'WARNING apscheduler.executors.default: Job "<str>" missed by None',
        "WARNING telegram.ext.Updater: Webhook received data: <str>",
        "WARNING httpx: <list>",
    ]


def test_the_bots_own_loggers_keep_their_arguments(later_handler: io.StringIO) -> None:
    logging.getLogger("bot.runtime.outbox").warning("Message %s for case %s: %s", 7, "C-12", "gave up")
    assert later_handler.getvalue() == "WARNING bot.runtime.outbox: Message 7 for case C-12: gave up\n"


def test_the_token_is_redacted_from_every_logger_and_traceback(
    later_handler: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("bot.app").warning("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("httpcore.http11").warning(f"send_request_headers url=/bot{TOKEN}/getMe")
    try:
        # PTB's own words when Telegram refuses the token (telegram/_bot.py).
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken:
        logging.getLogger("bot.app").exception("Could not start")

    written = later_handler.getvalue()
    assert "https://api.telegram.org/bot[token]/getMe" in written
    assert "send_request_headers url=/bot[token]/getMe" in written
    assert "The token `[token]` was rejected" in written
    assert TOKEN not in written and TOKEN not in caplog.text


def test_library_loggers_stay_at_warning_when_the_bot_logs_debug() -> None:
    configure_logging(level=logging.DEBUG, secrets=[TOKEN])
    for name in (*LIBRARY_LOGGERS, "telegram.Bot", "telegram.ext.Application", "apscheduler.scheduler"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    assert logging.getLogger("bot.app").getEffectiveLevel() == logging.DEBUG


def test_configuring_twice_wraps_the_record_factory_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(secrets=["111:FIRSTFIRSTFIRST"])
    factory = logging.getLogRecordFactory()
    configure_logging(secrets=[TOKEN])

    assert logging.getLogRecordFactory() is factory
    logging.getLogger("telegram.Bot").critical(
        "Error while parsing updates! Received data was %r", RAW_UPDATES
    )
    logging.getLogger("bot.app").warning("token %s", TOKEN)
    err = capsys.readouterr().err
    assert "Received data was <list>" in err  # not <_Withheld>: the arguments were replaced once
    assert "token [token]" in err
