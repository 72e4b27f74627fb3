"""Worker conversations, one module per flow."""

from __future__ import annotations

from telegram.ext import BaseHandler


def conversation_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The flows' handlers, in the order they get to see an update."""
    from flows import onboarding  # noqa: PLC0415 - flows import bot.commands, which is wired by bot.app

    return [onboarding.conversation()]
