"""Ask for legal aid, end to end through the sandbox, in Chinese and English, with hostile input."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.sandbox.server import Person
from bot.sandbox.session import WORKER_ID, running_bot
from flows.legal import LegalFields, parse_date
from storage.models import CaseKind, Priority
from tests.flow_helpers import answer, onboard, press

HOSTILE = "<b>工地</b> & *_[ 摔伤"
# The test clock starts on Monday 5 January 2026 (FakeClock), 17:00 in Shanghai.
TODAY = date(2026, 1, 5)


async def _start_in_chinese(worker: Person) -> None:
    await onboard(worker, "简体中文")
    worker.send_command("/legal")
    await worker.next_message(lambda m: m.text == "是哪方面的问题？")


async def test_chinese_typed_story_documents_hearing_date_and_shared_phone(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    question = await press(worker, "⚖️ 法律援助")
    assert question.text == "是哪方面的问题？"
    assert question.button_labels == ["工伤", "被辞退或合同问题", "社保", "职业病", "欠薪", "其他"]
    story = await press(worker, "工伤")
    await worker.next_edit(lambda m: m.text == "问题：工伤")
    assert "发生了什么事" in story.text
    deadline = await answer(worker, HOSTILE)
    assert "仲裁或法院开庭" in deadline.text
    assert deadline.button_labels == ["我不知道有这样的日期", "⏰ 期限已经过了"]

    assert (await answer(worker, "仲裁开庭 3月8日上午9点")).text == "要注意的日期：2026年3月8日星期日"
    documents = await worker.next_message()
    assert "合同" in documents.text and documents.button_labels == ["跳过：我没有"]
    worker.send_photo(caption="工资条")
    assert (await worker.next_message()).text.startswith("收到了（1）")
    worker.send_document("劳动合同.pdf", b"%PDF-1.4 contract")
    assert (await worker.next_message()).button_labels == ["✅ 好了"]
    contact = await press(worker, "✅ 好了")
    assert contact.button_labels == ["在 Telegram 上给我发消息", "打电话"]

    phone_question = await press(worker, "打电话")  # no phone on the roster: share or type it
    assert "电话号码" in phone_question.text
    assert worker.reply_keyboard == [["📱 发送我的手机号"]]
    worker.tap_reply_button("📱 发送我的手机号")
    assert (await worker.next_message()).text == "电话：13000001001"
    time_question = await worker.next_message()
    assert worker.reply_keyboard is None
    assert time_question.button_labels == ["随时", "白天", "晚上", "只在周末"]
    summary = await press(worker, "晚上")
    assert "申请法律援助" in summary.text
    assert f"发生了什么：{HOSTILE}" in summary.text  # intact, not read as markup
    assert "要注意的日期：2026年3月8日星期日" in summary.text
    assert "材料：2个文件" in summary.text
    assert "联系方式：打电话：13000001001" in summary.text
    assert "方便的时间：晚上" in summary.text

    received = await press(worker, "✅ 提交")
    assert received.text.startswith("收到了。您的求助编号是 L-000001。")
    assert "法律援助中心会联系您（打电话到 13000001001，晚上）。" in received.text
    assert "两个工作日" in received.text
    case = await bot.storage.get_case_by_reference("L-000001")
    assert case is not None and case.kind == CaseKind.LEGAL and case.worker_id == WORKER_ID
    assert case.priority == Priority.NORMAL  # the date is two months away
    assert case.fields == {
        "problem": "work_injury",
        "description_kind": "text",
        "description": HOSTILE,
        "voice_file_id": None,
        "deadline": "2026-03-08",
        "deadline_passed": False,
        "contact_method": "phone",
        "phone": "13000001001",
        "contact_time": "evenings",
    }
    attachments = await bot.storage.list_attachments(case.id)
    assert [(a.kind, a.caption, a.file_name) for a in attachments] == [
        ("photo", "工资条", None),
        ("document", None, "劳动合同.pdf"),
    ]
    assert "draft" not in bot.user_data.get(WORKER_ID, {})


async def test_english_voice_note_story_no_deadline_no_documents_by_telegram(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "English")
    worker.send_command("/legal")
    await worker.next_message(lambda m: m.text == "What is the problem about?")
    story = await press(worker, "Dismissal or contract")
    assert story.text.startswith("What happened?")
    worker.send_voice(duration=40)
    assert (await worker.next_message()).text == "🎤 Voice note received."
    assert (await worker.next_message()).text.startswith("Is there an important date soon?")
    documents = await press(worker, "No date that I know of")
    await worker.next_edit(lambda m: m.text == "Important date: none that you know of")
    assert documents.text.startswith("Do you have papers about it?")
    contact = await press(worker, "Skip: I have none")
    assert contact.text.startswith("How should the union")
    await press(worker, "Message me here in Telegram")
    summary = await press(worker, "Any time")
    assert "What happened: 🎤 voice note" in summary.text
    assert "Important date: none that you know of" in summary.text
    assert "Documents: none" in summary.text
    assert "Contact: Message me here in Telegram" in summary.text

    received = await press(worker, "✅ Submit")
    assert received.text == (
        "Received. Your case number is L-000001.\n"
        "What happens next: a union officer or a legal-aid centre will contact you "
        "here in Telegram (Any time).\n"
        "Expect to hear from them within two working days."
    )
    case = await bot.storage.get_case_by_reference("L-000001")
    assert case is not None and case.priority == Priority.NORMAL
    attachments = await bot.storage.list_attachments(case.id)
    assert [a.kind for a in attachments] == ["voice"]
    assert case.fields["description_kind"] == "voice_note"
    assert case.fields["description"] is None
    assert case.fields["voice_file_id"] == attachments[0].file_id
    assert case.fields["deadline"] is None
    assert case.fields["contact_method"] == "telegram" and case.fields["phone"] is None


async def test_english_close_hearing_is_urgent_uses_the_roster_phone_and_answers_can_change(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "English")
    await bot.storage.update_worker_profile(WORKER_ID, {"phone": "13812345678"})
    worker.send_command("/legal")
    await worker.next_message()
    await press(worker, "Occupational disease")
    await answer(worker, "Dust in the workshop & no masks for 3 years.")
    assert (await answer(worker, "1/9")).text == "Important date: Friday, January 9, 2026"
    await worker.next_message()
    worker.send_voice()  # a voice note here is evidence, not the story
    await worker.next_message(lambda m: m.text.startswith("Got it (1)"))
    await press(worker, "✅ Done")
    phone_question = await press(worker, "Phone call")
    assert (
        phone_question.text
        == "Which number should they call? Tap to use 13812345678, or type another number."
    )
    assert phone_question.button_labels == ["📞 Call 13812345678"]
    time_question = await press(worker, "📞 Call 13812345678")
    await worker.next_edit(lambda m: m.text == "Phone number: 13812345678")
    assert time_question.text == "When is a good time to contact you?"
    summary = await press(worker, "Weekends only")
    assert "Contact: Phone call: 13812345678" in summary.text

    choose = await press(worker, "✏️ Change an answer")
    assert choose.button_labels == [
        "Problem",
        "What happened",
        "Important date",
        "Documents",
        "Contact",
        "Phone",
        "Best time",
    ]
    problem = await press(worker, "Problem")
    assert "Unpaid wages" not in problem.button_labels  # switching forms here would lose every answer
    forged = worker.press_data("legal:problem:unpaid_wages")
    assert "no longer active" in (await worker.next_answer(forged))["text"]
    summary = await press(worker, "Work injury")
    assert "Problem: Work injury" in summary.text
    await press(worker, "✏️ Change an answer")
    await press(worker, "Important date")
    await answer(worker, "tomorrow")
    summary = await worker.next_message()
    assert "Important date: Tuesday, January 6, 2026" in summary.text

    received = await press(worker, "✅ Submit")
    assert "contact you by phone on 13812345678 (Weekends only)" in received.text
    assert "marked urgent" in received.text and "within one working day" in received.text
    case = await bot.storage.get_case_by_reference("L-000001")
    assert case is not None and case.priority == Priority.URGENT
    assert case.fields["problem"] == "work_injury"
    assert case.fields["deadline"] == "2026-01-06"
    assert case.fields["description"] == "Dust in the workshop & no masks for 3 years."
    assert case.fields["phone"] == "13812345678" and case.fields["contact_time"] == "weekends"
    assert [a.kind for a in await bot.storage.list_attachments(case.id)] == ["voice"]


async def test_a_time_limit_that_has_passed_makes_the_request_urgent(
    bot: UnionApplication, worker: Person
) -> None:
    await _start_in_chinese(worker)
    await press(worker, "被辞退或合同问题")
    await answer(worker, "上个月被辞退了")
    documents = await press(worker, "⏰ 期限已经过了")
    await worker.next_edit(lambda m: m.text == "要注意的日期：期限已经过了")
    assert "有没有相关的材料" in documents.text
    await press(worker, "跳过：我没有")
    await press(worker, "在 Telegram 上给我发消息")
    summary = await press(worker, "随时")
    assert "要注意的日期：期限已经过了" in summary.text.splitlines()

    received = await press(worker, "✅ 提交")
    assert received.text == (
        "收到了。您的求助编号是 L-000001。\n"
        "接下来：工会干事或法律援助中心会联系您（在 Telegram 上发消息，随时）。\n"
        "您的日期很近或已经过了，所以标为紧急：一个工作日内会有人联系您。"
    )
    case = await bot.storage.get_case_by_reference("L-000001")
    assert case is not None and case.priority == Priority.URGENT
    assert case.fields["deadline"] is None and case.fields["deadline_passed"] is True


async def test_unpaid_wages_go_to_their_own_form(bot: UnionApplication, worker: Person) -> None:
    await _start_in_chinese(worker)
    handover = await press(worker, "欠薪")
    assert handover.text.startswith("欠薪有专门的表，")
    assert handover.inline_buttons == [[("💰 反映欠薪", "menu:wages")]]
    assert "draft" not in bot.user_data.get(WORKER_ID, {})
    assert await bot.storage.list_cases_for_worker(WORKER_ID) == []
    # The legal conversation has ended: the button opens the wages form (no switch prompt, no stale alert).
    wages = worker.press("💰 反映欠薪", message_id=handover.message_id)
    assert not (await worker.next_answer(wages)).get("text")
    opened = await worker.next_message()
    assert "还没填完" not in opened.text and "法律援助" not in opened.text


async def test_hostile_input_gets_an_answer_and_the_question_stays(
    bot: UnionApplication, worker: Person
) -> None:
    await _start_in_chinese(worker)
    assert (await answer(worker, "工伤")).text == "请点上面的一个按钮。"
    forged = worker.press_data("legal:problem:forged")
    assert "不能用了" in (await worker.next_answer(forged))["text"]
    await press(worker, "其他")

    worker.send_sticker()
    assert (await worker.next_message()).text == "请写下发生了什么，或者发一条语音。"
    worker.send_photo()
    assert (await worker.next_message()).text == "请写下发生了什么，或者发一条语音。"
    assert (await answer(worker, "长" * 2001)).text == "太长了，请不要超过2000个字。"
    worker.send_command("/nonsense")
    assert "没有这个命令" in (await worker.next_message()).text
    assert "最近有没有要注意的日期" in (await answer(worker, "长" * 2000)).text

    worker.send_voice()
    assert (await worker.next_message()).text == "请打字回答。"
    for typed, reason in [
        ("下个月吧", "没看出这是哪一天。"),
        ("2/30", "没看出这是哪一天。"),
        ("<b>&", "没看出这是哪一天。"),
        ("2025-12-01", "这个日期（2025年12月1日星期一）已经过去了。"),
        ("3000-01-01", "是两年以后了"),
    ]:
        again = await answer(worker, typed)
        assert reason in again.text, typed
        assert "12月5日" in again.text and again.button_labels == ["我不知道有这样的日期", "⏰ 期限已经过了"]
    await press(worker, "我不知道有这样的日期")

    worker.send_sticker()
    assert (await worker.next_message()).text == "请发照片、文件或语音，或者点按钮。"
    assert (await answer(worker, "没有")).text == "请发照片、文件或语音，或者点按钮。"
    await press(worker, "跳过：我没有")

    assert (await answer(worker, "电话")).text == "请点上面的一个按钮。"
    forged = worker.press_data("legal:contact:fax")
    assert "不能用了" in (await worker.next_answer(forged))["text"]
    await press(worker, "打电话")
    assert "不是电话号码" in (await answer(worker, "12345")).text
    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    saved = worker.press_data("legal:phone:saved")  # forged: nothing on the roster, so asked again
    await worker.next_answer(saved)
    assert "电话号码" in (await worker.next_message()).text
    assert (await answer(worker, "+86 138-1234-5678")).text == "电话：13812345678"
    await worker.next_message()

    forged = worker.press_data("legal:time:never")
    assert "不能用了" in (await worker.next_answer(forged))["text"]
    summary = await press(worker, "随时")
    assert (await answer(worker, "提交")).text == "请点上面的一个按钮。"
    assert "长" * 2000 in summary.text
    await press(worker, "✅ 提交")
    case = await bot.storage.get_case_by_reference("L-000001")
    assert case is not None and case.fields["problem"] == "other"
    assert case.fields["description"] == "长" * 2000 and case.fields["phone"] == "13812345678"


async def test_legal_while_joining_asks_before_dropping_and_the_other_way_round(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    worker.send_command("/join")
    await worker.next_message()
    await answer(worker, "王五")
    worker.send_command("/legal")
    assert "“加入工会”还没填完" in (await worker.next_message()).text
    assert "电话号码" in (await press(worker, "继续填表")).text
    worker.press_data("menu:legal")
    await worker.next_message(lambda m: "“加入工会”还没填完" in m.text)
    assert (await press(worker, "删掉，做别的")).text.startswith("已删除")
    menu = await worker.next_message()
    assert "⚖️ 法律援助" in menu.button_labels
    assert (await press(worker, "⚖️ 法律援助")).text == "是哪方面的问题？"

    await press(worker, "社保")
    await answer(worker, "公司不交社保")
    await press(worker, "我不知道有这样的日期")
    await press(worker, "跳过：我没有")
    await press(worker, "打电话")
    worker.send_command("/start")
    assert "“申请法律援助”还没填完" in (await worker.next_message()).text
    again = await press(worker, "继续填表")  # back at the phone question, answers kept
    assert "电话号码" in again.text
    await answer(worker, "13812345678")
    await worker.next_message()
    summary = await press(worker, "白天")
    assert "发生了什么：公司不交社保" in summary.text

    worker.send_command("/cancel")
    assert (await worker.next_message()).text == "已取消，什么都没有发出去。"
    assert await bot.storage.list_cases_for_worker(WORKER_ID) == []
    for stale in ("form:submit", "legal:time:any", "legal:deadline:none", "evidence:done"):
        query = worker.press_data(stale)
        assert "不能用了" in (await worker.next_answer(query))["text"], stale


async def test_join_while_in_legal_asks_before_dropping(bot: UnionApplication, worker: Person) -> None:
    await _start_in_chinese(worker)
    await press(worker, "社保")
    worker.send_command("/join")
    assert "“申请法律援助”还没填完" in (await worker.next_message()).text


async def test_stale_buttons_of_earlier_questions_are_answered(bot: UnionApplication, worker: Person) -> None:
    await _start_in_chinese(worker)
    await press(worker, "职业病")
    deadline = await answer(worker, "粉尘")
    await answer(worker, "3月8日")
    await worker.next_message()  # documents
    old = worker.press("我不知道有这样的日期", message_id=deadline.message_id)  # the date was already typed
    assert "不能用了" in (await worker.next_answer(old))["text"]
    contact = await press(worker, "跳过：我没有")
    assert contact.button_labels == ["在 Telegram 上给我发消息", "打电话"]


async def test_legal_aid_needs_consent_first(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/legal")
    assert "/start" in (await worker.next_message()).text


async def test_restart_in_the_middle_resumes_at_the_same_question(
    config: Config, clock: FakeClock, worker: Person
) -> None:
    async with running_bot(config, clock=clock):
        await _start_in_chinese(worker)
        await press(worker, "社保")
        assert "最近有没有要注意的日期" in (await answer(worker, "公司三年没交社保 <b>&")).text

    async with running_bot(config, clock=clock) as bot:
        assert (await answer(worker, "4月1日")).text == "要注意的日期：2026年4月1日星期三"
        await worker.next_message(lambda m: "有没有相关的材料" in m.text)
        await press(worker, "跳过：我没有")
        await press(worker, "在 Telegram 上给我发消息")
        summary = await press(worker, "随时")
        assert "问题：社保" in summary.text and "发生了什么：公司三年没交社保 <b>&" in summary.text
        await press(worker, "✅ 提交")
        case = await bot.storage.get_case_by_reference("L-000001")
        assert case is not None
        assert case.fields["problem"] == "social_insurance"
        assert case.fields["description"] == "公司三年没交社保 <b>&"
        assert case.fields["deadline"] == "2026-04-01"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-05", date(2026, 12, 5)),
        ("2026/12/5", date(2026, 12, 5)),
        ("2026年12月5日", date(2026, 12, 5)),
        ("２０２６年１２月５日", date(2026, 12, 5)),
        ("3月8日", date(2026, 3, 8)),
        ("3月8号", date(2026, 3, 8)),
        ("仲裁开庭 3月8日上午9点", date(2026, 3, 8)),
        ("3/8", date(2026, 3, 8)),  # month first, as written in China
        ("5.12", date(2026, 5, 12)),
        ("25/3", date(2026, 3, 25)),  # 25 cannot be a month
        ("8/3/2026", date(2026, 8, 3)),
        ("Mar 8", date(2026, 3, 8)),
        ("8 March", date(2026, 3, 8)),
        ("March 8th", date(2026, 3, 8)),
        ("明天", date(2026, 1, 6)),
        ("tomorrow", date(2026, 1, 6)),
        ("后天", date(2026, 1, 7)),
        ("今天", date(2026, 1, 5)),
        ("1月3日", date(2026, 1, 3)),  # two days ago: past (the flow refuses it), not next year
        ("12/30", date(2025, 12, 30)),  # last week, written in January
        ("10月1日", date(2026, 10, 1)),
        ("2028-2-29", date(2028, 2, 29)),
    ],
)
def test_parse_date(typed: str, expected: date) -> None:
    assert parse_date(typed, TODAY) == expected


def test_parse_date_rolls_a_long_past_day_into_next_year() -> None:
    assert parse_date("3月1日", date(2026, 6, 1)) == date(2027, 3, 1)
    assert parse_date("1/10", date(2026, 12, 20)) == date(2027, 1, 10)
    assert parse_date("5/20", date(2026, 6, 1)) == date(2026, 5, 20)  # recent: still this year


@pytest.mark.parametrize(
    "typed",
    ["", "下个月", "hello", "2/30", "2/29", "13/13", "1.5个月", "2.5万", "30天", "2026-13-01", "<b>&"],
)
def test_parse_date_refuses_what_is_not_a_date(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_date(typed, TODAY)


def test_legal_fields_must_be_consistent() -> None:
    base = {
        "problem": "other",
        "description_kind": "text",
        "description": "x",
        "contact_method": "telegram",
        "contact_time": "any",
    }
    assert LegalFields.model_validate(base).deadline is None
    for broken in (
        {"contact_method": "phone"},  # a call needs a number
        {"phone": "13812345678"},  # a number without a call
        {"description": None},
        {"description_kind": "voice_note"},  # no voice note
        {"problem": "unpaid_wages"},
    ):
        with pytest.raises(ValidationError):
            LegalFields.model_validate({**base, **broken})
