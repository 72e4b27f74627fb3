from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.core.config import TOKEN_ENV, ConfigError, DeliveryConfig, QuietHours, SLAConfig, load_config

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
    assert config.telegram.requests_in_flight == 4
    assert config.telegram.request_timeout == 5
    assert config.union.timezone == "Asia/Shanghai"
    assert config.storage.database == str(tmp_path / "data" / "union.db")


def test_new_sections_are_optional_and_their_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), environ={})
    documented = """
[sla]
first_response = "4h"
first_response_collective = "1h"
update_every = "3d"
remind_every = "2h"
escalate_after_reminders = 2
quiet_hours = "22:00-07:00"
[privacy]
retain_closed = "365d"
retain_inactive_workers = "730d"
[broadcast]
messages_per_second = 25
[reports]
collective_threshold = 3
collective_window = "30d"
[delivery]
give_up_after = "24h"
stuck_after = "15m"
"""
    written = load_config(write(tmp_path, GOOD + documented), environ={})
    assert written == config
    assert config.sla.first_response == timedelta(hours=4)
    assert config.sla.quiet_hours == QuietHours(time(22, 0), time(7, 0))
    assert config.privacy.retain_inactive_workers == timedelta(days=730)
    assert config.broadcast.messages_per_second == 25
    assert config.reports.collective_window == timedelta(days=30)
    assert config.delivery.give_up_after == timedelta(hours=24)
    assert config.delivery.stuck_after == timedelta(minutes=15)


def test_empty_quiet_hours_turn_them_off(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + '[sla]\nquiet_hours = ""\n'), environ={})
    assert config.sla.quiet_hours is None


def test_durations_and_quiet_hours_from_python_are_checked_too() -> None:
    assert SLAConfig(remind_every=timedelta(minutes=30)).remind_every == timedelta(minutes=30)
    with pytest.raises(ValueError, match="longer than zero"):
        SLAConfig(remind_every=timedelta(0))
    assert str(SLAConfig(quiet_hours="23:30-6:00").quiet_hours) == "23:30-06:00"


def test_the_examples_placeholder_token_is_not_taken_for_a_real_one() -> None:
    config = load_config(REPO / "config.example.toml", environ={})
    with pytest.raises(ConfigError, match=r"^telegram\.token: still the example's placeholder"):
        config.require_token("config.toml")
    real = load_config(REPO / "config.example.toml", environ={TOKEN_ENV: "999:FROMTHEENVIRONMENT"})
    assert real.require_token("config.toml") == "999:FROMTHEENVIRONMENT"


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
        (("[union]", '[sla]\nfirst_response = "4 hours"\n[union]'), r'^sla\.first_response: .*"1d12h"'),
        (("[union]", "[sla]\nremind_every = 2\n[union]"), r"^sla\.remind_every: write a quoted duration"),
        (("[union]", '[sla]\nupdate_every = "0d"\n[union]'), r"^sla\.update_every: .*longer than"),
        (("[union]", "[sla]\nescalate_after_reminders = 0\n[union]"), r"^sla\.escalate_after_reminders: "),
        (("[union]", "[sla]\nescalate_after_reminders = true\n[union]"), r"^sla\.escalate_after_reminders: "),
        (("[union]", '[sla]\nquiet_hours = "22:00"\n[union]'), r'^sla\.quiet_hours: .*"HH:MM-HH:MM"'),
        (("[union]", '[sla]\nquiet_hours = "22:00-24:00"\n[union]'), r"^sla\.quiet_hours: .*00:00 to 23:59"),
        (("[union]", '[sla]\nquiet_hours = "07:00-07:00"\n[union]'), r"^sla\.quiet_hours: .*same time"),
        (("[union]", '[sla]\nfirst_respons = "4h"\n[union]'), r"^sla\.first_respons: unknown key"),
        (("[union]", '[privacy]\nretain_closed = "1y"\n[union]'), r"^privacy\.retain_closed: "),
        (("[telegram]", "[telegram]\nrequests_in_flight = 0"), r"^telegram\.requests_in_flight: "),
        (("[telegram]", '[telegram]\nrequests_in_flight = "8"'), r"^telegram\.requests_in_flight: "),
        (("[union]", "[broadcast]\nmessages_per_second = 31\n[union]"), r"^broadcast\.messages_per_second: "),
        (("[union]", "[broadcast]\nmessages_per_second = 0\n[union]"), r"^broadcast\.messages_per_second: "),
        (("[union]", "[reports]\ncollective_threshold = 1\n[union]"), r"^reports\.collective_threshold: "),
        (("[union]", '[reports]\ncollective_window = "-30d"\n[union]'), r"^reports\.collective_window: "),
        (("[telegram]", "[telegram]\nrequest_timeout = 0"), r"^telegram\.request_timeout: .*greater than 0"),
        (("[telegram]", "[telegram]\nrequest_timeout = -1.5"), r"^telegram\.request_timeout: "),
        (("[telegram]", "[telegram]\nrequest_timeout = 301"), r"^telegram\.request_timeout: .*300"),
        (("[telegram]", "[telegram]\nrequest_timeout = inf"), r"^telegram\.request_timeout: "),
        (("[telegram]", "[telegram]\nrequest_timeout = nan"), r"^telegram\.request_timeout: "),
        (("[telegram]", "[telegram]\nrequest_timeout = true"), r"^telegram\.request_timeout: .*number"),
        (("[telegram]", '[telegram]\nrequest_timeout = "5"'), r"^telegram\.request_timeout: .*number"),
        (("[union]", '[delivery]\ngive_up_after = "1y"\n[union]'), r'^delivery\.give_up_after: .*"1d12h"'),
        (("[union]", "[delivery]\ngive_up_after = 24\n[union]"), r"^delivery\.give_up_after: write a quoted"),
        (("[union]", '[delivery]\nstuck_after = "0m"\n[union]'), r"^delivery\.stuck_after: .*longer than"),
        (("[union]", '[delivery]\nstuck_afer = "1h"\n[union]'), r"^delivery\.stuck_afer: unknown key"),
        (
            ("[union]", '[delivery]\nstuck_after = "24h"\n[union]'),
            r"^delivery\.stuck_after: must be shorter than delivery\.give_up_after$",
        ),
        (
            ("[union]", '[delivery]\ngive_up_after = "10m"\n[union]'),
            r"^delivery\.stuck_after: must be shorter than delivery\.give_up_after$",
        ),
    ],
)
def test_bad_key_is_named_in_one_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(write(tmp_path, text), environ={})
    assert "\n" not in str(raised.value)
    assert raised.value.problems == [str(raised.value)]


def test_every_problem_is_listed_each_with_its_key(tmp_path: Path) -> None:
    text = GOOD.replace('name = "测试工会"', 'timezone = "Mars/Olympus"')
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text + '[delivery]\nstuck_after = "2d"\n'), environ={})
    assert raised.value.problems == [
        "union.name: missing (required)",
        "union.timezone: unknown time zone 'Mars/Olympus' (use an IANA name like Asia/Shanghai)",
        "delivery.stuck_after: must be shorter than delivery.give_up_after",
    ]
    assert str(raised.value) == "\n".join(raised.value.problems)


def test_request_timeout_takes_whole_or_fractional_seconds(tmp_path: Path) -> None:
    for written, seconds in (("2.5", 2.5), ("30", 30), ("300", 300)):
        text = GOOD.replace("[telegram]", f"[telegram]\nrequest_timeout = {written}")
        assert load_config(write(tmp_path, text), environ={}).telegram.request_timeout == seconds


def test_delivery_durations_are_read_like_the_sla_ones(tmp_path: Path) -> None:
    text = GOOD + '[delivery]\ngive_up_after = "1d12h"\nstuck_after = "90m"\n'
    delivery = load_config(write(tmp_path, text), environ={}).delivery
    assert delivery == DeliveryConfig(give_up_after=timedelta(hours=36), stuck_after=timedelta(minutes=90))


def test_a_message_must_count_as_stuck_before_it_is_given_up() -> None:
    assert DeliveryConfig(give_up_after=timedelta(minutes=20)).stuck_after == timedelta(minutes=15)
    with pytest.raises(ValueError, match=r"stuck_after\n.*must be shorter than delivery\.give_up_after"):
        DeliveryConfig(give_up_after=timedelta(hours=1), stuck_after=timedelta(hours=1))


def test_a_bad_give_up_after_is_the_only_problem_reported(tmp_path: Path) -> None:
    # The stuck/give-up comparison needs a valid give_up_after; without one it stays silent.
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, GOOD + '[delivery]\ngive_up_after = "soon"\n'), environ={})
    assert [problem.split(":")[0] for problem in raised.value.problems] == ["delivery.give_up_after"]


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
