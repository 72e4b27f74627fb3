"""Join the union, end to end through the sandbox, in Chinese and English, with hostile input."""

from __future__ import annotations

import pytest

from bot.app import UnionApplication
from bot.sandbox.server import Person
from bot.sandbox.session import WORKER_ID
from flows.phone import normalise_phone
from storage.models import CaseKind
from tests.flow_helpers import answer, onboard, press


async def test_worker_joins_in_chinese_sharing_their_phone(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    question = await press(worker, "🙋 加入工会")
    assert question.text == "您叫什么名字？请写全名。"
    phone_question = await answer(worker, "张<b>三</b> & *_[")
    assert worker.reply_keyboard == [["📱 发送我的手机号"]]
    assert "电话号码" in phone_question.text
    worker.tap_reply_button("📱 发送我的手机号")
    assert (await worker.next_message()).text == f"电话：{worker.phone_number.removeprefix('+86')}"
    assert "哪里干活" in (await worker.next_message()).text
    assert worker.reply_keyboard is None
    trade_question = await answer(worker, "宏达建筑劳务公司")
    assert "建筑工地" in trade_question.button_labels
    worker.press("建筑工地")
    await worker.next_edit(lambda m: m.text == "行业：建筑工地")
    assert "老家" in (await worker.next_message()).text
    await answer(worker, "四川省 巴中县")
    summary = await answer(worker, "城关镇")
    assert "张<b>三</b> & *_[" in summary.text  # reaches the summary intact, not as markup
    assert summary.button_labels == ["✅ 提交", "✏️ 改一项", "✖️ 取消"]

    received = await press(worker, "✅ 提交")
    assert "M-000001" in received.text
    case = await bot.storage.get_case_by_reference("M-000001")
    assert case is not None and case.kind == CaseKind.MEMBERSHIP and case.worker_id == WORKER_ID
    assert case.fields["name"] == "张<b>三</b> & *_["
    assert case.fields["trade"] == "construction"
    stored = await bot.storage.get_worker(WORKER_ID)
    assert stored is not None and stored.profile["hometown"] == "四川省 巴中县"

    worker.send_command("/join")
    assert "已经申请过了（编号 M-000001）" in (await worker.next_message()).text


async def test_worker_joins_in_english_typing_the_phone_and_editing(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "English")
    worker.send_command("/join")
    await worker.next_message(lambda m: m.text == "What is your full name?")
    await answer(worker, "Li Wei")
    assert "does not look like a phone number" in (await answer(worker, "12345")).text
    assert (await answer(worker, "+86 138-1234-5678")).text == "Phone number: 13812345678"
    assert "Where do you work" in (await worker.next_message()).text
    await answer(worker, "Bright Star Electronics")
    worker.press("Factory / manufacturing")
    await worker.next_message(lambda m: "hometown" in m.text)
    await answer(worker, "Henan, Zhoukou")
    summary = await answer(worker, "Longhua")
    assert "<b>Phone</b>" not in summary.text and "Phone: 13812345678" in summary.text

    choose = await press(worker, "✏️ Change an answer")
    assert choose.button_labels == ["Name", "Phone", "Workplace", "Work", "Hometown", "Working in"]
    assert (await press(worker, "Hometown")).text.startswith("Where is your hometown")
    summary = await answer(worker, "Henan, Xiangcheng")
    assert "Hometown: Henan, Xiangcheng" in summary.text
    received = await press(worker, "✅ Submit")
    assert received.text.startswith("Received. Your application number is M-")


async def test_hostile_input_gets_an_answer_and_the_question_stays(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    worker.send_command("/join")
    await worker.next_message()
    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    worker.send_photo()
    assert (await worker.next_message()).text == "请打字回答。"
    assert (await answer(worker, "长" * 51)).text == "太长了，请不要超过50个字。"
    worker.send_command("/nonsense")
    assert "没有这个命令" in (await worker.next_message()).text
    forged = worker.press_data("trade:forged")
    assert "不能用了" in (await worker.next_answer(forged))["text"]
    assert "电话号码" in (await answer(worker, "王五")).text  # still at the name question until now


async def test_switching_flows_asks_before_dropping_the_draft(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    worker.send_command("/join")
    await worker.next_message()
    await answer(worker, "王五")
    for command in ("/wages", "/start"):
        worker.send_command(command)
        offer = await worker.next_message()
        assert "“加入工会”还没填完" in offer.text
        again = await press(worker, "继续填表")
        assert "电话号码" in again.text
    worker.send_command("/start")
    await worker.next_message()
    assert (await press(worker, "删掉，做别的")).text == "已删除，什么都没有发出去。"
    assert "🙋 加入工会" in (await worker.next_message()).button_labels
    assert await bot.storage.list_cases_for_worker(WORKER_ID) == []


async def test_cancel_leaves_nothing(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "English")
    worker.send_command("/join")
    await worker.next_message()
    await answer(worker, "Li Wei")
    worker.send_command("/cancel")
    assert (await worker.next_message()).text == "Cancelled. Nothing was sent."
    assert worker.reply_keyboard is None
    assert await bot.storage.list_cases_for_worker(WORKER_ID) == []
    stale = worker.press_data("form:submit")
    assert "no longer active" in (await worker.next_answer(stale))["text"]


async def test_joining_needs_consent_first(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/join")
    assert "/start" in (await worker.next_message()).text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("８６１３８１２３４５６７８", "13812345678"),
        ("+852 9123 4567", "+85291234567"),
        ("12345", None),
        ("abc", None),
        ("0", None),
        ("138-1234-5678", "13812345678"),
        ("1381234567", None),
    ],
)
def test_normalise_phone(typed: str, expected: str | None) -> None:
    assert normalise_phone(typed) == expected
