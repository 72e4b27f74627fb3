"""Collecting evidence in a form: photos, documents, voice notes and videos, several, then "done".

Only Telegram's file ids are kept (the files stay on Telegram's servers); they go into the draft and,
on submit, become the case's attachments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.core.context import BotContext, BotHandler
from flows import forms
from storage.models import AttachmentIn

DONE = "evidence:done"
SKIP = "evidence:skip"
MAX_FILES = 20
EVIDENCE = "evidence"  # key in the draft's answers

MEDIA = (
    filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.VIDEO | filters.AUDIO | filters.VIDEO_NOTE
)


def attachment_of(message: Message) -> dict[str, Any] | None:
    """The file a message carries, as JSON for the draft; None if it carries none."""
    caption = message.caption
    if message.photo:
        largest = message.photo[-1]
        return {
            "kind": "photo",
            "file_id": largest.file_id,
            "file_unique_id": largest.file_unique_id,
            "caption": caption,
        }
    for kind in ("document", "voice", "video", "audio", "video_note"):
        media = getattr(message, kind)
        if media is not None:
            return {
                "kind": kind,
                "file_id": media.file_id,
                "file_unique_id": media.file_unique_id,
                "file_name": getattr(media, "file_name", None),
                "mime_type": getattr(media, "mime_type", None),
                "caption": caption,
            }
    return None


def collected(context: BotContext) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = forms.answers(context).setdefault(EVIDENCE, [])
    return files


def attachments(answers: dict[str, Any]) -> list[AttachmentIn]:
    return [AttachmentIn.model_validate(item) for item in answers.get(EVIDENCE, [])]


def _done_buttons(context: BotContext, *, any_yet: bool) -> Any:
    if any_yet:
        return forms.buttons([[(context.t("✅ Done"), DONE)]])
    return forms.buttons([[(context.t("Skip: I have none"), SKIP)]])


async def ask(update: Update, context: BotContext, state: int, prompt: str) -> int:
    """Ask for files; the buttons say Done once something arrived, Skip before."""
    return await forms.ask(
        update, context, state, prompt, _done_buttons(context, any_yet=bool(collected(context)))
    )


async def got_file(update: Update, context: BotContext) -> None:
    """Keep the file and invite more (the question stays until Done)."""
    message = update.effective_message
    assert message
    item = attachment_of(message)
    if item is None:  # filters let only media through; defensive for new media types
        await _hint(update, context)
        return
    files = collected(context)
    if len(files) >= MAX_FILES:
        await forms.say(
            update,
            context,
            context.t("That is enough files, thank you. Tap Done to go on."),
            _done_buttons(context, any_yet=True),
        )
        return
    files.append(item)
    await forms.say(
        update,
        context,
        context.t("Got it ({count}). Send more, or tap Done.", count=len(files)),
        _done_buttons(context, any_yet=True),
    )


async def _hint(update: Update, context: BotContext) -> None:
    await forms.say(
        update,
        context,
        context.t("Please send a photo, a file or a voice note, or tap the button."),
        _done_buttons(context, any_yet=bool(collected(context))),
    )


def state(on_done: Callable[[Update, BotContext], Awaitable[int]]) -> list[BotHandler]:
    """Handlers for an evidence question: files are kept, Done/Skip moves on, anything else gets a hint."""

    async def finished(update: Update, context: BotContext) -> int:
        assert update.callback_query
        await update.callback_query.answer()
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
        return await on_done(update, context)

    return [
        MessageHandler(MEDIA, got_file),
        CallbackQueryHandler(finished, pattern=f"^({DONE}|{SKIP})$"),
        MessageHandler(~filters.COMMAND, _hint),
    ]


def describe(context: BotContext, answers: dict[str, Any]) -> str:
    """For the summary: how many files, or none."""
    count = len(answers.get(EVIDENCE, []))
    return context.t.plural("{count} file", "{count} files", count) if count else context.t("none")
