"""Trainings end to end through the sandbox: the list, signing up to the seats, the waiting list moving,
cancelling, refusals and stale buttons, and the reminders at their times, in Chinese and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import UnionApplication
from bot.cases.privacy import CONSENT_VERSION
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.sandbox.server import BotApiSandbox, Person, SentMessage
from bot.sandbox.session import WORKER_ID, running_bot
from storage.models import NewTraining, SignupStatus, Training
from tests.flow_helpers import eventually, onboard

# Thursday 8 January 2026, 09:00 to 11:00 in Shanghai (the sandbox union's zone); the fake clock starts
# on Monday 5 January, 17:00 there.
STARTS = datetime(2026, 1, 8, 1, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)  # 18:00 the day before
LATITUDE, LONGITUDE = 22.5431, 114.0579


async def _training(bot: UnionApplication, *, seats: int = 1, **changes: object) -> Training:
    fields: dict[str, object] = {
        "titles": {"zh-Hans": "电工安全培训", "en": "Electrical safety"},
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=2),
        "place": "镇工会二楼 <会议室>",
        "latitude": LATITUDE,
        "longitude": LONGITUDE,
        "seats": seats,
        "allowance_note": "交通补贴50元",
        "signup_deadline": DEADLINE,
    }
    return await bot.storage.create_training(NewTraining.model_validate({**fields, **changes}))


async def _worker(bot: UnionApplication, sandbox: BotApiSandbox, telegram_id: int, language: str) -> Person:
    """A worker who did /start and agreed, with their sandbox chat."""
    person = sandbox.person(telegram_id, first_name=f"工人{telegram_id}")
    await bot.storage.ensure_worker(telegram_id, language=language)
    await bot.storage.record_consent(telegram_id, CONSENT_VERSION)
    return person


FOOTERS = ("点培训下面的按钮就能报名。", "Tap the button under a training to sign up.")


async def _open_list(person: Person) -> list[SentMessage]:
    """/training, once the whole list has arrived: the training cards it showed."""
    since = person.mark()
    person.send_command("/training")
    await person.next_message(lambda m: (m.text or "").startswith(FOOTERS))
    return [m for m in person.messages if m.seq > since and "🕘" in (m.text or "")]


async def _send_due(bot: UnionApplication) -> None:
    await bot.run_schedules()
    await bot.outbox.send_due()


async def _status(bot: UnionApplication, training: Training, worker_id: int) -> SignupStatus | None:
    signup = await bot.storage.get_signup(training.id, worker_id)
    return None if signup is None else signup.status


async def test_seats_fill_the_next_worker_waits_and_a_cancellation_moves_the_list(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    await onboard(worker)
    training = await _training(bot, seats=1)
    second = await _worker(bot, sandbox, 3001, "zh-Hans")

    [card] = await _open_list(worker)
    assert card.text == (
        "电工安全培训\n"
        "🕘 时间：1月8日周四 09:00–11:00\n"
        "📍 地点：镇工会二楼 <会议室>\n"
        "👥 名额：还剩1个（共1个）\n"
        "💴 补贴：交通补贴50元\n"
        "⏰ 报名截止：1月7日周三 18:00"
    )
    assert card.button_labels == ["✍️ 报名"]
    assert worker.messages[-1].button_labels == ["📋 我的培训", "⬅️ 主菜单"]

    worker.press("✍️ 报名", message_id=card.message_id)
    done = await worker.next_message(lambda m: "报名成功" in (m.text or ""))
    assert done.text is not None and done.text.startswith("✅ 报名成功：您有名额。\n\n电工安全培训")
    assert done.text.endswith("培训前一天和开始前2小时，我们会提醒您。")
    pin = await worker.next_message()
    assert pin.kind == "location" and pin.raw["location"]["latitude"] == LATITUDE

    # The seat is taken: the next worker joins the waiting list, and gets no map pin.
    [full] = await _open_list(second)
    assert "👥 名额已满：可以报名候补" in (full.text or "")
    second.press("✍️ 报名候补", message_id=full.message_id)
    waiting = await second.next_message(lambda m: "候补名单" in (m.text or ""))
    assert waiting.text is not None and waiting.text.startswith("⏳ 名额满了，您在候补名单上。")
    assert "您排第1位。有人空出名额，我们会告诉您。" in waiting.text
    assert waiting.button_labels == ["退出候补"]
    assert await _status(bot, training, 3001) == SignupStatus.WAITING

    # The first worker gives up the seat, after a question.
    worker.press("取消报名", message_id=done.message_id)
    question = await worker.next_message(lambda m: "要取消报名吗" in (m.text or ""))
    assert question.text is not None and question.text.endswith(
        "要取消报名吗？您的名额会让给候补名单上的人。"
    )
    worker.press("是，取消报名")
    cancelled = await worker.next_message(lambda m: "报名已取消" in (m.text or ""))
    assert cancelled.text is not None and cancelled.text.startswith("好了：报名已取消。")
    assert (await worker.next_edit(message_id=question.message_id)).button_labels == []

    # The waiting worker has the seat now and is told, with the map pin.
    told = await second.next_message(lambda m: "您有名额了" in (m.text or ""))
    assert told.text is not None and told.text.startswith(
        "🎉 您有名额了！有人取消了报名，空出的名额现在是您的。"
    )
    assert (await second.next_message()).kind == "location"
    assert await _status(bot, training, 3001) == SignupStatus.CONFIRMED
    assert await _status(bot, training, WORKER_ID) == SignupStatus.CANCELLED
    promoted = await bot.storage.get_signup(training.id, 3001)
    assert promoted is not None and promoted.promotion_told_at is not None  # the sweep will not tell again
    await _send_due(bot)
    assert sum("您有名额了" in (m.text or "") for m in second.messages) == 1

    # "My trainings" shows where each stands.
    await _open_list(second)
    second.press("📋 我的培训")
    mine = await second.next_message(lambda m: "电工安全培训" in (m.text or ""))
    assert (mine.text or "").endswith("✅ 您已报名，有名额。")
    assert mine.button_labels == ["取消报名"]


async def test_in_english_double_sign_up_closed_called_off_and_stale_buttons(
    bot: UnionApplication, clock: FakeClock, sandbox: BotApiSandbox, worker: Person
) -> None:
    await onboard(worker, "English")
    training = await _training(bot, seats=2, latitude=None, longitude=None)
    called_off = await _training(bot, titles={"zh-Hans": "劳动法讲座"})  # no English title: falls back

    card, other = await _open_list(worker)
    assert (card.text or "").splitlines()[1:4] == [
        "🕘 Time: Thu, Jan 8 09:00–11:00",
        "📍 Place: 镇工会二楼 <会议室>",
        "👥 Seats left: 2 of 2",
    ]
    assert (other.text or "").startswith("劳动法讲座")
    worker.press("✍️ Sign up", message_id=card.message_id)
    await worker.next_message(lambda m: (m.text or "").startswith("✅ Signed up: you have a seat."))

    # Twice changes nothing; no map pin without a location.
    worker.press_data(f"tr:s:{training.id}", message_id=card.message_id)
    again = await worker.next_message()
    assert again.text is not None and again.text.startswith("✅ You already have a seat at this training.")
    assert len(await bot.storage.list_signups(training.id)) == 1
    assert not any(m.kind == "location" for m in worker.messages)

    # A training called off, an unknown one, someone else's cancel button: kind answers.
    await bot.storage.cancel_training(called_off.id)
    worker.press("✍️ Sign up", message_id=other.message_id)
    assert (await worker.next_message()).text == "Sorry, this training was called off."
    worker.press_data("tr:s:999999", message_id=card.message_id)
    assert (await worker.next_message()).text == (
        "This training is no longer on the list. Send /training to see what is open."
    )
    query = worker.press_data(f"tr:c:{called_off.id}", message_id=card.message_id)
    assert (await worker.next_answer(query))["text"] == "You are not signed up for this training."
    query = worker.press_data("tr:s:abc", message_id=card.message_id)
    assert "no longer active" in (await worker.next_answer(query))["text"]

    # After the deadline nobody new signs up, and the list only shows what they are signed up for.
    newcomer = await _worker(bot, sandbox, 3002, "en")
    [seen] = await _open_list(newcomer)
    clock.set(DEADLINE)
    newcomer.press("✍️ Sign up", message_id=seen.message_id)  # pressed too late
    assert (await newcomer.next_message()).text == "Sorry, sign-up for this training is closed."
    newcomer.send_command("/training")
    empty = await newcomer.next_message()
    assert empty.text == "There is no training you can sign up for now. Please look again later."
    [mine] = await _open_list(worker)
    assert mine.button_labels == ["Cancel my place"]

    # Keeping the place after all changes nothing.
    worker.press("Cancel my place", message_id=mine.message_id)
    await worker.next_message(lambda m: "Give up your seat?" in (m.text or ""))
    worker.press("No, keep my place")
    assert (await worker.next_message()).text == "Good: nothing changed, your place stays."
    assert await _status(bot, training, WORKER_ID) == SignupStatus.CONFIRMED


async def test_a_worker_who_has_not_agreed_is_asked_first(bot: UnionApplication, worker: Person) -> None:
    training = await _training(bot)
    worker.send_command("/training")
    asked = await worker.next_message()
    assert asked.text == "报名培训之前，请先发送 /start，看一下我们怎么保管您的资料，同意以后再来报名。"
    await bot.storage.ensure_worker(WORKER_ID)
    query = worker.press_data(f"tr:s:{training.id}")
    await worker.next_answer(query)
    assert (await worker.next_message()).text == asked.text
    assert await bot.storage.list_signups(training.id) == []


async def test_the_list_works_in_the_middle_of_a_form(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker)
    await _training(bot)
    worker.send_command("/wages")
    await worker.next_message()
    worker.send_command("/training")
    await worker.next_message(lambda m: "电工安全培训" in (m.text or ""))
    still = await worker.next_message(lambda m: "还没填完" in (m.text or ""))
    assert still.text is not None and still.text.startswith("您的“")
    assert still.text.endswith("还没填完：回答上面最后一个问题，就能接着填。")


async def test_trade_and_region_decide_who_sees_a_training(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    await onboard(worker)
    await bot.storage.update_worker_profile(WORKER_ID, {"trade": "manufacturing", "workplace": "宝安区某厂"})
    await _training(bot, titles={"zh-Hans": "建筑工地安全"}, trade="construction")
    await _training(bot, titles={"zh-Hans": "龙岗区夜校"}, region="龙岗")
    await _training(bot, titles={"zh-Hans": "宝安区劳动法课"}, region="宝安")
    unknown = await _worker(bot, sandbox, 3003, "zh-Hans")  # told us no trade: sees the construction one

    assert [(m.text or "").splitlines()[0] for m in await _open_list(worker)] == ["宝安区劳动法课"]
    cards = await _open_list(unknown)
    assert [(m.text or "").splitlines()[0] for m in cards] == ["建筑工地安全", "龙岗区夜校", "宝安区劳动法课"]
    assert "👷 适合行业：建筑" in (cards[0].text or "")


async def test_reminders_the_day_before_and_two_hours_before_once_each_in_each_language(
    bot: UnionApplication, clock: FakeClock, sandbox: BotApiSandbox
) -> None:
    training = await _training(bot, seats=2)
    cancelled = await _training(bot, titles={"zh-Hans": "取消的培训"})
    chinese = await _worker(bot, sandbox, 3101, "zh-Hans")
    english = await _worker(bot, sandbox, 3102, "en")
    waiting = await _worker(bot, sandbox, 3103, "zh-Hans")
    for person in (chinese, english, waiting):
        await bot.storage.sign_up(training.id, person.user_id)
    await bot.storage.sign_up(cancelled.id, waiting.user_id)
    await bot.storage.cancel_training(cancelled.id)

    def reminders(person: Person) -> list[str]:
        return [m.text or "" for m in person.messages if (m.text or "").startswith("⏰")]

    clock.set(STARTS - timedelta(hours=24, minutes=1))
    await _send_due(bot)
    assert reminders(chinese) == reminders(english) == []

    clock.set(STARTS - timedelta(hours=24))
    await _send_due(bot)
    day = await chinese.next_message(lambda m: (m.text or "").startswith("⏰"))
    assert day.text == (
        "⏰ 提醒：您报名了这个培训，别忘了参加。\n\n电工安全培训\n🕘 时间：1月8日周四 09:00–11:00\n"
        "📍 地点：镇工会二楼 <会议室>\n\n如果来不了，请发送 /training 取消报名，把名额让给别人。"
    )
    day_en = await english.next_message(lambda m: (m.text or "").startswith("⏰"))
    assert (day_en.text or "").startswith(
        "⏰ Reminder: you have a seat at this training.\n\nElectrical safety"
    )

    clock.set(STARTS - timedelta(hours=2, minutes=1))
    await _send_due(bot)  # nothing new, and nothing twice
    assert len(reminders(chinese)) == len(reminders(english)) == 1

    clock.set(STARTS - timedelta(hours=2))
    await _send_due(bot)
    soon = await chinese.next_message(lambda m: "快开始了" in (m.text or ""))
    assert (soon.text or "").startswith("⏰ 您报名的培训快开始了：09:00开始。\n\n电工安全培训")
    assert (await chinese.next_message()).kind == "location"
    soon_en = await english.next_message(lambda m: "starts soon" in (m.text or ""))
    assert (soon_en.text or "").startswith("⏰ Your training starts soon, at 09:00.")

    await _send_due(bot)
    clock.set(STARTS + timedelta(minutes=30))
    await _send_due(bot)
    assert len(reminders(chinese)) == len(reminders(english)) == 2
    assert reminders(waiting) == []  # on the waiting list, and the other training was called off


async def test_a_late_sign_up_and_a_promotion_skip_reminders_already_past(
    bot: UnionApplication, clock: FakeClock, sandbox: BotApiSandbox
) -> None:
    training = await _training(bot, seats=1, signup_deadline=STARTS - timedelta(hours=1))
    first = await _worker(bot, sandbox, 3201, "zh-Hans")
    second = await _worker(bot, sandbox, 3202, "zh-Hans")
    clock.set(STARTS - timedelta(hours=10))  # after the day-before reminder's moment
    await bot.storage.sign_up(training.id, first.user_id)
    await bot.storage.sign_up(training.id, second.user_id)
    await _send_due(bot)
    assert not any((m.text or "").startswith("⏰") for m in first.messages)

    clock.set(STARTS - timedelta(hours=1))  # after the 2-hour one's: the promotion notice says it all
    await bot.storage.cancel_signup(training.id, first.user_id)
    await _send_due(bot)
    await second.next_message(lambda m: "您有名额了" in (m.text or ""))
    await _send_due(bot)
    assert not any((m.text or "").startswith("⏰") for m in second.messages)
    signup = await eventually(
        lambda: bot.storage.get_signup(training.id, second.user_id),
        lambda s: s is not None and s.soon_reminder_at is not None,
    )
    assert signup is not None and signup.status == SignupStatus.CONFIRMED


async def test_a_restart_sends_no_reminder_twice(
    config: Config, clock: FakeClock, sandbox: BotApiSandbox
) -> None:
    async with running_bot(config, clock=clock) as bot:
        training = await _training(bot)
        person = await _worker(bot, sandbox, 3301, "zh-Hans")
        await bot.storage.sign_up(training.id, person.user_id)
        clock.set(STARTS - timedelta(hours=23))
        await _send_due(bot)
        await person.next_message(lambda m: (m.text or "").startswith("⏰"))

    async with running_bot(config, clock=clock) as bot:
        await _send_due(bot)
        clock.set(STARTS - timedelta(hours=2))
        await _send_due(bot)
        await person.next_message(lambda m: "快开始了" in (m.text or ""))
    assert sum((m.text or "").startswith("⏰") for m in person.messages) == 2


async def test_mydata_lists_the_workers_trainings_in_their_language(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock
) -> None:
    first = await _training(bot, seats=1)
    second = await _training(bot, seats=1, titles={"zh-Hans": "劳动法讲座"}, latitude=None, longitude=None)
    english = await _worker(bot, sandbox, 3101, "en")
    chinese = await _worker(bot, sandbox, 3102, "zh-Hans")
    await bot.storage.sign_up(first.id, english.chat_id)
    await bot.storage.sign_up(first.id, chinese.chat_id)  # waits: one seat
    await bot.storage.sign_up(second.id, chinese.chat_id)
    clock.set(STARTS + timedelta(minutes=30))
    await bot.storage.mark_attendance(first.id, english.chat_id, True)

    english.send_command("/mydata")
    document = await english.next_message(lambda m: m.kind == "document")
    text = sandbox.file_content(document.raw["document"]["file_id"]).decode("utf-8").splitlines()
    assert text[text.index("== Trainings ==") + 1] == (
        "  Electrical safety · Thu, Jan 8 09:00–11:00 · you have a seat · you came"
    )
    assert "Notes and a help plan the union officers may keep about you." in text

    chinese.send_command("/mydata")
    document = await chinese.next_message(lambda m: m.kind == "document")
    text = sandbox.file_content(document.raw["document"]["file_id"]).decode("utf-8").splitlines()
    start = text.index("== 培训 ==")
    assert text[start + 1 : start + 3] == [
        "  电工安全培训 · 1月8日周四 09:00–11:00 · 在候补名单上",
        "  劳动法讲座 · 1月8日周四 09:00–11:00 · 已经报上名",
    ]
