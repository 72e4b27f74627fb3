"""What every form shares, seen by a worker: leaving a half-filled form for another one."""

from __future__ import annotations

from bot.app import UnionApplication
from bot.sandbox.server import BotApiSandbox, Person
from tests.flow_helpers import onboard, press


async def test_a_menu_button_pressed_in_a_half_filled_form_is_answered_once_and_offers_a_choice(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    menu = await onboard(worker)
    await press(worker, "💰 反映欠薪")
    await worker.next_message(lambda m: "谁欠您的工资" in (m.text or ""))

    query = worker.press("🙋 加入工会", message_id=menu.message_id)
    offer = await worker.next_message(lambda m: "还没填完" in (m.text or ""))
    assert offer.text == "您的“反映欠薪”还没填完。接着填，还是删掉？"
    assert offer.button_labels == ["继续填表", "删掉，做别的"]
    await worker.next_answer(query)
    answers = [params for method, params in sandbox.calls if method == "answerCallbackQuery"]
    assert [params["callback_query_id"] for params in answers].count(query) == 1  # Telegram takes one
    assert sandbox.refusals == []

    worker.press("继续填表")
    await worker.next_message(lambda m: "谁欠您的工资" in (m.text or ""))
