"""The terminal chat drives the sandbox like a person would, against a tiny PTB bot."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import BotApiSandbox, CallbackAnswer, SentMessage, chat_in_terminal
from bot.sandbox.terminal import render_answer, render_fault, render_message

TOKEN = "123456:terminal-token"
WORKER, OFFICER = 1001, 2002


class Screen:
    """A print_fn that records lines and lets the scripted input wait for what the bot said."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, text: str) -> None:
        with self._changed:
            self.lines.append(text)
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, expected: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: expected in "\n".join(self.lines), timeout=10):
                raise AssertionError(f"{expected!r} never appeared on screen:\n" + "\n".join(self.lines))


class Script:
    """An input_fn: each step waits until the screen shows ``expect`` and then types ``line``.

    ``line`` may be a function, called at that moment (in the input thread) to act and give the line.
    """

    def __init__(self, screen: Screen, steps: list[tuple[str | None, str | Callable[[], str]]]) -> None:
        self.screen = screen
        self.steps = list(steps)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.steps:
            raise EOFError
        expect, line = self.steps.pop(0)
        if expect is not None:
            self.screen.wait_for(expect)
        return line if isinstance(line, str) else line()


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Join the union", callback_data="join")],
            [InlineKeyboardButton("帮助", callback_data="help")],
        ]
    )
    await update.effective_message.reply_text("你好，欢迎！", reply_markup=buttons)


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    if query.data == "stale":
        await query.answer("This button is no longer active.", show_alert=True)
        return
    if query.data == "toast":
        await query.answer("已收到")
        return
    await query.answer()
    await context.bot.send_message(query.message.chat.id, f"pressed {query.data}")


async def _alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An officer's alert with buttons, then another message, so the alert is no longer the newest."""
    assert update.effective_message is not None
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("旧按钮", callback_data="stale"),
                InlineKeyboardButton("收到", callback_data="toast"),
            ]
        ]
    )
    await update.effective_message.reply_text("新警报", reply_markup=buttons)
    await update.effective_message.reply_text("另一条消息")


async def _report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await context.bot.send_message(OFFICER, "新案件：欠薪")
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True)]])
    await update.effective_message.reply_text("已转给工会干部", reply_markup=keyboard)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if message.contact:
        await message.reply_text(f"contact {message.contact.phone_number}")
    elif message.photo:
        await message.reply_text(f"photo: {message.caption}")
    else:
        await message.reply_text(f"echo: {message.text}")


@pytest.fixture
def sandbox() -> Iterator[BotApiSandbox]:
    with BotApiSandbox(flood_limit=None) as server:
        yield server


@pytest.fixture
async def running_bot(sandbox: BotApiSandbox) -> AsyncIterator[Application]:
    app = ApplicationBuilder().token(TOKEN).base_url(sandbox.base_url).base_file_url(sandbox.file_url).build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CommandHandler("report", _report))
    app.add_handler(CommandHandler("alert", _alert))
    app.add_handler(CallbackQueryHandler(_pressed))
    app.add_handler(MessageHandler(filters.ALL, _echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        yield app
        await app.updater.stop()
        await app.stop()


@pytest.mark.asyncio
async def test_worker_and_officer_chat_in_the_terminal(
    sandbox: BotApiSandbox, running_bot: Application
) -> None:
    identities = {"worker": sandbox.person(WORKER, "Li"), "officer": sandbox.person(OFFICER, "Wang")}
    screen = Screen()
    script = Script(
        screen,
        [
            (None, "/start"),
            ("[2] 帮助", "#1"),
            ("pressed join", "工资被拖欠"),
            ("echo: 工资被拖欠", "/report"),
            ("[1] 分享手机号", "#1"),
            (f"contact {identities['worker'].phone_number}", ":photo 工资单"),
            ("photo: 工资单", "#9"),
            ("there is no button 9", ":as officer"),
            ("新案件：欠薪", "你好"),
            ("echo: 你好", ":quit"),
        ],
    )
    await chat_in_terminal(sandbox, identities, input_fn=script, print_fn=screen, reply_wait=0)

    text = screen.text
    assert "🤖 [m2] 你好，欢迎！\n   [1] Join the union\n   [2] 帮助" in text
    assert "(you pressed “Join the union”)" in text
    assert "(new message for officer; type :as officer to read it)" in text
    assert "⌨ [1] 分享手机号" in text
    assert script.prompts[0] == "worker> " and script.prompts[-1] == "officer> "
    assert identities["worker"].callback_answers.keys() == set(identities["worker"].presses)


@pytest.mark.asyncio
async def test_popups_toasts_and_buttons_on_older_messages(
    sandbox: BotApiSandbox, running_bot: Application
) -> None:
    identities = {"worker": sandbox.person(WORKER, "Li")}
    screen = Screen()
    script = Script(
        screen,
        [
            (None, "/start"),
            ("[2] 帮助", "/alert"),
            ("另一条消息", "#4.1"),
            ("💬 (popup) This button is no longer active.", "#4.2"),
            ("💬 已收到", "#2.2"),  # the welcome message, two messages back
            ("pressed help", "#m2.1"),
            ("pressed join", "#5.1"),
            ("no message m5 with buttons", "#4.9"),
            ("there is no button 9; choose 1-2", "#1"),  # still the newest message with buttons
            ("choose 1-2\n   (you pressed “旧按钮”)\n💬 (popup) This button is no longer active.", "#x.1"),
            ("usage: #N", ":quit"),
        ],
    )
    await chat_in_terminal(sandbox, identities, input_fn=script, print_fn=screen, reply_wait=0)

    text = screen.text
    assert "🤖 [m4] 新警报\n   [1] 旧按钮   [2] 收到\n🤖 另一条消息" in text
    assert "(you pressed “帮助”)\n🤖 pressed help" in text
    # The empty answers to "join" and "help" print nothing; only the three with text do.
    assert text.count("💬") == 3
    assert script.steps == []


@pytest.mark.asyncio
async def test_an_answer_for_another_identity_waits_with_its_messages(sandbox: BotApiSandbox) -> None:
    """The bot's side is played over HTTP here, so the answer comes exactly while the officer is current."""
    identities = {"worker": sandbox.person(WORKER, "Li"), "officer": sandbox.person(OFFICER, "Wang")}
    async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])
        await bot.send_message(WORKER, "确认提交？", reply_markup=buttons)

    def answer_the_press() -> str:
        query_id = identities["worker"].presses[-1]
        answer = {"callback_query_id": query_id, "text": "表格已过期", "show_alert": True}
        httpx.post(f"{sandbox.base_url}{TOKEN}/answerCallbackQuery", json=answer).raise_for_status()
        return ""

    screen = Screen()
    script = Script(
        screen,
        [
            (None, "#1"),
            ("(you pressed “确认”)", ":as officer"),
            ("— now officer", answer_the_press),
            ("(the bot answered worker's button press; type :as worker to read it)", ":as worker"),
            ("— now worker", ":quit"),
        ],
    )
    await chat_in_terminal(sandbox, identities, input_fn=script, print_fn=screen, reply_wait=0)
    while_officer = screen.text.split("— now officer")[1].split("— now worker")[0]
    assert "💬" not in while_officer
    assert screen.lines[-1] == "💬 (popup) 表格已过期"


@pytest.mark.asyncio
async def test_failures_are_set_shown_as_they_happen_and_cleared(
    sandbox: BotApiSandbox, running_bot: Application
) -> None:
    identities = {"worker": sandbox.person(WORKER, "Li")}
    screen = Screen()
    script = Script(
        screen,
        [
            (None, ":fail sendMessage 502 30"),
            ("(Telegram (sandbox) now refuses sendMessage with 502 Bad Gateway for 30 s", "hello"),
            ("⚠️  Telegram (sandbox) refused sendMessage: 502 Bad Gateway", ":fail off"),
            ("(no more failures", "hello again"),
            ("echo: hello again", ":fail answercallbackquery 400"),
            ("refuses answerCallbackQuery with 400 Bad Request: injected fault until :fail off", "/start"),
            ("[2] 帮助", "#1"),
            (
                "⚠️  Telegram (sandbox) refused answerCallbackQuery: 400 Bad Request: injected fault",
                ":fail off",
            ),
            (None, ":fail sendMessage timeout"),
            ("now leaves sendMessage unanswered (timeout) until :fail off", "ping"),
            ("⚠️  Telegram (sandbox) left sendMessage unanswered: timeout", ":fail off"),
            (None, ":fail sendMesage 502"),
            ("⚠ the sandbox has no method 'sendMesage'", ":fail sendMessage often"),
            ("STATUS is a number such as 502, or timeout", ":fail sendMessage"),
            (None, ":quit"),
        ],
    )
    await chat_in_terminal(sandbox, identities, input_fn=script, print_fn=screen, reply_wait=0)

    assert screen.lines[-1].startswith("⚠ usage: :fail METHOD STATUS [SECONDS]")
    assert "pressed join" not in screen.text  # the handler stopped where Telegram refused it
    assert "echo: hello" not in screen.text.replace("echo: hello again", "")
    assert script.steps == []


@pytest.mark.asyncio
async def test_telegram_goes_down_and_comes_back(sandbox: BotApiSandbox, running_bot: Application) -> None:
    identities = {"worker": sandbox.person(WORKER, "Li")}
    screen = Screen()
    script = Script(
        screen,
        [
            (None, ":down"),
            ("(Telegram (sandbox) is down: every call gets 502 Bad Gateway until :up)", "hi"),
            ("⚠️  Telegram (sandbox) refused getUpdates: 502 Bad Gateway", ":up"),
            ("(Telegram (sandbox) is back up)", ":down 30"),
            ("every call gets 502 Bad Gateway for 30 s; :up ends it sooner", ":down soon"),
            ("usage: :down [SECONDS]", ":up"),
            (None, ":quit"),
        ],
    )
    await chat_in_terminal(sandbox, identities, input_fn=script, print_fn=screen, reply_wait=0)
    assert script.steps == []
    assert "⚠ usage: :down [SECONDS], e.g. :down 30" in screen.text


@pytest.mark.asyncio
async def test_end_of_input_and_help(sandbox: BotApiSandbox) -> None:
    identities = {"worker": sandbox.person(WORKER)}
    screen = Screen()
    script = Script(
        screen, [(None, ":help"), (None, ":bogus"), (None, ":as nobody"), (None, "#x"), (None, "#1")]
    )
    await chat_in_terminal(sandbox, identities, input_fn=script, print_fn=screen, reply_wait=0)
    assert ":as NAME           switch identity (worker)" in screen.text
    assert ":fail METHOD STATUS [SECONDS]" in screen.text and ":down [SECONDS]" in screen.text
    assert "⚠ unknown command :bogus" in screen.text
    assert "unknown identity 'nobody'" in screen.text
    assert "usage: #N" in screen.text
    assert "no buttons to press" in screen.text
    assert script.steps == []


@pytest.mark.asyncio
async def test_unknown_start_identity_is_refused(sandbox: BotApiSandbox) -> None:
    with pytest.raises(ValueError, match="unknown identity"):
        await chat_in_terminal(sandbox, {"worker": sandbox.person(WORKER)}, start_as="admin")


def test_render_media_and_deletion() -> None:
    document = SentMessage(
        message_id=3, kind="document", text="合同", date=0, seq=1, raw={"document": {"file_name": "合同.pdf"}}
    )
    assert render_message(document) == "🤖 [document] 合同.pdf\n合同"
    assert render_message(document, "delete") == "🗑  (the bot deleted message 3)"


def test_render_answers() -> None:
    assert render_answer(CallbackAnswer("q", 5, "已收到")) == "💬 已收到"
    assert render_answer(CallbackAnswer("q", 5, "已过期", show_alert=True)) == "💬 (popup) 已过期"
    assert render_answer(CallbackAnswer("q", 5, None)) is None  # it only stops the button's spinner
    assert render_answer(CallbackAnswer("q", 5, "", url="https://t.me/x")) == "💬 (opens https://t.me/x)"


def test_render_faults() -> None:
    assert render_fault("sendMessage", 502, "Bad Gateway") == (
        "⚠️  Telegram (sandbox) refused sendMessage: 502 Bad Gateway"
    )
    assert render_fault("sendMessage", 429, "Too Many Requests: retry after 5") == (
        "⚠️  Telegram (sandbox) refused sendMessage: 429 Too Many Requests: retry after 5"
    )
    assert render_fault("sendDocument", "timeout", "no answer") == (
        "⚠️  Telegram (sandbox) left sendDocument unanswered: timeout"
    )
