"""A training's card for officers and admins: who signed up, and marking who came, one button a worker.

Officers open a training from /trainings. Every confirmed worker has a button with their name (from the
profile); tapping it marks them ✅ came or ❌ did not come, and the card is edited in place. The button
carries the mark it sets, not "toggle": two officers with the same card open, or a double tap, give the
same result, and an edit that would change nothing is not sent (Telegram refuses those).

Admins also get "announce" and "cancel" on the card (handled in bot/trainings/admin.py). Every press
re-reads the officer from storage: a button can be old, forwarded or forged.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler

from bot.cases.access import require_officer
from bot.core.context import BotContext, BotHandler
from bot.core.dates import local_time
from bot.core.i18n import labelled
from bot.runtime.commands import stale_button
from bot.trainings import publishing
from flows.forms import answer_press, buttons
from flows.training import title_of
from storage.base import StorageError
from storage.models import Officer, OfficerRole, SignupStatus, Training, TrainingSignup, TrainingStatus

logger = logging.getLogger(__name__)

OPEN = "tm:o:"  # "tm:o:<training id>" from /trainings (a new card), "tm:o:<id>:<page>" turns its pages
MARK = "tm:a:"  # "tm:a:<training id>:<worker id>:<y|n>:<page>": came (y) or did not come (n)
ANNOUNCE, CANCEL = "tm:b:", "tm:x:"  # admins' buttons on the card, handled in admin.py
_OPEN_DATA = re.compile(rf"^{OPEN}(?P<training>[0-9]{{1,9}})(?::([0-9]{{1,3}}))?$")
_MARK_DATA = re.compile(rf"^{MARK}(?P<training>[0-9]{{1,9}}):([0-9]{{1,15}}):([yn]):([0-9]{{1,3}})$")

PAGE_SIZE = 40  # name buttons a card shows at once (Telegram takes about a hundred buttons a message)
NAME_LIMIT = 20  # characters of a name on a button, so two fit side by side on a phone
CHECK_IN_FROM = timedelta(hours=1)  # attendance can be marked from this long before the start
CAME, ABSENT, UNMARKED = "✅", "❌", "⬜"


def is_admin(officer: Officer) -> bool:
    return officer.role == OfficerRole.ADMIN


def button_title(context: BotContext, training: Training) -> str:
    """A training on a button: ``#3 劳动法讲座 · 12-20`` (plain text: buttons show no markup)."""
    zone = context.config.union.zone
    title = title_of(training, context.language)
    return f"#{training.id} {_trimmed(title, 24)} · {training.starts_at.astimezone(zone):%m-%d}"


def _trimmed(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _names(context: BotContext, signups: list[TrainingSignup]) -> dict[int, str]:
    """Each worker's name as their profile has it (plain text), else "Worker 3" by their place in the list."""
    names = {}
    for number, signup in enumerate(signups, start=1):
        worker = await context.storage.get_worker(signup.worker_id)
        profile = worker.profile if worker is not None else {}
        name = str(profile.get("name") or profile.get("telegram_name") or "").strip()
        names[signup.worker_id] = name or context.t("Worker {number}", number=number)
    return names


async def card(
    context: BotContext, training: Training, officer: Officer, page: int = 0
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card's text (HTML, user text escaped) and buttons: names to mark, pages, admins' actions."""
    t = context.t
    zone = context.config.union.zone
    now = context.clock.now()
    language = context.language
    signups = await context.storage.list_signups(training.id)
    confirmed = [signup for signup in signups if signup.status == SignupStatus.CONFIRMED]
    _taken, waiting = publishing.seats_taken(signups)
    title = title_of(training, language)
    starts, ends = training.starts_at.astimezone(zone), training.ends_at.astimezone(zone)
    end = f"{ends:%H:%M}" if ends.date() == starts.date() else local_time(training.ends_at, zone)
    lines = [
        f"<b>#{training.id} {html.escape(title, quote=False)}</b>",
        labelled(language, t("Time"), f"{local_time(training.starts_at, zone)} – {end}"),
        labelled(language, t("Place"), html.escape(training.place, quote=False)),
        labelled(
            language,
            t("For"),
            html.escape(publishing.audience_text(training.trade, training.region, language), quote=False),
        ),
        labelled(language, t("Sign-up until"), local_time(training.signup_deadline, zone)),
        t(
            "Signed up: {taken} of {seats} · waiting: {waiting}",
            taken=len(confirmed),
            seats=training.seats,
            waiting=waiting,
        ),
    ]
    rows: list[list[tuple[str, str]]] = []
    if training.status == TrainingStatus.CANCELLED:
        lines += ["", t("This training is cancelled.")]
    elif not confirmed:
        lines += ["", t("Nobody has signed up yet.")]
    else:
        came = sum(signup.attended is True for signup in confirmed)
        absent = sum(signup.attended is False for signup in confirmed)
        lines += [
            "",
            t("Tap a name to mark who came: ✅ came, ❌ did not come."),
            t(
                "Came: {came} · did not come: {absent} · not marked: {unmarked}",
                came=came,
                absent=absent,
                unmarked=len(confirmed) - came - absent,
            ),
        ]
        pages = (len(confirmed) + PAGE_SIZE - 1) // PAGE_SIZE
        page = min(max(page, 0), pages - 1)
        shown = confirmed[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        names = await _names(context, confirmed)
        cells = [_mark_button(training, signup, names[signup.worker_id], page) for signup in shown]
        rows += [cells[i : i + 2] for i in range(0, len(cells), 2)]
        if pages > 1:
            turn = []
            if page > 0:
                turn.append((t("◀ Previous"), f"{OPEN}{training.id}:{page - 1}"))
            if page < pages - 1:
                turn.append((t("Next ▶"), f"{OPEN}{training.id}:{page + 1}"))
            rows.append(turn)
    if is_admin(officer) and training.status == TrainingStatus.OPEN:
        actions = []
        if training.signup_deadline > now:
            actions.append((t("📢 Announce"), f"{ANNOUNCE}{training.id}"))
        if training.ends_at > now:
            actions.append((t("🛑 Cancel training"), f"{CANCEL}{training.id}"))
        if actions:
            rows.append(actions)
    return "\n".join(lines), buttons(rows) if rows else None


def _mark_button(training: Training, signup: TrainingSignup, name: str, page: int) -> tuple[str, str]:
    """The worker's name with their mark; pressing it sets the other mark (unmarked: came)."""
    mark = {True: CAME, False: ABSENT, None: UNMARKED}[signup.attended]
    sets = "n" if signup.attended else "y"
    return f"{mark} {_trimmed(name, NAME_LIMIT)}", f"{MARK}{training.id}:{signup.worker_id}:{sets}:{page}"


async def pressed_training(
    update: Update,
    context: BotContext,
    data: re.Pattern[str],
    *,
    action: str,
    admin: bool = False,
    stale: Callable[[Update, BotContext], Awaitable[None]] = stale_button,
) -> tuple[Officer, re.Match[str], Training] | None:
    """The officer pressing a training's button, what its data says (``data`` names the training's id
    ``training``) and the training; None after a refusal, or after ``stale`` answered an old or forged
    button."""
    query = update.callback_query
    assert query and query.data
    officer = await require_officer(update, context, action=action, admin=admin)
    if officer is None:
        return None
    match = data.match(query.data)
    training = await context.storage.get_training(int(match["training"])) if match else None
    if match is None or training is None:
        await stale(update, context)
        return None
    return officer, match, training


async def on_open(update: Update, context: BotContext) -> None:
    """tm:o:<id> from /trainings sends the card; tm:o:<id>:<page> turns the card's page in place."""
    pressed = await pressed_training(update, context, _OPEN_DATA, action="open training")
    if pressed is None:
        return
    officer, match, training = pressed
    await answer_press(update)
    text, markup = await card(context, training, officer, int(match.group(2) or 0))
    if match.group(2) is None:
        assert update.effective_chat
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
    else:
        await _show(update, text, markup)


async def on_mark(update: Update, context: BotContext) -> None:
    """tm:a:…: mark a confirmed worker as came or not; the card is edited in place."""
    query = update.callback_query
    assert query
    pressed = await pressed_training(update, context, _MARK_DATA, action="mark attendance")
    if pressed is None:
        return
    officer, match, training = pressed
    if training.status == TrainingStatus.CANCELLED:
        await stale_button(update, context)
        return
    worker_id, came, page = int(match.group(2)), match.group(3) == "y", int(match.group(4))
    if context.clock.now() < training.starts_at - CHECK_IN_FROM:
        await query.answer(
            context.t(
                "Who came can be marked from one hour before the start ({start}).",
                start=local_time(training.starts_at, context.config.union.zone),
            ),
            show_alert=True,
        )
        return
    signups = {signup.worker_id: signup for signup in await context.storage.list_signups(training.id)}
    signup = signups.get(worker_id)
    if signup is None or signup.status != SignupStatus.CONFIRMED:
        await stale_button(update, context)  # they cancelled, or the button is forged
        return
    try:
        await context.storage.mark_attendance(training.id, worker_id, came)
    except StorageError:  # the sign-up went away meanwhile (cancelled, or the worker was forgotten)
        logger.warning("Marking attendance refused: no sign-up any more")
        await stale_button(update, context)
        return
    await query.answer(context.t("✅ came") if came else context.t("❌ did not come"))
    text, markup = await card(context, training, officer, page)
    await _show(update, text, markup)


async def _show(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the card in place, unless it already shows exactly this (Telegram refuses unchanged edits)."""
    query = update.callback_query
    assert query
    shown = query.message
    if (
        isinstance(shown, Message)  # an old message Telegram no longer shows us: edit anyway
        and shown.text == publishing.plain_text(text)
        and _same_buttons(shown.reply_markup, markup)
    ):
        return
    await query.edit_message_text(text, reply_markup=markup)


def _same_buttons(shown: InlineKeyboardMarkup | None, wanted: InlineKeyboardMarkup | None) -> bool:
    def rows(markup: InlineKeyboardMarkup | None) -> list[list[tuple[str, str | None]]]:
        if markup is None:
            return []
        return [
            [
                (button.text, str(button.callback_data) if button.callback_data is not None else None)
                for button in row
            ]
            for row in markup.inline_keyboard
        ]

    return rows(shown) == rows(wanted)


def handlers() -> list[BotHandler]:
    return [
        CallbackQueryHandler(on_open, pattern=f"^{OPEN}"),
        CallbackQueryHandler(on_mark, pattern=f"^{MARK}"),
    ]
