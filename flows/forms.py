"""What every worker form shares: the draft, questions, wrong input, the summary, leaving and switching.

A form's answers live in ``user_data["draft"]`` (JSON only), which the bot commits to SQLite after every
update, together with the conversation state: a crash or restart resumes at the same question.
"""

from __future__ import annotations

import html
import logging
import string
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyKeyboardRemove, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cases import filing
from bot.cases.amounts import AMOUNT_PROBLEMS, MAX_AMOUNT, AmountError, AmountProblem, parse_amount
from bot.cases.privacy import has_current_consent
from bot.cases.vocabulary import YesNo
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import Html, labelled, money
from bot.runtime.commands import stale_button
from flows.menu import MENU_PREFIX, menu_pattern, show_menu
from storage.models import AttachmentIn, Case, NewCase

logger = logging.getLogger(__name__)

DRAFT = "draft"
SUBMIT = "form:submit"
EDIT = "form:edit"
EDIT_FIELD = "form:edit:"
KEEP = "form:keep"
DROP = "form:drop"

# Commands that would start something else: asked about before the draft is dropped.
SWITCH_COMMANDS = ["start", "join", "wages", "legal", "assistance", "mycases", "rights", "language", "help"]

Asker = Callable[[Update, BotContext], Awaitable[int]]
Step = Callable[[Update, BotContext], Coroutine[Any, Any, int | None]]  # None: the question stays
ChoiceT = TypeVar("ChoiceT", bound=StrEnum)


class Question(Protocol):
    """What the summary, edits and resuming need of a question: a Field or one of the declared questions."""

    @property
    def key(self) -> str: ...  # in its "change an answer" button; a declared question's answer too

    @property
    def label(self) -> str: ...  # message id: the answer's name in "change an answer"

    @property
    def state(self) -> int: ...  # the conversation state that asks it

    @property
    def ask(self) -> Asker: ...


@dataclass(frozen=True)
class Field:
    """A question whose steps the form writes by hand (it is truly special)."""

    key: str
    label: str
    state: int
    ask: Asker


@dataclass(frozen=True)
class Form:
    """One worker form, as the shared handlers need to know it. Its questions are in the order asked."""

    name: str  # "join", "wages", "legal", "assistance": its command, and its name in the persistence
    title: str  # message id
    fields: list[Question]
    summary_state: int
    describe: Callable[[BotContext, dict[str, Any]], list[tuple[str, str]]] = field(default=lambda c, a: [])
    intro: str | None = None  # message id: a word on what comes, said before the first question

    def field_by_key(self, key: str) -> Question | None:
        return next((f for f in self.fields if f.key == key), None)

    def asker_for(self, state: int) -> Asker | None:
        return next((f.ask for f in self.fields if f.state == state), None)

    def asker_after(self, state: int) -> Asker:
        """What a declared question goes on to: the next in the list, the summary after the last."""
        states = [f.state for f in self.fields]
        after = states.index(state) + 1
        return self.fields[after].ask if after < len(states) else self.ask_summary

    async def start(self, update: Update, context: BotContext) -> int:
        """The usual entry: a fresh draft, the intro, then the first question."""
        if not await begin(update, context, self):
            return ConversationHandler.END
        if self.intro:
            await say(update, context, context.t(self.intro))
        return await self.fields[0].ask(update, context)

    def step_after(self, state: int) -> Asker:
        """The step once a question is answered: the next question, or the summary after an edit."""

        async def go_on(update: Update, context: BotContext) -> int:
            return await next_question(update, context, self, self.asker_after(state))

        return go_on

    async def ask_summary(self, update: Update, context: BotContext) -> int:
        return await show_summary(update, context, self)


# -- the draft --------------------------------------------------------------------------------------


def draft(context: BotContext) -> dict[str, Any]:
    assert context.user_data is not None
    current: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return current


def answers(context: BotContext) -> dict[str, Any]:
    given: dict[str, Any] = draft(context).setdefault("answers", {})
    return given


def discard(context: BotContext) -> None:
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)


async def begin(update: Update, context: BotContext, form: Form) -> bool:
    """Start a fresh draft, or say why not: no consent yet, or another form is still open.

    Another open form is only caught here: each form's entry point comes before the other forms'
    fallbacks, so /join during /wages arrives at join. The worker is asked, in the open form's words;
    its Continue / Delete buttons are handled by that form's fallbacks.
    """
    assert update.effective_user
    worker = await context.storage.get_worker(update.effective_user.id)
    if not has_current_consent(worker):
        await answer_press(update)
        await say(
            update,
            context,
            context.t("Before you fill in a form, please send /start and agree to how we keep your data."),
        )
        return False
    assert context.user_data is not None
    open_draft = context.user_data.get(DRAFT) or {}
    # Only forms carry a title; other scratch (a message being written in "my cases") is just replaced.
    if open_draft.get("title") and open_draft.get("form") != form.name:
        await offer_switch(update, context, open_draft["title"])
        return False
    await answer_press(update)
    context.user_data[DRAFT] = {
        "form": form.name,
        "title": form.title,
        "answers": {},
        "step": None,
        "editing": False,
    }
    return True


async def answer_press(update: Update) -> None:
    """Stop a pressed button's spinner. Telegram takes one answer per press: whoever answers, answers once."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def offer_switch(update: Update, context: BotContext, title: str) -> None:
    """Ask before a half-filled form is dropped: continue it, or delete it and go on."""
    await answer_press(update)
    markup = buttons([[(context.t("Continue the form"), KEEP)], [(context.t("Delete it and go on"), DROP)]])
    await say(
        update,
        context,
        context.t(
            "You have not finished “{form}”. Continue it, or delete what you wrote?", form=context.t(title)
        ),
        markup,
    )


# -- asking and reading -----------------------------------------------------------------------------


async def say(update: Update, context: BotContext, text: str, markup: Any = None) -> None:
    """Send a message to the chat this update came from (works for messages and button presses)."""
    assert update.effective_chat
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def ask(update: Update, context: BotContext, state: int, text: str, markup: Any = None) -> int:
    """Ask one question and remember where we are (to ask again after an interruption)."""
    draft(context)["step"] = state
    await say(update, context, text, markup)
    return state


def buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def choice_buttons(
    context: BotContext, labels: Mapping[ChoiceT, str], prefix: str, *, per_row: int = 2
) -> InlineKeyboardMarkup:
    """One button per choice of a fixed list (labels are message ids), ``per_row`` to a row."""
    cells = [(context.t(label), prefix + choice) for choice, label in labels.items()]
    return buttons([cells[i : i + per_row] for i in range(0, len(cells), per_row)])


async def read_choice(
    update: Update, context: BotContext, choices: type[ChoiceT], prefix: str
) -> ChoiceT | None:
    """The choice a button stands for; None after answering that the button is stale (old or forged)."""
    query = update.callback_query
    assert query and query.data
    try:
        return choices(query.data.removeprefix(prefix))
    except ValueError:
        await stale_button(update, context)
        return None


async def show_choice(update: Update, text: str) -> None:
    """Stop the spinner and replace the question by the answer, so its old buttons cannot be pressed."""
    query = update.callback_query
    assert query
    await query.answer()
    await query.edit_message_text(text)


async def read_text(update: Update, context: BotContext, *, limit: int) -> str | None:
    """The typed answer, or None after telling the worker what is wanted (the question stays)."""
    message = update.effective_message
    text = (message.text or "").strip() if message else ""
    if not text:
        await expect_text(update, context)
        return None
    if len(text) > limit:
        await say(
            update,
            context,
            context.t("That is too long: please keep it under {limit} characters.", limit=limit),
        )
        return None
    return text


async def expect_text(update: Update, context: BotContext) -> None:
    """A sticker, photo or voice note where typed words are needed."""
    await say(update, context, context.t("Please type your answer in words."))


async def expect_button(update: Update, context: BotContext) -> None:
    """Typing or media where a button answer is needed."""
    await say(update, context, context.t("Please tap one of the buttons above."))


async def next_question(update: Update, context: BotContext, form: Form, ask_next: Asker) -> int:
    """After an answer: back to the summary when editing a field, else the next question."""
    current = draft(context)
    if current.get("editing"):
        current["editing"] = False
        return await show_summary(update, context, form)
    return await ask_next(update, context)


def text_state(on_text: Step) -> list[BotHandler]:
    """Handlers for a question answered by typing: text goes to the step, anything else gets a hint."""
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(~filters.COMMAND & ~filters.TEXT, hint_text),
    ]


def button_state(*handlers: BotHandler) -> list[BotHandler]:
    """Handlers for a question answered with buttons: anything typed gets a hint."""
    return [*handlers, MessageHandler(~filters.COMMAND, hint_button)]


async def hint_text(update: Update, context: BotContext) -> None:
    """Handler form of expect_text: the question stays."""
    await expect_text(update, context)


async def hint_button(update: Update, context: BotContext) -> None:
    """Handler form of expect_button: the question stays."""
    await expect_button(update, context)


# -- declared questions -----------------------------------------------------------------------------
# An ordinary question is declared, not written: it makes its own ask step, got step and handlers,
# and after an answer goes on to the next question of its form (see Form.asker_after).


@dataclass(frozen=True)
class TextQuestion:
    """A question answered by typing a line, kept as typed."""

    key: str
    label: str  # message id
    state: int
    prompt: str  # message id
    limit: int  # the most characters an answer may have
    markup: Callable[[BotContext], Any] | None = None  # a keyboard sent with the question

    async def ask(self, update: Update, context: BotContext) -> int:
        markup = self.markup(context) if self.markup else None
        return await ask(update, context, self.state, context.t(self.prompt), markup)

    async def take(self, update: Update, context: BotContext) -> str | None:
        """The typed answer, kept in the draft; None after saying what is wanted."""
        text = await read_text(update, context, limit=self.limit)
        if text is not None:
            answers(context)[self.key] = text
        return text

    def handlers(self, form: Form) -> list[BotHandler]:
        return text_state(_answered(form, self.state, self.take))


@dataclass(frozen=True)
class ChoiceQuestion(Generic[ChoiceT]):
    """A question answered with one button of a fixed list; the answer replaces the question."""

    key: str
    label: str  # message id
    state: int
    prompt: str  # message id
    labels: Mapping[ChoiceT, str]  # every choice, as message ids, in the buttons' order
    prefix: str  # a button's callback data is the prefix and the choice
    echo: str  # message id with one placeholder, for the chosen label: "Work: {trade}"
    per_row: int = 2

    def __post_init__(self) -> None:
        _placeholder(self.echo)  # a wrong echo fails when the form is declared, not in a worker's chat

    async def ask(self, update: Update, context: BotContext) -> int:
        markup = choice_buttons(context, self.labels, self.prefix, per_row=self.per_row)
        return await ask(update, context, self.state, context.t(self.prompt), markup)

    async def take(self, update: Update, context: BotContext) -> ChoiceT | None:
        """The choice, shown in place of the question and kept; None after answering a stale button."""
        choice = await read_choice(update, context, type(next(iter(self.labels))), self.prefix)
        if choice is None:
            return None
        chosen = context.t(self.labels[choice])
        await show_choice(update, context.t(self.echo, **{_placeholder(self.echo): chosen}))
        answers(context)[self.key] = choice.value
        return choice

    def handlers(self, form: Form, got: Step | None = None) -> list[BotHandler]:
        """``got`` replaces the usual step (take, then the next question) where the choice decides what
        comes next."""
        step = got or _answered(form, self.state, self.take)
        return button_state(CallbackQueryHandler(step, pattern=f"^{self.prefix}"))


@dataclass(frozen=True)
class YesNoQuestion:
    """May others have something of the worker's: yes or no, kept as true or false. The question says what
    a yes gives away; the answer replaces it, in words of its own ("yes, they may")."""

    key: str
    label: str  # message id
    state: int
    prompt: str  # message id
    labels: Mapping[YesNo, str]  # the two buttons as message ids, one to a row, in this order
    prefix: str  # a button's callback data is the prefix and "yes" or "no"
    echo: str  # message id with one placeholder, for the answer's words: "Federation may see it: {choice}"
    said: Mapping[YesNo, str]  # message ids: the answer in the echo and the summary
    caution: Callable[[BotContext], str | None] | None = None  # a warning under the question, when it applies

    def __post_init__(self) -> None:
        _placeholder(self.echo)  # a wrong echo fails when the form is declared, not in a worker's chat

    async def ask(self, update: Update, context: BotContext) -> int:
        warning = self.caution(context) if self.caution else None
        text = "\n\n".join([context.t(self.prompt), *([warning] if warning else [])])
        markup = choice_buttons(context, self.labels, self.prefix, per_row=1)
        return await ask(update, context, self.state, text, markup)

    async def take(self, update: Update, context: BotContext) -> YesNo | None:
        """The answer, shown in place of the question and kept; None after answering a stale button."""
        choice = await read_choice(update, context, YesNo, self.prefix)
        if choice is None:
            return None
        said_yes = choice == YesNo.YES
        await show_choice(
            update, context.t(self.echo, **{_placeholder(self.echo): self.words(context, said_yes)})
        )
        answers(context)[self.key] = said_yes
        return choice

    def words(self, context: BotContext, said_yes: object) -> str:
        """The answer in words (a draft's or a stored case's true or false); "" when there is none yet."""
        if said_yes is None:
            return ""
        return context.t(self.said[YesNo.YES if said_yes else YesNo.NO])

    def handlers(self, form: Form) -> list[BotHandler]:
        return button_state(
            CallbackQueryHandler(_answered(form, self.state, self.take), pattern=f"^{self.prefix}")
        )


VOICE_NOTE = "voice"  # key in the draft's answers: a story told in a voice note, as a file for the case


@dataclass(frozen=True)
class StoryQuestion:
    """What happened, typed or told in a voice note (the note itself is the answer), or skipped where
    ``skip`` is given. The typed story is kept under ``key``, the note under VOICE_NOTE, never both."""

    key: str
    label: str  # message id
    state: int
    prompt: str  # message id
    limit: int  # the most characters a typed story may have
    # The note as a file for the draft: evidence.attachment_of, passed in since evidence builds on forms.
    voice_file: Callable[[Message], dict[str, Any] | None]
    skip: str | None = None  # callback data of a Skip button; None: the story is needed

    async def ask(self, update: Update, context: BotContext) -> int:
        markup = buttons([[(context.t("Skip"), self.skip)]]) if self.skip else None
        return await ask(update, context, self.state, context.t(self.prompt), markup)

    async def take_text(self, update: Update, context: BotContext) -> str | None:
        text = await read_text(update, context, limit=self.limit)
        if text is not None:
            self._keep(context, text=text)
        return text

    async def take_voice(self, update: Update, context: BotContext) -> dict[str, Any] | None:
        message = update.effective_message
        note = self.voice_file(message) if message else None
        if note is None:  # the filter lets only voice notes through; defensive
            await self.hint(update, context)
            return None
        self._keep(context, voice=note)
        await say(update, context, context.t("🎤 Voice note received."))
        return note

    async def take_skip(self, update: Update, context: BotContext) -> bool:
        """Skipped: the form's other answers speak for themselves."""
        query = update.callback_query
        assert query
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        self._keep(context)
        return True

    def _keep(
        self, context: BotContext, *, text: str | None = None, voice: dict[str, Any] | None = None
    ) -> None:
        """The story is kept one way only: in words, in a voice note, or not at all (skipped)."""
        given = answers(context)
        given.pop(self.key, None)
        given.pop(VOICE_NOTE, None)
        if text is not None:
            given[self.key] = text
        if voice is not None:
            given[VOICE_NOTE] = voice

    async def hint(self, update: Update, context: BotContext) -> None:
        """A sticker, photo or file where the story is wanted."""
        wanted = (
            context.t("Please type what happened, or send a voice note, or tap Skip.")
            if self.skip
            else context.t("Please type what happened, or send a voice note.")
        )
        await say(update, context, wanted)

    def told(self, context: BotContext, given: Mapping[str, Any]) -> str:
        """The story for the summary: the typed words, or that it is a voice note."""
        if given.get(VOICE_NOTE):
            return context.t("🎤 voice note")
        if given.get(self.key):
            return str(given[self.key])
        return context.t("nothing written") if self.skip else ""

    def handlers(self, form: Form) -> list[BotHandler]:
        skip: list[BotHandler] = (
            [CallbackQueryHandler(_answered(form, self.state, self.take_skip), pattern=f"^{self.skip}$")]
            if self.skip
            else []
        )
        return [
            *skip,
            MessageHandler(filters.TEXT & ~filters.COMMAND, _answered(form, self.state, self.take_text)),
            MessageHandler(filters.VOICE, _answered(form, self.state, self.take_voice)),
            MessageHandler(~filters.COMMAND & ~filters.TEXT, self.hint),
        ]


def story_voice_note(given: Mapping[str, Any]) -> AttachmentIn | None:
    """The voice note a story was told in: the case's first attachment, its file id in the case's fields."""
    note = given.get(VOICE_NOTE)
    return AttachmentIn.model_validate(note) if note else None


# Room for an amount as workers type it ("¥8,500元", "两千五百元"); anything longer is not one.
AMOUNT_TYPED_LIMIT = 50
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class NoAmount:
    """A button for "none" next to an amount question; it stands for 0, and so does a typed 0."""

    button: str  # message id
    data: str  # callback data
    words: str  # message id: how 0 reads back ("no income now")


@dataclass(frozen=True)
class AmountQuestion:
    """An amount of money typed as workers write it (bot/cases/amounts.py: 8,500元, 八千五, 8.5k), kept as
    exact decimal text. It is echoed, so a misread (八千五 taken as 85) is plain to see before the summary;
    what cannot be taken is refused with the reason, and the question asked again."""

    key: str
    label: str  # message id
    state: int
    prompt: str  # message id
    again: str  # message id, after the reason: how to type it ("…for example 8500 or 8.5k.")
    echo: str  # message id with one placeholder, for the amount: "Amount owed: {amount}"
    most: Decimal = MAX_AMOUNT  # more than this is a slip of the finger (an extra zero)
    none: NoAmount | None = None  # without it, 0 is refused

    def __post_init__(self) -> None:
        _placeholder(self.echo)  # a wrong echo fails when the form is declared, not in a worker's chat

    def _markup(self, context: BotContext) -> InlineKeyboardMarkup | None:
        return buttons([[(context.t(self.none.button), self.none.data)]]) if self.none else None

    async def ask(self, update: Update, context: BotContext) -> int:
        return await ask(update, context, self.state, context.t(self.prompt), self._markup(context))

    async def take(self, update: Update, context: BotContext) -> Decimal | None:
        """The typed amount, kept and echoed; None after saying why it cannot be taken."""
        text = await read_text(update, context, limit=AMOUNT_TYPED_LIMIT)
        if text is None:
            return None
        try:
            amount = parse_amount(text)
        except AmountError as error:
            if error.problem != AmountProblem.ZERO or self.none is None:
                await self._ask_again(update, context, error.problem)
                return None
            amount = ZERO
        if amount > self.most:
            await self._ask_again(update, context, AmountProblem.TOO_LARGE)
            return None
        return await self._keep(update, context, amount)

    async def take_none(self, update: Update, context: BotContext) -> Decimal:
        """The "none" button: 0."""
        query = update.callback_query
        assert query
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        return await self._keep(update, context, ZERO)

    async def _keep(self, update: Update, context: BotContext, amount: Decimal) -> Decimal:
        answers(context)[self.key] = str(amount)
        await say(
            update, context, context.t(self.echo, **{_placeholder(self.echo): self.shown(context, amount)})
        )
        return amount

    async def _ask_again(self, update: Update, context: BotContext, problem: AmountProblem) -> None:
        reason = context.t(AMOUNT_PROBLEMS[problem], limit=money(context.language, self.most))
        text = Html(f"{reason}\n{context.t(self.again)}")
        await ask(update, context, self.state, text, self._markup(context))

    def shown(self, context: BotContext, amount: Decimal) -> str:
        """8500 → "8500元" / "8,500 yuan"; 0 in the words of the "none" button's answer."""
        if amount == 0 and self.none:
            return context.t(self.none.words)
        return money(context.language, amount)

    def handlers(self, form: Form) -> list[BotHandler]:
        none: list[BotHandler] = (
            [CallbackQueryHandler(_answered(form, self.state, self.take_none), pattern=f"^{self.none.data}$")]
            if self.none
            else []
        )
        return [*none, *text_state(_answered(form, self.state, self.take))]


def _answered(form: Form, state: int, take: Callable[[Update, BotContext], Awaitable[object]]) -> Step:
    """The got step of a declared question: take the answer, then go on (the question stays on None)."""

    go_on = form.step_after(state)

    async def got(update: Update, context: BotContext) -> int | None:
        if await take(update, context) is None:
            return None
        return await go_on(update, context)

    return got


def _placeholder(msgid: str) -> str:
    """The one placeholder of an echo ("Work: {trade}" → "trade"): each echo names its own."""
    names = {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
    if len(names) != 1:
        raise ValueError(f"an echo takes exactly one placeholder: {msgid!r}")
    return names.pop()


# -- summary and edits ------------------------------------------------------------------------------


def _summary_text(context: BotContext, form: Form) -> str:
    lines = [f"<b>{html.escape(context.t(form.title))}</b>", context.t("Please check your answers:"), ""]
    for label, value in form.describe(context, answers(context)):
        lines.append(labelled(context.language, f"<b>{html.escape(label)}</b>", html.escape(value)))
    return "\n".join(lines)


async def show_summary(update: Update, context: BotContext, form: Form) -> int:
    markup = buttons(
        [
            [(context.t("✅ Submit"), SUBMIT)],
            [(context.t("✏️ Change an answer"), EDIT)],
            [(context.t("✖️ Cancel"), DROP)],
        ]
    )
    return await ask(update, context, form.summary_state, Html(_summary_text(context, form)), markup)


async def choose_field(update: Update, context: BotContext, form: Form) -> int:
    """The list of answers that can be changed, as buttons."""
    query = update.callback_query
    assert query
    await query.answer()
    rows = [[(context.t(f.label), EDIT_FIELD + f.key)] for f in form.fields]
    await query.edit_message_reply_markup(reply_markup=None)
    return await ask(
        update, context, form.summary_state, context.t("Which answer do you want to change?"), buttons(rows)
    )


async def edit_field(update: Update, context: BotContext, form: Form) -> int | None:
    """Ask one answer again, then come back to the summary."""
    query = update.callback_query
    assert query and query.data
    chosen = form.field_by_key(query.data.removeprefix(EDIT_FIELD))
    if chosen is None:
        await stale_button(update, context)
        return None
    await query.answer()
    draft(context)["editing"] = True
    return await chosen.ask(update, context)


def summary_handlers(form: Form, submit: Step) -> list[BotHandler]:
    async def on_edit(update: Update, context: BotContext) -> int:
        return await choose_field(update, context, form)

    async def on_field(update: Update, context: BotContext) -> int | None:
        return await edit_field(update, context, form)

    return button_state(
        CallbackQueryHandler(submit, pattern=f"^{SUBMIT}$"),
        CallbackQueryHandler(on_edit, pattern=f"^{EDIT}$"),
        CallbackQueryHandler(on_field, pattern=f"^{EDIT_FIELD}"),
    )


async def file_case(update: Update, context: BotContext, new_case: NewCase) -> Case:
    """File the worker's case (bot.cases.filing), dropping the draft once it is in SQLite; only then may
    the caller tell the worker it was received."""
    assert update.effective_user
    case = await filing.file_case(
        context.union_app,
        new_case,
        telegram_name=update.effective_user.first_name,
        language=context.language,
        on_filed=lambda: discard(context),
    )
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
    return case


# -- the conversation ------------------------------------------------------------------------------


def conversation(
    form: Form, *, states: dict[object, list[BotHandler]], submit: Step, start: Step | None = None
) -> ConversationHandler[BotContext]:
    """A form's conversation: begun by its command or its menu button (with Form.start unless the form
    checks more first), its questions' states, then the summary. Kept across restarts under the form's
    name (renamed, running bots would lose their drafts)."""
    begin_form = start or form.start
    return ConversationHandler(
        entry_points=[
            CommandHandler(form.name, begin_form),
            CallbackQueryHandler(begin_form, pattern=menu_pattern(form.name)),
        ],
        states={**states, form.summary_state: summary_handlers(form, submit)},
        fallbacks=fallbacks(form),
        name=form.name,
        persistent=True,
    )


# -- leaving and switching --------------------------------------------------------------------------


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel: the draft is deleted, nothing was sent."""
    discard(context)
    await say(update, context, context.t("Cancelled. Nothing was sent."), ReplyKeyboardRemove())
    return ConversationHandler.END


def fallbacks(form: Form) -> list[BotHandler]:
    """Every form's way out: /cancel, switching to something else (asked first), stale buttons."""

    async def switch(update: Update, context: BotContext) -> None:
        await offer_switch(update, context, form.title)

    async def keep(update: Update, context: BotContext) -> int | None:
        assert update.callback_query
        await update.callback_query.answer()
        step = draft(context).get("step")
        if step == form.summary_state:
            return await show_summary(update, context, form)
        asker = form.asker_for(step) if isinstance(step, int) else None
        return await asker(update, context) if asker else None

    async def drop(update: Update, context: BotContext) -> int:
        assert update.callback_query
        await update.callback_query.answer()
        discard(context)
        await update.callback_query.edit_message_reply_markup(reply_markup=None)
        # Its own message, so a share-phone keyboard left from the dropped form goes away too.
        await say(update, context, context.t("Deleted. Nothing was sent."), ReplyKeyboardRemove())
        await show_menu(update, context)
        return ConversationHandler.END

    return [
        CommandHandler("cancel", cancel),
        CommandHandler(SWITCH_COMMANDS, switch),
        CallbackQueryHandler(switch, pattern=f"^{MENU_PREFIX}"),
        CallbackQueryHandler(keep, pattern=f"^{KEEP}$"),
        CallbackQueryHandler(drop, pattern=f"^{DROP}$"),
        CallbackQueryHandler(stale_button),
        MessageHandler(filters.COMMAND, _unknown_command),
    ]


async def _unknown_command(update: Update, context: BotContext) -> None:
    await say(
        update,
        context,
        context.t("I don't know that command. Please answer the question above, or send /cancel to stop."),
    )
