"""What every form shares: leaving a half-filled form for another, as a worker sees it; declared questions."""

from __future__ import annotations

import pytest

from bot.app import UnionApplication
from bot.cases.vocabulary import TRADE_LABELS
from bot.sandbox.server import BotApiSandbox, Person
from flows import forms, join, legal, wages
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


def test_a_declared_question_goes_on_to_the_next_listed_and_the_last_to_the_summary() -> None:
    assert join.FORM.asker_after(join.NAME) == join.ask_phone
    assert join.FORM.asker_after(join.EMPLOYER) == join.TRADE_QUESTION.ask
    assert join.FORM.asker_after(join.WORKPLACE) == join.FORM.ask_summary
    assert legal.FORM.asker_after(legal.CONTACT_TIME) == legal.FORM.ask_summary


@pytest.mark.parametrize("form", [join.FORM, wages.FORM, legal.FORM], ids=lambda form: form.name)
def test_every_form_lists_its_questions_in_the_order_asked(form: forms.Form) -> None:
    """Declared questions go on to the next one listed: the list must be the asking order."""
    states = [question.state for question in form.fields]
    assert states == sorted(states) and len(set(states)) == len(states)
    assert form.summary_state > states[-1]


def test_an_echo_without_exactly_one_placeholder_is_refused_when_declared() -> None:
    for echo in ("Work", "Work: {trade} {hometown}"):
        with pytest.raises(ValueError, match="exactly one placeholder"):
            forms.ChoiceQuestion(
                "trade",
                "Work",
                join.TRADE,
                prompt="What kind of work do you do?",
                labels=TRADE_LABELS,
                prefix=join.TRADE_PREFIX,
                echo=echo,
            )
