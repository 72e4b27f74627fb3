"""Broadcast delivery end to end over the sandbox: audiences, languages, media, Telegram's refusals,
pacing, recurring runs, the report to the creator and the "I will attend" button."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import UnionApplication
from bot.broadcasts.dispatch import BroadcastDispatcher, Pacer, create, render
from bot.broadcasts.schedule import parse_rule
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.runtime.botapi import UnionBot
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import ADMIN_ID, OFFICER_ID, SANDBOX_TOKEN
from storage import Storage
from storage.models import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    MediaKind,
    Schedule,
    ScheduleKind,
)

HEADER = "📢 沙盒镇总工会"
HEADER_HANT = "📢 沙盒鎮總工會"  # the union's name as written for each language (union.names)
HEADER_EN = "📢 Sandbox Town Federation of Trade Unions"
FOOTER_ZH = "不想再收到工会通知？请发送 /unsubscribe"
FOOTER_EN = "Do not want news from the union? Send /unsubscribe"
EVERYONE = Audience(kind=AudienceKind.EVERYONE)


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def _worker(
    storage: Storage,
    sandbox: BotApiSandbox,
    telegram_id: int,
    language: str | None = "zh-Hans",
    **profile: object,
) -> Person:
    """A worker who did /start and agreed, with their sandbox chat."""
    person = sandbox.person(telegram_id, first_name=f"工人{telegram_id}")
    await storage.ensure_worker(telegram_id, language=language)
    await storage.record_consent(telegram_id, "test")
    if profile:
        await storage.update_worker_profile(telegram_id, profile)
    return person


async def _broadcast(
    bot: UnionApplication,
    texts: dict[str, str] | None = None,
    *,
    audience: Audience = EVERYONE,
    schedule: Schedule | None = None,
    created_by: int | None = ADMIN_ID,
    **options: object,
) -> Broadcast:
    return await create(
        bot.storage,
        bot.config,
        bot.clock,
        created_by=created_by,
        texts=texts or {"zh-Hans": "周六上午九点，劳动法培训。"},
        audience=audience,
        schedule=schedule or Schedule(kind=ScheduleKind.ONCE, at=bot.clock.now()),
        **options,  # type: ignore[arg-type]
    )


def _texts(person: Person) -> list[str]:
    return [message.text or "" for message in person.messages]


async def test_each_worker_reads_their_language_falling_back_to_the_default(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    hans = await _worker(bot.storage, sandbox, 5001, "zh-Hans")
    hant = await _worker(bot.storage, sandbox, 5002, "zh-Hant")
    english = await _worker(bot.storage, sandbox, 5003, "en")
    unchosen = await _worker(bot.storage, sandbox, 5004, None)
    await _broadcast(bot, {"zh-Hans": "周六培训", "en": "Training on Saturday"})

    assert await bot.broadcasts.sweep() == 4
    assert _texts(hans) == [f"{HEADER}\n\n周六培训\n\n{FOOTER_ZH}"]
    assert _texts(hant) == [f"{HEADER_HANT}\n\n周六培训\n\n不想再收到工會通知？請發送 /unsubscribe"]
    assert _texts(english) == [f"{HEADER_EN}\n\nTraining on Saturday\n\n{FOOTER_EN}"]
    assert _texts(unchosen) == [f"{HEADER}\n\n周六培训\n\n{FOOTER_ZH}"]
    assert await bot.broadcasts.sweep() == 0  # delivered once, not again


async def test_a_photo_goes_out_with_the_text_as_its_caption(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    admin = sandbox.person(ADMIN_ID)
    poster = await bot.bot.send_photo(admin.chat_id, photo=b"\xff\xd8\xff\xe0 poster \xff\xd9")
    worker = await _worker(bot.storage, sandbox, 5001)
    await _broadcast(
        bot,
        {"zh-Hans": "<b>工伤</b>讲座"},
        media_kind=MediaKind.PHOTO,
        media_file_id=poster.photo[-1].file_id,
        attend_button=True,
    )

    await bot.broadcasts.sweep()
    [message] = worker.messages
    assert message.kind == "photo"
    assert message.text == f"{HEADER}\n\n工伤讲座\n\n{FOOTER_ZH}"
    assert {"type": "bold", "offset": 11, "length": 2} in message.entities  # UTF-16: 📢 counts twice
    assert message.button_labels == ["✋ 我会参加"]


async def test_forbidden_marks_the_worker_blocked_and_later_broadcasts_skip_them(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    leaves = await _worker(bot.storage, sandbox, 5001)  # sent first: the lowest id
    stays = await _worker(bot.storage, sandbox, 5002)
    # Telegram's answer when the worker blocked the bot before the bot heard of it (my_chat_member).
    sandbox.fail("sendMessage", 403, description="Forbidden: bot was blocked by the user", times=1)
    await _broadcast(bot)
    await bot.broadcasts.sweep()
    worker = await bot.storage.get_worker(leaves.user_id)
    assert worker is not None and worker.blocked
    report = await bot.storage.latest_broadcast_report(1)
    assert report is not None and (report.sent, report.blocked) == (1, 1)

    tries = len([call for call in sandbox.calls if call[1].get("chat_id") == str(leaves.user_id)])
    second = await _broadcast(bot, {"zh-Hans": "第二条"})
    await bot.broadcasts.sweep()
    assert _texts(stays)[-1].startswith(f"{HEADER}\n\n第二条")
    assert len([call for call in sandbox.calls if call[1].get("chat_id") == str(leaves.user_id)]) == tries
    report = await bot.storage.latest_broadcast_report(second.id)
    assert report is not None and (report.sent, report.blocked, report.skipped) == (1, 0, 1)


async def test_a_worker_whose_message_keeps_failing_holds_up_nobody_and_gets_it_later(
    bot: UnionApplication, sandbox: BotApiSandbox, config: Config, clock: FakeClock
) -> None:
    unlucky = await _worker(bot.storage, sandbox, 5001)
    other = await _worker(bot.storage, sandbox, 5002)
    await _broadcast(bot)
    fake = FakeTime()
    async with UnionBot(SANDBOX_TOKEN, base_url=sandbox.base_url) as union_bot:
        dispatcher = BroadcastDispatcher(
            bot.storage, union_bot, clock, config, rate=25, monotonic=fake.monotonic, sleep=fake.sleep
        )
        fault = sandbox.fail("sendMessage", 502, chat_id=unlucky.user_id)
        assert await dispatcher.sweep() == 1
        assert unlucky.messages == [] and len(other.messages) == 1  # the next worker did not wait
        assert any(4 <= pause <= 6 for pause in fake.sleeps)  # a short pause after the failure
        report = await bot.storage.latest_broadcast_report(1)
        assert report is not None and (report.sent, report.pending, report.finished_at) == (1, 1, None)

        assert await dispatcher.sweep() == 0  # its retry is not due yet
        fault.clear()
        clock.advance(timedelta(seconds=10))
        assert await dispatcher.sweep() == 1
    assert len(unlucky.messages) == 1
    report = await bot.storage.latest_broadcast_report(1)
    assert report is not None and (report.sent, report.failed, report.pending) == (2, 0, 0)
    assert report.finished_at is not None


async def test_a_row_still_failing_after_give_up_after_counts_as_failed_in_the_report(
    bot: UnionApplication, sandbox: BotApiSandbox, config: Config, clock: FakeClock, admin: Person
) -> None:
    worker = await _worker(bot.storage, sandbox, 5001)
    await _broadcast(bot)
    fake = FakeTime()
    async with UnionBot(SANDBOX_TOKEN, base_url=sandbox.base_url) as union_bot:
        dispatcher = BroadcastDispatcher(
            bot.storage, union_bot, clock, config, rate=25, monotonic=fake.monotonic, sleep=fake.sleep
        )
        sandbox.fail("sendMessage", 500, chat_id=worker.user_id)
        await dispatcher.sweep()
        clock.advance(config.delivery.give_up_after)
        await dispatcher.sweep()
    assert worker.messages == []
    report = await bot.storage.latest_broadcast_report(1)
    assert report is not None and (report.failed, report.pending) == (1, 0)
    assert report.finished_at is not None  # and the admin who made it gets the report
    await bot.outbox.send_due()
    assert "发送失败：1" in (await admin.next_message(lambda m: "第1号" in (m.text or ""))).text


async def test_retry_after_pauses_the_whole_broadcast(
    bot: UnionApplication, sandbox: BotApiSandbox, config: Config, clock: FakeClock
) -> None:
    workers = [await _worker(bot.storage, sandbox, 5001 + number) for number in range(3)]
    await _broadcast(bot)
    fake = FakeTime()
    async with UnionBot(SANDBOX_TOKEN, base_url=sandbox.base_url) as union_bot:
        dispatcher = BroadcastDispatcher(
            bot.storage, union_bot, clock, config, rate=25, monotonic=fake.monotonic, sleep=fake.sleep
        )
        sandbox.fail("sendMessage", 429, times=1)  # "Too Many Requests: retry after 1"
        assert await dispatcher.sweep() == 2  # the refused worker's turn comes after the pause
        clock.advance(timedelta(seconds=1))
        assert await dispatcher.sweep() == 1
    # The first send was refused: one second's pause for everyone, then the normal pace.
    assert fake.sleeps[0] == 1.0 and set(fake.sleeps[1:]) <= {0.04}
    assert all(len(worker.messages) == 1 for worker in workers)


async def test_the_pacer_spaces_sends_evenly_and_catches_up_at_most_one_interval() -> None:
    fake = FakeTime()
    pacer = Pacer(25, monotonic=fake.monotonic, sleep=fake.sleep)
    sent_at = []
    for _ in range(26):
        await pacer.wait_turn()
        sent_at.append(fake.now)
    assert sent_at[-1] == pytest.approx(1.0)  # 26 sends take one second: 25 a second
    fake.now += 5  # a slow request: one interval is caught up, no burst to make up for the rest
    slept = len(fake.sleeps)
    for _ in range(3):
        await pacer.wait_turn()
    assert fake.sleeps[slept:] == [0.04]
    pacer.pause(3)
    before = fake.now
    await pacer.wait_turn()
    assert fake.now - before == pytest.approx(3)


async def test_unsubscribed_workers_are_skipped_and_subscribe_brings_them_back(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    worker = await _worker(bot.storage, sandbox, 5001)
    worker.send_command("/unsubscribe")
    reply = await worker.next_message()
    assert "以后不再给您发工会通知" in (reply.text or "") and "/subscribe" in (reply.text or "")
    await _broadcast(bot, {"zh-Hans": "第一条"})
    await bot.broadcasts.sweep()
    assert _texts(worker) == [reply.text]

    worker.send_command("/subscribe")
    reply = await worker.next_message()
    assert reply.text == "欢迎回来！以后会继续给您发工会通知。不想收的话，请发送 /unsubscribe。"
    await _broadcast(bot, {"zh-Hans": "第二条"})
    await bot.broadcasts.sweep()
    assert _texts(worker)[-1].startswith(f"{HEADER}\n\n第二条")


async def test_unsubscribe_in_english_keeps_an_open_form(
    bot: UnionApplication, sandbox: BotApiSandbox, worker: Person
) -> None:
    from tests.flow_helpers import onboard

    await onboard(worker, "English")
    worker.send_command("/join")
    await worker.next_message(lambda m: "name" in (m.text or ""))
    worker.send_command("/unsubscribe")
    reply = await worker.next_message()
    assert reply.text == (
        "Done: you will not get news from the union any more. Your cases and messages from union officers "
        "still reach you. If you change your mind, send /subscribe."
    )
    worker.send_text("Li Wei")  # the form goes on where it was
    await worker.next_message(lambda m: "phone" in (m.text or "").lower())


async def test_a_worker_who_unblocks_the_bot_gets_broadcasts_again(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    worker = await _worker(bot.storage, sandbox, 5001)
    worker.block()  # Telegram tells the bot (my_chat_member)
    async with asyncio.timeout(10):
        while not (stored := await bot.storage.get_worker(worker.user_id)) or not stored.blocked:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await _broadcast(bot)
    await bot.broadcasts.sweep()
    assert worker.messages == []
    worker.unblock()
    worker.send_command("/help")
    await worker.next_message()  # updates are handled in order: the unblocking came first
    stored = await bot.storage.get_worker(worker.user_id)
    assert stored is not None and not stored.blocked
    await _broadcast(bot, {"zh-Hans": "第二条"})
    await bot.broadcasts.sweep()
    assert _texts(worker)[-1].startswith(f"{HEADER}\n\n第二条")


async def test_a_weekly_broadcast_goes_out_every_week_in_the_union_time_zone(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock
) -> None:
    worker = await _worker(bot.storage, sandbox, 5001)
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))  # Monday 17:00 in Shanghai
    broadcast = await _broadcast(bot, schedule=parse_rule("every Monday 09:00"))
    monday = datetime(2026, 1, 12, 1, 0, tzinfo=UTC)  # next Monday 09:00 in Shanghai
    assert broadcast.next_run_at == monday

    assert await bot.broadcasts.sweep() == 0  # not due yet
    clock.set(monday + timedelta(seconds=3))
    assert await bot.broadcasts.sweep() == 1
    stored = await bot.storage.get_broadcast(broadcast.id)
    assert stored is not None
    assert (stored.status, stored.next_run_at) == (BroadcastStatus.SCHEDULED, monday + timedelta(days=7))
    assert await bot.broadcasts.sweep() == 0

    # The bot was down over the next Monday: it goes out once, late, and the one after is planned.
    clock.set(monday + timedelta(days=9))
    assert await bot.broadcasts.sweep() == 1
    stored = await bot.storage.get_broadcast(broadcast.id)
    assert stored is not None and stored.next_run_at == monday + timedelta(days=14)
    assert len(worker.messages) == 2


async def test_the_creator_gets_a_delivery_report(bot: UnionApplication, sandbox: BotApiSandbox) -> None:
    admin = sandbox.person(ADMIN_ID, first_name="李主席")
    for number in range(3):
        await _worker(bot.storage, sandbox, 5001 + number)
    sandbox.fail("sendMessage", 403, description="Forbidden: bot was blocked by the user", times=1)
    unsubscribed = await _worker(bot.storage, sandbox, 5004)
    await bot.storage.set_worker_flags(unsubscribed.user_id, opted_out=True)
    await _broadcast(bot, {"zh-Hans": "<b>培训</b>通知 &amp; 报名"}, attend_button=True)
    await bot.broadcasts.sweep()
    await bot.outbox.send_due()

    report = await admin.next_message(lambda m: "📊" in (m.text or ""))
    assert report.text == (
        "📊 第1号群发通知（2026-01-05 17:00）已发完。\n“培训通知 & 报名”\n\n"
        "已发送：2 · 屏蔽了机器人：1 · 发送失败：0 · 跳过：1 · 会参加：0\n发送 /broadcasts 可以看最新人数。"
    )
    await bot.outbox.send_due()
    assert len([m for m in admin.messages if "📊" in (m.text or "")]) == 1


async def test_a_command_line_broadcast_reports_to_the_admins(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    admin = sandbox.person(ADMIN_ID)
    wang = sandbox.person(OFFICER_ID)
    await _worker(bot.storage, sandbox, 5001)
    await _broadcast(bot, created_by=None)
    await bot.broadcasts.sweep()
    await bot.outbox.send_due()
    assert "已发送：1" in ((await admin.next_message(lambda m: "📊" in (m.text or ""))).text or "")
    assert not any("📊" in (m.text or "") for m in wang.messages)


async def test_attend_is_counted_once_and_only_for_recipients(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    going = await _worker(bot.storage, sandbox, 5001)
    other = await _worker(bot.storage, sandbox, 5002, "en", member_number="M1")
    await _broadcast(bot, attend_button=True, audience=Audience(kind=AudienceKind.LANGUAGE, value="zh-Hans"))
    await bot.broadcasts.sweep()
    [message] = going.messages
    data = message.inline_buttons[0][0][1]
    assert data == "ba:1" and len(data.encode()) < 64

    first = going.press("✋ 我会参加")
    assert (await going.next_answer(first))["text"] == "谢谢！已经记下您会来。"
    again = going.press("✋ 我会参加")
    assert (await going.next_answer(again))["text"] == "您已经报过名了，谢谢！"

    other.send_command("/help")
    await other.next_message()
    forged = other.press_data("ba:1")  # not sent to them: nothing is counted
    assert (await other.next_answer(forged))[
        "text"
    ] == "This button is no longer active. Send /start to see the menu."
    junk = going.press_data("ba:99999")
    assert (await going.next_answer(junk))["show_alert"] is True
    report = await bot.storage.latest_broadcast_report(1)
    assert report is not None and report.attending == 1


def test_render_is_what_the_preview_and_the_sender_share() -> None:
    method, params = render(
        texts={"zh-Hans": "通知"},
        media_kind=MediaKind.DOCUMENT,
        media_file_id="BQAD1",
        attend_button=False,
        language="en",
        default_language="zh-Hans",
        union_name="<A&B>",
        attend_data="ba:1",
    )
    assert method == "sendDocument"
    assert params == {
        "document": "BQAD1",
        "caption": f"📢 <b>&lt;A&amp;B&gt;</b>\n\n通知\n\n<i>{FOOTER_EN}</i>",
        "parse_mode": "HTML",
    }
