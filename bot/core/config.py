"""Configuration: read once from TOML into pydantic models; a bad key fails naming the key."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.core.durations import ACCEPTED, parse_duration
from storage.models import CaseKind, OfficerIn, OfficerRole

TOKEN_ENV = "UNION_BOT_TOKEN"
EXAMPLE_TOKEN = "123456:ABC-replace-with-your-token"  # the placeholder in config.example.toml
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{5,}$")


class ConfigError(Exception):
    """The configuration cannot be used: ``problems`` holds one line per problem, each naming its key."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


# TOML has real integers: refuse true, 2.0 and "2" rather than quietly reading them as numbers.
_StrictInt = Annotated[int, Field(strict=True)]


class _Section(BaseModel):
    # A misspelt key is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramConfig(_Section):
    token: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str = "https://api.telegram.org/file/bot"
    # Bot API requests on the wire at once (bot/botapi.py): enough for about 30 messages a second while
    # Telegram answers within 130 ms. A bot far from Telegram, or behind a slow proxy, may need more.
    requests_in_flight: Annotated[_StrictInt, Field(ge=1, le=64)] = 4
    # Seconds Telegram has to answer one request before it counts as failed (PTB's own default is 5);
    # long polling adds its own wait on top. Strict: true or "5" is a mistake, not a number.
    request_timeout: Annotated[float, Field(strict=True, gt=0, le=300, allow_inf_nan=False)] = 5.0

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: SecretStr | None) -> SecretStr | None:
        # Never echo the value: the error message must not leak a real token.
        if token is not None and not _TOKEN_SHAPE.match(token.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits, a colon, then letters)")
        return token

    @field_validator("api_base_url", "api_file_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


class StorageConfig(_Section):
    database: str = "data/union.db"


Language = Literal["zh-Hans", "zh-Hant", "en"]


class UnionConfig(_Section):
    name: str = Field(min_length=1)
    # The name as written in another language, e.g. 某某鎮總工會 for zh-Hant readers; else ``name``.
    names: dict[Language, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    default_language: Language = "zh-Hans"

    def name_in(self, language: str) -> str:
        # The keys are Languages; any other str just misses, so the cast only widens the look-up.
        return self.names.get(cast(Language, language), self.name)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (use an IANA name like Asia/Shanghai)") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _duration(value: object) -> timedelta:
    # A timedelta comes from Python (the sandbox, tests); a config file always gives text.
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value
    if not isinstance(value, str):
        raise ValueError(f"write a quoted duration: {ACCEPTED}")
    return parse_duration(value)


Duration = Annotated[timedelta, PlainValidator(_duration)]
_CLOCK_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock times from ``start`` up to ``end``; past midnight when ``end`` is earlier."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _quiet_hours(value: object) -> QuietHours | None:
    if isinstance(value, QuietHours) or value is None:
        return value
    if not isinstance(value, str):
        raise ValueError('write "HH:MM-HH:MM", like "22:00-07:00", or "" for none')
    if not value.strip():
        return None
    span = _clock_span(value)
    if span is None:
        raise ValueError(
            f'{value!r} is not a time span: write "HH:MM-HH:MM" (00:00 to 23:59), like "22:00-07:00", '
            'or "" for none'
        )
    if span.start == span.end:
        raise ValueError(f'{value!r} starts and ends at the same time: write "" for no quiet hours')
    return span


def _clock_span(text: str) -> QuietHours | None:
    match = _CLOCK_SPAN.match(text)
    if match is None:
        return None
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    try:
        return QuietHours(time(start_hour, start_minute), time(end_hour, end_minute))
    except ValueError:  # 24:00, 07:60
        return None


class SLAConfig(_Section):
    """How soon officers must act on a case, and when they are reminded (see bot/sla.py)."""

    first_response: Duration = timedelta(hours=4)
    first_response_collective: Duration = timedelta(hours=1)
    # A hardship assistance application needs checking more than rescuing: about a working day. An
    # emergency one (an accident, a lost job) is urgent and gets first_response_collective.
    first_response_assistance: Duration = timedelta(days=1)
    update_every: Duration = timedelta(days=3)
    remind_every: Duration = timedelta(hours=2)
    escalate_after_reminders: Annotated[_StrictInt, Field(ge=1)] = 2
    quiet_hours: Annotated[QuietHours | None, PlainValidator(_quiet_hours)] = QuietHours(time(22), time(7))


_CLOCK_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def _clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    match = _CLOCK_TIME.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError:
        raise ValueError(f'{value!r} is not a time of day: write "HH:MM", like "08:00"') from None


ClockTime = Annotated[time, PlainValidator(_clock_time)]


class DigestsConfig(_Section):
    """The morning digest for each officer; on Mondays the admins' weekly report comes with it."""

    time: ClockTime = time(8)  # in [union].timezone


class FollowupConfig(_Section):
    """Asking the worker, some days after resolution, whether the problem is really solved."""

    enabled: bool = True
    after: Duration = timedelta(days=7)


class PrivacyConfig(_Section):
    retain_closed: Duration = timedelta(days=365)
    retain_inactive_workers: Duration = timedelta(days=730)


class BroadcastConfig(_Section):
    # Telegram allows about 30 messages a second to different chats; more gets the bot throttled.
    messages_per_second: Annotated[_StrictInt, Field(ge=1, le=30)] = 25


class ReportsConfig(_Section):
    # One report is never collective, so the threshold starts at two.
    collective_threshold: Annotated[_StrictInt, Field(ge=2)] = 3
    collective_window: Duration = timedelta(days=30)


class DeliveryConfig(_Section):
    """How long the outbox retries a message Telegram refuses for now, and when one counts as stuck."""

    # Declared first: the check of stuck_after reads it.
    give_up_after: Duration = timedelta(hours=24)
    # Checked when left out too: give_up_after = "10m" alone is as wrong as both written.
    stuck_after: Duration = Field(default=timedelta(minutes=15), validate_default=True)

    @field_validator("stuck_after")
    @classmethod
    def _stuck_before_given_up(cls, stuck_after: timedelta, info: ValidationInfo) -> timedelta:
        # A message given up on before it could count as stuck would never show in /stats.
        give_up_after = info.data.get("give_up_after")  # absent when it was itself invalid
        if give_up_after is not None and stuck_after >= give_up_after:
            raise ValueError("must be shorter than delivery.give_up_after")
        return stuck_after


class OfficerConfig(_Section):
    telegram_id: Annotated[int, Field(gt=0)]
    name: str = Field(min_length=1)
    role: OfficerRole = OfficerRole.OFFICER
    specialties: list[CaseKind] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    languages: list[Literal["zh-Hans", "zh-Hant", "en"]] = Field(default_factory=list)
    active: bool = True

    def to_officer(self) -> OfficerIn:
        return OfficerIn(**self.model_dump())


class Config(_Section):
    telegram: TelegramConfig = TelegramConfig()
    storage: StorageConfig = StorageConfig()
    union: UnionConfig
    sla: SLAConfig = SLAConfig()
    digests: DigestsConfig = DigestsConfig()
    followup: FollowupConfig = FollowupConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    broadcast: BroadcastConfig = BroadcastConfig()
    reports: ReportsConfig = ReportsConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    officers: list[OfficerConfig] = Field(default_factory=list)

    @field_validator("officers")
    @classmethod
    def _unique_officers(cls, officers: list[OfficerConfig]) -> list[OfficerConfig]:
        seen: set[int] = set()
        for officer in officers:
            if officer.telegram_id in seen:
                raise ValueError(f"telegram_id {officer.telegram_id} appears twice")
            seen.add(officer.telegram_id)
        return officers

    def require_token(self, source: str) -> str:
        """The bot token, or a ConfigError saying exactly how to provide one."""
        if self.telegram.token is None:
            raise ConfigError(
                f"telegram.token: no bot token. Get one from @BotFather, then set token under [telegram] "
                f"in {source} or the environment variable {TOKEN_ENV}"
            )
        token = self.telegram.token.get_secret_value()
        if token == EXAMPLE_TOKEN:
            raise ConfigError(
                f"telegram.token: still the example's placeholder. Put your bot's token from @BotFather "
                f"under [telegram] in {source}, or set the environment variable {TOKEN_ENV}"
            )
        return token


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; relative database paths are taken from the file's folder."""
    environ = os.environ if environ is None else environ
    config_path = Path(path)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file (copy config.example.toml to start)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_path}: not valid TOML: {error}") from None
    return parse_config(raw, base_dir=config_path.parent, environ=environ)


def parse_config(raw: dict[str, Any], *, base_dir: Path, environ: Mapping[str, str]) -> Config:
    token = environ.get(TOKEN_ENV)
    if token:
        raw = {**raw, "telegram": {**raw.get("telegram", {}), "token": token}}
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(*_problems(error)) from None
    database = config.storage.database
    if database != ":memory:" and not Path(database).is_absolute():
        resolved = str((base_dir / database).resolve())
        config = config.model_copy(update={"storage": StorageConfig(database=resolved)})
    return config


def _problems(error: ValidationError) -> list[str]:
    """One line per problem: the dotted key and what is wrong with it (never the offending value)."""
    problems = []
    for problem in error.errors():
        key = ""
        for part in problem["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "missing (required)"
        elif problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against config.example.toml)"
        problems.append(f"{key or 'config'}: {message}")
    return problems


__all__ = [
    "TOKEN_ENV",
    "BroadcastConfig",
    "Config",
    "ConfigError",
    "DeliveryConfig",
    "Duration",
    "PrivacyConfig",
    "QuietHours",
    "ReportsConfig",
    "SLAConfig",
    "TelegramConfig",
    "load_config",
    "parse_config",
]
