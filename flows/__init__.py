"""Worker conversations, one module per flow."""

from __future__ import annotations

from bot.core.context import BotHandler
from flows import assistance, followup, join, legal, menu, mycases, onboarding, privacy, rights, wages

PRIVACY_GROUP = -1  # before the conversations: see flows/privacy.py


def conversation_handlers() -> list[BotHandler]:
    """The flows' handlers, in the order they get to see an update."""
    # Forms first: while one is open, its fallbacks see /start and other commands and ask before
    # dropping the draft.
    return [
        join.conversation(),
        *wages.handlers(),
        *legal.handlers(),
        *assistance.handlers(),
        *mycases.handlers(),
        onboarding.conversation(),
        *rights.handlers(),
        *followup.handlers(),
        *mycases.album_handlers(),
        *menu.handlers(),
    ]


def privacy_handlers() -> list[BotHandler]:
    """/mydata, /forget, /deletemessages and the privacy page, registered in PRIVACY_GROUP."""
    return privacy.handlers()
