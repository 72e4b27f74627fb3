"""The Bot API sandbox answers python-telegram-bot the way Telegram does, refusals included."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import MessageEntityType
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.sandbox import BotApiSandbox, Person, SentMessage
from bot.sandbox.server import Fault

TOKEN = "123456:sandbox-token"
SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "telegram-bot-api" / "api-10.0.json"
LI = 1001


class FakeClock:
    """Unix seconds that only move when the test says so."""

    def __init__(self, now: float = 1_767_600_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[BotApiSandbox]:
    with BotApiSandbox(clock=clock) as server:
        yield server


@pytest.fixture
def li(sandbox: BotApiSandbox) -> Person:
    return sandbox.person(LI, first_name="Li", language_code="zh-hans")


@pytest.fixture
async def bot(sandbox: BotApiSandbox) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=sandbox.base_url, base_file_url=sandbox.file_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs])


def seconds(value: int | timedelta) -> float:
    """PTB 22 reports durations as int or timedelta depending on its settings."""
    return value.total_seconds() if isinstance(value, timedelta) else value


async def parsed_updates(bot: Bot, **kwargs: object) -> list[Update]:
    return list(await bot.get_updates(**kwargs))


# -- identity and transport ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me_uses_the_id_in_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username, me.first_name) == (123456, True, "union_sandbox_bot", "Union Bot")


@pytest.mark.asyncio
async def test_malformed_token_is_unauthorized(sandbox: BotApiSandbox) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("not-a-token", base_url=sandbox.base_url) as client:
            await client.get_me()
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(f"{sandbox.base_url}12:abc/getMe")
    assert (answer.status_code, answer.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


@pytest.mark.asyncio
async def test_unknown_method_is_not_found(sandbox: BotApiSandbox, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendSmokeSignal", api_kwargs={"chat_id": LI})
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(f"{sandbox.base_url}{TOKEN}/sendSmokeSignal")
    assert (answer.status_code, answer.json()["description"]) == (404, "Not Found")


@pytest.mark.asyncio
async def test_methods_are_case_insensitive_and_calls_are_recorded(sandbox: BotApiSandbox, bot: Bot) -> None:
    await bot.do_api_request("GETME")
    assert sandbox.calls[-1] == ("getMe", {})


# -- sending and formatting ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_html_message_reaches_the_person_as_plain_text_with_entities(bot: Bot, li: Person) -> None:
    sent = await bot.send_message(LI, "<b>欢迎</b> to the <i>union</i> &amp; co", parse_mode="HTML")
    assert sent.text == "欢迎 to the union & co"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        (MessageEntityType.BOLD, 0, 2),
        (MessageEntityType.ITALIC, 10, 5),
    ]
    seen = li.last_message
    assert seen is not None
    assert (seen.kind, seen.text, seen.parse_mode) == ("text", "欢迎 to the union & co", "HTML")


@pytest.mark.asyncio
async def test_markdown_v2_and_legacy_markdown_are_parsed(bot: Bot, li: Person) -> None:
    v2 = await bot.send_message(LI, "*Join* the [union](https://example.org)\\!", parse_mode="MarkdownV2")
    legacy = await bot.send_message(LI, "*Join* _now_", parse_mode="Markdown")
    assert v2.text == "Join the union!"
    assert v2.entities[1].url == "https://example.org"
    assert legacy.text == "Join now"
    assert [e.type for e in legacy.entities] == [MessageEntityType.BOLD, MessageEntityType.ITALIC]


@pytest.mark.parametrize(
    ("text", "parse_mode", "message"),
    [
        ("", None, "Message text is empty"),
        ("<b></b>", "HTML", "Message text is empty"),
        ("x" * 4097, None, "Message is too long"),
        ("😀" * 2049, None, "Message is too long"),  # 2049 code points, 4098 UTF-16 units
        ("<foo>hi</foo>", "HTML", 'unsupported start tag "foo" at byte offset 0'),
        ("<b>hi", "HTML", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b>hi</i>", "HTML", 'unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
        ("1 < 2", "HTML", 'unsupported start tag "" at byte offset 2'),
        ("Tom & Jerry", "HTML", "at byte offset 4"),
        (
            "工资 3.5 元",
            "MarkdownV2",
            "character '.' is reserved and must be escaped with the preceding '\\'",
        ),
        ("*bold", "MarkdownV2", "can't find end of bold entity at byte offset 0"),
        ("a *bold", "Markdown", "can't find end of the entity starting at byte offset 2"),
    ],
)
@pytest.mark.asyncio
async def test_unsendable_text_is_refused(
    bot: Bot, li: Person, text: str, parse_mode: str | None, message: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        await bot.send_message(LI, text, parse_mode=parse_mode)
    assert message.lower() in refused.value.message.lower()
    assert li.messages == []


@pytest.mark.asyncio
async def test_text_of_exactly_4096_utf16_units_is_accepted(bot: Bot, li: Person) -> None:
    sent = await bot.send_message(LI, "😀" * 2048)
    assert sent.text == "😀" * 2048


@pytest.mark.asyncio
async def test_caption_over_1024_characters_is_refused(bot: Bot, li: Person) -> None:
    li.send_photo()
    photo = (await parsed_updates(bot))[0].message.photo[-1]
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(LI, photo.file_id, caption="c" * 1025)


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ({"inline_keyboard": [[{"text": "x", "callback_data": "长" * 22}]]}, "Button_data_invalid"),
        (
            {"inline_keyboard": [[{"text": "x"}]]},
            "Can't parse inline keyboard button: text buttons are unallowed in the inline keyboard",
        ),
        ("{not json", "Can't parse reply keyboard markup json object"),
    ],
)
@pytest.mark.asyncio
async def test_bad_reply_markup_is_refused(bot: Bot, li: Person, markup: object, message: str) -> None:
    raw = markup if isinstance(markup, str) else json.dumps(markup)
    with pytest.raises(BadRequest) as refused:
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": LI, "text": "hi", "reply_markup": raw})
    assert refused.value.message == message


@pytest.mark.asyncio
async def test_callback_data_of_64_bytes_is_accepted(bot: Bot, li: Person) -> None:
    await bot.send_message(LI, "ok", reply_markup=keyboard(("x", "a" * 64)))
    assert li.last_message is not None
    assert li.last_message.inline_buttons == [[("x", "a" * 64)]]


@pytest.mark.asyncio
async def test_unknown_chat_and_blocked_person(bot: Bot, li: Person) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "hi")
    li.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(LI, "hi")
    li.unblock()
    await bot.send_message(LI, "welcome back")
    kinds = [
        (u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
        for u in await parsed_updates(bot)
    ]
    assert kinds == [("member", "kicked"), ("kicked", "member")]


# -- edits and deletes -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_edits_follow_telegram_rules(bot: Bot, li: Person) -> None:
    sent = await bot.send_message(LI, "Case #1: open", reply_markup=keyboard(("Close", "close:1")))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Case #1: open", LI, sent.message_id, reply_markup=keyboard(("Close", "close:1"))
        )
    edited = await bot.edit_message_text(
        "Case #1: open", LI, sent.message_id
    )  # dropping the keyboard is a change
    assert edited.reply_markup is None
    await bot.edit_message_reply_markup(LI, sent.message_id, reply_markup=keyboard(("Reopen", "open:1")))
    seen = li.wait_for_edit(message_id=sent.message_id, predicate=lambda m: bool(m.inline_buttons))
    assert (seen.text, seen.inline_buttons, seen.edits) == ("Case #1: open", [[("Reopen", "open:1")]], 2)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", LI, 4242)


@pytest.mark.asyncio
async def test_caption_edit(bot: Bot, li: Person) -> None:
    li.send_photo()
    photo = (await parsed_updates(bot))[0].message.photo[-1]
    sent = await bot.send_photo(LI, photo.file_id, caption="工资单")
    await bot.edit_message_caption(LI, sent.message_id, caption="工资单 (已核对)")
    assert li.wait_for_edit().text == "工资单 (已核对)"
    with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
        text_message = await bot.send_message(LI, "text")
        await bot.edit_message_caption(LI, text_message.message_id, caption="x")


@pytest.mark.asyncio
async def test_delete_rules(bot: Bot, li: Person, clock: FakeClock) -> None:
    fresh = await bot.send_message(LI, "fresh")
    old = await bot.send_message(LI, "old")
    assert await bot.delete_message(LI, fresh.message_id)
    assert [m.text for m in li.messages] == ["old"]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(LI, fresh.message_id)
    clock.advance(48 * 3600 + 1)
    with pytest.raises(BadRequest, match="Message can't be deleted for everyone"):
        await bot.delete_message(LI, old.message_id)
    newer = await bot.send_message(LI, "newer")
    assert await bot.delete_messages(LI, [old.message_id, newer.message_id, 999])
    assert [m.text for m in li.messages] == ["old"]


# -- callback queries ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_press_produces_a_callback_query_that_can_be_answered_once(bot: Bot, li: Person) -> None:
    sent = await bot.send_message(
        LI, "Join?", reply_markup=keyboard(("加入工会", "join"), ("Later", "later"))
    )
    query_id = li.press("加入工会")
    query = (await parsed_updates(bot))[0].callback_query
    assert (query.id, query.data, query.from_user.id, query.message.message_id) == (
        query_id,
        "join",
        LI,
        sent.message_id,
    )
    assert await query.answer("已加入", show_alert=True)
    assert li.callback_answers == {query_id: {"text": "已加入", "show_alert": True, "url": None}}
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer()
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("no-such-query")


@pytest.mark.asyncio
async def test_an_answer_after_the_callback_window_is_too_old(
    sandbox: BotApiSandbox, bot: Bot, li: Person, clock: FakeClock
) -> None:
    await bot.send_message(LI, "Join?", reply_markup=keyboard(("Yes", "yes")))
    in_time = li.press("Yes")
    clock.advance(15)
    assert await bot.answer_callback_query(in_time)
    too_late = li.press("Yes")
    clock.advance(15.5)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(too_late)
    assert too_late not in li.callback_answers


@pytest.mark.asyncio
async def test_the_callback_window_is_a_constructor_argument(clock: FakeClock) -> None:
    with BotApiSandbox(clock=clock, callback_answer_window=60) as patient:
        li = patient.person(LI)
        async with Bot(TOKEN, base_url=patient.base_url) as client:
            await client.send_message(LI, "Join?", reply_markup=keyboard(("Yes", "yes")))
            query_id = li.press("Yes")
            clock.advance(59)
            assert await client.answer_callback_query(query_id)


@pytest.mark.asyncio
async def test_press_data_forges_callbacks_and_missing_buttons_raise(bot: Bot, li: Person) -> None:
    await bot.send_message(LI, "menu", reply_markup=keyboard(("A", "a")))
    forged = li.press_data("admin:delete_everything")
    query = (await parsed_updates(bot))[0].callback_query
    assert query.data == "admin:delete_everything"
    await query.answer("这个按钮已经失效")
    assert (await li.next_answer(forged))["text"] == "这个按钮已经失效"
    with pytest.raises(LookupError):
        li.press("B")


# -- reply keyboards, contacts and media -----------------------------------------------------


@pytest.mark.asyncio
async def test_reply_keyboard_contact_button(bot: Bot, li: Person) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True)], ["帮助"]])
    await bot.send_message(LI, "Please share your number", reply_markup=markup)
    assert li.reply_keyboard == [["分享手机号"], ["帮助"]]
    li.tap_reply_button("分享手机号")
    li.tap_reply_button("帮助")
    contact_update, text_update = await parsed_updates(bot)
    assert (contact_update.message.contact.user_id, contact_update.message.contact.phone_number) == (
        LI,
        li.phone_number,
    )
    assert text_update.message.text == "帮助"
    with pytest.raises(LookupError):
        li.tap_reply_button("nope")
    await bot.send_message(LI, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert li.reply_keyboard is None


@pytest.mark.asyncio
async def test_person_media_parse_and_download(bot: Bot, li: Person) -> None:
    li.send_photo(caption="欠薪证据", width=800, height=600)
    li.send_document("合同.pdf", b"%PDF-1.4 contract", caption="contract")
    li.send_voice(duration=7)
    li.send_location(31.23, 121.47)
    li.send_sticker("👍")
    li.send_command("/start join")
    photo, document, voice, location, sticker, command = (u.message for u in await parsed_updates(bot))
    assert (photo.caption, photo.photo[-1].width, photo.photo[-1].height) == ("欠薪证据", 800, 600)
    assert (document.document.file_name, document.document.mime_type) == ("合同.pdf", "application/pdf")
    assert (
        bytes(await (await bot.get_file(document.document.file_id)).download_as_bytearray())
        == b"%PDF-1.4 contract"
    )
    assert (await bot.get_file(photo.photo[0].file_id)).file_size > 0
    assert seconds(voice.voice.duration) == 7
    assert (location.location.latitude, location.location.longitude) == (31.23, 121.47)
    assert sticker.sticker.emoji == "👍"
    assert command.text == "/start join"
    assert command.parse_entities([MessageEntityType.BOT_COMMAND]).popitem()[1] == "/start"


@pytest.mark.asyncio
async def test_bot_uploads_and_file_ids(bot: Bot, li: Person) -> None:
    sent = await bot.send_document(LI, document=b"receipt bytes", filename="收据.txt", caption="收据")
    assert sent.document.file_name == "收据.txt"
    assert li.last_message is not None and li.last_message.kind == "document"
    again = await bot.send_document(LI, sent.document.file_id)
    assert again.document.file_unique_id == sent.document.file_unique_id
    download = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(download) == b"receipt bytes"
    voice = await bot.send_voice(LI, voice=b"OggS fake", duration=2)
    assert seconds(voice.voice.duration) == 2
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_photo(LI, "no-such-file-id")
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("no-such-file-id")


@pytest.mark.asyncio
async def test_bot_sends_video_audio_and_video_notes(bot: Bot, li: Person) -> None:
    video = await bot.send_video(
        LI, b"fake mp4", duration=12, width=640, height=360, caption="<b>工地</b>", parse_mode="HTML"
    )
    assert (video.video.width, video.video.height, seconds(video.video.duration)) == (640, 360, 12)
    assert (video.caption, video.caption_entities[0].type) == ("工地", MessageEntityType.BOLD)
    again = await bot.send_video(LI, video.video.file_id)
    assert (again.video.file_unique_id, again.video.width, again.caption) == (
        video.video.file_unique_id,
        640,
        None,
    )
    audio = await bot.send_audio(
        LI, b"ID3 fake", duration=61, performer="老王", title="电话录音", caption="录音"
    )
    assert (audio.audio.performer, audio.audio.title, seconds(audio.audio.duration)) == (
        "老王",
        "电话录音",
        61,
    )
    assert audio.caption == "录音"
    note = await bot.send_video_note(LI, b"fake round mp4", duration=8, length=240)
    assert (note.video_note.length, seconds(note.video_note.duration)) == (240, 8)
    download = await (await bot.get_file(note.video_note.file_id)).download_as_bytearray()
    assert bytes(download) == b"fake round mp4"
    assert [m.kind for m in li.messages] == ["video", "video", "audio", "video_note"]
    assert [m.text for m in li.messages] == ["工地", None, "录音", None]


@pytest.mark.asyncio
async def test_video_audio_and_video_note_refusals(bot: Bot, li: Person) -> None:
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_video(LI, "no-such-file-id")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_audio(LI, b"ID3 fake", caption="c" * 1025)
    li.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_video_note(LI, b"fake round mp4")
    li.unblock()
    # A video note has no caption: Telegram ignores one sent anyway.
    note = await bot.send_video_note(LI, b"fake round mp4")
    sent = await bot.do_api_request(
        "sendVideoNote", api_kwargs={"chat_id": LI, "video_note": note.video_note.file_id, "caption": "x"}
    )
    assert isinstance(sent, dict) and "caption" not in sent
    assert [(m.kind, m.text) for m in li.messages] == [("video_note", None), ("video_note", None)]


@pytest.mark.asyncio
async def test_person_video_audio_and_video_note_can_be_relayed(bot: Bot, li: Person) -> None:
    officer = li._sandbox.person(2002, first_name="Wang")
    li.send_video(caption="现场", duration=9, width=720, height=1280)
    li.send_audio(caption="老板的电话", duration=95)
    li.send_video_note(duration=6, length=384)
    video, audio, note = (u.message for u in await parsed_updates(bot))
    assert (video.caption, video.video.width, video.video.height, seconds(video.video.duration)) == (
        "现场",
        720,
        1280,
        9,
    )
    assert (audio.caption, audio.audio.file_name, seconds(audio.audio.duration)) == (
        "老板的电话",
        "recording.mp3",
        95,
    )
    assert (note.video_note.length, seconds(note.video_note.duration), note.caption) == (384, 6, None)
    # What the bot does with a worker's files: send them on to the officer by file id.
    await bot.send_video(officer.chat_id, video.video.file_id, caption="W-000001 现场")
    await bot.send_audio(officer.chat_id, audio.audio.file_id, caption="W-000001 录音")
    await bot.send_video_note(officer.chat_id, note.video_note.file_id)
    await bot.copy_message(officer.chat_id, LI, video.message_id, caption="复制")
    assert [(m.kind, m.text) for m in officer.messages] == [
        ("video", "W-000001 现场"),
        ("audio", "W-000001 录音"),
        ("video_note", None),
        ("video", "复制"),
    ]
    relayed = officer.messages[0].raw["video"]
    assert (relayed["file_unique_id"], relayed["width"]) == (video.video.file_unique_id, 720)


@pytest.mark.asyncio
async def test_location_chat_action_copy_and_forward(bot: Bot, li: Person) -> None:
    officer = li._sandbox.person(2002, first_name="Wang")
    li.send_text("老板欠我三个月工资")
    report = (await parsed_updates(bot))[0].message
    assert await bot.send_chat_action(LI, "typing")
    await bot.send_location(LI, 31.2, 121.5)
    copied = await bot.copy_message(officer.chat_id, LI, report.message_id)
    forwarded = await bot.forward_message(officer.chat_id, LI, report.message_id)
    assert forwarded.forward_origin.sender_user.id == LI
    assert [m.text for m in officer.messages] == ["老板欠我三个月工资"] * 2
    assert officer.messages[0].message_id == copied.message_id
    assert li.last_message is not None and li.last_message.kind == "location"
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(officer.chat_id, LI, 999)


# -- updates ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_updates_redelivers_until_confirmed_by_offset(
    sandbox: BotApiSandbox, bot: Bot, li: Person
) -> None:
    first = li.send_text("one")
    second = li.send_text("two")
    assert [u.update_id for u in await parsed_updates(bot)] == [first, second]
    assert [u.update_id for u in await parsed_updates(bot, limit=1)] == [first]
    # A bot that crashed before confirming gets the same updates again after a restart.
    async with Bot(TOKEN, base_url=sandbox.base_url) as restarted:
        assert [u.message.text for u in await restarted.get_updates(offset=first + 1)] == ["two"]
    assert sandbox.pending_update_count() == 1
    assert await parsed_updates(bot, offset=second + 1) == []
    assert sandbox.pending_update_count() == 0


@pytest.mark.asyncio
async def test_raw_updates_reach_the_bot_unchecked(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    li.send_text("before")
    broken = {
        "message": {"message_id": 9, "date": 0, "chat": {"id": LI, "type": "private"}, "from": {"id": LI}}
    }
    update_id = sandbox.inject_raw_update({"update_id": 1, **broken})
    raw = await bot.do_api_request("getUpdates")
    assert isinstance(raw, list)
    assert [u["update_id"] for u in raw] == [update_id - 1, update_id]
    assert raw[1] == {"update_id": update_id, **broken}  # "from" lacks "first_name": PTB cannot parse it
    assert [m.text for m in li.sent_messages] == ["before"]  # stored in no chat


@pytest.mark.asyncio
async def test_long_poll_wakes_up_on_a_new_update(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.to_thread(sandbox.wait_for_call, "getUpdates")
    li.send_text("你好")
    updates = await asyncio.wait_for(poll, timeout=10)
    assert [u.message.text for u in updates] == ["你好"]


@pytest.mark.asyncio
async def test_webhook_blocks_get_updates(bot: Bot, li: Person) -> None:
    assert await bot.set_webhook("https://bot.example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://bot.example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    li.send_text("queued")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


@pytest.mark.asyncio
async def test_commands_are_stored_per_scope_and_language(sandbox: BotApiSandbox, bot: Bot) -> None:
    from telegram import BotCommand, BotCommandScopeChat

    await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
    await bot.set_my_commands([BotCommand("cases", "Open cases")], scope=BotCommandScopeChat(2002))
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start"]
    assert await bot.get_my_commands() == ()
    assert sandbox.commands({"type": "chat", "chat_id": 2002}) == [
        {"command": "cases", "description": "Open cases"}
    ]
    assert await bot.delete_my_commands(language_code="zh")
    assert sandbox.commands(language_code="zh") == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


# -- flood control and outages ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_flood_limit_follows_the_clock(
    sandbox: BotApiSandbox, bot: Bot, clock: FakeClock, li: Person
) -> None:
    sandbox.set_flood_limit(3)
    for n in range(3):
        await bot.send_message(LI, f"burst {n}")
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(LI, "one too many")
    assert seconds(limited.value.retry_after) == 1
    await bot.get_me()  # reading is never limited
    clock.advance(1)
    await bot.send_message(LI, "after the window")
    sandbox.set_flood_limit(None)
    for n in range(10):
        await bot.send_message(LI, f"unlimited {n}")
    assert len(li.messages) == 14


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (400, BadRequest, "Injected fault"),  # PTB drops Telegram's "Bad Request: " prefix
        (403, Forbidden, "Forbidden: bot was blocked by the user"),
        (500, NetworkError, "Internal Server Error"),
        (502, NetworkError, "Bad Gateway"),
        (503, NetworkError, "Service Unavailable"),
    ],
)
@pytest.mark.asyncio
async def test_each_fault_status_raises_what_telegram_would(
    sandbox: BotApiSandbox, bot: Bot, li: Person, status: int, error: type[TelegramError], message: str
) -> None:
    sandbox.fail("sendMessage", status)
    with pytest.raises(error) as failed:
        await bot.send_message(LI, "lost")
    assert failed.type is error and failed.value.message == message
    assert li.messages == []
    assert sandbox.calls[-1][0] == "sendMessage"  # an injected failure is still an attempt


@pytest.mark.asyncio
async def test_a_429_fault_carries_retry_after(sandbox: BotApiSandbox, bot: Bot) -> None:
    sandbox.fail("getme", 429, retry_after=7)  # method names in any letter case, as Telegram takes them
    with pytest.raises(RetryAfter) as limited:
        await bot.get_me()
    assert seconds(limited.value.retry_after) == 7


@pytest.mark.asyncio
async def test_a_description_overrides_the_default(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    sandbox.fail("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(LI, "x")


@pytest.fixture
async def impatient_bot(sandbox: BotApiSandbox) -> AsyncIterator[Bot]:
    """A bot that waits only 0.3 s for an answer, as tests run the real bot with a short timeout."""
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=sandbox.base_url, request=request) as client:
        yield client


@pytest.mark.asyncio
async def test_a_timeout_fault_never_answers_while_others_are_served(
    sandbox: BotApiSandbox, bot: Bot, impatient_bot: Bot, li: Person
) -> None:
    sandbox.fail("sendMessage", "timeout")
    mark = len(sandbox.calls)
    sending = asyncio.create_task(impatient_bot.send_message(LI, "never answered"))
    await asyncio.to_thread(sandbox.wait_for_call, "sendMessage", since=mark)
    assert (await bot.get_me()).id == 123456  # the held request blocks nobody
    with pytest.raises(TimedOut):
        await sending
    assert li.messages == []


@pytest.mark.asyncio
async def test_an_answer_lost_stays_lost_when_the_fault_ends(sandbox: BotApiSandbox, li: Person) -> None:
    fault = sandbox.fail("getMe", "timeout")
    async with httpx.AsyncClient(timeout=0.5) as raw:
        asking = asyncio.create_task(raw.post(f"{sandbox.base_url}{TOKEN}/getMe"))
        await asyncio.to_thread(sandbox.wait_for_call, "getMe")
        fault.clear()  # new calls are answered again; the one left waiting still is not
        with pytest.raises(httpx.ReadTimeout):
            await asking
        assert (await raw.post(f"{sandbox.base_url}{TOKEN}/getMe")).json()["ok"] is True
    assert (fault.hits, fault.cleared) == (1, True)


@pytest.mark.asyncio
async def test_delivered_faults_lose_only_the_answer(
    sandbox: BotApiSandbox, bot: Bot, impatient_bot: Bot, li: Person
) -> None:
    sandbox.fail("sendMessage", 502, times=1, delivered=True)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(LI, "arrived, answer lost")
    sandbox.fail("sendMessage", "timeout", times=1, delivered=True)
    with pytest.raises(TimedOut):
        await impatient_bot.send_message(LI, "arrived, no answer")
    assert [m.text for m in li.messages] == ["arrived, answer lost", "arrived, no answer"]


@pytest.mark.asyncio
async def test_a_fault_for_some_seconds_ends_by_the_sandbox_clock(
    sandbox: BotApiSandbox, bot: Bot, clock: FakeClock, li: Person
) -> None:
    fault = sandbox.fail("sendMessage", 502, seconds=30)
    await bot.get_me()  # other methods are unaffected
    clock.advance(29)
    with pytest.raises(NetworkError):
        await bot.send_message(LI, "still down")
    clock.advance(1)
    await bot.send_message(LI, "back")
    assert [m.text for m in li.messages] == ["back"]
    assert fault.hits == 1


@pytest.mark.asyncio
async def test_a_fault_for_some_calls_ends_after_them(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    fault = sandbox.fail("sendMessage", 500, times=2)
    for attempt in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(LI, f"attempt {attempt}")
    await bot.send_message(LI, "third time lucky")
    assert fault.hits == 2
    assert repr(fault) == (
        "Fault(method='sendMessage', status=500, description='Internal Server Error', times=2, hits=2)"
    )


@pytest.mark.asyncio
async def test_faults_apply_in_the_order_they_were_made(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    first = sandbox.fail(status=403, times=1)  # every method
    second = sandbox.fail("sendMessage", 502, times=1)
    with pytest.raises(Forbidden):
        await bot.send_message(LI, "one")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(LI, "two")
    await bot.send_message(LI, "three")
    assert (first.hits, second.hits) == (1, 1)


@pytest.mark.asyncio
async def test_a_fault_for_one_chat_spares_the_others(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    wang = sandbox.person(2002, first_name="Wang", username="wang_officer")
    for person in (li, wang):
        await bot.send_message(person.chat_id, "menu", reply_markup=keyboard(("OK", "ok")))
    sandbox.fail("sendMessage", 403, chat_id=LI)
    sandbox.fail("answerCallbackQuery", 400, chat_id=LI)  # matched by the chat of the pressed button
    with pytest.raises(Forbidden):
        await bot.send_message(LI, "to Li")
    with pytest.raises(Forbidden):
        await bot.send_message(str(LI), "to Li, the id as a string")
    await bot.send_message(wang.chat_id, "to Wang")
    await bot.send_message("@wang_officer", "to Wang by username")
    assert [m.text for m in li.messages] == ["menu"]
    assert [m.text for m in wang.messages] == ["menu", "to Wang", "to Wang by username"]
    li_press, wang_press = li.press("OK"), wang.press("OK")
    assert await bot.answer_callback_query(wang_press)
    with pytest.raises(BadRequest, match="Injected fault"):
        await bot.answer_callback_query(li_press)


@pytest.mark.asyncio
async def test_unknown_method_or_status_is_a_mistake(sandbox: BotApiSandbox) -> None:
    with pytest.raises(ValueError, match="no method 'sendMesage'"):
        sandbox.fail("sendMesage")
    for status in (200, 302, 600, "slow"):
        with pytest.raises(ValueError, match="HTTP error status"):
            sandbox.fail("sendMessage", status)


@pytest.mark.asyncio
async def test_going_down_fails_every_method_until_back(
    sandbox: BotApiSandbox, bot: Bot, li: Person, clock: FakeClock
) -> None:
    li.send_document("合同.pdf", b"%PDF")
    document = (await parsed_updates(bot))[0].message.document
    file = await bot.get_file(document.file_id)
    polling = asyncio.create_task(bot.get_updates(offset=2, timeout=30))
    await asyncio.to_thread(sandbox.wait_for_call, "getUpdates", since=len(sandbox.calls))
    sandbox.go_down()
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await asyncio.wait_for(polling, timeout=10)  # a long poll in progress ends too
    li.send_text("while down")
    for call in (
        bot.get_updates(offset=2),
        bot.get_me(),
        bot.send_message(LI, "x"),
        bot.do_api_request("sendSmokeSignal"),
        file.download_as_bytearray(),
    ):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await call
    assert [name for name, _ in sandbox.calls[-5:]] == [
        "getUpdates",
        "getUpdates",
        "getMe",
        "sendMessage",
        "sendSmokeSignal",
    ]
    sandbox.come_back()
    assert [u.message.text for u in await parsed_updates(bot, offset=2)] == ["while down"]
    sandbox.go_down(seconds=10)
    with pytest.raises(NetworkError):
        await bot.get_me()
    clock.advance(10)
    await bot.get_me()


@pytest.mark.asyncio
async def test_clear_faults_ends_every_fault_and_the_outage(
    sandbox: BotApiSandbox, bot: Bot, li: Person
) -> None:
    faults = [sandbox.fail("sendMessage", 502), sandbox.fail(status=429)]
    sandbox.go_down()
    sandbox.clear_faults()
    await bot.get_me()
    await bot.send_message(LI, "all clear")
    assert all(isinstance(f, Fault) and f.cleared and f.hits == 0 for f in faults)


@pytest.mark.asyncio
async def test_refusals_list_what_the_rules_refused_not_injected_faults(
    sandbox: BotApiSandbox, bot: Bot, li: Person
) -> None:
    sent = await bot.send_message(LI, "menu", reply_markup=keyboard(("A", "a")))
    query_id = li.press("A")
    await bot.answer_callback_query(query_id)
    refused = [
        bot.answer_callback_query(query_id),
        bot.send_message(LI, "x" * 4097),
        bot.edit_message_text("menu", LI, sent.message_id, reply_markup=keyboard(("A", "a"))),
    ]
    for call in refused:
        with pytest.raises(BadRequest):
            await call
    sandbox.fail("sendMessage", 502, times=1)
    with pytest.raises(NetworkError):
        await bot.send_message(LI, "injected")
    li.block()
    with pytest.raises(Forbidden):
        await bot.send_message(LI, "blocked")
    li.unblock()
    sandbox.set_flood_limit(1)
    await bot.send_message(LI, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(LI, "two")
    assert sandbox.refusals == [
        (
            "answerCallbackQuery",
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        ),
        ("sendMessage", "Bad Request: message is too long"),
        (
            "editMessageText",
            "Bad Request: message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message",
        ),
        ("sendMessage", "Forbidden: bot was blocked by the user"),
        ("sendMessage", "Too Many Requests: retry after 1"),
    ]


@pytest.mark.asyncio
async def test_fault_listeners_hear_every_injected_failure(
    sandbox: BotApiSandbox, bot: Bot, impatient_bot: Bot, li: Person
) -> None:
    heard: list[tuple[str, int | str, str]] = []

    def listener(method: str, status: int | str, description: str) -> None:
        heard.append((method, status, description))

    sandbox.add_fault_listener(listener)
    sandbox.fail("sendMessage", 429, times=1, retry_after=3)
    sandbox.fail("sendMessage", "timeout", times=1)
    for expected in (RetryAfter, TimedOut):
        with pytest.raises(expected):
            await impatient_bot.send_message(LI, "x")
    with pytest.raises(BadRequest):  # a rule's refusal is no injected failure
        await bot.send_message(LI, "")
    sandbox.go_down()
    with pytest.raises(NetworkError):
        await bot.get_me()
    sandbox.come_back()
    sandbox.remove_fault_listener(listener)
    sandbox.fail("getMe", 500, times=1)
    with pytest.raises(NetworkError):
        await bot.get_me()
    assert heard == [
        ("sendMessage", 429, "Too Many Requests: retry after 3"),
        ("sendMessage", "timeout", "no answer (the request times out)"),
        ("getMe", 502, "Bad Gateway"),
    ]


# -- people ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_waiting_walks_through_replies_in_order(sandbox: BotApiSandbox, bot: Bot, li: Person) -> None:
    seen: list[tuple[int, str, str | None]] = []
    sandbox.add_listener(lambda chat_id, message, event: seen.append((chat_id, event, message.text)))
    li.send_text("hi")
    await bot.send_message(LI, "first")
    await bot.send_message(LI, "second")
    assert (await li.next_message()).text == "first"
    assert (await li.next_message()).text == "second"
    mark = li.mark()
    third = await bot.send_message(LI, "third")
    await bot.delete_message(LI, third.message_id)
    found = li.wait_for_message(lambda m: m.text == "third", since=mark)
    assert isinstance(found, SentMessage) and found.message_id == third.message_id
    assert seen == [
        (LI, "new", "first"),
        (LI, "new", "second"),
        (LI, "new", "third"),
        (LI, "delete", "third"),
    ]
    assert sandbox.person(LI) is li and sandbox.chat(LI) is li


@pytest.mark.asyncio
async def test_person_edits_and_username_chat_ids(sandbox: BotApiSandbox, bot: Bot) -> None:
    wang = sandbox.person(2002, first_name="Wang", username="wang_officer")
    wang.send_text("typo")
    message_id = (await parsed_updates(bot))[0].message.message_id
    edit_id = wang.edit_text(message_id, "fixed")
    update = (await parsed_updates(bot, offset=edit_id))[0]
    assert (update.edited_message.message_id, update.edited_message.text) == (message_id, "fixed")
    await bot.send_message("@wang_officer", "收到")
    assert wang.last_message is not None and wang.last_message.text == "收到"


@pytest.mark.asyncio
async def test_spec_validation(clock: FakeClock) -> None:
    if not SPEC.is_file():
        pytest.skip("the shared Bot API spec is not available")
    with BotApiSandbox(clock=clock, spec_path=SPEC) as strict:
        strict.person(LI)
        async with Bot(TOKEN, base_url=strict.base_url, base_file_url=strict.file_url) as client:
            await client.send_message(LI, "ok", reply_markup=keyboard(("A", "a")))
            # Like Telegram, an unknown parameter is ignored; the sandbox notes it for tests.
            await client.do_api_request(
                "sendMessage", api_kwargs={"chat_id": LI, "text": "x", "colour": "red"}
            )
            assert strict.unknown_parameters == [("sendMessage", "colour")]
            with pytest.raises(BadRequest, match='Parameter "chat_id" is required'):
                await client.do_api_request("sendMessage", api_kwargs={"text": "x"})
            # PTB's media calls use only parameters the published API has; a video note takes no caption.
            await client.send_video(
                LI, b"v", duration=1, width=2, height=2, caption="c", supports_streaming=True
            )
            await client.send_audio(LI, b"a", duration=1, performer="p", title="t", caption="c")
            note = await client.send_video_note(LI, b"n", duration=1, length=2)
            await client.do_api_request(
                "sendVideoNote",
                api_kwargs={"chat_id": LI, "video_note": note.video_note.file_id, "caption": "c"},
            )
            assert strict.unknown_parameters == [("sendMessage", "colour"), ("sendVideoNote", "caption")]
            with pytest.raises(BadRequest, match='Parameter "video_note" is required'):
                await client.do_api_request("sendVideoNote", api_kwargs={"chat_id": LI})


# -- a whole PTB application -----------------------------------------------------------------


async def _menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("菜单", reply_markup=keyboard(("加入工会", "join")))


async def _joined(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("好的")
    await query.edit_message_text("你已加入工会")


@pytest.mark.asyncio
async def test_application_runs_end_to_end(sandbox: BotApiSandbox, li: Person) -> None:
    sandbox.set_flood_limit(None)
    app: Application = (
        ApplicationBuilder().token(TOKEN).base_url(sandbox.base_url).base_file_url(sandbox.file_url).build()
    )
    app.add_handler(MessageHandler(filters.TEXT, _menu))
    app.add_handler(CallbackQueryHandler(_joined))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        li.send_text("你好")
        menu = await li.next_message()
        query_id = li.press("加入工会", message_id=menu.message_id)
        edited = await li.next_edit(message_id=menu.message_id)
        await app.updater.stop()
        await app.stop()
    assert edited.text == "你已加入工会" and edited.inline_buttons == []
    assert li.callback_answers[query_id]["text"] == "好的"
    assert sandbox.pending_update_count() == 0
