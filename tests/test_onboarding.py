"""Onboarding and the common commands, end to end: the real bot polling the sandbox."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler

from bot.app import UnionApplication
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import WORKER_ID


async def _onboard(worker: Person, language: str = "English") -> None:
    worker.send_command("/start")
    await worker.next_message(lambda m: "请选择语言" in m.text)
    worker.press(language)
    await worker.next_message(lambda m: "agree" in m.text or "同意" in m.text)
    worker.press({"English": "I agree", "简体中文": "我同意", "繁體中文": "我同意"}[language])


async def test_start_speaks_the_default_language_and_offers_languages(
    bot: UnionApplication, worker: Person
) -> None:
    worker.send_command("/start")
    message = await worker.next_message()
    assert message.text == "欢迎来到沙盒镇总工会。请选择语言："
    assert message.button_labels == ["简体中文", "繁體中文", "English"]


async def test_language_then_consent_then_menu(bot: UnionApplication, worker: Person) -> None:
    await _onboard(worker, "English")
    menu = await worker.next_message(lambda m: "What would you like to do?" in m.text)
    assert "🙋 Join the union" in menu.button_labels
    stored = await bot.storage.get_worker(WORKER_ID)
    assert stored is not None and stored.language == "en" and stored.consent_at is not None
    assert set(worker.presses) == set(worker.callback_answers)  # every press stopped the spinner

    worker.send_command("/start")
    again = await worker.next_message()
    assert again.text.startswith("Welcome back to Sandbox Town Federation of Trade Unions.")


async def test_refusing_consent_asks_nothing_personal(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/start")
    await worker.next_message()
    worker.press("繁體中文")
    await worker.next_message(lambda m: "您同意嗎" in m.text)
    worker.press("我不同意")
    refused = await worker.next_edit(lambda m: "不會問您任何個人資料" in m.text)
    assert refused.button_labels == []
    stored = await bot.storage.get_worker(WORKER_ID)
    assert stored is not None and stored.consent_at is None


async def test_sticker_or_text_while_a_button_is_expected(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/start")
    await worker.next_message()
    worker.send_sticker()
    assert (await worker.next_message()).text == "请点上面的一个按钮。"
    worker.send_text("<b>中文 & *_[")
    assert (await worker.next_message()).text == "请点上面的一个按钮。"
    worker.press("简体中文")  # the flow is still at the same question
    await worker.next_message(lambda m: "您同意吗" in m.text)


async def test_forged_and_stale_buttons_are_answered(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/start")
    await worker.next_message()
    forged = worker.press_data("lang:xx")
    answer = await _answer_of(worker, forged)
    assert "按钮已经不能用了" in answer
    worker.press("English")
    await worker.next_message(lambda m: "Do you agree" in m.text)
    stale = worker.press_data("lang:en", message_id=worker.messages[0].message_id)
    assert "no longer active" in await _answer_of(worker, stale)


async def _answer_of(worker: Person, query_id: str) -> str:
    return (await worker.next_answer(query_id)).get("text") or ""


async def test_cancel_leaves_nothing_half_done(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/start")
    await worker.next_message()
    worker.send_command("/cancel")
    assert "已停下" in (await worker.next_message()).text
    worker.send_command("/cancel")
    assert "没有要取消的事" in (await worker.next_message()).text


async def test_anything_outside_a_form_gets_an_answer(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/nonsense")
    assert "没有这个命令" in (await worker.next_message()).text
    for send in (
        lambda: worker.send_text("<b>&"),
        worker.send_sticker,
        worker.send_voice,
        lambda: worker.send_location(31.2, 121.5),
    ):
        send()
        assert "没看懂" in (await worker.next_message()).text


async def test_commands_are_published_per_language(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    assert [c["description"] for c in sandbox.commands()][:2] == ["主菜单", "加入工会"]
    assert sandbox.commands(language_code="en")[0]["description"] == "Main menu"
    await _onboard(worker, "English")
    await worker.next_message(lambda m: "What would you like to do?" in m.text)
    chat_scope = {"type": "chat", "chat_id": WORKER_ID}
    assert sandbox.commands(scope=chat_scope)[0]["description"] == "Main menu"


async def test_an_error_is_told_to_the_user_in_their_language(bot: UnionApplication, worker: Person) -> None:
    async def broken(update: Update, context: object) -> None:
        raise RuntimeError("boom")

    bot.add_handler(CommandHandler("boom", broken), group=-1)
    worker.send_command("/boom")
    assert "出了点问题" in (await worker.next_message()).text


async def test_a_redelivered_update_is_skipped(bot: UnionApplication, worker: Person) -> None:
    update_id = worker.send_command("/help")
    await worker.next_message()
    async with asyncio.timeout(10):  # the bot commits right after replying; the database is all we can watch
        while not await bot.storage.is_update_processed(update_id):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    before = len(worker.messages)
    replay = Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": 999,
                "date": 0,
                "chat": {"id": WORKER_ID, "type": "private"},
                "from": {"id": WORKER_ID, "is_bot": False, "first_name": "小张"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        },
        bot.bot,
    )
    await bot.process_update(replay)
    worker.send_command("/help")
    await worker.next_message()
    assert len(worker.messages) == before + 1
