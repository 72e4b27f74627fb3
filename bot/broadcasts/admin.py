"""Admins in the bot: /broadcast to write and schedule news for workers, /broadcasts to list and cancel.

/broadcast asks, one step at a time: the text in the union's default language, then the other
languages (or skip: those workers get the default), a photo or document (or skip), who gets it, when
(now, a date and time, or every week or day), an "I will attend" button or not; then it sends the
admin a preview exactly as workers will see it, and stores the broadcast only when they confirm.

Every step and every button checks again that the sender is an active admin (bot/cases/access.py):
rights may be taken away in the middle, and buttons can be forged. The answers so far are a draft in
``user_data``, committed to SQLite after every update and removed when the conversation ends
(bot/runtime/conversations.py).
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.broadcasts import dispatch as broadcasts
from bot.broadcasts.schedule import ScheduleError, describe, parse_when
from bot.cases.access import require_officer
from bot.cases.vocabulary import TRADE_LABELS, Trade
from bot.core.context import BotContext, BotHandler
from bot.core.dates import local_time
from bot.core.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Html, listing
from bot.runtime import conversations
from flows import forms
from flows.forms import buttons
from flows.subscription import PREVIEW_ATTEND
from storage.base import StorageError
from storage.models import Audience, AudienceKind, MediaKind, Schedule, ScheduleKind

logger = logging.getLogger(__name__)

TEXT, MORE_TEXT, MEDIA, AUDIENCE, AUDIENCE_VALUE, WHEN, ATTEND, CONFIRM = range(600, 608)

DRAFT = "broadcast_draft"  # user_data: the broadcast being written
BUTTON = "bd:"  # the conversation's buttons: "bd:skip", "bd:aud:<kind>", "bd:lang:<code>"...
SKIP = f"{BUTTON}skip"
NOW = f"{BUTTON}now"
YES, NO = f"{BUTTON}attend:yes", f"{BUTTON}attend:no"
SEND, DROP = f"{BUTTON}send", f"{BUTTON}drop"
AUDIENCE_PREFIX = f"{BUTTON}aud:"
LANGUAGE_PREFIX = f"{BUTTON}lang:"
TRADE_PREFIX = f"{BUTTON}trade:"
CANCEL = "bx:"  # "bx:<broadcast id>" under /broadcasts

REGION_LIMIT = 50
LIST_LIMIT = 10
_CANCEL_DATA = re.compile(rf"^{CANCEL}([0-9]{{1,18}})$")


# -- small helpers -----------------------------------------------------------------------------------


_conversation = conversations.AdminConversation(
    draft_key=DRAFT,
    empty_draft=lambda: {"texts": {}},
    require_admin=partial(require_officer, action="broadcast", admin=True),
)


def _language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _other_languages(context: BotContext) -> list[str]:
    default = context.config.union.default_language
    return [code for code in LANGUAGES if code != default]


def _skip_button(context: BotContext) -> Any:
    return buttons([[(context.t("Skip"), SKIP)]])


# -- the conversation --------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    """/broadcast: ask for the text in the union's default language."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    _conversation.discard(context)
    _conversation.draft(context)
    default = context.config.union.default_language
    await forms.say(
        update,
        context,
        context.t(
            "Write the news in {language}, as workers should read it. Bold and italics are kept. "
            "/cancel to stop.",
            language=_language_name(default),
        ),
    )
    return TEXT


def _typed_html(message: Message) -> tuple[str, int]:
    """What the admin typed as Telegram HTML (their bold stays bold, <b> typed as text stays text),
    and its visible length."""
    return message.text_html, len(message.text or "")


async def got_text(update: Update, context: BotContext) -> int | None:
    """The text in the default language, then the other languages one by one."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    message = update.effective_message
    assert message and message.text
    text, length = _typed_html(message)
    if length > broadcasts.TEXT_LIMIT:
        await forms.say(
            update,
            context,
            context.t(
                "That is too long: please keep it under {limit} characters.", limit=broadcasts.TEXT_LIMIT
            ),
        )
        return None
    draft = _conversation.draft(context)
    language = draft.get("asking") or context.config.union.default_language
    draft["texts"][language] = text
    return await _ask_next_language(update, context)


async def _ask_next_language(update: Update, context: BotContext) -> int:
    language = conversations.ask_next_language(
        _conversation.draft(context), "texts", _other_languages(context)
    )
    if language is None:
        return await _ask_media(update, context)
    await forms.say(
        update,
        context,
        context.t(
            "Now the same news in {language}, for workers who chose it. Or tap Skip: they get the "
            "{default} text.",
            language=_language_name(language),
            default=_language_name(context.config.union.default_language),
        ),
        _skip_button(context),
    )
    return MORE_TEXT


skip_language = _conversation.skip_language(_ask_next_language)


async def _ask_media(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t("Add a photo or a document, like a poster or a leaflet? Send it now, or tap Skip."),
        _skip_button(context),
    )
    return MEDIA


async def got_media(update: Update, context: BotContext) -> int | None:
    """A photo or a document to go with the text (sent again by its Telegram file id)."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    message = update.effective_message
    assert message
    if message.photo:
        kind, file_id = MediaKind.PHOTO, message.photo[-1].file_id
    elif message.document:
        kind, file_id = MediaKind.DOCUMENT, message.document.file_id
    else:
        return await media_hint(update, context)
    draft = _conversation.draft(context)
    longest = max(len(broadcasts.plain_text(text)) for text in draft["texts"].values())
    if longest > broadcasts.CAPTION_LIMIT:
        await forms.say(
            update,
            context,
            context.t(
                "With a photo or a document the text can have at most {limit} characters, and yours "
                "has {count}. Tap Skip to send the text alone, or /cancel and start again shorter.",
                limit=broadcasts.CAPTION_LIMIT,
                count=longest,
            ),
            _skip_button(context),
        )
        return None
    draft["media_kind"], draft["media_file_id"] = kind.value, file_id
    return await _ask_audience(update, context)


async def skip_media(update: Update, context: BotContext) -> int:
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    await conversations.pressed(update)
    draft = _conversation.draft(context)
    draft.pop("media_kind", None)
    draft.pop("media_file_id", None)
    return await _ask_audience(update, context)


async def _ask_audience(update: Update, context: BotContext) -> int:
    rows = [
        [(context.t(label), f"{AUDIENCE_PREFIX}{kind.value}")]
        for kind, label in broadcasts.AUDIENCE_LABELS.items()
    ]
    await forms.say(update, context, context.t("Who should get it?"), buttons(rows))
    return AUDIENCE


async def got_audience(update: Update, context: BotContext) -> int | None:
    """Everyone, members, open cases; language, trade and region ask one more thing."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    data = await conversations.pressed(update)
    try:
        kind = AudienceKind(data.removeprefix(AUDIENCE_PREFIX))
    except ValueError:
        return None
    draft = _conversation.draft(context)
    draft["audience_kind"] = kind.value
    if kind == AudienceKind.LANGUAGE:
        rows = [[(name, f"{LANGUAGE_PREFIX}{code}")] for code, name in LANGUAGE_NAMES.items()]
        await forms.say(update, context, context.t("Workers who read which language?"), buttons(rows))
        return AUDIENCE_VALUE
    if kind == AudienceKind.TRADE:
        rows = [[(context.t(label), f"{TRADE_PREFIX}{trade.value}")] for trade, label in TRADE_LABELS.items()]
        await forms.say(update, context, context.t("Workers in which trade?"), buttons(rows))
        return AUDIENCE_VALUE
    if kind == AudienceKind.REGION:
        await forms.say(
            update,
            context,
            context.t(
                "Type the township or district, like 城关镇. "
                "Workers whose workplace contains it get the news."
            ),
        )
        return AUDIENCE_VALUE
    return await _audience_chosen(update, context, Audience(kind=kind))


async def got_audience_value(update: Update, context: BotContext) -> int | None:
    """The language or trade pressed, or the region typed."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    kind = AudienceKind(_conversation.draft(context).get("audience_kind", AudienceKind.EVERYONE.value))
    if update.callback_query is not None:
        data = await conversations.pressed(update)
        if kind == AudienceKind.LANGUAGE and data.removeprefix(LANGUAGE_PREFIX) in LANGUAGES:
            value = data.removeprefix(LANGUAGE_PREFIX)
        elif kind == AudienceKind.TRADE and data.removeprefix(TRADE_PREFIX) in set(Trade):
            value = data.removeprefix(TRADE_PREFIX)
        else:
            return None
    else:
        region = conversations.typed(update)
        if kind != AudienceKind.REGION:
            await forms.say(update, context, context.t("Please tap one of the buttons above."))
            return None
        if not 1 <= len(region) <= REGION_LIMIT:
            await forms.say(
                update,
                context,
                context.t("Please type a place name of at most {limit} characters.", limit=REGION_LIMIT),
            )
            return None
        value = region
    return await _audience_chosen(update, context, Audience(kind=kind, value=value))


async def _audience_chosen(update: Update, context: BotContext, audience: Audience) -> int:
    draft = _conversation.draft(context)
    draft["audience"] = audience.model_dump(mode="json")
    count = await context.storage.count_audience(
        audience, default_language=context.config.union.default_language
    )
    await forms.say(
        update,
        context,
        context.t.plural(
            "{audience}: {count} worker would get it now.",
            "{audience}: {count} workers would get it now.",
            count,
            audience=broadcasts.audience_label(audience, context.language),
        ),
    )
    await forms.say(
        update,
        context,
        context.t(
            "When should it go out? Tap Now, or type a date and time like 2026-12-01 09:00, or a repeating "
            "time like every Monday 09:00 or every day 08:30 (time in {zone}).",
            zone=context.config.union.timezone,
        ),
        buttons([[(context.t("Now"), NOW)]]),
    )
    return WHEN


async def got_when(update: Update, context: BotContext) -> int | None:
    """Now (button), or a typed time or rule; nonsense is refused with examples."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    draft = _conversation.draft(context)
    if update.callback_query is not None:
        await conversations.pressed(update)
        draft["when"] = "now"
    else:
        try:
            schedule = parse_when(conversations.typed(update), context.config.union.zone, context.clock.now())
        except ScheduleError as error:
            await forms.say(update, context, error.text(context.language))
            return None
        draft["when"] = schedule.model_dump(mode="json")
    await forms.say(
        update,
        context,
        context.t("Add an “I will attend” button, for a training or a meeting?"),
        buttons([[(context.t("Yes, add it"), YES), (context.t("No"), NO)]]),
    )
    return ATTEND


async def got_attend(update: Update, context: BotContext) -> int | None:
    """Attend button or not; then the preview and the question to confirm."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    data = await conversations.pressed(update)
    draft = _conversation.draft(context)
    draft["attend"] = data == YES
    return await _preview(update, context)


def _schedule(context: BotContext, draft: dict[str, Any]) -> Schedule:
    when = draft.get("when")
    if when == "now" or when is None:
        return Schedule(kind=ScheduleKind.ONCE, at=context.clock.now())
    return Schedule.model_validate(when)


async def _preview(update: Update, context: BotContext) -> int:
    """Each language's version exactly as its workers get it, then what, to whom, when; confirm?"""
    assert update.effective_chat
    draft = _conversation.draft(context)
    config = context.config
    media_kind = MediaKind(draft["media_kind"]) if draft.get("media_kind") else None
    for language in draft["texts"]:
        method, params = broadcasts.render(
            texts=draft["texts"],
            media_kind=media_kind,
            media_file_id=draft.get("media_file_id"),
            attend_button=bool(draft.get("attend")),
            language=language,
            default_language=config.union.default_language,
            union_name=config.union.name_in(language),
            attend_data=PREVIEW_ATTEND,
        )
        try:
            await context.bot.do_api_request(
                method, api_kwargs={"chat_id": update.effective_chat.id, **params}
            )
        except BadRequest as error:
            logger.warning("A broadcast preview was refused: %s", error.message)
            await forms.say(
                update,
                context,
                context.t(
                    "Telegram refused this message, so workers could not get it either. "
                    "Please /broadcast again with a different text or file."
                ),
            )
            _conversation.discard(context)
            return ConversationHandler.END
    audience = Audience.model_validate(draft["audience"])
    count = await context.storage.count_audience(audience, default_language=config.union.default_language)
    when = (
        context.t("right after you confirm")
        if draft.get("when") == "now"
        else describe(_schedule(context, draft), config.union.zone, context.language)
    )
    languages = listing(context.language, (_language_name(code) for code in draft["texts"]))
    lines = [
        context.t("Above is what workers will see. Please check it."),
        "",
        context.t.plural(
            "To: {audience} ({count} worker now)",
            "To: {audience} ({count} workers now)",
            count,
            audience=broadcasts.audience_label(audience, context.language),
        ),
        context.t("When: {when}", when=when),
        context.t("Languages: {languages}", languages=languages),
        context.t(
            "“I will attend” button: {answer}",
            answer=context.t("yes") if draft.get("attend") else context.t("no"),
        ),
        "",
        context.t("Send it?"),
    ]
    await forms.say(
        update,
        context,
        "\n".join(lines),
        buttons([[(context.t("✅ Confirm"), SEND), (context.t("🗑 Discard"), DROP)]]),
    )
    return CONFIRM


async def confirm(update: Update, context: BotContext) -> int:
    """Store it (checked again: the admin may have lost their rights while reading the preview)."""
    admin = await _conversation.admin(update, context)
    if admin is None:
        return ConversationHandler.END
    data = await conversations.pressed(update)
    draft = _conversation.draft(context)
    if data == DROP:
        _conversation.discard(context)
        await forms.say(update, context, context.t("Discarded. Nothing was sent."))
        return ConversationHandler.END
    try:
        broadcast = await broadcasts.create(
            context.storage,
            context.config,
            context.clock,
            created_by=admin.telegram_id,
            texts=draft["texts"],
            audience=Audience.model_validate(draft["audience"]),
            schedule=_schedule(context, draft),
            attend_button=bool(draft.get("attend")),
            media_kind=MediaKind(draft["media_kind"]) if draft.get("media_kind") else None,
            media_file_id=draft.get("media_file_id"),
        )
    except (ValueError, KeyError):
        logger.warning("A broadcast draft could not be stored", exc_info=True)
        _conversation.discard(context)
        await forms.say(
            update, context, context.t("Something in this broadcast is missing. Please /broadcast again.")
        )
        return ConversationHandler.END
    _conversation.discard(context)
    context.union_app.broadcasts.wake()
    logger.info("An admin created broadcast %s", broadcast.id)
    assert broadcast.next_run_at is not None
    if draft.get("when") == "now":
        text = context.t("Broadcast #{number} is saved and goes out now.", number=broadcast.id)
    else:
        text = context.t(
            "Broadcast #{number} is saved. It goes out at {when}.",
            number=broadcast.id,
            when=local_time(broadcast.next_run_at, context.config.union.zone),
        )
        if broadcast.schedule.kind != ScheduleKind.ONCE:
            text += " " + context.t(
                "It repeats {rule}.",
                rule=describe(broadcast.schedule, context.config.union.zone, context.language),
            )
    await forms.say(
        update,
        context,
        text
        + "\n"
        + context.t("You will get a report when it has gone out. /broadcasts lists and cancels broadcasts."),
    )
    return ConversationHandler.END


text_hint = _conversation.hint(N_("Please write the news as text. You can add a photo or a document next."))
media_hint = _conversation.hint(N_("Please send a photo or a document, or tap Skip."))
tap_a_button = _conversation.hint(N_("Please tap one of the buttons above."))


# -- /broadcasts ---------------------------------------------------------------------------------------


async def list_broadcasts(update: Update, context: BotContext) -> None:
    """/broadcasts: the latest broadcasts with their counts; a cancel button for those still to send."""
    if await require_officer(update, context, action="broadcasts", admin=True) is None:
        return
    storage = context.storage
    shown = await storage.list_broadcasts(limit=LIST_LIMIT)
    if not shown:
        await forms.say(update, context, context.t("No broadcasts yet. /broadcast writes one."))
        return
    lines = [context.t("Broadcasts, newest first:"), ""]
    rows = []
    for broadcast in shown:
        report = await storage.latest_broadcast_report(broadcast.id)
        lines.append(broadcasts.summary_line(broadcast, report, context.config, context.language))
        if broadcasts.cancellable(broadcast):
            rows.append([(context.t("🛑 Cancel #{number}", number=broadcast.id), f"{CANCEL}{broadcast.id}")])
    await forms.say(update, context, Html("\n".join(lines)), buttons(rows) if rows else None)


async def on_cancel(update: Update, context: BotContext) -> None:
    """bx:<id>, admins only: nothing more of it goes out."""
    query = update.callback_query
    assert query and query.data
    if await require_officer(update, context, action="cancel broadcast", admin=True) is None:
        return
    match = _CANCEL_DATA.match(query.data)
    try:
        broadcast = await context.storage.cancel_broadcast(int(match.group(1))) if match else None
    except StorageError:
        broadcast = None
    if broadcast is None:
        await conversations.stale_step(update, context)
        return
    await query.answer()
    logger.info("An admin cancelled broadcast %s", broadcast.id)
    report = await context.storage.latest_broadcast_report(broadcast.id)
    text = context.t("Broadcast #{number} is cancelled: nothing more of it goes out.", number=broadcast.id)
    if report is not None:
        text += "\n" + broadcasts.report_counts(report, context.language, attend=broadcast.attend_button)
    await forms.say(update, context, text)


def handlers() -> list[BotHandler]:
    typed = filters.TEXT & ~filters.COMMAND
    # Typed as the fallbacks take it: PTB's handlers are invariant in their callback's result.
    pressed_stale: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        conversations.stale_step, pattern=f"^{BUTTON}"
    )
    return [
        ConversationHandler(
            entry_points=[CommandHandler("broadcast", start)],
            states={
                TEXT: [MessageHandler(typed, got_text), MessageHandler(~filters.COMMAND, text_hint)],
                MORE_TEXT: [
                    MessageHandler(typed, got_text),
                    CallbackQueryHandler(skip_language, pattern=f"^{SKIP}$"),
                    MessageHandler(~filters.COMMAND, text_hint),
                ],
                MEDIA: [
                    MessageHandler(filters.PHOTO | filters.Document.ALL, got_media),
                    CallbackQueryHandler(skip_media, pattern=f"^{SKIP}$"),
                    MessageHandler(~filters.COMMAND, media_hint),
                ],
                AUDIENCE: [
                    CallbackQueryHandler(got_audience, pattern=f"^{AUDIENCE_PREFIX}"),
                    MessageHandler(~filters.COMMAND, tap_a_button),
                ],
                AUDIENCE_VALUE: [
                    CallbackQueryHandler(got_audience_value, pattern=f"^({LANGUAGE_PREFIX}|{TRADE_PREFIX})"),
                    MessageHandler(~filters.COMMAND, got_audience_value),
                ],
                WHEN: [
                    CallbackQueryHandler(got_when, pattern=f"^{NOW}$"),
                    MessageHandler(~filters.COMMAND, got_when),
                ],
                ATTEND: [
                    CallbackQueryHandler(got_attend, pattern=f"^({YES}|{NO})$"),
                    MessageHandler(~filters.COMMAND, tap_a_button),
                ],
                CONFIRM: [
                    CallbackQueryHandler(confirm, pattern=f"^({SEND}|{DROP})$"),
                    MessageHandler(~filters.COMMAND, tap_a_button),
                ],
            },
            fallbacks=[CommandHandler("cancel", _conversation.cancel), pressed_stale],
            allow_reentry=True,
            name="broadcast",
            persistent=True,
        ),
        CommandHandler("broadcasts", list_broadcasts),
        CallbackQueryHandler(on_cancel, pattern=f"^{CANCEL}"),
    ]
