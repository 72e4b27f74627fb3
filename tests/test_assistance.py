"""Ask for hardship help (/assistance), end to end through the sandbox in Chinese and English: every
question, wrong input, restarts, the officer's decision and the worker's news, forgetting and retention;
and below, the storage, the SLA and the config it rests on."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest
from pydantic import ValidationError

from bot.app import UnionApplication
from bot.cases.assignment import choose_officers
from bot.cases.sla import first_response_due
from bot.core.clock import FakeClock
from bot.core.config import Config, ConfigError, SLAConfig, load_config
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import (
    ADMIN_ID,
    WORKER_ID,
    default_sandbox_config,
    running_bot,
)
from bot.sweeps.reminders import ReminderSweep
from flows import assistance
from storage.migrations import MIGRATIONS, migrate
from storage.models import (
    ANONYMOUS_WORKER_ID,
    Case,
    CaseActivity,
    CaseKind,
    CaseStatus,
    NewCase,
    Officer,
    Outcome,
    Priority,
    Resolution,
)
from storage.sqlite import SQLiteStorage
from tests.flow_helpers import answer, onboard, press

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "<b>老婆</b>住院 & *_[ 停工"

# The zh-Hans questions, by a piece of their text.
HELP_Q = "您需要什么帮助？"
SCHOOL_Q = "孩子在上什么学？"
EARNERS_Q = "有几个人在挣钱"
DEPENDANTS_Q = "有几个人靠您养"
ILLNESS_Q = "家里有人得了重病吗？"
DISABILITY_Q = "家里有残疾人吗？"
INCOME_Q = "您全家一个月一共收入多少钱"
STORY_Q = "简单说说发生了什么"
DOCUMENTS_Q = "您有没有能证明的材料"
SHARE_Q = "上级总工会决定"
SUMMARY_Q = "请看一下您填的对不对"
HELP_LABELS_ZH = ["生活困难补助", "孩子上学补助（金秋助学）", "看病困难补助", "突发困难：出了意外或没了工作"]


async def _household_in_chinese(worker: Person, *, income: str = "八千五") -> None:
    """From the earners question up to the story: 1 earner, 3+ dependants, no illness, a disability."""
    await worker.next_message(lambda m: EARNERS_Q in m.text)
    worker.press("1个人")
    await worker.next_message(lambda m: DEPENDANTS_Q in m.text)
    worker.press("3个人或更多")
    await worker.next_message(lambda m: ILLNESS_Q in m.text)
    worker.press("没有")
    await worker.next_message(lambda m: DISABILITY_Q in m.text)
    worker.press("有")
    await worker.next_message(lambda m: INCOME_Q in m.text)
    worker.send_text(income)
    await worker.next_message(lambda m: STORY_Q in m.text)


async def _apply_in_chinese(worker: Person, *, help_label: str, share: str = "可以给上级总工会看") -> None:
    """A whole zh-Hans application without a school level, story or papers, submitted."""
    await onboard(worker, "简体中文")
    worker.send_command("/assistance")
    await worker.next_message(lambda m: HELP_Q in m.text)
    worker.press(help_label)
    await _household_in_chinese(worker)
    worker.press("跳过")
    await worker.next_message(lambda m: DOCUMENTS_Q in m.text)
    worker.press("跳过：我没有")
    await worker.next_message(lambda m: SHARE_Q in m.text)
    worker.press(share)
    await worker.next_message(lambda m: SUMMARY_Q in m.text)
    worker.press("✅ 提交")
    await worker.next_message(lambda m: "A-000001" in m.text)


async def _case(bot: UnionApplication, reference: str = "A-000001") -> Case:
    case = await bot.storage.get_case_by_reference(reference)
    assert case is not None
    return case


# -- the worker's form, in Chinese -----------------------------------------------------------------------


async def test_chinese_school_grant_from_the_menu_to_a_grant_typed_in_chinese_numerals(
    bot: UnionApplication, worker: Person, wang: Person, chen: Person
) -> None:
    menu = await onboard(worker, "简体中文")
    assert "🤝 申请帮扶" in menu.button_labels
    intro = await press(worker, "🤝 申请帮扶")
    assert intro.text.startswith("我们来申请帮扶")
    question = await worker.next_message()
    assert question.text == HELP_Q and question.button_labels == HELP_LABELS_ZH

    school = await press(worker, "孩子上学补助（金秋助学）")
    await worker.next_edit(lambda m: m.text == "要什么帮助：孩子上学补助（金秋助学）")
    assert school.text == SCHOOL_Q
    assert school.button_labels == ["小学", "初中", "高中、中专或职高", "大学或大专"]
    earners = await press(worker, "初中")
    await worker.next_edit(lambda m: m.text == "孩子上什么学：初中")
    assert EARNERS_Q in earners.text and earners.button_labels == ["没有", "1个人", "2个人", "3个人或更多"]
    worker.send_sticker()  # a sticker where a button is wanted
    assert (await worker.next_message()).text == "请点上面的一个按钮。"
    worker.send_text("两个")
    assert (await worker.next_message()).text == "请点上面的一个按钮。"
    assert DEPENDANTS_Q in (await press(worker, "1个人")).text
    assert (await press(worker, "3个人或更多")).text == ILLNESS_Q
    illness_buttons = worker.messages[-1].button_labels
    assert illness_buttons == ["有", "没有"]
    assert (await press(worker, "没有")).text == DISABILITY_Q
    income = await press(worker, "有")
    assert INCOME_Q in income.text and income.button_labels == ["现在没有收入"]

    refused = await answer(worker, "不太多")  # nonsense: refused kindly, the question stays
    assert (
        refused.text == "没看懂这个金额。\n请重新输入金额，比如3000或三千。现在没有收入的话，请点下面的按钮。"
    )
    assert refused.button_labels == ["现在没有收入"]
    assert (await answer(worker, "五十万")).text.startswith("超过了20万元，请看看是不是多打了0。")
    worker.send_sticker()
    assert (await worker.next_message()).text == "请打字回答。"
    assert (await answer(worker, "八千五")).text == "全家每月收入：8500元"  # read and echoed

    story = await worker.next_message()
    assert STORY_Q in story.text and story.button_labels == ["跳过"]
    worker.send_sticker()
    assert (await worker.next_message()).text == "请写下发生了什么，或者发一条语音，或者点“跳过”。"
    documents = await answer(worker, HOSTILE)
    assert DOCUMENTS_Q in documents.text
    worker.send_photo(caption="录取通知书")
    assert (await worker.next_message()).text.startswith("收到了（1）")
    share = await press(worker, "✅ 好了")
    assert "您的姓名、您要什么帮助、家里的情况和收入、发生了什么、您发的材料" in share.text
    assert share.button_labels == ["可以给上级总工会看", "🔒 不行，只给本工会看"]
    summary = await press(worker, "可以给上级总工会看")
    await worker.next_edit(lambda m: m.text == "上级总工会能不能看：可以")
    assert summary.text.startswith("申请帮扶\n请看一下您填的对不对：")
    for line in (
        "要什么帮助：孩子上学补助（金秋助学）",
        "孩子上什么学：初中",
        "家里挣钱的人：1个人",
        "靠您养的人：3个人或更多",
        "家里有人得重病：没有",
        "家里有残疾人：有",
        "全家每月收入：8500元",
        f"发生了什么：{HOSTILE}",  # intact, not read as markup
        "材料：1个文件",
        "上级总工会能不能看：可以",
    ):
        assert line in summary.text

    received = await press(worker, "✅ 提交")
    assert received.text == (
        "收到了。您的求助编号是 A-000001。\n"
        "接下来：工会干事会看您的申请，一般在24小时内在这里联系您。\n"
        "您说过需要的话可以把申请报给上级总工会。"
    )
    case = await _case(bot)
    assert (case.kind, case.priority, case.worker_id) == (CaseKind.ASSISTANCE, Priority.NORMAL, WORKER_ID)
    assert case.fields == {
        "help_kind": "education",
        "school_level": "junior_secondary",
        "earners": "1",
        "dependants": "3+",
        "illness": False,
        "disability": True,
        "monthly_income": "8500.00",
        "description": HOSTILE,
        "voice_file_id": None,
        "share_with_federation": True,
    }
    assert [a.caption for a in await bot.storage.list_attachments(case.id)] == ["录取通知书"]
    assert "draft" not in bot.user_data.get(WORKER_ID, {})

    # Wang handles assistance: the alert, in the officers' words, with the files after it.
    alert = await wang.next_message(lambda m: "🆕 新案件 A-000001" in (m.text or ""))
    assert alert.text.startswith("🆕 新案件 A-000001：申请帮扶\n您是主办人。替补：陈干事。")
    for line in (
        "工人同意：如需上级总工会审批，可以把申请报上去。",
        "申请类别：金秋助学",
        "子女就读阶段：初中",
        "家庭就业人数：1人",
        "赡养抚养人数：3人及以上",
        "家庭成员患重病：无",
        "家庭成员有残疾：有",
        "家庭月收入：8500元",
        f"事情经过：{HOSTILE}",
        "工人：小张（Telegram）",
        "证据：1个文件",
    ):
        assert line in alert.text
    await wang.next_message(lambda m: m.kind == "photo")
    await chen.next_message(lambda m: "您是 A-000001（申请帮扶）的替补" in (m.text or ""))

    # Granted, with the amount typed in Chinese numerals; the worker hears it in words.
    choose = await press(wang, "✅ 办结")
    assert choose.text == "A-000001 的办理结果是什么？"
    assert choose.button_labels == ["给予帮扶", "不符合条件", "报上级总工会"]
    ask = await press(wang, "给予帮扶")
    assert ask.text == "帮扶金额是多少元？比如2000或两千。"
    assert (await answer(wang, "看情况")).text.startswith("没看懂这个金额。")
    assert (await answer(wang, "二十万")).text.startswith("超过了10万元")
    done = await answer(wang, "一万二")
    assert done.text == "✅ A-000001 已办结：给予帮扶。已通知工人。\n记录的金额：1.2万元"
    news = await worker.next_message(lambda m: "A-000001" in m.text)
    assert news.text == (
        "✅ A-000001：您申请的帮扶批下来了，工会给您1.2万元。\n"
        "接下来：工会干事会在这里告诉您怎么领钱、什么时候领。"
    )
    case = await _case(bot)
    assert (case.status, case.outcome, case.amount_granted) == (
        CaseStatus.RESOLVED,
        Outcome.GRANTED,
        Decimal("12000.00"),
    )

    worker.send_command("/mycases")
    await worker.next_message(lambda m: "A-000001" in m.text)
    mine = await press(worker, "A-000001 · 申请帮扶")
    assert "结果：批下来了，工会给您帮扶\n帮扶的钱：1.2万元" in mine.text
    wang.send_command("/case A-000001")
    card = await wang.next_message(lambda m: "A-000001 · 申请帮扶" in m.text)
    assert "结果：给予帮扶" in card.text and "帮扶金额：1.2万元" in card.text


async def test_chinese_cancel_switch_and_forged_buttons_mid_form(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    worker.send_command("/assistance")
    await worker.next_message(lambda m: m.text == HELP_Q)
    forged = worker.press_data("assist:help:lottery")
    assert "这个按钮已经不能用了" in (await worker.next_answer(forged))["text"]
    worker.press("看病困难补助")
    await worker.next_message(lambda m: EARNERS_Q in m.text)

    worker.send_command("/wages")  # another form: asked before the answers are dropped
    switch = await worker.next_message()
    assert switch.text == "您的“申请帮扶”还没填完。接着填，还是删掉？"
    again = await press(worker, "继续填表")
    assert EARNERS_Q in again.text
    worker.send_command("/nonsense")
    assert "没有这个命令" in (await worker.next_message()).text

    cancelled = await answer(worker, "/cancel")
    assert cancelled.text == "已取消，什么都没有发出去。"
    assert "draft" not in bot.user_data.get(WORKER_ID, {})
    assert await bot.storage.list_cases_for_worker(WORKER_ID) == []


async def test_a_restart_mid_form_resumes_at_the_same_question(
    config: Config, clock: FakeClock, worker: Person
) -> None:
    async with running_bot(config, clock=clock):
        await onboard(worker, "简体中文")
        worker.send_command("/assistance")
        await worker.next_message(lambda m: m.text == HELP_Q)
        worker.press("生活困难补助")
        await worker.next_message(lambda m: EARNERS_Q in m.text)
        await press(worker, "2个人")
        await press(worker, "没有")
        await press(worker, "有")
        await press(worker, "没有")
        assert INCOME_Q in worker.messages[-1].text

    worker.send_text("3千")  # typed while the bot is down
    async with running_bot(config, clock=clock) as bot:
        assert (await worker.next_message()).text == "全家每月收入：3000元"
        await worker.next_message(lambda m: STORY_Q in m.text)
        worker.press("跳过")
        await worker.next_message(lambda m: DOCUMENTS_Q in m.text)

    async with running_bot(config, clock=clock) as bot:
        worker.press("跳过：我没有")  # a button from before the restart still answers its question
        await worker.next_message(lambda m: SHARE_Q in m.text)
        summary = await press(worker, "🔒 不行，只给本工会看")
        assert "家里挣钱的人：2个人" in summary.text and "全家每月收入：3000元" in summary.text
        assert "发生了什么：没写" in summary.text
        received = await press(worker, "✅ 提交")
        assert received.text.endswith("您的申请只有本工会能看。")
        case = await _case(bot)
        assert case.fields["help_kind"] == "hardship" and case.fields["school_level"] is None
        assert case.fields["monthly_income"] == "3000.00" and case.fields["share_with_federation"] is False


async def test_an_emergency_is_urgent_and_can_be_referred_upward(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _apply_in_chinese(worker, help_label="突发困难：出了意外或没了工作")
    received = worker.messages[-1].text
    assert "一般在1小时内" in received and "这是突发困难，您的申请已标为紧急。" in received
    case = await _case(bot)
    assert case.priority == Priority.URGENT and case.fields["help_kind"] == "emergency"
    alert = await wang.next_message(lambda m: "A-000001" in (m.text or ""))
    assert alert.text.startswith("🔴 紧急：突发困难（意外或失业），请尽快联系工人。")
    # The SLA sweep holds the officer to the fastest time for an emergency.
    deadline = ReminderSweep(bot.storage, bot.config, bot.clock).deadline(
        CaseActivity(case=case, last_activity_at=None)
    )
    assert deadline == (case.created_at, case.created_at + timedelta(hours=1))

    await press(wang, "✅ 办结")
    done = await press(wang, "报上级总工会")
    await wang.next_edit(lambda m: m.text.startswith("结果：报上级总工会"))
    assert done.text == "✅ A-000001 已办结：报上级总工会。已通知工人。"
    news = await worker.next_message(lambda m: "A-000001" in m.text)
    assert news.text == (
        "A-000001：您申请的帮扶已经报给上级总工会，由他们决定。事情还没完，工会干事会在这里告诉您结果。"
    )
    assert news.button_labels == ["✉️ 回复", "📂 查看这个求助"]
    mine = await press(worker, "📂 查看这个求助")
    assert "结果：已报给上级总工会，由他们决定" in mine.text
    case = await _case(bot)
    assert case.outcome == Outcome.REFERRED_UPWARD and case.amount_granted is None


async def test_without_consent_a_request_cannot_be_referred_upward(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _apply_in_chinese(worker, help_label="生活困难补助", share="🔒 不行，只给本工会看")
    alert = await wang.next_message(lambda m: "A-000001" in (m.text or ""))
    assert "⚠️ 工人不同意把申请报给上级总工会：不能报上级。" in alert.text
    choose = await press(wang, "✅ 办结")
    assert choose.button_labels == ["给予帮扶", "不符合条件"]
    case = await _case(bot)
    forged = wang.press_data(f"oo:{case.id}:referred_upward")
    assert (await wang.next_answer(forged))["text"] == "这个按钮已经失效了。"
    assert (await _case(bot)).status == CaseStatus.NEW


# -- in English -------------------------------------------------------------------------------------------


async def test_english_voice_story_edit_to_a_school_grant_then_not_eligible_with_a_reason(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person
) -> None:
    await onboard(worker, "English")
    worker.send_command("/assistance")
    await worker.next_message(lambda m: m.text.startswith("Let's ask the union for help"))
    question = await worker.next_message()
    assert question.text == "What help do you need?"
    assert question.button_labels == [
        "Hardship grant",
        "School grant for my child",
        "Help with medical costs",
        "Emergency: accident or lost job",
    ]
    earners = await press(worker, "Help with medical costs")
    assert earners.text == "How many people in your family earn money now, counting you?"
    assert earners.button_labels == ["Nobody", "1 person", "2 people", "3 or more"]
    await press(worker, "Nobody")
    await press(worker, "2 people")
    await press(worker, "Yes, there is")
    income = await press(worker, "No, nobody")
    assert income.text.startswith("How much money does your whole family get in a month")
    assert (await answer(worker, "-500")).text.startswith("The amount cannot be negative.")
    assert (await answer(worker, "1.2万")).text == "Family income a month: 12,000 yuan"
    story = await worker.next_message()
    assert story.text.startswith("In a few words, what happened?")
    worker.send_voice(duration=30)
    assert (await worker.next_message()).text == "🎤 Voice note received."
    documents = await worker.next_message()
    assert documents.text.startswith("Do you have papers that show it?")
    share = await press(worker, "Skip: I have none")
    assert share.text.startswith("Some help is decided above the township")
    assert "They would get: your name, the help you asked for" in share.text
    summary = await press(worker, "🔒 No, only this union")
    assert "Help asked for: Help with medical costs" in summary.text
    assert "Child's school" not in summary.text
    assert "Serious illness in the family: Yes, there is" in summary.text
    assert "Monthly family income: 12,000 yuan" in summary.text
    assert "What happened: 🎤 voice note" in summary.text
    assert "Union federation may see it: no, only this union" in summary.text

    choose = await press(worker, "✏️ Change an answer")
    assert choose.button_labels == [
        "Help asked for",
        "Child's school",
        "People earning money",
        "People who depend on you",
        "Serious illness in the family",
        "Disability in the family",
        "Monthly family income",
        "What happened",
        "Documents",
        "Union federation may see it",
    ]
    await press(worker, "Help asked for")
    school = await press(worker, "School grant for my child")  # a school grant asks for the school
    assert school.text == "Which school is your child in?"
    summary = await press(worker, "University or college")
    assert "Help asked for: School grant for my child" in summary.text
    assert "Child's school: University or college" in summary.text
    await press(worker, "✏️ Change an answer")
    await press(worker, "Monthly family income")
    worker.send_text("0")  # no income at all is an answer here
    assert (await worker.next_message()).text == "Family income a month: no income now"
    summary = await worker.next_message()
    assert "Monthly family income: no income now" in summary.text

    received = await press(worker, "✅ Submit")
    assert received.text == (
        "Received. Your case number is A-000001.\n"
        "What happens next: a union officer will look at it and contact you here, usually within 24 h.\n"
        "Only this union will see your request."
    )
    case = await _case(bot)
    attachments = await bot.storage.list_attachments(case.id)
    assert [a.kind for a in attachments] == ["voice"]
    assert case.fields["voice_file_id"] == attachments[0].file_id and case.fields["description"] is None
    assert case.fields["help_kind"] == "education" and case.fields["school_level"] == "university"
    assert case.fields["monthly_income"] == "0.00" and case.fields["illness"] is True

    await wang.next_message(lambda m: "A-000001" in (m.text or ""))
    await press(wang, "✅ 办结")
    ask = await press(wang, "不符合条件")
    assert ask.text.startswith("为什么不符合条件？")
    wang.send_sticker()
    assert (await wang.next_message()).text == "请用文字输入。"
    reason = "<b>已有</b>其他补助 & 收入超过标准"
    done = await answer(wang, reason)
    assert done.text == "✅ A-000001 已办结：不符合条件。已通知工人。"
    news = await worker.next_message(lambda m: "A-000001" in m.text)
    assert news.text == (
        "A-000001: your request for hardship help was not approved this time.\n"
        f"Why: {reason}\n\n"
        "What you can still do:\n"
        "• If things get harder at home, ask again with /assistance.\n"
        "• Tap “Reply” to ask the officer about other help."
    )
    case = await _case(bot)
    assert (case.outcome, case.decision_reason, case.amount_granted) == (Outcome.NOT_ELIGIBLE, reason, None)

    worker.send_command("/mydata")
    document = await worker.next_message(lambda m: m.kind == "document")
    text = sandbox.file_content(document.raw["document"]["file_id"]).decode("utf-8")
    assert "A-000001 · Hardship assistance" in text
    assert f"How it ended: not approved\nWhy: {reason}" in text  # as typed: the file is not HTML
    assert (
        "Help asked for: School grant for my child" in text
        and "Child's school: University or college" in text
    )
    assert "Monthly family income: no income now" in text


async def test_a_grant_left_for_the_worker_file_records_nothing_and_says_so(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await onboard(worker)
    await bot.storage.create_case(
        NewCase(
            kind=CaseKind.ASSISTANCE,
            worker_id=WORKER_ID,
            fields={"help_kind": "hardship", "share_with_federation": True},
            assignee_id=wang.user_id,
        )
    )
    wang.send_command("/case A-000001")
    card = await wang.next_message(lambda m: "A-000001" in m.text)
    wang.press("✅ 办结", message_id=card.message_id)
    await wang.next_message(lambda m: "办理结果是什么" in m.text)
    assert (await press(wang, "给予帮扶")).text == "帮扶金额是多少元？比如2000或两千。"
    # Before typing the amount, Wang turns to the worker's file, starts a note and drops it.
    wang.press("📁 工人档案", message_id=card.message_id)
    file = await wang.next_message(lambda m: "工人档案" in m.text)
    wang.press("🗒 添加备注", message_id=file.message_id)
    await wang.next_message()
    await answer(wang, "/cancel")
    assert (await answer(wang, "一万")).text == "什么都没有记下。要办结这个案件，请再点一次案件上的按钮。"
    case = await bot.storage.get_case_by_reference("A-000001")
    assert case is not None and case.status == CaseStatus.NEW and case.amount_granted is None


async def test_english_grant_is_told_in_words_with_the_amount(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person
) -> None:
    await onboard(worker, "English")
    worker.press("🤝 Ask for hardship help")
    await worker.next_message(lambda m: m.text == "What help do you need?")
    worker.press("Hardship grant")
    await worker.next_message(lambda m: "earn money" in m.text)
    for label in ("1 person", "1 person", "No, nobody", "No, nobody"):
        await press(worker, label)
    assert (await answer(worker, "两千五百元")).text == "Family income a month: 2,500 yuan"
    await worker.next_message(lambda m: "what happened" in m.text)
    await press(worker, "Skip")
    await press(worker, "Skip: I have none")
    await press(worker, "Yes, the federation may see it")
    received = await press(worker, "✅ Submit")
    assert received.text.endswith("You said the union federation may see your request if it decides.")

    await wang.next_message(lambda m: "A-000001" in (m.text or ""))
    await press(wang, "✅ 办结")
    await press(wang, "给予帮扶")
    await answer(wang, "3千")
    news = await worker.next_message(lambda m: "A-000001" in m.text)
    assert news.text == (
        "✅ A-000001: your request for hardship help is approved. The union gives you 3,000 yuan.\n"
        "What happens next: the union officer will tell you here how and when you get the money."
    )
    worker.send_command("/mydata")
    document = await worker.next_message(lambda m: m.kind == "document")
    text = sandbox.file_content(document.raw["document"]["file_id"]).decode("utf-8")
    assert "How it ended: approved: the union gives you help\nHelp given: 3,000 yuan" in text


# -- who gets it ---------------------------------------------------------------------------------------


def test_with_nobody_handling_assistance_the_admins_get_it() -> None:
    now = FakeClock().now()
    officers = [
        Officer.model_validate(
            officer.to_officer().model_dump()
            # As if nobody listed "assistance" among their specialties.
            | {"specialties": [kind for kind in officer.specialties if kind != CaseKind.ASSISTANCE]}
            | {"created_at": now, "updated_at": now}
        )
        for officer in default_sandbox_config().officers
    ]
    assignment = choose_officers(officers, {}, kind=CaseKind.ASSISTANCE)
    assert assignment.primary is not None and assignment.primary.telegram_id == ADMIN_ID


# -- forgetting and retention ----------------------------------------------------------------------------


async def test_forget_drops_the_household_and_the_reason_but_keeps_the_kind_and_grant(
    bot: UnionApplication, worker: Person, wang: Person
) -> None:
    await _apply_in_chinese(worker, help_label="看病困难补助")
    await wang.next_message(lambda m: "A-000001" in (m.text or ""))
    await press(wang, "✅ 办结")
    await press(wang, "不符合条件")
    await answer(wang, "家里月收入8500元，超过标准")
    await worker.next_message(lambda m: "没有批下来" in m.text)

    worker.send_command("/forget")
    await worker.next_message(lambda m: "要删除您的全部资料吗" in m.text)
    worker.press("🗑 是的，删除我的资料")
    await worker.next_message(lambda m: "您的资料已经删除" in m.text)

    case = await _case(bot)
    assert case.worker_id == ANONYMOUS_WORKER_ID and case.anonymised_at is not None
    assert case.fields == {"help_kind": "medical"}  # no household, income or story
    assert (case.outcome, case.decision_reason) == (Outcome.NOT_ELIGIBLE, None)
    outcome_notes = [e.note for e in await bot.storage.list_case_events(case.id) if e.action == "outcome"]
    assert outcome_notes == [json.dumps({"outcome": "not_eligible"})]


async def test_retention_anonymises_a_granted_request_keeping_the_amount(
    bot: UnionApplication, worker: Person, wang: Person, clock: FakeClock
) -> None:
    await _apply_in_chinese(worker, help_label="生活困难补助")
    await wang.next_message(lambda m: "A-000001" in (m.text or ""))
    await press(wang, "✅ 办结")
    await press(wang, "给予帮扶")
    await answer(wang, "2000")

    assert await bot.storage.anonymise_finished_cases(clock.now() + timedelta(seconds=1)) == ["A-000001"]
    case = await _case(bot)
    assert case.fields == {"help_kind": "hardship"}
    assert (case.outcome, case.amount_granted) == (Outcome.GRANTED, Decimal("2000.00"))


# -- storage -------------------------------------------------------------------------------------------


def _rows(db_path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql).fetchall()


async def test_the_assistance_migration_keeps_every_case_event_index_and_number(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.db"
    before = MIGRATIONS[: [m.name for m in MIGRATIONS].index("assistance")]
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await migrate(conn, FakeClock().now(), migrations=before)
    moment = "2025-12-01T08:05:00.000000+00:00"
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(
            "INSERT INTO workers (telegram_id, created_at, updated_at) VALUES (1001, ?, ?)", (moment, moment)
        )
        for number in (1, 2, 3):
            conn.execute(
                "INSERT INTO cases (reference, kind, status, worker_id, fields, created_at, updated_at,"
                " outcome, amount_recovered, workers_helped, reminders_sent)"
                " VALUES (?, 'wages', 'resolved', 1001, ?, ?, ?, 'recovered_full', '4000.00', 2, 1)",
                (f"W-00000{number}", json.dumps({"employer": f"厂{number}"}), moment, moment),
            )
        conn.execute(
            "INSERT INTO case_events (case_id, actor_role, action, created_at)"
            " VALUES (2, 'worker', 'created', ?)",
            (moment,),
        )
        conn.execute(
            "INSERT INTO attachments (case_id, kind, file_id, created_at) VALUES (2, 'photo', 'F1', ?)",
            (moment,),
        )
        conn.execute("DELETE FROM cases WHERE id = 3")  # its number must never come back
    indexes = _rows(
        db_path, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
    )

    store = SQLiteStorage(str(db_path), now=FakeClock().now)
    await store.open()
    try:
        kept = await store.get_case_by_reference("W-000002")
        events = await store.list_case_events(2)
        files = await store.list_attachments(2)
        new = await store.create_case(
            NewCase(kind=CaseKind.ASSISTANCE, worker_id=1001, fields={"help_kind": "hardship"})
        )
        resolved = await store.resolve_case(
            new.id,
            expected=CaseStatus.NEW,
            resolution=Resolution(outcome=Outcome.GRANTED, amount_granted=Decimal("1500")),
            actor_id=2001,
            actor_role="officer",
        )
    finally:
        await store.close()

    assert kept is not None and kept.fields == {"employer": "厂2"}
    assert (kept.outcome, kept.amount_recovered, kept.workers_helped, kept.reminders_sent) == (
        Outcome.RECOVERED_FULL,
        Decimal("4000.00"),
        2,
        1,
    )
    assert [e.action for e in events] == ["created"] and [f.file_id for f in files] == ["F1"]
    assert new.reference == "A-000004" and new.kind == CaseKind.ASSISTANCE
    assert (resolved.outcome, resolved.amount_granted) == (Outcome.GRANTED, Decimal("1500.00"))
    after = _rows(db_path, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'")
    assert sorted(name for name, _ in after) == sorted(name for name, _ in indexes)
    assert _rows(db_path, "PRAGMA foreign_key_check") == []
    assert {"cases_before_assistance", "cases_sequence_before_assistance"}.isdisjoint(
        name for (name,) in _rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    )


def test_a_decision_records_exactly_what_its_outcome_needs() -> None:
    assert Resolution(outcome=Outcome.GRANTED, amount_granted=Decimal("800")).amount_granted == Decimal("800")
    assert Resolution(outcome=Outcome.NOT_ELIGIBLE, reason="收入超标").reason == "收入超标"
    for wrong in (
        {"outcome": Outcome.GRANTED},
        {"outcome": Outcome.GRANTED, "amount_granted": Decimal(0)},
        {"outcome": Outcome.NOT_ELIGIBLE},
        {"outcome": Outcome.REFERRED_UPWARD, "amount_granted": Decimal("100")},
        {"outcome": Outcome.ADVICE_GIVEN, "reason": "不符合"},
    ):
        with pytest.raises(ValidationError):
            Resolution.model_validate(wrong)


def test_stored_fields_refuse_inconsistent_answers() -> None:
    good = {
        "help_kind": "education",
        "school_level": "primary",
        "earners": "1",
        "dependants": "2",
        "illness": False,
        "disability": False,
        "monthly_income": "3000",
        "share_with_federation": False,
    }
    assert assistance.AssistanceFields.model_validate(good).school_level == "primary"
    for change in (
        {"school_level": None},
        {"help_kind": "hardship"},  # a school level without a school grant
        {"monthly_income": "-1"},
        {"monthly_income": "300000"},
        {"earners": "4"},
        {"description": "住院", "voice_file_id": "V1"},
    ):
        with pytest.raises(ValidationError):
            assistance.AssistanceFields.model_validate(good | change)


# -- the SLA and the config ---------------------------------------------------------------------------


def test_an_assistance_request_gets_its_own_first_response_time() -> None:
    sla = SLAConfig()
    filed = FakeClock().now()
    assert sla.first_response_assistance == timedelta(days=1)
    assert first_response_due(
        filed, collective=False, sla=sla, kind=CaseKind.ASSISTANCE
    ) == filed + timedelta(days=1)
    # An emergency is urgent: the fastest time, whatever the kind.
    assert first_response_due(filed, collective=True, sla=sla, kind=CaseKind.ASSISTANCE) == filed + timedelta(
        hours=1
    )
    assert first_response_due(filed, collective=False, sla=sla, kind=CaseKind.WAGES) == filed + timedelta(
        hours=4
    )


def test_the_example_documents_the_assistance_time_and_specialty(tmp_path: Path) -> None:
    config = load_config(REPO / "config.example.toml", environ={})
    assert config.sla.first_response_assistance == timedelta(days=1)
    assert CaseKind.ASSISTANCE in config.officers[0].specialties

    good = '[union]\nname = "测试工会"\n[sla]\nfirst_response_assistance = "2d"\n'
    path = tmp_path / "config.toml"
    path.write_text(good, encoding="utf-8")
    assert load_config(path, environ={}).sla.first_response_assistance == timedelta(days=2)
    path.write_text(good.replace('"2d"', '"a day"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^sla\.first_response_assistance: "):
        load_config(path, environ={})
    path.write_text(good + '[[officers]]\ntelegram_id = 1\nname = "王"\nspecialties = ["assistance"]\n')
    assert load_config(path, environ={}).officers[0].specialties == [CaseKind.ASSISTANCE]
