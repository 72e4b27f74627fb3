"""Admins write and schedule broadcasts in the bot, end to end over the sandbox; nobody else can."""

from __future__ import annotations

from bot.app import UnionApplication
from bot.broadcasts.admin import DRAFT
from bot.core.clock import FakeClock
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import ADMIN_ID
from storage.models import AudienceKind, BroadcastStatus, OfficerIn, OfficerRole, ScheduleKind
from tests.test_broadcasts import FOOTER_EN, FOOTER_ZH, HEADER, HEADER_EN, _worker

HOSTILE = "<b>x</b> & *_["


async def _say(person: Person, text: str) -> str:
    person.send_text(text)
    return (await person.next_message()).text or ""


async def _press(person: Person, label: str) -> str:
    person.press(label)
    return (await person.next_message()).text or ""


async def test_an_admin_writes_a_photo_broadcast_in_chinese_and_workers_get_exactly_the_preview(
    bot: UnionApplication, sandbox: BotApiSandbox, admin: Person
) -> None:
    builder = await _worker(bot.storage, sandbox, 5001, "zh-Hans", trade="construction")
    english = await _worker(bot.storage, sandbox, 5002, "en", trade="construction")
    other_trade = await _worker(bot.storage, sandbox, 5003, "zh-Hans", trade="mining")

    admin.send_command("/broadcast")
    assert (await admin.next_message()).text == (
        "请用“简体中文”写通知，写成工人看到的样子。粗体和斜体会保留。发送 /cancel 取消。"
    )
    assert (await _say(admin, HOSTILE)).startswith("现在请写同一条通知的“繁體中文”版本")
    assert (await _press(admin, "跳过")).startswith("现在请写同一条通知的“English”版本")
    assert (await _say(admin, "Training & <tea>")).startswith("要不要加一张图片或一个文件")
    admin.send_photo()
    audience = await admin.next_message()
    assert audience.text == "发给谁？"
    assert audience.button_labels == [
        "所有人",
        "工会会员",
        "按语言",
        "按行业",
        "按乡镇或街道",
        "有未办结案件的工人",
    ]
    assert await _press(admin, "按行业") == "发给哪个行业的工人？"
    assert await _press(admin, "建筑工地") == "按行业：建筑工地：目前有2人会收到。"
    assert (await admin.next_message()).text.startswith("什么时候发？")
    assert (await _say(admin, "明天上午")).startswith("没看懂这个时间。请这样写：2026-12-01 09:00")
    assert await _press(admin, "现在发送") == "要不要加一个“我会参加”按钮？适合培训或开会。"

    admin.press("要，加上")
    preview_zh = await admin.next_message()
    preview_en = await admin.next_message()
    summary = await admin.next_message()
    assert preview_zh.kind == "photo" and preview_en.kind == "photo"
    assert preview_zh.text == f"{HEADER}\n\n{HOSTILE}\n\n{FOOTER_ZH}"  # shown as typed, not as markup
    assert preview_en.text == f"{HEADER_EN}\n\nTraining & <tea>\n\n{FOOTER_EN}"
    assert summary.text == (
        "上面就是工人会收到的样子，请检查一下。\n\n发给：按行业：建筑工地（目前2人）\n时间：确认后马上发\n"
        "语言：简体中文、English\n“我会参加”按钮：要\n\n确定发送吗？"
    )
    pressed = admin.press("✋ 我会参加", message_id=preview_zh.message_id)
    assert (await admin.next_answer(pressed))["text"] == "这只是预览，不计入人数。"

    assert (await _press(admin, "✅ 确认发送")).startswith(
        "第1号群发通知已保存，现在开始发送。\n发完后您会收到"
    )
    await bot.broadcasts.sweep()
    [got] = builder.messages
    assert (got.kind, got.text, got.entities, got.button_labels) == (
        preview_zh.kind,
        preview_zh.text,
        preview_zh.entities,
        preview_zh.button_labels,
    )
    assert got.raw["photo"][-1]["file_id"] == preview_zh.raw["photo"][-1]["file_id"]
    assert english.messages[0].text == preview_en.text
    assert other_trade.messages == []
    data = (await bot.storage.load_persistence("user_data")).get(str(ADMIN_ID), {})
    assert DRAFT not in data  # the scratch answers are gone once it is stored


async def test_an_english_admin_schedules_a_weekly_broadcast_for_a_region(
    bot: UnionApplication, sandbox: BotApiSandbox, admin: Person, clock: FakeClock
) -> None:
    await bot.storage.ensure_worker(ADMIN_ID, language="en")
    await _worker(bot.storage, sandbox, 5001, "en", workplace="Chengguan Town")

    admin.send_command("/broadcast")
    assert (await admin.next_message()).text.startswith(
        "Write the news in 简体中文, as workers should read it."
    )
    await _say(admin, f"每周培训 {HOSTILE}")
    await _press(admin, "Skip")
    await _say(admin, "Weekly training")
    assert (await _say(admin, "no photo")) == "Please send a photo or a document, or tap Skip."
    assert (await _press(admin, "Skip")) == "Who should get it?"
    assert (await _press(admin, "By township or district")).startswith("Type the township or district")
    assert (
        await _say(admin, "chengguan")
    ) == "By township or district: chengguan: 1 worker would get it now."
    assert (await admin.next_message()).text.endswith("(time in Asia/Shanghai).")
    assert (
        await _say(admin, "2020-01-01 09:00")
    ) == "That time has already passed. Choose a time in the future."
    assert (await _say(admin, "every Monday 09:00")).startswith("Add an “I will attend” button")
    admin.press("No")
    preview = [await admin.next_message() for _ in range(2)]
    summary = await admin.next_message()
    assert [message.button_labels for message in preview] == [[], []]
    assert "When: every Monday 09:00" in (summary.text or "")
    assert await _press(admin, "✅ Confirm") == (
        "Broadcast #1 is saved. It goes out at 2026-01-12 09:00. It repeats every Monday 09:00.\n"
        "You will get a report when it has gone out. /broadcasts lists and cancels broadcasts."
    )
    broadcast = await bot.storage.get_broadcast(1)
    assert broadcast is not None
    assert broadcast.audience.kind == AudienceKind.REGION and broadcast.schedule.kind == ScheduleKind.WEEKLY
    assert broadcast.texts == {"zh-Hans": "每周培训 &lt;b&gt;x&lt;/b&gt; &amp; *_[", "en": "Weekly training"}

    admin.send_command("/broadcasts")
    listing = await admin.next_message()
    assert listing.text == (
        "Broadcasts, newest first:\n\n"
        "#1 · scheduled · every Monday 09:00 · By township or district: chengguan\n"
        "  “Weekly training”\n  Next: 2026-01-12 09:00"
    )
    assert await _press(admin, "🛑 Cancel #1") == "Broadcast #1 is cancelled: nothing more of it goes out."
    cancelled = await bot.storage.get_broadcast(1)
    assert cancelled is not None and cancelled.status == BroadcastStatus.CANCELLED


async def test_cancel_stops_the_conversation_and_keeps_nothing(bot: UnionApplication, admin: Person) -> None:
    admin.send_command("/broadcast")
    await admin.next_message()
    admin.send_photo()
    assert (await admin.next_message()).text == "请先用文字写通知内容。下一步可以加图片或文件。"
    admin.send_text("明天开会")
    await admin.next_message()
    assert (await _press(admin, "跳过")).startswith("现在请写同一条通知的“English”版本")
    assert (await _say(admin, "/cancel")) == "已停止，什么都没有保存或发送。"
    assert await bot.storage.list_broadcasts() == []


async def test_workers_and_officers_cannot_broadcast(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person, admin: Person
) -> None:
    for command in ("/broadcast", "/broadcasts"):
        worker.send_command(command)
        assert (await worker.next_message()).text == "这个功能只供工会干事使用。"
        wang.send_command(command)
        assert (await wang.next_message()).text == "只有工会管理员可以这样做。"
    admin.send_command("/help")
    assert "/broadcast — 给工人群发通知" in ((await admin.next_message()).text or "")
    wang.send_command("/help")
    assert "/broadcast" not in ((await wang.next_message()).text or "")


async def test_forged_buttons_do_nothing(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person, wang: Person, admin: Person
) -> None:
    from tests.test_broadcasts import _broadcast

    broadcast = await _broadcast(bot, schedule=None)
    worker.send_command("/help")
    await worker.next_message()
    wang.send_command("/help")
    await wang.next_message()

    query = worker.press_data(f"bx:{broadcast.id}")
    assert (await worker.next_answer(query))["text"] == "这个功能只供工会干事使用。"
    query = wang.press_data(f"bx:{broadcast.id}")
    assert (await wang.next_answer(query))["text"] == "只有工会管理员可以这样做。"
    query = worker.press_data("bd:send")  # the conversation's confirm button, outside any conversation
    assert (await worker.next_answer(query))["show_alert"] is True
    stored = await bot.storage.get_broadcast(broadcast.id)
    assert stored is not None and stored.status == BroadcastStatus.SCHEDULED
    assert len(await bot.storage.list_broadcasts()) == 1

    admin.send_command("/help")
    await admin.next_message()
    query = admin.press_data("bx:999")
    assert (await admin.next_answer(query))["text"] == "这个按钮已经失效了。"


async def test_an_admin_who_loses_the_role_midway_is_stopped_at_the_next_step(
    bot: UnionApplication, admin: Person
) -> None:
    admin.send_command("/broadcast")
    await admin.next_message()
    await _say(admin, "通知")  # asks for the zh-Hant text, with a Skip button
    await bot.storage.upsert_officer(OfficerIn(telegram_id=ADMIN_ID, name="李主席", role=OfficerRole.OFFICER))

    query = admin.press("跳过")
    assert (await admin.next_answer(query))["text"] == "只有工会管理员可以这样做。"
    admin.send_text("English text")  # the conversation is over: this is an ordinary message now
    assert "没看懂" in ((await admin.next_message()).text or "")
    assert await bot.storage.list_broadcasts() == []
    data = (await bot.storage.load_persistence("user_data")).get(str(ADMIN_ID), {})
    assert DRAFT not in data
