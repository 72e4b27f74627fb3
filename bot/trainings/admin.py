"""/trainings: the list for officers and admins; admins create, announce and cancel trainings here.

"New training" asks one thing a message, as /broadcast does: the title in zh-Hans (every reader's
fallback, flows/training.py), then in zh-Hant and English (or skip: those workers see the zh-Hans
title), the start, the end (a time or how long), the place, a location pin (or skip), the seats, the
trade (or all trades), the region (or skip), an allowance note (or skip) and the sign-up deadline (the
day before, offered as a button). Then
the admin sees the training exactly as workers will read it (flows/training.py's ``describe_training``)
and publishes it, publishes and announces it, changes an answer, or discards it.

Every step and every button checks again that the sender is an active admin, and the answers so far
are a draft in ``user_data``, as in /broadcast (bot/runtime/conversations.py).
Opening a training and marking who came is bot/trainings/attendance.py.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cases.access import require_officer
from bot.cases.amounts import parse_workers
from bot.cases.vocabulary import TRADE_LABELS, Trade
from bot.core.context import BotContext, BotHandler
from bot.core.dates import local_time
from bot.core.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Html, labelled
from bot.runtime import conversations
from bot.trainings import attendance, publishing
from bot.trainings.times import (
    TimeError,
    default_deadline,
    parse_deadline,
    parse_end,
    parse_start,
)
from flows import forms
from flows.forms import buttons
from flows.training import FALLBACK_LANGUAGE, describe_training
from storage.base import StorageError
from storage.models import Audience, AudienceKind, NewTraining, Officer, Training, TrainingStatus

logger = logging.getLogger(__name__)

(
    TITLE,
    MORE_TITLE,
    STARTS,
    ENDS,
    PLACE,
    LOCATION,
    SEATS,
    TRADE,
    REGION,
    ALLOWANCE,
    DEADLINE,
    PREVIEW,
    EDIT,
) = range(900, 913)
ORDER = (TITLE, MORE_TITLE, STARTS, ENDS, PLACE, LOCATION, SEATS, TRADE, REGION, ALLOWANCE, DEADLINE)

DRAFT = "training_draft"  # user_data: the training being written
NEW = "tm:new"  # under /trainings, admins only: starts the conversation
BUTTON = "td:"  # the conversation's buttons
SKIP = f"{BUTTON}skip"
TRADE_PREFIX = f"{BUTTON}trade:"
ALL_TRADES = f"{TRADE_PREFIX}all"
DEFAULT_DEADLINE = f"{BUTTON}deadline"
PUBLISH, ANNOUNCE, CHANGE, DROP = f"{BUTTON}publish", f"{BUTTON}announce", f"{BUTTON}change", f"{BUTTON}drop"
EDIT_PREFIX = f"{BUTTON}edit:"
# Buttons under a published training's card (attendance.py shows them to admins).
ASK_ANNOUNCE, DO_ANNOUNCE, KEEP = "tm:b:", "tm:by:", "tm:k:"
ASK_CANCEL, DO_CANCEL = "tm:x:", "tm:xy:"
_ADMIN_DATA = re.compile(r"^tm:(b|by|x|xy|k):(?P<training>[0-9]{1,9})$")

TITLE_LIMIT = 100
PLACE_LIMIT = 200
ALLOWANCE_LIMIT = 300
SEATS_LIMIT = 1000
LIST_LIMIT = 20
RECENT = timedelta(days=30)  # the list keeps trainings this long after they started, for attendance

# What "change something" offers, and the question each starts with. The answers of a group are asked
# again together (a new start needs a new end), then the preview comes back.
EDITS: dict[str, tuple[str, int, int]] = {
    # key: (button label, first state asked, the state after which the preview comes back)
    "title": (N_("Title"), TITLE, MORE_TITLE),
    "time": (N_("Start and end"), STARTS, ENDS),
    "place": (N_("Place"), PLACE, PLACE),
    "location": (N_("Location pin"), LOCATION, LOCATION),
    "seats": (N_("Seats"), SEATS, SEATS),
    "audience": (N_("Trade and region"), TRADE, REGION),
    "allowance": (N_("Allowance"), ALLOWANCE, ALLOWANCE),
    "deadline": (N_("Sign-up deadline"), DEADLINE, DEADLINE),
}


# -- small helpers -----------------------------------------------------------------------------------


_conversation = conversations.AdminConversation(
    draft_key=DRAFT,
    empty_draft=lambda: {"titles": {}},
    require_admin=partial(require_officer, action="training", admin=True),
)


def _skip_button(context: BotContext) -> Any:
    return buttons([[(context.t("Skip"), SKIP)]])


def _moment(draft: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(draft[key])


async def _too_long(update: Update, context: BotContext, limit: int) -> None:
    await forms.say(
        update, context, context.t("That is too long: please keep it under {limit} characters.", limit=limit)
    )


async def _text_answer(update: Update, context: BotContext, *, key: str, limit: int, done: int) -> int | None:
    """A typed line of at most ``limit`` characters, or None when Skip is pressed; then the next question."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    draft = _conversation.draft(context)
    if update.callback_query is not None:  # only questions with a Skip button take a press
        await conversations.pressed(update)
        draft[key] = None
    else:
        answer = conversations.typed(update)
        if len(answer) > limit:
            await _too_long(update, context, limit)
            return None
        draft[key] = answer
    return await _go_on(update, context, done)


async def _go_on(update: Update, context: BotContext, done: int) -> int:
    """The next question; or, when changing one answer (or group), back to the preview after it."""
    draft = _conversation.draft(context)
    if draft.get("until") == done or done == ORDER[-1]:
        draft.pop("until", None)
        return await _preview(update, context)
    return await ASKERS[ORDER[ORDER.index(done) + 1]](update, context)


# -- the conversation --------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    """The "New training" button under /trainings: ask for the title."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    await conversations.pressed(update)
    _conversation.discard(context)
    _conversation.draft(context)
    return await _ask_title(update, context)


async def _ask_title(update: Update, context: BotContext) -> int:
    """The zh-Hans title; asked again from the start when the admin changes it."""
    draft = _conversation.draft(context)
    draft["titles"], draft["skipped"] = {}, []
    draft.pop("asking", None)
    await forms.say(
        update,
        context,
        context.t(
            "Write the training's title in {language}, as workers will read it, like 劳动法讲座 or "
            "电工证培训. /cancel to stop.",
            language=LANGUAGE_NAMES[FALLBACK_LANGUAGE],
        ),
    )
    return TITLE


async def got_title(update: Update, context: BotContext) -> int | None:
    """The zh-Hans title, then the others one by one."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    title = conversations.typed(update)
    if len(title) > TITLE_LIMIT:
        await _too_long(update, context, TITLE_LIMIT)
        return None
    draft = _conversation.draft(context)
    draft["titles"][draft.get("asking") or FALLBACK_LANGUAGE] = title
    return await _ask_next_title(update, context)


async def _ask_next_title(update: Update, context: BotContext) -> int:
    language = conversations.ask_next_language(_conversation.draft(context), "titles", LANGUAGES)
    if language is None:
        return await _go_on(update, context, MORE_TITLE)
    await forms.say(
        update,
        context,
        context.t(
            "Now the title in {language}. Or tap Skip: workers who read {language} then see the "
            "{default} title.",
            language=LANGUAGE_NAMES[language],
            default=LANGUAGE_NAMES[FALLBACK_LANGUAGE],
        ),
        _skip_button(context),
    )
    return MORE_TITLE


skip_title = _conversation.skip_language(_ask_next_title)


async def _ask_starts(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t(
            "When does it start? Type the date and time, like 2026-12-20 09:00 or 12-20 9:00 "
            "(time in {zone}).",
            zone=context.config.union.timezone,
        ),
    )
    return STARTS


async def got_starts(update: Update, context: BotContext) -> int | None:
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    try:
        starts_at = parse_start(conversations.typed(update), context.config.union.zone, context.clock.now())
    except TimeError as error:
        await forms.say(update, context, error.text(context.language))
        return None
    _conversation.draft(context)["starts_at"] = starts_at.isoformat()
    return await _ask_ends(update, context)  # a new start always needs its end again


async def _ask_ends(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t("When does it end? Type the time, like 12:00, or how long it lasts, like 3h or 3小时."),
    )
    return ENDS


async def got_ends(update: Update, context: BotContext) -> int | None:
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    draft = _conversation.draft(context)
    zone = context.config.union.zone
    starts_at = _moment(draft, "starts_at")
    try:
        ends_at = parse_end(conversations.typed(update), starts_at, zone)
    except TimeError as error:
        await forms.say(update, context, error.text(context.language))
        return None
    draft["ends_at"] = ends_at.isoformat()
    if draft.get("until") == ENDS and "deadline" in draft:
        # The times changed after the deadline was set: a default follows the new start, a typed one
        # that no longer fits is asked again.
        now = context.clock.now()
        if draft.get("deadline_default"):
            draft["deadline"] = default_deadline(starts_at, zone, now).isoformat()
        elif not now < _moment(draft, "deadline") <= starts_at:
            draft["until"] = DEADLINE
            await forms.say(update, context, context.t("The sign-up deadline no longer fits the new start."))
            return await _ask_deadline(update, context)
    return await _go_on(update, context, ENDS)


async def _ask_place(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t("Where is it? Type the address so workers can find it, like 城关镇职工之家三楼."),
    )
    return PLACE


async def got_place(update: Update, context: BotContext) -> int | None:
    return await _text_answer(update, context, key="place", limit=PLACE_LIMIT, done=PLACE)


async def _ask_location(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t(
            "Send the place as a location pin too (📎 → Location), so workers can open it on a map. "
            "Or tap Skip."
        ),
        _skip_button(context),
    )
    return LOCATION


async def got_location(update: Update, context: BotContext) -> int | None:
    """A location pin, or Skip; anything else is answered with what is wanted."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    draft = _conversation.draft(context)
    if update.callback_query is not None:
        await conversations.pressed(update)
        draft["latitude"] = draft["longitude"] = None
    else:
        message = update.effective_message
        if message is None or message.location is None:
            await forms.say(
                update, context, context.t("Please send a location pin (📎 → Location), or tap Skip.")
            )
            return None
        draft["latitude"], draft["longitude"] = message.location.latitude, message.location.longitude
    return await _go_on(update, context, LOCATION)


async def _ask_seats(update: Update, context: BotContext) -> int:
    await forms.say(update, context, context.t("How many seats are there? Type a number, like 30."))
    return SEATS


async def got_seats(update: Update, context: BotContext) -> int | None:
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    seats = parse_workers(conversations.typed(update))
    if seats is None or not 1 <= seats <= SEATS_LIMIT:
        await forms.say(
            update,
            context,
            context.t("Please type the number of seats, from 1 to {limit}, like 30.", limit=SEATS_LIMIT),
        )
        return None
    _conversation.draft(context)["seats"] = seats
    return await _go_on(update, context, SEATS)


async def _ask_trade(update: Update, context: BotContext) -> int:
    cells = [(context.t(label), f"{TRADE_PREFIX}{trade.value}") for trade, label in TRADE_LABELS.items()]
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    rows.append([(context.t("All trades"), ALL_TRADES)])
    await forms.say(update, context, context.t("Which trade is it for?"), buttons(rows))
    return TRADE


async def got_trade(update: Update, context: BotContext) -> int | None:
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    data = await conversations.pressed(update)
    value = data.removeprefix(TRADE_PREFIX)
    if data != ALL_TRADES and value not in set(Trade):
        return None
    _conversation.draft(context)["trade"] = None if data == ALL_TRADES else value
    return await _go_on(update, context, TRADE)


async def _ask_region(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t(
            "Which township or district is it for? Type it, like 城关镇. Or tap Skip: workers everywhere."
        ),
        _skip_button(context),
    )
    return REGION


async def got_region(update: Update, context: BotContext) -> int | None:
    return await _text_answer(update, context, key="region", limit=publishing.REGION_LIMIT, done=REGION)


async def _ask_allowance(update: Update, context: BotContext) -> int:
    await forms.say(
        update,
        context,
        context.t(
            "Is there an allowance, like travel money or pay for the lost work day? Type it as workers "
            "should read it, like 交通补贴50元，误工补贴100元. Or tap Skip."
        ),
        _skip_button(context),
    )
    return ALLOWANCE


async def got_allowance(update: Update, context: BotContext) -> int | None:
    return await _text_answer(update, context, key="allowance", limit=ALLOWANCE_LIMIT, done=ALLOWANCE)


async def _ask_deadline(update: Update, context: BotContext) -> int:
    zone = context.config.union.zone
    proposed = default_deadline(_moment(_conversation.draft(context), "starts_at"), zone, context.clock.now())
    when = local_time(proposed, zone)
    await forms.say(
        update,
        context,
        context.t(
            "Until when can workers sign up? Tap the button for {when}, or type a date and time like "
            "12-19 18:00.",
            when=when,
        ),
        buttons([[(context.t("Until {when}", when=when), DEFAULT_DEADLINE)]]),
    )
    return DEADLINE


async def got_deadline(update: Update, context: BotContext) -> int | None:
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    draft = _conversation.draft(context)
    zone, now = context.config.union.zone, context.clock.now()
    starts_at = _moment(draft, "starts_at")
    if update.callback_query is not None:
        await conversations.pressed(update)
        draft["deadline"] = default_deadline(starts_at, zone, now).isoformat()
        draft["deadline_default"] = True
    else:
        try:
            deadline = parse_deadline(conversations.typed(update), starts_at, zone, now)
        except TimeError as error:
            await forms.say(update, context, error.text(context.language))
            return None
        draft["deadline"], draft["deadline_default"] = deadline.isoformat(), False
    return await _go_on(update, context, DEADLINE)


def _new_training(draft: dict[str, Any], created_by: int | None) -> NewTraining:
    return NewTraining(
        titles=draft["titles"],
        starts_at=_moment(draft, "starts_at"),
        ends_at=_moment(draft, "ends_at"),
        place=draft["place"],
        latitude=draft.get("latitude"),
        longitude=draft.get("longitude"),
        seats=draft["seats"],
        trade=draft.get("trade"),
        region=draft.get("region"),
        allowance_note=draft.get("allowance"),
        signup_deadline=_moment(draft, "deadline"),
        created_by=created_by,
    )


def _as_published(new: NewTraining, now: datetime) -> Training:
    """The draft as a training, for the preview: what describe_training will show workers."""
    return Training(id=0, **new.model_dump(), status=TrainingStatus.OPEN, created_at=now, updated_at=now)


async def _preview(update: Update, context: BotContext) -> int:
    """The training as workers read it (zh-Hans, then the admin's language), then what and to whom."""
    draft = _conversation.draft(context)
    config = context.config
    default = config.union.default_language
    new = _new_training(draft, update.effective_user.id if update.effective_user else None)
    training = _as_published(new, context.clock.now())
    for language in dict.fromkeys((FALLBACK_LANGUAGE, context.language)):
        text = describe_training(training, language=language, zone=config.union.zone, seats_taken=0)
        await forms.say(update, context, text)
    if new.latitude is not None and new.longitude is not None and update.effective_chat is not None:
        # Workers get the pin with their seat and the reminder (flows/training.py): check it here too.
        await context.bot.send_location(update.effective_chat.id, new.latitude, new.longitude)
    audience = publishing.announcement_audience(new.trade, new.region)
    count = await context.storage.count_audience(audience, default_language=default)
    lines = [
        context.t("Above is what workers will read. Please check it."),
        "",
        labelled(context.language, context.t("Seats"), str(new.seats)),
        labelled(
            context.language,
            context.t("For"),
            html.escape(publishing.audience_text(new.trade, new.region, context.language), quote=False),
        ),
        _announcement_line(context, audience, count),
    ]
    if new.trade is not None and new.region is not None:
        lines.append(context.t(publishing.ANNOUNCEMENT_RULE))
    lines += ["", context.t("Publish it?")]
    await forms.say(
        update,
        context,
        Html("\n".join(lines)),
        buttons(
            [
                [(context.t("✅ Publish"), PUBLISH), (context.t("📢 Publish and announce"), ANNOUNCE)],
                [(context.t("✏️ Change something"), CHANGE), (context.t("🗑 Discard"), DROP)],
            ]
        ),
    )
    return PREVIEW


def _announcement_line(context: BotContext, audience: Audience, count: int) -> str:
    """Who an announcement would reach now."""
    if audience.kind == AudienceKind.TRADE and audience.value in set(Trade):
        return context.t.plural(
            "Announcement: to workers in {trade} ({count} worker now)",
            "Announcement: to workers in {trade} ({count} workers now)",
            count,
            trade=context.t(TRADE_LABELS[Trade(audience.value)]),
        )
    if audience.kind == AudienceKind.REGION:
        return context.t.plural(
            "Announcement: to workers whose workplace contains {region} ({count} worker now)",
            "Announcement: to workers whose workplace contains {region} ({count} workers now)",
            count,
            region=audience.value,
        )
    return context.t.plural(
        "Announcement: to every worker ({count} worker now)",
        "Announcement: to every worker ({count} workers now)",
        count,
    )


async def decide(update: Update, context: BotContext) -> int | None:
    """Publish (and announce), change an answer, or discard; checked again before storing."""
    admin = await _conversation.admin(update, context)
    if admin is None:
        return ConversationHandler.END
    data = await conversations.pressed(update)
    draft = _conversation.draft(context)
    if data == DROP:
        _conversation.discard(context)
        await forms.say(update, context, context.t("Discarded. Nothing was saved."))
        return ConversationHandler.END
    if data == CHANGE:
        rows = [[(context.t(label), f"{EDIT_PREFIX}{key}")] for key, (label, _first, _last) in EDITS.items()]
        await forms.say(update, context, context.t("What do you want to change?"), buttons(rows))
        return EDIT
    now = context.clock.now()
    try:
        new = _new_training(draft, admin.telegram_id)
    except (KeyError, ValueError):
        logger.warning("A training draft could not be stored", exc_info=True)
        _conversation.discard(context)
        await forms.say(
            update,
            context,
            context.t("Something in this training is missing. Please start again from /trainings."),
        )
        return ConversationHandler.END
    if new.signup_deadline <= now:
        await forms.say(
            update,
            context,
            context.t("The sign-up deadline has passed while you were writing. Tap “Change something”."),
        )
        return None
    training = await context.storage.create_training(new)
    _conversation.discard(context)
    logger.info("An admin published training %s", training.id)
    text = context.t("Training #{number} is published. Workers see it with /training.", number=training.id)
    if data == ANNOUNCE:
        text += "\n" + await _announce(context, training, admin)
    await forms.say(update, context, text + "\n" + context.t("/trainings lists the trainings."))
    return ConversationHandler.END


async def _announce(context: BotContext, training: Training, admin: Officer) -> str:
    """Announce now and say so; or say why not."""
    try:
        broadcast = await publishing.announce(
            context.storage, context.config, context.clock, training, created_by=admin.telegram_id
        )
    except publishing.PublishError as error:
        return error.text(context.language)
    context.union_app.broadcasts.wake()
    logger.info("An admin announced training %s (broadcast %s)", training.id, broadcast.id)
    count = await context.storage.count_audience(
        broadcast.audience, default_language=context.config.union.default_language
    )
    return context.t.plural(
        "The announcement goes out now to {count} worker, with a sign-up button. You get a report when it "
        "has gone out.",
        "The announcement goes out now to {count} workers, with a sign-up button. You get a report when it "
        "has gone out.",
        count,
    )


async def choose_edit(update: Update, context: BotContext) -> int | None:
    """Which answer to change: ask it (and the answers that depend on it) again, then the preview."""
    if await _conversation.admin(update, context) is None:
        return ConversationHandler.END
    data = await conversations.pressed(update)
    edit = EDITS.get(data.removeprefix(EDIT_PREFIX))
    if edit is None:
        return None
    _label, first, last = edit
    _conversation.draft(context)["until"] = last
    return await ASKERS[first](update, context)


text_hint = _conversation.hint(N_("Please type your answer in words."))
tap_a_button = _conversation.hint(N_("Please tap one of the buttons above."))
type_or_skip = _conversation.hint(N_("Please type your answer, or tap Skip."))


ASKERS = {
    TITLE: _ask_title,
    MORE_TITLE: _ask_next_title,
    STARTS: _ask_starts,
    ENDS: _ask_ends,
    PLACE: _ask_place,
    LOCATION: _ask_location,
    SEATS: _ask_seats,
    TRADE: _ask_trade,
    REGION: _ask_region,
    ALLOWANCE: _ask_allowance,
    DEADLINE: _ask_deadline,
}


# -- /trainings ----------------------------------------------------------------------------------------


async def list_trainings(update: Update, context: BotContext) -> None:
    """/trainings: upcoming ones and those of the last month, a button to open each; admins add new."""
    officer = await require_officer(update, context, action="trainings")
    if officer is None:
        return
    storage = context.storage
    trainings = await storage.list_trainings(
        starting_after=context.clock.now() - RECENT, include_cancelled=True, limit=LIST_LIMIT
    )
    trainings.sort(key=lambda training: (training.starts_at, training.id))
    admin = attendance.is_admin(officer)
    rows = []
    if not trainings:
        text = context.t("No trainings in the last month or coming up.")
    else:
        lines = [context.t("Trainings, from the last month on:"), ""]
        for training in trainings:
            lines.append(
                publishing.summary_line(
                    training, await storage.list_signups(training.id), context.language, context.config
                )
            )
            rows.append([(attendance.button_title(context, training), f"{attendance.OPEN}{training.id}")])
        text = "\n".join(lines)
    if admin:
        rows.append([(context.t("➕ New training"), NEW)])
    await forms.say(update, context, Html(text), buttons(rows) if rows else None)


# -- announcing and cancelling a published training ----------------------------------------------------


async def on_admin_button(update: Update, context: BotContext) -> None:
    """tm:b / tm:by (announce), tm:x / tm:xy (cancel), tm:k (keep): admins only, asked once more first."""
    query = update.callback_query
    assert query
    pressed = await attendance.pressed_training(
        update, context, _ADMIN_DATA, action="manage training", admin=True, stale=conversations.stale_step
    )
    if pressed is None:
        return
    admin, match, training = pressed
    action = match.group(1)
    if action == "k":
        await query.answer()
        await _replace_question(update, context, context.t("Nothing changed."))
        return
    if training.status == TrainingStatus.CANCELLED:  # by now, or by another admin meanwhile
        await query.answer(context.t("Training #{number} is cancelled.", number=training.id), show_alert=True)
        return
    await query.answer()
    if action == "b":
        audience = publishing.announcement_audience(training.trade, training.region)
        count = await context.storage.count_audience(
            audience, default_language=context.config.union.default_language
        )
        question = (
            context.t("Announce training #{number} now?", number=training.id)
            + "\n"
            + (_announcement_line(context, audience, count))
        )
        yes = (context.t("📢 Yes, announce it"), f"{DO_ANNOUNCE}{training.id}")
        await forms.say(
            update, context, question, buttons([[yes, (context.t("No"), f"{KEEP}{training.id}")]])
        )
    elif action == "by":
        await _replace_question(update, context, await _announce(context, training, admin))
    elif action == "x":
        confirmed, waiting = publishing.seats_taken(await context.storage.list_signups(training.id))
        question = context.t(
            "Cancel training #{number}? The {confirmed} signed up and {waiting} waiting are told.",
            number=training.id,
            confirmed=confirmed,
            waiting=waiting,
        )
        yes = (context.t("🛑 Yes, cancel it"), f"{DO_CANCEL}{training.id}")
        keep = (context.t("No, it goes ahead"), f"{KEEP}{training.id}")
        await forms.say(update, context, question, buttons([[yes, keep]]))
    else:
        await _replace_question(update, context, await _cancel(context, training.id))


async def _cancel(context: BotContext, training_id: int) -> str:
    try:
        training, told = await publishing.cancel(context.storage, context.config, training_id)
    except (publishing.PublishError, StorageError) as error:
        if isinstance(error, publishing.PublishError):
            return error.text(context.language)
        logger.warning("Cancelling a training failed: %s", error)
        return context.t("Training #{number} could not be cancelled. Please try again.", number=training_id)
    context.union_app.send_outbox_soon()
    logger.info("An admin cancelled training %s", training.id)
    return context.t.plural(
        "Training #{number} is cancelled. {count} worker is told.",
        "Training #{number} is cancelled. {count} workers are told.",
        told,
        number=training.id,
    )


async def _replace_question(update: Update, context: BotContext, text: str) -> None:
    """The yes/no question becomes its answer, so its buttons cannot be pressed twice."""
    query = update.callback_query
    assert query
    await query.edit_message_text(text)


def handlers() -> list[BotHandler]:
    typed = filters.TEXT & ~filters.COMMAND
    others = ~filters.COMMAND
    # Typed as the fallbacks take it: PTB's handlers are invariant in their callback's result.
    pressed_stale: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        conversations.stale_step, pattern=f"^{BUTTON}"
    )
    return [
        ConversationHandler(
            entry_points=[CallbackQueryHandler(start, pattern=f"^{NEW}$")],
            states={
                TITLE: [MessageHandler(typed, got_title), MessageHandler(others, text_hint)],
                MORE_TITLE: [
                    MessageHandler(typed, got_title),
                    CallbackQueryHandler(skip_title, pattern=f"^{SKIP}$"),
                    MessageHandler(others, type_or_skip),
                ],
                STARTS: [MessageHandler(typed, got_starts), MessageHandler(others, text_hint)],
                ENDS: [MessageHandler(typed, got_ends), MessageHandler(others, text_hint)],
                PLACE: [MessageHandler(typed, got_place), MessageHandler(others, text_hint)],
                LOCATION: [
                    MessageHandler(filters.LOCATION, got_location),
                    CallbackQueryHandler(got_location, pattern=f"^{SKIP}$"),
                    MessageHandler(others, got_location),
                ],
                SEATS: [MessageHandler(typed, got_seats), MessageHandler(others, text_hint)],
                TRADE: [
                    CallbackQueryHandler(got_trade, pattern=f"^{TRADE_PREFIX}"),
                    MessageHandler(others, tap_a_button),
                ],
                REGION: [
                    MessageHandler(typed, got_region),
                    CallbackQueryHandler(got_region, pattern=f"^{SKIP}$"),
                    MessageHandler(others, type_or_skip),
                ],
                ALLOWANCE: [
                    MessageHandler(typed, got_allowance),
                    CallbackQueryHandler(got_allowance, pattern=f"^{SKIP}$"),
                    MessageHandler(others, type_or_skip),
                ],
                DEADLINE: [
                    MessageHandler(typed, got_deadline),
                    CallbackQueryHandler(got_deadline, pattern=f"^{DEFAULT_DEADLINE}$"),
                    MessageHandler(others, text_hint),
                ],
                PREVIEW: [
                    CallbackQueryHandler(decide, pattern=f"^({PUBLISH}|{ANNOUNCE}|{CHANGE}|{DROP})$"),
                    MessageHandler(others, tap_a_button),
                ],
                EDIT: [
                    CallbackQueryHandler(choose_edit, pattern=f"^{EDIT_PREFIX}"),
                    MessageHandler(others, tap_a_button),
                ],
            },
            fallbacks=[CommandHandler("cancel", _conversation.cancel), pressed_stale],
            allow_reentry=True,
            name="training_admin",
            persistent=True,
        ),
        CommandHandler("trainings", list_trainings),
        CallbackQueryHandler(on_admin_button, pattern=r"^tm:(b|by|x|xy|k):"),
        *attendance.handlers(),
    ]
