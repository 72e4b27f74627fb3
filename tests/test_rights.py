"""Know your rights, end to end through the sandbox: topics, back, related forms, forged buttons."""

from __future__ import annotations

from bot.app import UnionApplication
from bot.sandbox.server import Person
from bot.sandbox.session import WORKER_ID
from flows.rights import TOPICS
from tests.flow_helpers import onboard, press

TOPIC_LABELS_ZH = ["💰 欠薪", "📝 劳动合同", "🩹 干活受了伤", "🏥 社保", "😷 职业病"]


async def test_topics_in_chinese_from_the_menu(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    topics = await press(worker, "📖 了解权益")
    assert topics.text == "了解您的权益。请选一项："
    assert topics.button_labels == TOPIC_LABELS_ZH

    worker.press("💰 欠薪")
    wages = await worker.next_edit(lambda m: m.message_id == topics.message_id)
    assert "法律怎么说" in wages.text and "工会能帮您做什么" in wages.text
    assert "至少每个月发一次" in wages.text and "劳动仲裁不收费" in wages.text
    assert "您的情况可以来问我们" in wages.text
    assert wages.inline_buttons == [[("💰 反映欠薪", "menu:wages")], [("⬅️ 返回上一页", "rights:topics")]]

    worker.press("⬅️ 返回上一页")
    back = await worker.next_edit(
        lambda m: m.message_id == topics.message_id and m.button_labels == TOPIC_LABELS_ZH
    )
    assert back.text == topics.text

    worker.press("🩹 干活受了伤")
    injury = await worker.next_edit(lambda m: "工伤认定" in m.text)
    assert "1年内" in injury.text
    assert injury.inline_buttons[0] == [("⚖️ 法律援助", "menu:legal")]
    assert set(worker.presses) == set(worker.callback_answers)  # every press stopped the spinner


async def test_topics_in_english_after_refusing_consent(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/start")
    await worker.next_message()
    worker.press("English")
    await worker.next_message(lambda m: "Do you agree?" in m.text)
    worker.press("No, I do not agree")
    await worker.next_edit(lambda m: "not ask for any personal data" in m.text)

    worker.send_command("/rights")
    topics = await worker.next_message()
    assert topics.text == "Know your rights. Choose a topic:"
    assert topics.button_labels == [
        "💰 Unpaid wages",
        "📝 Labour contracts",
        "🩹 Injured at work",
        "🏥 Social insurance",
        "😷 Occupational disease",
    ]
    for label, phrase in [
        ("📝 Labour contracts", "double wages"),
        ("🏥 Social insurance", "compulsory"),
        ("😷 Occupational disease", "health checks"),
    ]:
        worker.press(label)
        topic = await worker.next_edit(lambda m, phrase=phrase: phrase in m.text)
        assert "<b>What the law says</b>" not in topic.text  # sent as HTML, shown as bold
        assert "What the law says" in topic.text and "This is general information" in topic.text
        worker.press("⬅️ Back to topics")
        await worker.next_edit(lambda m: m.text == "Know your rights. Choose a topic:")
    stored = await bot.storage.get_worker(WORKER_ID)
    assert stored is not None and stored.consent_at is None and stored.profile == {}


async def test_every_topic_links_to_a_form(bot: UnionApplication, worker: Person) -> None:
    assert {topic.form for topic in TOPICS} <= {"wages", "legal"}
    assert all(len(f"rights:t:{topic.key}".encode()) < 64 for topic in TOPICS)


async def test_forged_and_stale_buttons(bot: UnionApplication, worker: Person) -> None:
    worker.send_command("/rights")  # never started: the union's default language
    topics = await worker.next_message()
    assert topics.text == "了解您的权益。请选一项："
    for data in ("rights:t:nonsense", "rights:t:", "rights:tx"):
        forged = worker.press_data(data)
        assert "不能用了" in (await worker.next_answer(forged))["text"]
    assert worker.messages[-1].text == topics.text and worker.messages[-1].edits == 0
    assert len(worker.messages) == 1
