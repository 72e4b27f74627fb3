"""The README documents every config key, command and CLI command, and CI runs its test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel

from bot.cli import _parser
from bot.core.config import Config
from bot.runtime.commands import COMMANDS, OFFICER_COMMANDS

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (None,))[0]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _config_keys(annotation, f"{prefix}{name}.")
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            keys += _config_keys(inner, f"{prefix}{name}[].")
        else:
            keys.append(prefix + name)
    return keys


def test_every_config_key_is_in_the_readme() -> None:
    keys = _config_keys(Config)
    assert "officers[].specialties" in keys
    missing = [key for key in keys if f"`{key}`" not in README]
    assert missing == []


def test_every_config_key_is_in_the_example() -> None:
    example = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    flat = {
        f"{section}.{key}"
        for section, values in example.items()
        if isinstance(values, dict)
        for key in values
    }
    flat |= {f"officers[].{key}" for officer in example["officers"] for key in officer}
    assert sorted(set(_config_keys(Config)) - flat) == []


def test_every_bot_command_is_in_the_readme() -> None:
    missing = [command.name for command in COMMANDS + OFFICER_COMMANDS if f"`/{command.name}" not in README]
    assert missing == []


def test_every_cli_command_is_in_the_readme() -> None:
    subcommands = next(action for action in _parser()._actions if action.dest == "command").choices
    missing = [name for name in subcommands if f"`union-bot {name}" not in README]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = next(
        line for line in ci.splitlines() if line.startswith("python3 -m venv") and "pytest" in line
    )
    assert command in README
    assert re.search(r"pytest\s*$", command)


def test_the_package_installs_the_bot_not_its_tests() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["bot*", "flows*", "storage*"]
    # Every dependency that matters has an upper bound: a major release must be chosen, not fallen into.
    assert all("<" in requirement for requirement in project["project"]["dependencies"])
