"""What a worker reads is plain and true, end to end through the sandbox, in zh-Hans and zh-Hant.

Every form's summary, the officers' alerts and the outcome news use the language's own separators; a
worker reporting for twelve never reads 群体性; the disclosure question says what "yes" gives away, and
warns a worker reporting alone; the consent text names the admins and who outside the union may see a
case; a worker whose wages were not recovered hears what they can still do, and by when.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import UnionApplication
from bot.cases import privacy
from bot.core.config import Config, OfficerConfig
from bot.core.i18n import OFFICERS, _catalog, translate, translate_in
from bot.sandbox.server import BotApiSandbox, Person, SentMessage
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, default_sandbox_config, sandbox_config
from tests.flow_helpers import onboard

DISCLOSE_QUESTION = (
    "To get your wages back, the union may show your case to the boss, labour inspection or a "
    "court. May your name and phone number go with it?\n"
    "If you say no, we keep them hidden."
)
ALONE_WARNING = (
    "You are reporting alone: even without your name, the boss may guess it was you "
    "from the site, the amount and the dates."
)
STILL_YOUR_RIGHT = (
    "You can still claim the rest yourself:\n"
    "• Apply for labour arbitration. It is free.\n"
    "• In general you must apply within 1 year of the day the job ended.\n"
    "Tap “Reply” if you want the officer to help you."
)
LANGUAGE_BUTTON = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
ASCII_COLON_AFTER_CHINESE = re.compile(r"[\u3400-\u9fff]: ")


@pytest.fixture(params=["zh-Hans", "zh-Hant"])
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def config(sandbox: BotApiSandbox, tmp_path: Path, language: str) -> Config:
    """The sandbox union, with every officer reading ``language`` (zh-Hant officers exist too)."""
    base = default_sandbox_config()
    officers = [
        OfficerConfig(**{**officer.model_dump(), "languages": [language]}) for officer in base.officers
    ]
    config = sandbox_config(
        base.model_copy(update={"officers": officers}), sandbox, str(tmp_path / "union.db")
    )
    for officer in config.officers:
        sandbox.person(officer.telegram_id, first_name=officer.name)
    return config


def _says(language: str, english: str, **params: object) -> Callable[[SentMessage], bool]:
    """A message that starts like the catalog's text of the one message whose English starts so."""
    [msgid] = [msgid for _context, msgid in _catalog(language) if msgid.startswith(english)][:1]
    start = translate(language, msgid, **params)[:8]
    return lambda message: start in (message.text or "")


Step = tuple[str, str, str]  # the question's English start; "type" or "press"; the text or label msgid


async def _walk(
    worker: Person, language: str, command: str, steps: list[Step], asked: list[SentMessage] | None = None
) -> SentMessage:
    """Send ``command``, answer each question in turn (kept in ``asked``), and return the summary."""
    worker.send_command(command)
    for question, how, answer in steps:
        message = await worker.next_message(_says(language, question))
        if asked is not None:
            asked.append(message)
        if how == "type":
            worker.send_text(answer)
        else:
            worker.press(translate(language, answer))
    return await worker.next_message(_says(language, "Please check your answers:"))


async def _report_wages_for_twelve(worker: Person, language: str) -> SentMessage:
    """The wages form, as a worker reporting for 12 coworkers; returns the summary."""
    asked: list[SentMessage] = []
    summary = await _walk(
        worker,
        language,
        "/wages",
        [
            ("Who owes you the wages?", "type", "宏达劳务"),
            ("Which project or work site was it, and where?", "type", "阳光花园项目 城关镇"),
            ("What work did you do there?", "type", "砌砖"),
            ("How long have you not been paid?", "press", "3 months"),
            ("How much are you owed in total, in yuan?", "type", "120000"),
            ("How many workers are owed wages here, counting you?", "type", "12"),
            ("Did you sign a written labour contract?", "press", "No contract"),
            ("Do you have any proof?", "press", "Skip: I have none"),
            (DISCLOSE_QUESTION, "press", "🔒 No, keep my name and phone hidden"),
        ],
        asked,
    )
    assert translate(language, ALONE_WARNING) not in asked[-1].text  # twelve workers: nobody is alone
    return summary


async def _ask_for_legal_aid(worker: Person, language: str) -> SentMessage:
    """Legal aid for a work injury whose time limit has passed; returns the summary."""
    return await _walk(
        worker,
        language,
        "/legal",
        [
            ("What is the problem about?", "press", "Work injury"),
            ("What happened? Write it in your own words", "type", "从脚手架上摔下来，老板不管"),
            ("Is there an important date soon?", "press", "⏰ A time limit has already passed"),
            ("Do you have papers about it?", "press", "Skip: I have none"),
            (
                "How should the union or the legal-aid centre contact you?",
                "press",
                "Message me here in Telegram",
            ),
            ("When is a good time to contact you?", "press", "Evenings"),
        ],
    )


async def _apply_to_join(worker: Person, language: str) -> SentMessage:
    """The membership form; returns the summary."""
    return await _walk(
        worker,
        language,
        "/join",
        [
            ("What is your full name?", "type", "张三"),
            ("Your phone number?", "type", "13812345678"),
            ("Where do you work?", "type", "宏达建筑劳务公司"),
            ("What kind of work do you do?", "press", "Construction"),
            ("Where is your hometown?", "type", "四川广安"),
            ("Which township or district do you work in now?", "type", "城关镇"),
        ],
    )


async def test_summaries_alerts_and_outcomes_use_the_languages_separators(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person, language: str
) -> None:
    await onboard(worker, LANGUAGE_BUTTON[language])

    summaries = [await _report_wages_for_twelve(worker, language)]
    worker.press(translate(language, "✅ Submit"))
    await worker.next_message(lambda m: "W-000001" in m.text)
    alert = await wang.next_message(lambda m: "W-000001" in (m.text or ""))
    assert translate_in(OFFICERS, language, "Who owes") + "：" in alert.text
    assert "12万元" in alert.text or "12萬元" in alert.text  # 120000 yuan, as Chinese counts it

    summaries.append(await _ask_for_legal_aid(worker, language))
    worker.press(translate(language, "✅ Submit"))
    await worker.next_message(lambda m: "L-000002" in m.text)

    summaries.append(await _apply_to_join(worker, language))
    worker.press(translate(language, "✅ Submit"))
    await worker.next_message(lambda m: "M-000003" in m.text)

    # The wages case ends without the wages: the worker hears it plainly, with what is left to do.
    wang.press(translate_in(OFFICERS, language, "✅ Resolve"), message_id=alert.message_id)
    await wang.next_message(_says(language, "How did {reference} end?", reference="W-000001"))
    wang.press(translate_in(OFFICERS, language, "Wages not recovered"))
    news = await worker.next_message(lambda m: "W-000001" in m.text and m.message_id > alert.message_id)
    assert translate(language, STILL_YOUR_RIGHT) in news.text
    assert "1年" in news.text and ("劳动仲裁" in news.text or "勞動仲裁" in news.text)

    for summary in summaries:
        assert "：" in summary.text
    every_message = [
        message.text or ""
        for person in (worker, wang, sandbox.person(BACKUP_ID), sandbox.person(ADMIN_ID))
        for message in person.messages
    ]
    assert [text for text in every_message if ASCII_COLON_AFTER_CHINESE.search(text)] == []
    worker_reads = "\n".join(message.text or "" for message in worker.messages)
    for word in ("群体", "群體", "案件", "已解决", "已解決"):
        assert word not in worker_reads
    assert sandbox.person(OFFICER_ID).messages  # the officers' side was rendered too


async def test_a_worker_reporting_alone_is_told_the_boss_may_guess(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker)
    worker.send_command("/wages")
    for answer in ("宏达劳务", "阳光花园项目", "砌砖"):
        await worker.next_message()
        worker.send_text(answer)
    await worker.next_message(_says("zh-Hans", "How long have you not been paid?"))
    worker.press("3个月")
    await worker.next_message(_says("zh-Hans", "How much are you owed in total, in yuan?"))
    worker.send_text("8500")
    await worker.next_message(_says("zh-Hans", "How many workers are owed wages here, counting you?"))
    worker.press("只有我")
    await worker.next_message(_says("zh-Hans", "Did you sign a written labour contract?"))
    worker.press("签了")
    await worker.next_message(_says("zh-Hans", "Do you have any proof?"))
    worker.press("跳过：我没有")
    question = await worker.next_message(_says("zh-Hans", DISCLOSE_QUESTION))
    assert "姓名" in question.text and "电话" in question.text  # what "yes" gives away
    assert "老板也可能" in question.text and "猜出是您" in question.text
    assert question.button_labels == ["🔒 不能，替我保密", "可以，老板可以知道"]


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
async def test_the_consent_text_names_the_admins_and_who_outside_may_see_a_case(
    bot: UnionApplication, worker: Person, language: str
) -> None:
    worker.send_command("/start")
    await worker.next_message(lambda m: "简体中文" in m.button_labels)
    worker.press(LANGUAGE_BUTTON[language])
    consent = await worker.next_message(lambda m: translate(language, "I agree") in m.button_labels)
    words = {
        "zh-Hans": ("管理员", "劳动监察", "法院", "姓名和电话", "1年"),
        "zh-Hant": ("管理員", "勞動監察", "法院", "姓名和電話", "1年"),
        "en": ("admins", "labour inspection", "a court", "name and phone", "1 year"),
    }[language]
    for word in words:
        assert word in consent.text
    assert consent.button_labels == [
        translate(language, "I agree"),
        translate(language, "No, I do not agree"),
    ]


async def test_the_union_is_named_in_the_workers_language(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "繁體中文")
    worker.send_command("/start")
    welcome = await worker.next_message(lambda m: "歡迎回到" in m.text)
    assert "沙盒鎮總工會" in welcome.text


async def test_a_worker_who_agreed_to_the_older_text_reads_the_new_one_before_a_form(
    bot: UnionApplication, worker: Person
) -> None:
    await bot.storage.ensure_worker(worker.user_id, language="zh-Hans")
    await bot.storage.record_consent(worker.user_id, "2026-12")  # the text that said "only the officers"

    worker.send_command("/wages")
    refused = await worker.next_message()
    assert refused.text == translate(
        "zh-Hans", "Before you fill in a form, please send /start and agree to how we keep your data."
    )
    worker.send_command("/start")
    await worker.next_message(_says("zh-Hans", "We now tell you more exactly who sees your data"))
    consent = await worker.next_message(lambda m: "我同意" in m.button_labels)
    assert "管理员" in consent.text
    worker.press("我同意")
    await worker.next_message(lambda m: "您想做什么" in m.text)
    agreed = await bot.storage.get_worker(worker.user_id)
    assert agreed is not None and agreed.consent_version == privacy.CONSENT_VERSION
    worker.send_command("/wages")
    await worker.next_message(_says("zh-Hans", "Who owes you the wages?"))
