"""Configuration: read once from TOML into pydantic models; a bad key fails naming the key."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from storage.models import CaseKind, OfficerIn, OfficerRole

TOKEN_ENV = "UNION_BOT_TOKEN"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{5,}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and fits on one line."""


class _Section(BaseModel):
    # A misspelt key is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramConfig(_Section):
    token: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str = "https://api.telegram.org/file/bot"

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


class UnionConfig(_Section):
    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh-Hans", "zh-Hant", "en"] = "zh-Hans"

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
        return self.telegram.token.get_secret_value()


def load_config(path: str | os.PathLike[str], *, environ: dict[str, str] | None = None) -> Config:
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


def parse_config(raw: dict, *, base_dir: Path, environ: dict[str, str] | os._Environ[str]) -> Config:
    token = environ.get(TOKEN_ENV)
    if token:
        raw = {**raw, "telegram": {**raw.get("telegram", {}), "token": token}}
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_first_error(error)) from None
    database = config.storage.database
    if database != ":memory:" and not Path(database).is_absolute():
        resolved = str((base_dir / database).resolve())
        config = config.model_copy(update={"storage": StorageConfig(database=resolved)})
    return config


def _first_error(error: ValidationError) -> str:
    """One line: the dotted key and what is wrong with it (never the offending value)."""
    first = error.errors()[0]
    key = ""
    for part in first["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing (required)"
    elif first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against config.example.toml)"
    more = len(error.errors()) - 1
    return f"{key or 'config'}: {message}" + (f" (and {more} more problem(s))" if more else "")


__all__ = ["TOKEN_ENV", "Config", "ConfigError", "load_config", "parse_config"]
