"""Report unpaid wages, end to end through the sandbox: Chinese and English, evidence, amounts, collective
cases, a location, edits, hostile input, switching forms and a restart in the middle."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.sandbox.server import Person
from bot.sandbox.session import WORKER_ID, running_bot
from flows import wages
from storage.models import CaseKind, Priority
from tests.flow_helpers import answer, onboard, press

HOSTILE = "<b>宏达</b> & *_[劳务]"

# The zh-Hans questions, by a piece of their text.
EMPLOYER_Q = "谁欠您的工资"
SITE_Q = "哪个项目或工地"
SITE_NAME_Q = "叫什么名字"
WORK_Q = "干什么活"
MONTHS_Q = "欠了多长时间"
AMOUNT_Q = "一共欠您多少钱"
WORKERS_Q = "几个人被欠了工资"
CONTRACT_Q = "书面劳动合同"
EVIDENCE_Q = "您有证据吗"
DISCLOSE_Q = "能不能带上您的姓名和电话"
SUMMARY_Q = "请看一下您填的对不对"
STALE = "这个按钮已经不能用了"


async def start_wages(worker: Person) -> None:
    """/wages after onboarding, up to the first question."""
    worker.send_command("/wages")
    await worker.next_message(lambda m: EMPLOYER_Q in m.text)


async def fill_in_chinese(worker: Person, *, workers: str | None = None, evidence: bool = False) -> str:
    """Answer every question in zh-Hans the quick way; returns the summary's text."""
    await start_wages(worker)
    await answer(worker, "宏达劳务")
    worker.send_text("阳光花园项目 城关镇")
    await worker.next_message(lambda m: WORK_Q in m.text)
    await answer(worker, "砌砖")
    worker.press("3个月")
    await worker.next_message(lambda m: AMOUNT_Q in m.text)
    worker.send_text("8500")
    await worker.next_message(lambda m: WORKERS_Q in m.text)
    if workers is None:
        worker.press("只有我")
    else:
        worker.send_text(workers)
    await worker.next_message(lambda m: CONTRACT_Q in m.text)
    worker.press("签了")
    await worker.next_message(lambda m: EVIDENCE_Q in m.text)
    if evidence:
        worker.send_photo()
        await worker.next_message(lambda m: "收到了（1）" in m.text)
        worker.press("✅ 好了")
    else:
        worker.press("跳过：我没有")
    await worker.next_message(lambda m: DISCLOSE_Q in m.text)
    worker.press("🔒 不能，替我保密")
    return (await worker.next_message(lambda m: SUMMARY_Q in m.text)).text


async def test_worker_reports_in_chinese_with_evidence_for_a_group(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    intro = await press(worker, "💰 反映欠薪")
    assert "/cancel" in intro.text
    assert EMPLOYER_Q in (await worker.next_message()).text

    site_question = await answer(worker, HOSTILE)
    assert SITE_Q in site_question.text
    assert worker.reply_keyboard == [["📍 我在工地上：发送我的位置"]]
    assert (
        await answer(worker, "阳光花园 <i>二期</i> & 城关镇")
    ).text == "项目或工地：阳光花园 <i>二期</i> & 城关镇"
    assert worker.reply_keyboard is None
    assert WORK_Q in (await worker.next_message()).text
    months_question = await answer(worker, "砌砖 & 抹灰 *_[")
    assert months_question.button_labels == ["1个月", "2个月", "3个月", "6个月", "一年以上"]
    amount_question = await answer(worker, "从三月开始")
    assert AMOUNT_Q in amount_question.text
    assert (await answer(worker, "1.2万")).text == "欠薪金额：1.2万元"
    workers_question = await worker.next_message()
    assert WORKERS_Q in workers_question.text and workers_question.button_labels == ["只有我"]
    assert (await answer(worker, "12人")).text == "有12个人被欠了工资，工会会先办这件事。"
    contract_question = await worker.next_message()
    assert contract_question.button_labels == ["签了", "没签合同", "不清楚"]
    worker.press("没签合同")
    await worker.next_edit(lambda m: m.text == "书面合同：没签合同")
    evidence_question = await worker.next_message()
    assert EVIDENCE_Q in evidence_question.text and evidence_question.button_labels == ["跳过：我没有"]

    worker.send_photo(caption="欠条")
    assert (await worker.next_message()).text.startswith("收到了（1）")
    worker.send_document("工资条.pdf", b"%PDF-1.4 pay slips")
    assert (await worker.next_message()).text.startswith("收到了（2）")
    worker.send_voice()
    got_three = await worker.next_message()
    assert got_three.text.startswith("收到了（3）") and got_three.button_labels == ["✅ 好了"]
    disclose_question = await press(worker, "✅ 好了")
    assert "如果您说不能，我们就替您保密。" in disclose_question.text
    assert "只有您一个人反映" not in disclose_question.text  # twelve workers: no lone-reporter warning
    assert disclose_question.button_labels == ["🔒 不能，替我保密", "可以，老板可以知道"]  # hidden is first

    summary = await press(worker, "🔒 不能，替我保密")
    assert f"欠工资的老板：{HOSTILE}" in summary.text  # reaches the summary intact, not as markup
    assert "项目或工地：阳光花园 <i>二期</i> & 城关镇" in summary.text
    assert "干的活：砌砖 & 抹灰 *_[" in summary.text
    assert "欠了多久：从三月开始" in summary.text
    assert "欠薪金额：1.2万元" in summary.text
    assert "被欠薪人数：12人" in summary.text
    assert "书面合同：没签合同" in summary.text
    assert "证据：3个文件" in summary.text
    assert "姓名和电话能不能给老板：不能，保密" in summary.text

    received = await press(worker, "✅ 提交")
    assert "W-000001" in received.text
    assert "几个小时内" in received.text  # collective: within hours
    assert "我们不会把您的姓名和电话告诉老板" in received.text

    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.kind == CaseKind.WAGES and case.worker_id == WORKER_ID
    assert case.priority == Priority.HIGH
    assert case.fields == {
        "employer": HOSTILE,
        "site": "阳光花园 <i>二期</i> & 城关镇",
        "location": None,
        "work": "砌砖 & 抹灰 *_[",
        "unpaid_for": "从三月开始",
        "unpaid_months": None,
        "amount_owed": "12000.00",
        "workers_affected": 12,
        "collective": True,
        "contract": "no",
        "disclose_identity": False,
    }
    attachments = await bot.storage.list_attachments(case.id)
    assert [a.kind for a in attachments] == ["photo", "document", "voice"]
    assert attachments[0].caption == "欠条"
    assert attachments[1].file_name == "工资条.pdf" and attachments[1].mime_type == "application/pdf"
    assert all(a.file_id for a in attachments)


async def test_worker_reports_in_english_alone_skipping_evidence(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "English")
    worker.send_command("/wages")
    await worker.next_message(lambda m: m.text.startswith("Who owes you the wages?"))
    assert "Which project" in (await answer(worker, "Li's labour team")).text
    worker.send_text("Sunny Garden, Longhua")
    assert (await worker.next_message()).text == "Project / site: Sunny Garden, Longhua"
    assert "What work" in (await worker.next_message()).text
    assert "How long" in (await answer(worker, "welding")).text
    worker.press("A year or more")
    await worker.next_edit(lambda m: m.text == "Unpaid for: A year or more")
    await worker.next_message(lambda m: "How much" in m.text)
    assert (await answer(worker, "¥8,500")).text == "Amount owed: 8,500 yuan"
    await worker.next_message(lambda m: "How many workers" in m.text)
    worker.press("Just me")
    await worker.next_edit(lambda m: m.text == "Workers affected: just me")
    await worker.next_message(lambda m: "written labour contract" in m.text)
    worker.press("Not sure")
    evidence_question = await worker.next_message(lambda m: "proof" in m.text)
    assert evidence_question.button_labels == ["Skip: I have none"]
    disclose_question = await press(worker, "Skip: I have none")
    assert "If you say no, we keep them hidden." in disclose_question.text
    assert (
        "You are reporting alone: even without your name, the boss may guess it was you "
        "from the site, the amount and the dates."
    ) in disclose_question.text
    assert disclose_question.button_labels == [
        "🔒 No, keep my name and phone hidden",
        "Yes, the boss may have them",
    ]
    summary = await press(worker, "Yes, the boss may have them")
    assert "Who owes: Li's labour team" in summary.text
    assert "Unpaid for: A year or more" in summary.text
    assert "Amount owed: 8,500 yuan" in summary.text
    assert "Workers affected: just me" in summary.text
    assert "Written contract: Not sure" in summary.text
    assert "Evidence: none" in summary.text
    assert "Name and phone for the boss: yes, they may" in summary.text

    received = await press(worker, "✅ Submit")
    assert received.text.startswith("Received. Your case number is W-000001.")
    assert "a union officer will contact you here" in received.text
    assert "usually within one working day" in received.text
    assert "You said the boss may have your name and phone." in received.text
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.priority == Priority.NORMAL
    assert case.fields["amount_owed"] == "8500.00" and Decimal(case.fields["amount_owed"]) == Decimal(8500)
    assert case.fields["unpaid_months"] == 12 and case.fields["unpaid_for"] is None
    assert case.fields["workers_affected"] == 1 and case.fields["collective"] is False
    assert case.fields["contract"] == "unsure" and case.fields["disclose_identity"] is True
    assert await bot.storage.list_attachments(case.id) == []


@pytest.mark.parametrize(
    ("typed", "echo"),
    [
        ("8500", "8500元"),
        ("8,500", "8500元"),
        ("8500元", "8500元"),
        ("¥8,500", "8500元"),
        ("８５００", "8500元"),
        ("8.5千", "8500元"),
        ("8.5k", "8500元"),
        ("1.2万", "1.2万元"),
        ("3250.5", "3250.50元"),
        ("八千五", "8500元"),  # Chinese numerals, read back so a misreading shows at once
        ("一万二", "1.2万元"),
        ("两千五百元", "2500元"),
        ("1万2", "1.2万元"),
    ],
)
async def test_amount_formats_are_read_and_echoed(
    bot: UnionApplication, worker: Person, typed: str, echo: str
) -> None:
    await onboard(worker, "简体中文")
    await start_wages(worker)
    await answer(worker, "宏达")
    worker.send_text("工地")
    await worker.next_message(lambda m: WORK_Q in m.text)
    await answer(worker, "搬砖")
    worker.press("1个月")
    await worker.next_message(lambda m: AMOUNT_Q in m.text)
    assert (await answer(worker, typed)).text == f"欠薪金额：{echo}"
    assert WORKERS_Q in (await worker.next_message()).text


async def test_every_refused_amount_says_why_and_the_question_stays(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    await start_wages(worker)
    await answer(worker, "宏达")
    worker.send_text("工地")
    await worker.next_message(lambda m: WORK_Q in m.text)
    await answer(worker, "搬砖")
    worker.press("1个月")
    await worker.next_message(lambda m: AMOUNT_Q in m.text)
    again = "请重新输入金额，比如8500、8.5千或八千五。"
    assert (await answer(worker, "0")).text == f"金额要大于0。\n{again}"
    assert (await answer(worker, "-500")).text == f"金额不能是负数。\n{again}"
    assert (await answer(worker, "很多钱")).text == f"没看懂这个金额。\n{again}"
    assert (await answer(worker, "<b>8500</b>")).text == f"没看懂这个金额。\n{again}"
    assert (await answer(worker, "20000000")).text == f"超过了1000万元，请看看是不是多打了0。\n{again}"
    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    assert (await answer(worker, "9" * 51)).text == "太长了，请不要超过50个字。"
    assert (await answer(worker, "2万")).text == "欠薪金额：2万元"  # still at the amount until now


async def test_english_refusals(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "English")
    worker.send_command("/wages")
    await worker.next_message(lambda m: "Who owes" in m.text)
    await answer(worker, "Boss Wang")
    worker.send_text("Site 3")
    await worker.next_message(lambda m: "What work" in m.text)
    await answer(worker, "plastering")
    worker.press("2 months")
    await worker.next_message(lambda m: "How much" in m.text)
    again = "Please type the amount again, for example 8500 or 8.5k."
    assert (await answer(worker, "0")).text == f"The amount must be more than 0.\n{again}"
    assert (await answer(worker, "-8500")).text == f"The amount cannot be negative.\n{again}"
    assert (await answer(worker, "lots")).text == f"I could not read an amount there.\n{again}"
    assert (await answer(worker, "1e9")).text == f"I could not read an amount there.\n{again}"
    too_large = "That is more than 10,000,000 yuan. Please check the number of zeros."
    assert (await answer(worker, "12,000,000")).text == f"{too_large}\n{again}"
    assert (await answer(worker, "8.5k")).text == "Amount owed: 8,500 yuan"
    await worker.next_message(lambda m: "How many workers" in m.text)
    assert (await answer(worker, "0")).text == "The number must be between 1 and 10000."
    assert (await answer(worker, "10001")).text == "The number must be between 1 and 10000."
    assert (await answer(worker, "a few")).text == "Please type a number of people, for example 5."
    collective = await answer(worker, "40 workers")
    assert collective.text == "40 workers were not paid: the union will deal with this first."


@pytest.mark.parametrize(
    ("workers", "priority"), [(None, Priority.NORMAL), ("2", Priority.HIGH), ("３０个人", Priority.HIGH)]
)
async def test_more_than_one_worker_is_a_collective_case(
    bot: UnionApplication, worker: Person, workers: str | None, priority: Priority
) -> None:
    await onboard(worker, "简体中文")
    summary = await fill_in_chinese(worker, workers=workers)
    assert "群体性" not in summary  # a worker reads plain words (bot/locales/glossary.toml)
    assert ("被欠薪人数：只有我" in summary) == (priority == Priority.NORMAL)
    received = await press(worker, "✅ 提交")
    assert ("几个小时内" in received.text) == (priority == Priority.HIGH)
    assert ("一个工作日内" in received.text) == (priority == Priority.NORMAL)
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.priority == priority
    assert case.fields["collective"] == (priority == Priority.HIGH)


async def test_the_site_as_a_location(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    await start_wages(worker)
    await answer(worker, "宏达")
    worker.send_sticker()
    assert (await worker.next_message()).text == "请输入工地的名字和地点，或者发送位置。"
    worker.tap_reply_button("📍 我在工地上：发送我的位置")
    assert (await worker.next_message()).text == "📍 收到位置了。"
    assert worker.reply_keyboard is None
    name_question = await worker.next_message()
    assert SITE_NAME_Q in name_question.text and name_question.button_labels == ["不知道名字"]
    work_question = await answer(worker, "阳光花园")
    assert WORK_Q in work_question.text

    await answer(worker, "砌砖")
    worker.press("3个月")
    await worker.next_message(lambda m: AMOUNT_Q in m.text)
    worker.send_text("5000")
    await worker.next_message(lambda m: WORKERS_Q in m.text)
    worker.press("只有我")
    await worker.next_message(lambda m: CONTRACT_Q in m.text)
    worker.press("签了")
    await worker.next_message(lambda m: EVIDENCE_Q in m.text)
    worker.press("跳过：我没有")
    await worker.next_message(lambda m: DISCLOSE_Q in m.text)
    summary = await press(worker, "🔒 不能，替我保密")
    assert "项目或工地：阳光花园（📍 已发送位置）" in summary.text
    assert "欠了多久：3个月" in summary.text
    await press(worker, "✅ 提交")
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None
    assert case.fields["site"] == "阳光花园"
    assert case.fields["location"] == {"latitude": 31.2304, "longitude": 121.4737}
    assert case.fields["unpaid_months"] == 3 and case.fields["unpaid_for"] is None

    # A second report: the location alone, without a name.
    await start_wages(worker)
    await answer(worker, "张老板")
    worker.send_location(22.5431, 114.0579)
    await worker.next_message(lambda m: SITE_NAME_Q in m.text)
    worker.press("不知道名字")
    await worker.next_edit(lambda m: m.text == "项目或工地：已发送位置")
    assert WORK_Q in (await worker.next_message()).text
    await answer(worker, "保洁")
    await answer(worker, "两个月")
    worker.send_text("3000")
    await worker.next_message(lambda m: WORKERS_Q in m.text)
    worker.press("只有我")
    await worker.next_message(lambda m: CONTRACT_Q in m.text)
    worker.press("不清楚")
    await worker.next_message(lambda m: EVIDENCE_Q in m.text)
    worker.press("跳过：我没有")
    await worker.next_message(lambda m: DISCLOSE_Q in m.text)
    summary = await press(worker, "🔒 不能，替我保密")
    assert "项目或工地：📍 已发送位置" in summary.text
    await press(worker, "✅ 提交")
    case = await bot.storage.get_case_by_reference("W-000002")
    assert case is not None and case.fields["site"] is None
    assert case.fields["location"] == {"latitude": 22.5431, "longitude": 114.0579}
    assert case.fields["unpaid_for"] == "两个月" and case.fields["unpaid_months"] == 2


async def test_changing_answers_from_the_summary(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    await fill_in_chinese(worker)
    choose = await press(worker, "✏️ 改一项")
    assert choose.button_labels == [
        "欠工资的老板",
        "项目或工地",
        "工地名字",
        "干的活",
        "欠了多久",
        "欠薪金额",
        "被欠薪人数",
        "书面合同",
        "证据",
        "姓名和电话能不能给老板",
    ]
    assert AMOUNT_Q in (await press(worker, "欠薪金额")).text
    assert (await answer(worker, "9千")).text == "欠薪金额：9000元"
    summary = await worker.next_message()
    assert SUMMARY_Q in summary.text and "欠薪金额：9000元" in summary.text

    worker.press("✏️ 改一项")
    await worker.next_message(lambda m: "您想改哪一项" in m.text)
    await press(worker, "被欠薪人数")
    await answer(worker, "6")  # the collective notice
    summary = await worker.next_message()
    assert "被欠薪人数：6人" in summary.text

    worker.press("✏️ 改一项")
    await worker.next_message(lambda m: "您想改哪一项" in m.text)
    await press(worker, "项目或工地")
    worker.tap_reply_button("📍 我在工地上：发送我的位置")
    await worker.next_message(lambda m: SITE_NAME_Q in m.text)
    summary = await answer(worker, "阳光花园二期")
    assert "项目或工地：阳光花园二期（📍 已发送位置）" in summary.text

    worker.press("✏️ 改一项")
    await worker.next_message(lambda m: "您想改哪一项" in m.text)
    await press(worker, "证据")
    worker.send_voice()
    await worker.next_message(lambda m: "收到了（1）" in m.text)
    summary = await press(worker, "✅ 好了")
    assert "证据：1个文件" in summary.text

    worker.press("✏️ 改一项")
    await worker.next_message(lambda m: "您想改哪一项" in m.text)
    await press(worker, "姓名和电话能不能给老板")
    summary = await press(worker, "可以，老板可以知道")
    assert "姓名和电话能不能给老板：可以" in summary.text
    assert "欠薪金额：9000元" in summary.text  # earlier changes kept

    received = await press(worker, "✅ 提交")
    assert "您说过可以把您的姓名和电话告诉老板" in received.text
    case = await bot.storage.get_case_by_reference("W-000001")
    assert case is not None and case.priority == Priority.HIGH
    assert case.fields["amount_owed"] == "9000.00" and case.fields["workers_affected"] == 6
    assert case.fields["site"] == "阳光花园二期" and case.fields["location"] is not None
    assert case.fields["disclose_identity"] is True
    assert [a.kind for a in await bot.storage.list_attachments(case.id)] == ["voice"]


async def test_hostile_input_gets_an_answer_and_the_question_stays(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    await start_wages(worker)
    # The employer question: media, too long, unknown commands, forged buttons.
    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    worker.send_voice()
    assert (await worker.next_message()).text == "请打字回答。"
    assert (await answer(worker, "长" * 101)).text == "太长了，请不要超过100个字。"
    worker.send_command("/nonsense")
    assert "没有这个命令" in (await worker.next_message()).text
    forged = worker.press_data("wages:contract:yes")
    assert STALE in (await worker.next_answer(forged))["text"]
    assert SITE_Q in (await answer(worker, "宏达")).text  # still at the employer question until now

    worker.send_photo()
    assert (await worker.next_message()).text == "请输入工地的名字和地点，或者发送位置。"
    skip = worker.press_data("wages:site:skip")  # no location sent: there is nothing to skip to
    assert STALE in (await worker.next_answer(skip))["text"]
    worker.send_text("工地")
    await worker.next_message(lambda m: WORK_Q in m.text)
    assert (await answer(worker, "活" * 201)).text == "太长了，请不要超过200个字。"
    await answer(worker, "搬砖")

    for data in ("wages:months:5", "wages:months:abc", "wages:months:"):
        forged = worker.press_data(data)
        assert STALE in (await worker.next_answer(forged))["text"]
    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    await answer(worker, "半年")
    worker.send_text("8500")
    await worker.next_message(lambda m: WORKERS_Q in m.text)

    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    assert (await answer(worker, "0")).text == "人数要在1到10000之间。"
    assert (await answer(worker, "很多")).text == "请输入人数，比如5。"
    worker.press("只有我")
    await worker.next_message(lambda m: CONTRACT_Q in m.text)

    assert (await answer(worker, "签了")).text == "请点上面的一个按钮。"
    worker.send_photo()
    assert (await worker.next_message()).text == "请点上面的一个按钮。"
    forged = worker.press_data("wages:contract:maybe")
    assert STALE in (await worker.next_answer(forged))["text"]
    worker.press("签了")
    await worker.next_message(lambda m: EVIDENCE_Q in m.text)

    assert (await answer(worker, "我有欠条")).text == "请发照片、文件或语音，或者点按钮。"
    worker.send_sticker()
    assert (await worker.next_message()).text == "请发照片、文件或语音，或者点按钮。"
    worker.press("跳过：我没有")
    await worker.next_message(lambda m: DISCLOSE_Q in m.text)

    assert (await answer(worker, "不要")).text == "请点上面的一个按钮。"
    forged = worker.press_data("wages:disclose:maybe")
    assert STALE in (await worker.next_answer(forged))["text"]
    summary = await press(worker, "🔒 不能，替我保密")
    assert SUMMARY_Q in summary.text

    assert (await answer(worker, "提交")).text == "请点上面的一个按钮。"
    forged = worker.press_data("form:edit:salary")
    assert STALE in (await worker.next_answer(forged))["text"]
    received = await press(worker, "✅ 提交")
    assert "W-000001" in received.text
    stale = worker.press_data("form:submit")  # a second tap on the old summary files nothing
    assert STALE in (await worker.next_answer(stale))["text"]
    assert len(await bot.storage.list_cases_for_worker(WORKER_ID)) == 1


async def test_wages_while_joining_asks_before_dropping_the_draft(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    worker.send_command("/join")
    await worker.next_message(lambda m: "您叫什么名字" in m.text)
    await answer(worker, "王五")
    worker.send_command("/wages")
    offer = await worker.next_message()
    assert "“加入工会”还没填完" in offer.text
    assert "电话号码" in (await press(worker, "继续填表")).text
    worker.send_command("/wages")
    await worker.next_message(lambda m: "还没填完" in m.text)
    assert (await press(worker, "删掉，做别的")).text.startswith("已删除")
    await worker.next_message(lambda m: "💰 反映欠薪" in m.button_labels)
    worker.press("💰 反映欠薪")
    await worker.next_message(lambda m: EMPLOYER_Q in m.text)


async def test_joining_while_reporting_asks_before_dropping_the_draft(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    await start_wages(worker)
    await answer(worker, "宏达")
    worker.send_command("/join")
    offer = await worker.next_message()
    assert "“反映欠薪”还没填完" in offer.text


async def test_other_commands_while_reporting_ask_before_dropping_the_draft(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    await start_wages(worker)
    await answer(worker, "宏达")
    for command in ("/start", "/legal", "/wages"):
        worker.send_command(command)
        offer = await worker.next_message()
        assert "“反映欠薪”还没填完" in offer.text
        assert SITE_Q in (await press(worker, "继续填表")).text
    worker.send_text("工地")
    await worker.next_message(lambda m: WORK_Q in m.text)
    worker.send_command("/cancel")
    assert (await worker.next_message()).text == "已取消，什么都没有发出去。"
    assert await bot.storage.list_cases_for_worker(WORKER_ID) == []


async def test_restart_in_the_middle_resumes_at_the_same_question(
    config: Config, clock: FakeClock, worker: Person
) -> None:
    async with running_bot(config, clock=clock):
        await onboard(worker, "简体中文")
        await start_wages(worker)
        await answer(worker, HOSTILE)
        worker.send_text("阳光花园")
        await worker.next_message(lambda m: WORK_Q in m.text)
        await answer(worker, "砌砖")
        await answer(worker, "4个月")
        assert AMOUNT_Q in worker.messages[-1].text

    worker.send_text("6500")  # answered while the bot is down
    async with running_bot(config, clock=clock) as bot:
        assert (await worker.next_message()).text == "欠薪金额：6500元"
        assert WORKERS_Q in (await worker.next_message()).text
        worker.press("只有我")
        await worker.next_message(lambda m: CONTRACT_Q in m.text)

    async with running_bot(config, clock=clock) as bot:
        worker.press("签了")  # a button from before the restart still answers its question
        await worker.next_message(lambda m: EVIDENCE_Q in m.text)
        worker.send_document("欠条.jpg", b"\xff\xd8\xff IOU", mime_type="image/jpeg")
        await worker.next_message(lambda m: "收到了（1）" in m.text)
        worker.press("✅ 好了")
        await worker.next_message(lambda m: DISCLOSE_Q in m.text)
        summary = await press(worker, "🔒 不能，替我保密")
        assert f"欠工资的老板：{HOSTILE}" in summary.text  # answers from before both restarts
        assert "欠了多久：4个月" in summary.text and "欠薪金额：6500元" in summary.text
        await press(worker, "✅ 提交")
        case = await bot.storage.get_case_by_reference("W-000001")
        assert case is not None and case.fields["employer"] == HOSTILE
        assert case.fields["unpaid_months"] == 4 and case.fields["amount_owed"] == "6500.00"
        assert [a.file_name for a in await bot.storage.list_attachments(case.id)] == ["欠条.jpg"]


def test_wages_fields_refuse_inconsistent_answers() -> None:
    base = dict(
        employer="宏达",
        site="工地",
        work="砌砖",
        unpaid_months=3,
        amount_owed="8500",
        workers_affected=1,
        collective=False,
        contract="yes",
    )
    assert wages.WagesFields.model_validate(base).disclose_identity is False  # hidden unless chosen
    for change in (
        {"site": None},
        {"unpaid_months": None},
        {"collective": True},
        {"amount_owed": "0"},
        {"amount_owed": "10000000.01"},
        {"workers_affected": 0},
        {"contract": "maybe"},
    ):
        with pytest.raises(ValueError):
            wages.WagesFields.model_validate({**base, **change})
