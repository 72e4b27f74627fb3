"""What an admin's step-by-step conversation shares (/broadcast, "New training"): the draft, the admin
check at every step, reading a step's answer, and the answers to input that does not fit the step.

The draft lives in ``user_data``, which PTB persistence commits to SQLite after every update, so a
restart resumes at the same question. Who counts as an admin is bot/cases/access.py's rule, a layer
above this one: each conversation hands its check in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from bot.core.context import BotContext
from storage.models import Officer

# A conversation step as PTB calls it: the next state, END, or None to stay at the question.
Step = Callable[[Update, BotContext], Coroutine[Any, Any, int | None]]


@dataclass(frozen=True)
class AdminConversation:
    """One admin conversation's draft and admin check."""

    draft_key: str  # in user_data, persisted: renaming it loses the drafts being written
    empty_draft: Callable[[], dict[str, Any]]
    require_admin: Callable[[Update, BotContext], Awaitable[Officer | None]]  # None after a refusal

    def draft(self, context: BotContext) -> dict[str, Any]:
        """The answers so far; an empty draft when there is none."""
        assert context.user_data is not None
        value = context.user_data.get(self.draft_key)
        if not isinstance(value, dict):
            value = context.user_data[self.draft_key] = self.empty_draft()
        return value

    def discard(self, context: BotContext) -> None:
        assert context.user_data is not None
        context.user_data.pop(self.draft_key, None)

    async def admin(self, update: Update, context: BotContext) -> Officer | None:
        """The acting admin, checked again at every step (rights may be taken away in the middle, and
        buttons can be forged); after a refusal the draft is dropped."""
        admin = await self.require_admin(update, context)
        if admin is None:
            self.discard(context)
        return admin

    def hint(self, msgid: str) -> Step:
        """A step for input that does not fit the question: say what is wanted (``msgid``); it stays."""

        async def hint(update: Update, context: BotContext) -> int | None:
            if await self.admin(update, context) is None:
                return ConversationHandler.END
            await say(update, context, context.t(msgid))
            return None

        return hint

    def skip_language(self, ask_next: Callable[[Update, BotContext], Awaitable[int]]) -> Step:
        """A step for Skip while a language's text is asked: it is not asked again; then ``ask_next``."""

        async def skip(update: Update, context: BotContext) -> int | None:
            if await self.admin(update, context) is None:
                return ConversationHandler.END
            await pressed(update)
            _skip_asked_language(self.draft(context))
            return await ask_next(update, context)

        return skip

    async def cancel(self, update: Update, context: BotContext) -> int:
        """/cancel: the draft is dropped."""
        self.discard(context)
        await say(update, context, context.t("Stopped. Nothing was saved or sent."))
        return ConversationHandler.END


def ask_next_language(draft: dict[str, Any], texts_key: str, languages: Iterable[str]) -> str | None:
    """The next of ``languages`` to ask a text in (none in ``draft[texts_key]`` yet, not skipped), kept as
    the one being asked; None when every one is done."""
    skipped = draft.get("skipped", [])
    missing = [code for code in languages if code not in draft[texts_key] and code not in skipped]
    if not missing:
        draft.pop("asking", None)
        return None
    draft["asking"] = missing[0]
    return missing[0]


def _skip_asked_language(draft: dict[str, Any]) -> None:
    """Skip pressed: the language being asked is not asked again (its readers get the default text)."""
    if draft.get("asking"):
        draft.setdefault("skipped", []).append(draft.pop("asking"))


async def stale_step(update: Update, context: BotContext) -> None:
    """A button of the conversation that does not belong to the current step."""
    assert update.callback_query
    await update.callback_query.answer(context.t("This button is no longer active."), show_alert=True)


async def pressed(update: Update) -> str:
    """Stop the spinner of the pressed button and return its data."""
    query = update.callback_query
    assert query and query.data
    await query.answer()
    return query.data


def typed(update: Update) -> str:
    """The typed answer on one line: runs of spaces and line breaks as one space."""
    message = update.effective_message
    return " ".join(((message.text if message else "") or "").split())


async def say(update: Update, context: BotContext, text: str) -> None:
    """Send a message to the chat the update came from."""
    assert update.effective_chat
    await context.bot.send_message(update.effective_chat.id, text)
