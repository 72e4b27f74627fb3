"""Admins create, announce and cancel trainings in the bot; officers mark who came. End to end, sandbox."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.app import UnionApplication
from bot.cases.privacy import CONSENT_VERSION
from bot.core.clock import FakeClock
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import ADMIN_ID
from bot.trainings.admin import DRAFT
from storage import Storage
from storage.models import (
    AudienceKind,
    NewTraining,
    OfficerIn,
    OfficerRole,
    SignupStatus,
    Training,
    TrainingStatus,
)
from tests.flow_helpers import eventually
from tests.test_broadcasts import FOOTER_EN, FOOTER_ZH, HEADER, HEADER_EN

HOSTILE = "劳动法 <b>讲座</b> & 问答"


async def _worker(
    storage: Storage, sandbox: BotApiSandbox, telegram_id: int, language: str = "zh-Hans", **profile: object
) -> Person:
    """A worker who agreed to the current privacy text (signing up needs it), with their sandbox chat."""
    person = sandbox.person(telegram_id, first_name=f"工人{telegram_id}")
    await storage.ensure_worker(telegram_id, language=language)
    await storage.record_consent(telegram_id, CONSENT_VERSION)
    if profile:
        await storage.update_worker_profile(telegram_id, profile)
    return person


async def _say(person: Person, text: str) -> str:
    person.send_text(text)
    return (await person.next_message()).text or ""


async def _press(person: Person, label: str) -> str:
    person.press(label)
    return (await person.next_message()).text or ""


async def _training(bot: UnionApplication, *, seats: int = 3, **changes: object) -> Training:
    """A training on 2026-01-10 09:00-12:00 Shanghai time (the fake clock is at 2026-01-05 17:00 there)."""
    starts = bot.clock.now() + timedelta(days=4, hours=16)
    fields: dict[str, object] = {
        "titles": {"zh-Hans": "电工证培训", "en": "Electrician's licence course"},
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        "place": "城关镇职工之家",
        "seats": seats,
        "signup_deadline": starts - timedelta(hours=15),
        "created_by": ADMIN_ID,
    }
    return await bot.storage.create_training(NewTraining.model_validate({**fields, **changes}))


async def test_an_admin_creates_announces_fills_moves_reminds_marks_and_counts_a_training(
    bot: UnionApplication, sandbox: BotApiSandbox, admin: Person, clock: FakeClock
) -> None:
    builders = [
        await _worker(bot.storage, sandbox, 5001, trade="construction", workplace="城关镇东区工地"),
        await _worker(bot.storage, sandbox, 5002, "en", trade="construction"),
        await _worker(bot.storage, sandbox, 5003, trade="construction"),
    ]
    miner = await _worker(bot.storage, sandbox, 5004, trade="mining")

    admin.send_command("/trainings")
    empty = await admin.next_message()
    assert (empty.text, empty.button_labels) == ("最近一个月没有培训，接下来也还没有。", ["➕ 新建培训"])
    assert (await _press(admin, "➕ 新建培训")).startswith("请用“简体中文”写培训的标题")
    assert (await _say(admin, HOSTILE)).startswith("现在请写“繁體中文”的标题。也可以点“跳过”")
    assert (await _press(admin, "跳过")).endswith("看“English”的工人就会看到“简体中文”的标题。")
    assert (await _say(admin, "Labour law Q&A")).startswith("培训什么时候开始？")
    assert await _say(admin, "明天上午") == "没看懂这个时间。请这样写：2026-12-20 09:00 · 12-20 9:00"
    assert await _say(admin, "2020-01-01 09:00") == "这个时间已经过去了。请选一个以后的时间。"
    assert (await _say(admin, "01-10 9:00")).startswith("什么时候结束？")
    assert (await _say(admin, "8:00")).startswith("结束时间要在开始时间（2026-01-10 09:00）之后。")
    assert (await _say(admin, "3小时")).startswith("在哪里培训？")
    assert (await _say(admin, "城关镇职工之家三楼")).startswith("再发一个地图位置")
    assert await _say(admin, "没有") == "请发送地图位置（📎 → 位置），或者点“跳过”。"
    admin.send_location(34.26, 108.94)
    assert (await admin.next_message()).text == "有多少个名额？请输入数字，比如30。"
    assert await _say(admin, "很多") == "请输入名额数，从1到1000，比如30。"
    trades = await _say(admin, "两个")  # typed the way people say it
    assert trades == "这个培训面向哪个行业？"
    assert await _say(admin, "建筑") == "请点上面的一个按钮。"
    assert (await _press(admin, "建筑工地")).startswith("面向哪个乡镇或街道？")
    assert (await _say(admin, "城关镇")).startswith("有没有补贴")
    assert (await _say(admin, "交通补贴50元")).startswith("报名到什么时候截止？点按钮选2026-01-09 18:00")
    assert (
        await _say(admin, "01-11 9:00")
        == "报名最晚要在开始时间（2026-01-10 09:00）截止。请输入早一点的时间。"
    )

    admin.press("截止到2026-01-09 18:00")
    card = await admin.next_message()
    pin = await admin.next_message()
    assert pin.kind == "location" and pin.raw["location"]["latitude"] == 34.26
    summary = await admin.next_message()
    assert card.text == (
        "劳动法 <b>讲座</b> & 问答\n🕘 时间：1月10日周六 09:00–12:00\n📍 地点：城关镇职工之家三楼\n"
        "👷 适合行业：建筑工地\n🏘 适合地区：城关镇\n👥 名额：还剩2个（共2个）\n💴 补贴：交通补贴50元\n"
        "⏰ 报名截止：1月9日周五 18:00"
    )
    # What the admin typed is shown as typed: the only bold is the whole title, not a typed tag.
    assert card.entities[0] == {"type": "bold", "offset": 0, "length": len(HOSTILE)}
    assert summary.text == (
        "上面就是工人会看到的内容，请检查一下。\n\n名额：2\n面向：建筑工地 · 城关镇\n"
        "群发通知：发给“建筑工地”行业的工人（目前3人）\n"
        "既有行业又有地区时，群发通知发给这个行业的所有工人：工作地点是手写的，按地区找会漏掉一些人。"
        "已知在别处工作的工人点报名时，会被告知这个培训不是给他们的。\n\n确定发布吗？"
    )
    assert summary.button_labels == ["✅ 发布", "📢 发布并群发通知", "✏️ 修改", "🗑 不发了"]

    assert await _press(admin, "📢 发布并群发通知") == (
        "第1号培训已发布。工人发送 /training 就能看到。\n"
        "群发通知现在开始发送，共3人，带报名按钮。发完后您会收到报告。\n发送 /trainings 查看所有培训。"
    )
    [training] = await bot.storage.list_trainings()
    assert training.titles == {"zh-Hans": HOSTILE, "en": "Labour law Q&A"}
    assert (training.seats, training.trade, training.region) == (2, "construction", "城关镇")
    assert (training.latitude, training.longitude) == (34.26, 108.94)
    assert training.created_by == ADMIN_ID
    [broadcast] = await bot.storage.list_broadcasts()
    assert broadcast.training_id == training.id
    assert broadcast.audience.kind == AudienceKind.TRADE and broadcast.audience.value == "construction"
    # The scratch answers are gone once it is stored (committed just after the reply).
    await eventually(
        lambda: bot.storage.load_persistence("user_data"),
        lambda data: DRAFT not in data.get(str(ADMIN_ID), {}),
    )

    await bot.broadcasts.sweep()
    first, english, third = builders
    announcement = await first.next_message()
    assert announcement.text == f"{HEADER}\n\n{card.text}\n\n{FOOTER_ZH}"
    assert announcement.inline_buttons == [[("✍️ 报名", f"tr:s:{training.id}")]]
    announced_en = await english.next_message()
    assert announced_en.text is not None
    assert announced_en.text.startswith(f"{HEADER_EN}\n\nLabour law Q&A\n")
    assert announced_en.text.endswith(FOOTER_EN)
    assert announced_en.button_labels == ["✍️ Sign up"]
    assert miner.messages == []

    # Workers sign up from the announcement (flows/training.py): two seats, then the waiting list.
    first.press("✍️ 报名")
    assert (await first.next_message()).text.startswith("✅")
    english.press("✍️ Sign up")
    assert (await english.next_message()).text.startswith("✅")
    third.press("✍️ 报名")
    assert (await third.next_message()).text.startswith("⏳")
    signups = {signup.worker_id: signup.status for signup in await bot.storage.list_signups(training.id)}
    assert signups == {5001: SignupStatus.CONFIRMED, 5002: SignupStatus.CONFIRMED, 5003: SignupStatus.WAITING}

    admin.send_command("/trainings")
    listing = await admin.next_message()
    assert listing.text == (
        "培训（从最近一个月起）：\n\n#1 · 2026-01-10 09:00 · 劳动法 <b>讲座</b> & 问答\n"
        "  已报名2/2 · 候补1 · 城关镇职工之家三楼"
    )
    assert listing.button_labels == ["#1 劳动法 <b>讲座</b> & 问答 · 01-10", "➕ 新建培训"]

    # The first builder gives up the seat: the waiting one moves up and is told at once.
    first.send_command("/training")
    await first.next_message(lambda m: "✍️ 报名" not in m.button_labels and "取消报名" in m.button_labels)
    first.press("取消报名")
    await first.next_message(lambda m: "要取消报名吗" in (m.text or ""))
    first.press("是，取消报名")
    await first.next_message(lambda m: (m.text or "").startswith("好了：报名已取消。"))
    await third.next_message(lambda m: (m.text or "").startswith("🎉 您有名额了！"))
    signups = {signup.worker_id: signup.status for signup in await bot.storage.list_signups(training.id)}
    assert signups == {
        5001: SignupStatus.CANCELLED,
        5002: SignupStatus.CONFIRMED,
        5003: SignupStatus.CONFIRMED,
    }

    # Reminders: the day before and 2 hours before, to the seats only, in each one's language.
    def reminded(person: Person) -> list[str]:
        return [m.text or "" for m in person.messages if (m.text or "").startswith("⏰")]

    clock.set(training.starts_at - timedelta(hours=24, seconds=1))
    await bot.run_schedules()
    await bot.outbox.send_due()
    assert reminded(english) == reminded(third) == []
    clock.set(training.starts_at - timedelta(hours=24))
    await bot.run_schedules()
    await bot.outbox.send_due()
    await english.next_message(lambda m: (m.text or "").startswith("⏰ Reminder: you have a seat"))
    await third.next_message(lambda m: (m.text or "").startswith("⏰ 提醒：您报名了这个培训"))
    clock.set(training.starts_at - timedelta(hours=2))
    await bot.run_schedules()
    await bot.outbox.send_due()
    await english.next_message(lambda m: (m.text or "").startswith("⏰ Your training starts soon, at 09:00."))
    await third.next_message(lambda m: (m.text or "").startswith("⏰ 您报名的培训快开始了：09:00开始。"))
    assert reminded(first) == []  # gave the seat up

    # Half an hour in, the admin marks who came: the English builder did, the third did not.
    clock.set(training.starts_at + timedelta(minutes=30))
    admin.send_command("/trainings")
    await admin.next_message(lambda m: "培训（从最近一个月起）" in (m.text or ""))
    admin.press("#1 劳动法 <b>讲座</b> & 问答 · 01-10")
    card = await admin.next_message(lambda m: "点名字记录谁来了" in (m.text or ""))
    assert card.button_labels == ["⬜ 工人1", "⬜ 工人2", "🛑 取消培训"]  # no names in their profiles
    admin.press("⬜ 工人1", message_id=card.message_id)
    await admin.next_edit(lambda m: "✅ 工人1" in m.button_labels, message_id=card.message_id)
    query = admin.press_data(f"tm:a:{training.id}:5003:n:0", message_id=card.message_id)
    assert (await admin.next_answer(query))["text"] == "❌ 没来"

    # The figures: this month's report and the trainings export count it.
    clock.set(training.ends_at + timedelta(hours=1))
    admin.send_command("/report 2026-01-01 2026-01-31")
    report = await admin.next_message(lambda m: "统计报表" in (m.text or ""))
    lines = report.text.splitlines()
    start = lines.index("举办培训：1场")
    assert lines[start : start + 5] == [
        "举办培训：1场",
        "报名：2人次；到场：1人次",
        "培训职工：1人",
        "培训职工（按行业）：",
        "  · 建筑工地：1",
    ]
    admin.send_command("/export trainings 2026-01-01 2026-01-31")
    await admin.next_message(lambda m: "举办的培训" in (m.text or ""))
    admin.press("CSV")
    exported = await admin.next_message(lambda m: m.kind == "document")
    content = sandbox.file_content(exported.raw["document"]["file_id"]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][6:10] == ["名额", "已报名", "候补", "到场"]
    assert rows[1][:4] == ["2026-01-10 09:00", "2026-01", HOSTILE, "城关镇职工之家三楼"]
    assert rows[1][6:10] == ["2", "2", "0", "1"]


async def test_an_english_admin_changes_the_times_then_announces_and_cancels_from_the_card(
    bot: UnionApplication, sandbox: BotApiSandbox, admin: Person
) -> None:
    await bot.storage.ensure_worker(ADMIN_ID, language="en")
    chinese = await _worker(bot.storage, sandbox, 5001)
    english = await _worker(bot.storage, sandbox, 5002, "en")

    admin.send_command("/trainings")
    await admin.next_message()
    assert (await _press(admin, "➕ New training")).startswith(
        "Write the training's title in 简体中文, as workers will read it"
    )
    assert (await _say(admin, "劳动合同讲座")) == (
        "Now the title in 繁體中文. Or tap Skip: workers who read 繁體中文 then see the 简体中文 title."
    )
    await _press(admin, "Skip")
    assert (await _say(admin, "Your work contract")).startswith("When does it start?")
    await _say(admin, "2026-01-12 19:30")
    assert await _say(admin, "until late") == (
        "I did not understand. Type when it ends, or how long it lasts: 12:00 · 2026-12-20 12:00 · 3h · 3小时"
    )
    assert (await _say(admin, "90m")).startswith("Where is it?")
    await _say(admin, "Workers' Home, 2nd floor")
    await _press(admin, "Skip")
    await _say(admin, "40")
    assert (await _press(admin, "All trades")).startswith("Which township or district")
    assert (await _press(admin, "Skip")).startswith("Is there an allowance")
    assert (await _press(admin, "Skip")).startswith(
        "Until when can workers sign up? Tap the button for 2026-01-11 18:00"
    )
    admin.send_text("1-12 12:00")
    in_chinese, in_english, summary = [await admin.next_message() for _ in range(3)]
    assert (in_chinese.text or "").startswith("劳动合同讲座\n🕘 时间：1月12日周一 19:30–21:00\n")
    assert (in_english.text or "").startswith("Your work contract\n")
    assert summary.text == (
        "Above is what workers will read. Please check it.\n\nSeats: 40\nFor: all trades, everywhere\n"
        "Announcement: to every worker (2 workers now)\n\nPublish it?"
    )

    # An earlier start: the typed deadline no longer fits, so it is asked again.
    assert (await _press(admin, "✏️ Change something")) == "What do you want to change?"
    assert (await _press(admin, "Start and end")).startswith("When does it start?")
    assert (await _say(admin, "01-11 9:00")).startswith("When does it end?")
    admin.send_text("11:30")
    assert (await admin.next_message()).text == "The sign-up deadline no longer fits the new start."
    assert (await admin.next_message()).text.startswith(
        "Until when can workers sign up? Tap the button for 2026-01-10 18:00"
    )
    admin.press("Until 2026-01-10 18:00")
    in_chinese, _in_english, summary = [await admin.next_message() for _ in range(3)]
    assert "🕘 时间：1月11日周日 09:00–11:30" in (in_chinese.text or "")
    assert await _press(admin, "✅ Publish") == (
        "Training #1 is published. Workers see it with /training.\n/trainings lists the trainings."
    )
    assert await bot.storage.list_broadcasts() == []  # published, not announced

    admin.send_command("/trainings")
    assert (await admin.next_message()).text == (
        "Trainings, from the last month on:\n\n#1 · 2026-01-11 09:00 · Your work contract\n"
        "  signed up 0/40 · waiting 0 · Workers' Home, 2nd floor"
    )
    admin.press("#1 Your work contract · 01-11")
    card = await admin.next_message()
    assert card.text == (
        "#1 Your work contract\nTime: 2026-01-11 09:00 – 11:30\nPlace: Workers' Home, 2nd floor\n"
        "For: all trades, everywhere\nSign-up until: 2026-01-10 18:00\nSigned up: 0 of 40 · waiting: 0\n\n"
        "Nobody has signed up yet."
    )
    assert card.button_labels == ["📢 Announce", "🛑 Cancel training"]

    assert (await _press(admin, "📢 Announce")) == (
        "Announce training #1 now?\nAnnouncement: to every worker (2 workers now)"
    )
    admin.press("📢 Yes, announce it")
    answered = await admin.next_edit()
    assert answered.text == (
        "The announcement goes out now to 2 workers, with a sign-up button. You get a report when it has "
        "gone out."
    )
    [broadcast] = await bot.storage.list_broadcasts()
    assert broadcast.training_id == 1 and broadcast.audience.kind == AudienceKind.EVERYONE
    await bot.broadcasts.sweep()
    assert (await chinese.next_message()).text.startswith(f"{HEADER}\n\n劳动合同讲座\n")
    chinese.press("✍️ 报名")
    await chinese.next_message()
    assert (await english.next_message()).text.startswith(f"{HEADER_EN}\n\nYour work contract\n")
    english.press("✍️ Sign up")
    await english.next_message()

    admin.press("🛑 Cancel training", message_id=card.message_id)
    assert (await admin.next_message(lambda m: m.text.startswith("Cancel"))).text == (
        "Cancel training #1? The 2 signed up and 0 waiting are told."
    )
    admin.press("🛑 Yes, cancel it")
    assert (await admin.next_edit(lambda m: m.text.startswith("Training"))).text == (
        "Training #1 is cancelled. 2 workers are told."
    )
    assert (await chinese.next_message(lambda m: "取消" in (m.text or ""))).text == (
        "对不起，“劳动合同讲座”培训（1月11日周日 09:00–11:30）取消了，不用去了。"
    )
    assert (await english.next_message(lambda m: "called off" in (m.text or ""))).text == (
        "Sorry: the training “Your work contract” (Sun, Jan 11 09:00–11:30) was called off. You do not need "
        "to go."
    )
    training = await bot.storage.get_training(1)
    assert training is not None and training.status == TrainingStatus.CANCELLED
    query = admin.press_data("tm:xy:1")  # pressed again: nothing more happens
    assert (await admin.next_answer(query))["text"] == "Training #1 is cancelled."


async def test_an_officer_marks_who_came_and_the_card_changes_in_place(
    bot: UnionApplication, sandbox: BotApiSandbox, wang: Person, clock: FakeClock
) -> None:
    training = await _training(bot, seats=3)
    await _worker(bot.storage, sandbox, 5001, name="张 <三>")
    await _worker(bot.storage, sandbox, 5002)  # no name in the profile
    await _worker(bot.storage, sandbox, 5003, name="欧阳" * 15)
    await _worker(bot.storage, sandbox, 5004, name="排队的人")
    for worker_id in (5001, 5002, 5003, 5004):
        await bot.storage.sign_up(training.id, worker_id)

    wang.send_command("/trainings")
    listing = await wang.next_message()
    assert listing.button_labels == ["#1 电工证培训 · 01-10"]  # officers do not create trainings
    wang.press("#1 电工证培训 · 01-10")
    card = await wang.next_message()
    assert card.text == (
        "#1 电工证培训\n时间：2026-01-10 09:00 – 12:00\n地点：城关镇职工之家\n面向：所有行业，不限地区\n"
        "报名截止：2026-01-09 18:00\n已报名：3/3人 · 候补：1人\n\n点名字记录谁来了：✅ 来了，❌ 没来。\n"
        "来了：0人 · 没来：0人 · 未记录：3人"
    )
    assert card.inline_buttons == [
        [("⬜ 张 <三>", "tm:a:1:5001:y:0"), ("⬜ 工人2", "tm:a:1:5002:y:0")],
        [(f"⬜ {'欧阳' * 9}欧…", "tm:a:1:5003:y:0")],
    ]
    assert all(len(data.encode()) <= 64 for row in card.inline_buttons for _, data in row if data)

    query = wang.press("⬜ 张 <三>")
    assert (await wang.next_answer(query))[
        "text"
    ] == "开始前1小时起才能记录谁来了（开始时间：2026-01-10 09:00）。"
    clock.set(training.starts_at - timedelta(minutes=30))

    query = wang.press("⬜ 张 <三>")
    assert (await wang.next_answer(query))["text"] == "✅ 来了"
    edited = await wang.next_edit(message_id=card.message_id)
    assert edited.text is not None and edited.text.endswith("来了：1人 · 没来：0人 · 未记录：2人")
    assert edited.button_labels[:2] == ["✅ 张 <三>", "⬜ 工人2"]
    query = wang.press("✅ 张 <三>")
    await wang.next_answer(query)
    edited = await wang.next_edit(message_id=card.message_id)
    assert edited.button_labels[:2] == ["❌ 张 <三>", "⬜ 工人2"]
    assert edited.text is not None and edited.text.endswith("来了：0人 · 没来：1人 · 未记录：2人")

    # A second tap of the same old button (or a colleague's stale card) sets the same mark: no edit, and
    # Telegram is never asked for an edit that changes nothing (the sandbox fixture checks).
    query = wang.press_data("tm:a:1:5001:n:0", message_id=card.message_id)
    assert (await wang.next_answer(query))["text"] == "❌ 没来"
    signups = {signup.worker_id: signup for signup in await bot.storage.list_signups(training.id)}
    assert signups[5001].attended is False and signups[5002].attended is None
    # The waiting worker has no seat, so nothing to mark: a forged button is refused.
    query = wang.press_data("tm:a:1:5004:y:0", message_id=card.message_id)
    assert (await wang.next_answer(query))["show_alert"] is True
    waiting = await bot.storage.get_signup(training.id, 5004)
    assert waiting is not None and waiting.attended is None


async def test_workers_and_officers_cannot_create_announce_or_cancel(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person, admin: Person
) -> None:
    training = await _training(bot)
    worker.send_command("/trainings")
    assert (await worker.next_message()).text == "这个功能只供工会干事使用。"
    for data in ("tm:o:1", "tm:a:1:1001:y:0", "tm:new", "tm:x:1"):
        query = worker.press_data(data)
        assert (await worker.next_answer(query))["text"] == "这个功能只供工会干事使用。"
    query = worker.press_data("td:publish")  # the conversation's button, outside any conversation
    assert (await worker.next_answer(query))["show_alert"] is True

    wang.send_command("/help")
    assert "/trainings — 培训：报名情况、谁来了；管理员可新建和群发通知" in (
        (await wang.next_message()).text or ""
    )
    for data in ("tm:new", "tm:b:1", "tm:by:1", "tm:x:1", "tm:xy:1"):
        query = wang.press_data(data)
        assert (await wang.next_answer(query))["text"] == "只有工会管理员可以这样做。"
    wang.press_data("tm:o:1")
    officer_card = await wang.next_message()
    assert officer_card.button_labels == []  # no announce or cancel for an officer
    stored = await bot.storage.get_training(training.id)
    assert stored is not None and stored.status == TrainingStatus.OPEN
    assert await bot.storage.list_broadcasts() == []

    admin.send_command("/help")
    await admin.next_message()
    for data in ("tm:o:999", "tm:x:999", "tm:a:1:abc"):
        query = admin.press_data(data)
        assert (await admin.next_answer(query))["show_alert"] is True


async def test_cancel_keeps_nothing_and_an_admin_who_loses_the_role_is_stopped(
    bot: UnionApplication, admin: Person
) -> None:
    admin.send_command("/trainings")
    await admin.next_message()
    await _press(admin, "➕ 新建培训")
    admin.send_photo()
    assert (await admin.next_message()).text == "请打字回答。"
    await _say(admin, "劳动法讲座")
    assert await _say(admin, "/cancel") == "已停止，什么都没有保存或发送。"

    admin.press("➕ 新建培训")
    await admin.next_message()
    await _say(admin, "劳动法讲座")  # asks for the zh-Hant title, with a Skip button
    await bot.storage.upsert_officer(OfficerIn(telegram_id=ADMIN_ID, name="李主席", role=OfficerRole.OFFICER))
    query = admin.press("跳过")
    assert (await admin.next_answer(query))["text"] == "只有工会管理员可以这样做。"
    assert await bot.storage.list_trainings(include_cancelled=True) == []
    await eventually(
        lambda: bot.storage.load_persistence("user_data"),
        lambda data: DRAFT not in data.get(str(ADMIN_ID), {}),
    )
