"""Worker conversations, one module per flow."""

from __future__ import annotations

from telegram.ext import BaseHandler

PRIVACY_GROUP = -1  # before the conversations: see flows/privacy.py


def conversation_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The flows' handlers, in the order they get to see an update."""
    # Imported here: the flows import bot.commands, which bot.app wires up after importing this package.
    from flows import followup, join, legal, menu, mycases, onboarding, rights, wages

    # Forms first: while one is open, its fallbacks see /start and other commands and ask before
    # dropping the draft.
    return [
        join.conversation(),
        *wages.handlers(),
        *legal.handlers(),
        *mycases.handlers(),
        onboarding.conversation(),
        *rights.handlers(),
        *followup.handlers(),
        *mycases.album_handlers(),
        *menu.handlers(),
    ]


def privacy_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """/mydata, /forget, /deletemessages and the privacy page, registered in PRIVACY_GROUP."""
    from flows import privacy

    return privacy.handlers()
