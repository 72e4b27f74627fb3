"""Trainings for workers (/training, the menu's training button): what is open, signing up, cancelling.

Every button carries the training's id and is checked against storage when pressed, so nothing is kept
in a conversation: like /subscribe, these handlers come before the forms (bot/app.py) and work in the
middle of a form without touching it. Seats and the waiting list are storage's (one transaction per
sign-up); a worker moved up from the waiting list is told through the outbox, at once when their seat
is freed here, else by the sweep (bot/sweeps/trainings.py), which also sends the reminders.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.cases.privacy import has_current_consent
from bot.cases.vocabulary import TRADE_LABELS, Trade
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html, labelled, locale_dir_name, translate
from bot.runtime.commands import stale_button
from flows import forms
from flows.menu import menu_pattern, show_menu
from storage.base import SignupRefused
from storage.models import (
    OutboxMessage,
    SignupRefusal,
    SignupStatus,
    Training,
    TrainingReminder,
    TrainingSignup,
    TrainingStatus,
    Worker,
)

logger = logging.getLogger(__name__)

# Callback data: "tr:<action>:<training id>" (at most 23 bytes).
SIGN_UP = "tr:s:"  # also under a training's announcement (bot/trainings)
CANCEL = "tr:c:"  # asks first
CONFIRM_CANCEL = "tr:y:"
KEEP = "tr:k:"
MINE = "tr:m"
MENU = "tr:menu"

MAX_SHOWN = 5  # trainings listed at once, soonest first: one message each fits a small screen
FALLBACK_LANGUAGE = "zh-Hans"  # every training has its title in zh-Hans (the admins' language)

_DATA = re.compile(r"^tr:[scyk]:([0-9]{1,18})$")

REFUSALS: dict[SignupRefusal, str] = {
    SignupRefusal.NO_TRAINING: N_(
        "This training is no longer on the list. Send /training to see what is open."
    ),
    SignupRefusal.CANCELLED: N_("Sorry, this training was called off."),
    SignupRefusal.DEADLINE_PASSED: N_("Sorry, sign-up for this training is closed."),
    SignupRefusal.STARTED: N_("This training has already started."),
}


# -- what a training says -----------------------------------------------------------------------------


def title_of(training: Training, language: str) -> str:
    """The title in the reader's language, else zh-Hans, else whichever the admin gave (plain text)."""
    titles = training.titles
    return titles.get(language) or titles.get(FALLBACK_LANGUAGE) or next(iter(titles.values()))


def _day(moment: datetime, language: str) -> str:
    """Date and weekday the way the language writes them: "1月13日周二", "Tue, Jan 13"."""
    return format_skeleton("MMMEd", moment, locale=locale_dir_name(language))


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def when(training: Training, language: str, zone: ZoneInfo) -> str:
    """Start and end in the union's time zone, with the weekday (a misread date is easy to spot); HTML."""
    start, end = training.starts_at.astimezone(zone), training.ends_at.astimezone(zone)
    if start.date() == end.date():
        return translate(
            language, "{day} {start}–{end}", day=_day(start, language), start=_clock(start), end=_clock(end)
        )
    return translate(
        language,
        "{start_day} {start} to {end_day} {end}",
        start_day=_day(start, language),
        start=_clock(start),
        end_day=_day(end, language),
        end=_clock(end),
    )


def moment_text(moment: datetime, language: str, zone: ZoneInfo) -> str:
    """A moment in the union's time zone with its weekday, "1月12日周一 18:00"; HTML."""
    local = moment.astimezone(zone)
    return translate(language, "{day} {time}", day=_day(local, language), time=_clock(local))


def _trade_label(trade: str, language: str) -> str:
    """The trade's label (HTML)."""
    try:
        return translate(language, TRADE_LABELS[Trade(trade)])
    except ValueError:  # a trade this code no longer knows: shown as stored
        return html.escape(trade)


def describe_training(training: Training, *, language: str, zone: ZoneInfo, seats_taken: int) -> str:
    """The worker-facing card of a training (HTML): title, time, place, seats left, allowance, deadline.

    Also the admins' preview and the announcement's text (bot/trainings). What an admin typed is escaped.
    """

    def line(label: str, value: str) -> str:
        return labelled(language, translate(language, label), value)

    seats_left = max(training.seats - seats_taken, 0)
    lines = [
        f"<b>{html.escape(title_of(training, language))}</b>",
        line(N_("🕘 Time"), when(training, language, zone)),
        line(N_("📍 Place"), html.escape(training.place)),
    ]
    # Whom it is for, before the worker taps "sign up": the sign-up refuses a known other trade or place.
    if training.trade is not None:
        lines.append(line(N_("👷 For"), _trade_label(training.trade, language)))
    if training.region is not None:
        lines.append(line(N_("🏘 Area"), html.escape(training.region)))
    lines.append(
        translate(language, "👥 Seats left: {left} of {seats}", left=seats_left, seats=training.seats)
        if seats_left
        else translate(language, "👥 Full: you can join the waiting list")
    )
    if training.allowance_note:
        lines.append(line(N_("💴 Allowance"), html.escape(training.allowance_note)))
    lines.append(line(N_("⏰ Sign up by"), moment_text(training.signup_deadline, language, zone)))
    return "\n".join(lines)


def is_for(training: Training, profile: Mapping[str, Any]) -> bool:
    """Whether the training's audience takes this worker.

    Only what the worker told us can leave them out: a worker whose trade or workplace we do not know
    (only the membership form asks) sees trade- and region-bound trainings too. Hiding a training from
    someone it fits costs them more than showing one they may not fit, and the card says whom it is for.
    The region matches like a broadcast's: text the workplace contains, ignoring case.
    """
    trade = profile.get("trade")
    if training.trade is not None and isinstance(trade, str) and trade and trade != training.trade:
        return False
    workplace = profile.get("workplace")
    if training.region is not None and isinstance(workplace, str) and workplace.strip():
        return training.region.casefold() in workplace.casefold()
    return True


def location_message(training: Training, worker_id: int) -> OutboxMessage | None:
    """The training's place as a map pin, when the admin gave one."""
    if training.latitude is None or training.longitude is None:
        return None
    return OutboxMessage(
        chat_id=worker_id,
        method="sendLocation",
        params={"latitude": training.latitude, "longitude": training.longitude},
    )


def _short(training: Training, language: str, zone: ZoneInfo) -> str:
    """Title, time and place in three lines (HTML), for news about a sign-up."""
    return "\n".join(
        [
            f"<b>{html.escape(title_of(training, language))}</b>",
            labelled(language, translate(language, "🕘 Time"), when(training, language, zone)),
            labelled(language, translate(language, "📍 Place"), html.escape(training.place)),
        ]
    )


def _text_message(worker_id: int, text: str) -> OutboxMessage:
    return OutboxMessage(chat_id=worker_id, params={"text": text, "parse_mode": "HTML"})


def promotion_notice(
    training: Training, worker_id: int, language: str, zone: ZoneInfo
) -> list[OutboxMessage]:
    """A waiting worker got a seat: the news, and the place on a map."""
    text = "\n".join(
        [
            translate(language, "🎉 Good news: a seat became free, and it is yours now."),
            "",
            _short(training, language, zone),
            "",
            translate(language, "If you cannot come, please cancel your place with /training."),
        ]
    )
    location = location_message(training, worker_id)
    return [_text_message(worker_id, text), *([location] if location else [])]


def reminder(
    training: Training, worker_id: int, kind: TrainingReminder, language: str, zone: ZoneInfo
) -> list[OutboxMessage]:
    """The reminder the day before, or 2 hours before (with the map pin, to find the way)."""
    if kind == TrainingReminder.DAY_BEFORE:
        head = translate(language, "⏰ Reminder: you have a seat at this training.")
        tail = translate(language, "If you cannot come, please cancel your place with /training.")
        return [_text_message(worker_id, "\n".join([head, "", _short(training, language, zone), "", tail]))]
    start = _clock(training.starts_at.astimezone(zone))
    head = translate(language, "⏰ Your training starts soon, at {time}.", time=start)
    location = location_message(training, worker_id)
    text = "\n".join([head, "", _short(training, language, zone)])
    return [_text_message(worker_id, text), *([location] if location else [])]


# -- helpers ------------------------------------------------------------------------------------------


def _zone(context: BotContext) -> ZoneInfo:
    return context.config.union.zone


def _active(signup: TrainingSignup | None) -> bool:
    return signup is not None and signup.status != SignupStatus.CANCELLED


def _where_you_stand(context: BotContext, signup: TrainingSignup) -> str:
    if signup.status == SignupStatus.CONFIRMED:
        return context.t("✅ You have a seat.")
    return context.t("⏳ You are number {position} on the waiting list.", position=signup.position or 1)


def _card(context: BotContext, training: Training, signup: TrainingSignup | None) -> str:
    text = describe_training(
        training, language=context.language, zone=_zone(context), seats_taken=training.seats_taken
    )
    if training.status == TrainingStatus.CANCELLED:
        return text + "\n\n" + context.t("❌ This training was called off.")
    if signup is not None and _active(signup):
        return text + "\n\n" + _where_you_stand(context, signup)
    return text


def _card_buttons(
    context: BotContext, training: Training, signup: TrainingSignup | None
) -> InlineKeyboardMarkup | None:
    now = context.clock.now()
    if training.status == TrainingStatus.CANCELLED or now >= training.starts_at:
        return None
    if _active(signup):
        return forms.buttons([[(context.t("Cancel my place"), f"{CANCEL}{training.id}")]])
    if now >= training.signup_deadline:
        return None
    label = (
        context.t("✍️ Sign up")
        if training.seats_taken < training.seats
        else context.t("✍️ Join the waiting list")
    )
    return forms.buttons([[(label, f"{SIGN_UP}{training.id}")]])


async def _consented(update: Update, context: BotContext) -> Worker | None:
    """The worker, if they agreed to how we keep data; else they are asked to first (a sign-up is data)."""
    assert update.effective_user
    worker = await context.storage.get_worker(update.effective_user.id)
    if has_current_consent(worker):
        return worker
    await forms.say(
        update,
        context,
        context.t(
            "Before you sign up for a training, please send /start and agree to how we keep your data."
        ),
    )
    return None


async def _pressed_training_id(update: Update, context: BotContext) -> int | None:
    """The training a pressed button names; None after answering that the button is stale (old or forged)."""
    query = update.callback_query
    assert query and query.data
    match = _DATA.match(query.data)
    if match is None:
        logger.warning("Refused a training button with unknown data")
        await stale_button(update, context)
        return None
    return int(match.group(1))


async def _form_still_open(update: Update, context: BotContext) -> None:
    """Shown in the middle of a form: it is still there, at the same question."""
    assert context.user_data is not None
    title = (context.user_data.get(forms.DRAFT) or {}).get("title")
    if isinstance(title, str) and title:
        await forms.say(
            update,
            context,
            context.t(
                "Your form “{form}” is still open: answer its last question to go on.", form=context.t(title)
            ),
        )


async def _close_question(update: Update) -> None:
    """Answer the press on the yes/no question, which loses its buttons: no second press on it."""
    query = update.callback_query
    assert query
    await query.answer()
    if query.message is not None and getattr(query.message, "reply_markup", None) is not None:
        await query.edit_message_reply_markup(reply_markup=None)


async def _tell_promoted(context: BotContext, signup: TrainingSignup, training: Training) -> None:
    """Tell the worker moved up at once (the sweep would, a minute later): through the outbox, once."""
    worker = await context.storage.get_worker(signup.worker_id)
    if worker is None or worker.blocked:
        return  # the sweep marks it: nobody to tell
    language = worker.language or context.config.union.default_language
    notice = promotion_notice(training, signup.worker_id, language, _zone(context))
    if await context.storage.mark_promotion_told(signup.id, outbox=notice):
        context.union_app.send_outbox_soon()


# -- the list -----------------------------------------------------------------------------------------


async def show_trainings(update: Update, context: BotContext) -> None:
    """/training or the menu button: the open trainings for this worker, one message each."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    worker = await _consented(update, context)
    if worker is None:
        return
    now = context.clock.now()
    mine = {
        item.training.id: item.signup
        for item in await context.storage.list_worker_trainings(worker.telegram_id)
    }
    # Open and ahead; past the deadline only for who is signed up (they may still cancel).
    trainings = [
        training
        for training in await context.storage.list_trainings(starting_after=now)
        if is_for(training, worker.profile)
        and (now < training.signup_deadline or _active(mine.get(training.id)))
    ]
    rows = [[(context.t("📋 My trainings"), MINE)], [(context.t("⬅️ Main menu"), MENU)]]
    if not trainings:
        await forms.say(
            update,
            context,
            context.t("There is no training you can sign up for now. Please look again later."),
            forms.buttons(rows),
        )
        await _form_still_open(update, context)
        return
    await forms.say(update, context, context.t("🎓 Trainings you can sign up for, soonest first:"))
    for training in trainings[:MAX_SHOWN]:
        signup = mine.get(training.id)
        await forms.say(
            update, context, Html(_card(context, training, signup)), _card_buttons(context, training, signup)
        )
    footer = context.t("Tap the button under a training to sign up.")
    if len(trainings) > MAX_SHOWN:
        footer += "\n" + context.t(
            "Only the {shown} soonest are shown (of {count}).", shown=MAX_SHOWN, count=len(trainings)
        )
    await forms.say(update, context, footer, forms.buttons(rows))
    await _form_still_open(update, context)


async def my_trainings(update: Update, context: BotContext) -> None:
    """The trainings this worker signed up for and that have not ended, with where they stand."""
    query = update.callback_query
    assert query and update.effective_user
    await query.answer()
    now = context.clock.now()
    mine = [
        item
        for item in await context.storage.list_worker_trainings(update.effective_user.id)
        if _active(item.signup) and item.training.ends_at > now
    ]
    if not mine:
        await forms.say(
            update,
            context,
            context.t("You have not signed up for any training yet. Send /training to see what is open."),
        )
        return
    await forms.say(update, context, context.t("📋 Your trainings:"))
    for item in mine[:MAX_SHOWN]:
        await forms.say(
            update,
            context,
            Html(_card(context, item.training, item.signup)),
            _card_buttons(context, item.training, item.signup),
        )


async def main_menu(update: Update, context: BotContext) -> None:
    assert update.callback_query
    await update.callback_query.answer()
    await show_menu(update, context)


# -- signing up ---------------------------------------------------------------------------------------


async def sign_up(update: Update, context: BotContext) -> None:
    """One press: a seat, or a place on the waiting list; said plainly, with the map pin for a seat."""
    training_id = await _pressed_training_id(update, context)
    if training_id is None:
        return
    await forms.answer_press(update)
    worker = await _consented(update, context)
    if worker is None:
        return
    training = await context.storage.get_training(training_id)
    if training is not None and not is_for(training, worker.profile):
        await forms.say(update, context, context.t("This training is for workers of another trade or place."))
        return
    before = await context.storage.get_signup(training_id, worker.telegram_id)
    try:
        signup = await context.storage.sign_up(training_id, worker.telegram_id)
    except SignupRefused as refused:
        await forms.say(update, context, context.t(REFUSALS[refused.reason]))
        return
    training = await context.storage.get_training(training_id)
    assert training is not None  # refused above otherwise
    language, zone = context.language, _zone(context)
    again = _active(before)
    if signup.status == SignupStatus.CONFIRMED:
        head = (
            context.t("✅ You already have a seat at this training.")
            if again
            else context.t("✅ Signed up: you have a seat.")
        )
        tail = context.t("We will remind you the day before and 2 hours before.")
        button = context.t("Cancel my place")
    else:
        head = (
            context.t("⏳ You are already on the waiting list.")
            if again
            else context.t("⏳ The training is full, so you are on the waiting list.")
        )
        tail = context.t(
            "You are number {position}. If a seat becomes free, we will tell you.",
            position=signup.position or 1,
        )
        button = context.t("Leave the waiting list")
    logger.info("Training %s: sign-up %s (%s)", training.id, signup.id, signup.status)
    text = "\n".join([head, "", _short(training, language, zone), "", tail])
    await forms.say(update, context, Html(text), forms.buttons([[(button, f"{CANCEL}{training.id}")]]))
    pin = location_message(training, worker.telegram_id) if signup.status == SignupStatus.CONFIRMED else None
    if pin is not None:
        # Through the outbox, like the reminder's pin: one Telegram refuses must not bring an apology
        # after "signed up" (the seat is theirs); it is tried again, or given up and told to the admins.
        await context.storage.enqueue_outbox(pin)
        context.union_app.send_outbox_soon()


# -- cancelling ---------------------------------------------------------------------------------------


async def ask_cancel(update: Update, context: BotContext) -> None:
    """Ask before giving up a place: someone on the waiting list gets it at once."""
    query = update.callback_query
    assert query and update.effective_user
    training_id = await _pressed_training_id(update, context)
    if training_id is None:
        return
    training = await context.storage.get_training(training_id)
    signup = await context.storage.get_signup(training_id, update.effective_user.id)
    if training is None or not _active(signup):
        await query.answer(context.t("You are not signed up for this training."), show_alert=True)
        return
    await query.answer()
    if training.status == TrainingStatus.CANCELLED:
        await forms.say(update, context, context.t(REFUSALS[SignupRefusal.CANCELLED]))
        return
    if context.clock.now() >= training.starts_at:
        await forms.say(update, context, context.t(REFUSALS[SignupRefusal.STARTED]))
        return
    assert signup is not None
    question = (
        context.t("Give up your seat? Someone on the waiting list will get it.")
        if signup.status == SignupStatus.CONFIRMED
        else context.t("Leave the waiting list?")
    )
    markup = forms.buttons(
        [
            [(context.t("Yes, cancel my place"), f"{CONFIRM_CANCEL}{training.id}")],
            [(context.t("No, keep my place"), f"{KEEP}{training.id}")],
        ]
    )
    await forms.say(
        update, context, Html(_short(training, context.language, _zone(context)) + "\n\n" + question), markup
    )


async def confirm_cancel(update: Update, context: BotContext) -> None:
    """Cancel; a freed seat goes to the first on the waiting list, who is told."""
    assert update.effective_user
    training_id = await _pressed_training_id(update, context)
    if training_id is None:
        return
    await _close_question(update)
    try:
        cancellation = await context.storage.cancel_signup(training_id, update.effective_user.id)
    except SignupRefused as refused:
        await forms.say(update, context, context.t(REFUSALS[refused.reason]))
        return
    if cancellation is None:
        await forms.say(update, context, context.t("You are not signed up for this training any more."))
        return
    training = await context.storage.get_training(training_id)
    assert training is not None  # refused above otherwise
    logger.info("Training %s: sign-up %s cancelled by the worker", training.id, cancellation.signup.id)
    if cancellation.promoted is not None:
        await _tell_promoted(context, cancellation.promoted, training)
    await forms.say(
        update,
        context,
        Html(
            context.t("Done: your place is cancelled.")
            + "\n\n"
            + _short(training, context.language, _zone(context))
            + "\n\n"
            + context.t("You can sign up again with /training while sign-up is open.")
        ),
    )


async def keep(update: Update, context: BotContext) -> None:
    """Not cancelled after all."""
    if await _pressed_training_id(update, context) is None:
        return
    await _close_question(update)
    await forms.say(update, context, context.t("Good: nothing changed, your place stays."))


def handlers() -> list[BotHandler]:
    return [
        CommandHandler("training", show_trainings),
        CallbackQueryHandler(show_trainings, pattern=menu_pattern("training")),
        CallbackQueryHandler(my_trainings, pattern=f"^{MINE}$"),
        CallbackQueryHandler(main_menu, pattern=f"^{MENU}$"),
        CallbackQueryHandler(sign_up, pattern=f"^{SIGN_UP}"),
        CallbackQueryHandler(ask_cancel, pattern=f"^{CANCEL}"),
        CallbackQueryHandler(confirm_cancel, pattern=f"^{CONFIRM_CANCEL}"),
        CallbackQueryHandler(keep, pattern=f"^{KEEP}"),
    ]
