"""Who may do what: checked on every officer action, not only when a menu is shown.

A button can be forwarded, replayed from an old message or forged, so every command and every press
re-reads the officer from storage (an admin may have deactivated them a minute ago) and, for a case,
whether it is theirs. Refusals are logged with the action only: no names, ids or case contents.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.core.context import BotContext
from storage.models import Case, Officer, OfficerRole

logger = logging.getLogger(__name__)


async def current_officer(update: Update, context: BotContext) -> Officer | None:
    """The active officer or admin behind this update, or None."""
    user = update.effective_user
    if user is None:
        return None
    officer = await context.storage.get_officer(user.id)
    return officer if officer is not None and officer.active else None


async def require_officer(
    update: Update, context: BotContext, *, action: str, admin: bool = False
) -> Officer | None:
    """The acting officer (an admin when ``admin``), or None after a refusal."""
    officer = await current_officer(update, context)
    if officer is not None and (not admin or officer.role == OfficerRole.ADMIN):
        return officer
    logger.warning("Refused %s: %s", action, "not an admin" if officer else "not an active officer")
    await refuse(
        update,
        context,
        context.t("Only union admins can do this.")
        if officer is not None
        else context.t("This is only for union officers."),
    )
    return None


def may_handle(officer: Officer, case: Case) -> bool:
    """Admins handle every case; an officer only the cases where they are primary or backup."""
    return officer.role == OfficerRole.ADMIN or officer.telegram_id in case.officers


def case_scope(officer: Officer) -> int | None:
    """Whose cases an officer's lists, figures and exports cover: their own (as primary or backup),
    or everyone's (None) for an admin; the officer_id of a CaseQuery."""
    return None if officer.role == OfficerRole.ADMIN else officer.telegram_id


async def require_case(
    update: Update, context: BotContext, officer: Officer, case: Case | None
) -> Case | None:
    """The case, if it exists and this officer may act on it; else None after a refusal."""
    if case is not None and may_handle(officer, case):
        return case
    logger.warning("Refused access to a case: %s", "not theirs" if case else "no such case")
    await refuse(
        update,
        context,
        context.t("This case is not assigned to you.") if case else context.t("There is no such case."),
    )
    return None


async def refuse(update: Update, context: BotContext, text: str) -> None:
    """A short answer instead of the action: an alert on a button, a reply to a message."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text)
