from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import TOKEN_ENV, ConfigError, load_config
from bot.logs import configure_logging

REPO = Path(__file__).resolve().parent.parent
GOOD = """
[telegram]
token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
[storage]
database = "data/union.db"
[union]
name = "测试工会"
[[officers]]
telegram_id = 111
name = "王干事"
specialties = ["wages"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid() -> None:
    config = load_config(REPO / "config.example.toml", environ={})
    assert config.union.default_language == "zh-Hans"
    assert config.officers[1].role == "admin"


def test_defaults_and_relative_database_path(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    assert config.telegram.api_base_url == "https://api.telegram.org/bot"
    assert config.union.timezone == "Asia/Shanghai"
    assert config.storage.database == str(tmp_path / "data" / "union.db")


def test_token_from_environment_overrides_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={TOKEN_ENV: "999:FROMTHEENVIRONMENT"})
    assert config.require_token("config.toml") == "999:FROMTHEENVIRONMENT"


def test_missing_token_says_how_to_provide_one(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, GOOD.replace('token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"', "")), environ={}
    )
    with pytest.raises(ConfigError, match=r"telegram\.token: .*@BotFather.*UNION_BOT_TOKEN"):
        config.require_token("config.toml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('name = "测试工会"', ""), r"^union\.name: missing \(required\)$"),
        (("[union]", '[union]\ntimezone = "Mars/Olympus"'), r"^union\.timezone: unknown time zone"),
        (("[union]", '[union]\ndefault_language = "fr"'), r"^union\.default_language: "),
        (('specialties = ["wages"]', 'specialties = ["gardening"]'), r"^officers\[0\]\.specialties\[0\]: "),
        (("telegram_id = 111", 'telegram_id = "abc"'), r"^officers\[0\]\.telegram_id: "),
        (("[storage]", "[storage]\ndatbase = 1"), r"^storage\.datbase: unknown key"),
        (
            ("[telegram]", '[telegram]\napi_file_url = "ftp://files"'),
            r"^telegram\.api_file_url: must start with http",
        ),
    ],
)
def test_bad_key_is_named_in_one_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(write(tmp_path, text), environ={})
    assert "\n" not in str(raised.value)


def test_bad_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(
            write(tmp_path, GOOD.replace("123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "not a token secret")),
            environ={},
        )
    assert str(raised.value).startswith("telegram.token: ")
    assert "secret" not in str(raised.value)


def test_duplicate_officer_is_refused(tmp_path: Path) -> None:
    text = GOOD + '\n[[officers]]\ntelegram_id = 111\nname = "又一个"\n'
    with pytest.raises(ConfigError, match=r"^officers: .*111 appears twice"):
        load_config(write(tmp_path, text), environ={})


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[union\nname="), environ={})
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_logs_never_contain_the_token(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "123456:SECRETSECRETSECRETSECRET"
    configure_logging(secrets=[token])
    logging.getLogger("telegram.test").warning("POST https://api.telegram.org/bot%s/getMe", token)
    assert token not in capsys.readouterr().err
    logging.getLogger().handlers.clear()
