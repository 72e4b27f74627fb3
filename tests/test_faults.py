"""When Telegram says no: every Bot API method the bot calls, failing in each way, on every path using it.

Each cell makes one method fail for one person while somebody else goes on beside them, then checks what
every failure owes the people who use the bot:

- the bot stays up: the bystander is answered during the failure, and the person afterwards;
- the person is told the truth, in their language (or, when they blocked the bot, nothing: they cannot be);
- nothing is lost: what they sent is in SQLite, and every message ends in their chat or, given up, in a
  notice to the admins;
- nobody else is held up;
- the failure is logged once (more than one message failing: once each), naming the method and
  Telegram's reason, with no traceback unless it is a refusal of what we sent (a 400: our mistake);
- no worker's name, phone, employer or words, and no token, reach the log (checked in every cell, so
  the whole matrix is a log scan).

The failure kinds: a 400 or a 403 refuses one call; a 429, a 500, a 502 or a timeout (no answer at all)
lasts until the test clears it: Telegram struggling with that chat. The bot runs without PTB's rate
limiter here, because the limiter's own retries on a 429 would hide what the bot does when one reaches it
(tests/test_sandbox.py covers the sandbox's 429; the limiter is PTB's). Requests time out after half a
second, so a timeout costs little.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import MENU_JOB, UnionApplication
from bot.broadcasts.dispatch import BroadcastDispatcher
from bot.broadcasts.dispatch import create as create_broadcast
from bot.cases import alerts
from bot.cases.assignment import Assignment
from bot.cases.privacy import CONSENT_VERSION
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.sandbox.server import BotApiSandbox, Fault, Person, SentMessage
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, SANDBOX_TOKEN, running_bot
from bot.trainings.admin import DRAFT as TRAINING_DRAFT
from storage.models import (
    AttachmentIn,
    Audience,
    AudienceKind,
    Case,
    CaseKind,
    MediaKind,
    NewCase,
    NewTraining,
    Schedule,
    ScheduleKind,
    SignupStatus,
    Training,
    TrainingSignup,
)
from tests.flow_helpers import eventually, onboard
from tests.test_assistance import DOCUMENTS_Q, INCOME_Q, SHARE_Q, STORY_Q
from tests.test_broadcasts import FakeTime
from tests.test_wages import (
    AMOUNT_Q,
    CONTRACT_Q,
    DISCLOSE_Q,
    EMPLOYER_Q,
    EVIDENCE_Q,
    MONTHS_Q,
    SITE_Q,
    WORK_Q,
    WORKERS_Q,
)

REFUSALS = ("400", "403")  # one call refused
PASSING = ("429", "500", "502", "timeout")  # until cleared: Telegram struggling with that chat
KINDS = (*REFUSALS, *PASSING)
STATUS: dict[str, int | str] = {
    "400": 400,
    "403": 403,
    "429": 429,
    "500": 500,
    "502": 502,
    "timeout": "timeout",
}
REASON = {  # what the log must name: Telegram's description as PTB reports it
    "400": "Injected fault",
    "403": "Forbidden: bot was blocked by the user",
    "429": "Flood control exceeded. Retry in 1 seconds",
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "timeout": "Timed out",
}

# What a worker tells the bot, none of which may reach a log line.
NAME, PHONE, EMPLOYER = "张秀英", "13912345678", "宏达建筑劳务"
TYPED = f"老板欠我三个月工资，电话 {PHONE}"
VICTIM_ID, BYSTANDER_ID, UPLOADER_ID = 3001, 3002, 3003
SORRY = "抱歉，我们这边出了点问题。您填的内容都还在，请过一分钟再试。"


# -- the bot as the matrix runs it ------------------------------------------------------------------------


@pytest.fixture
def config(config: Config) -> Config:
    """The sandbox config with a short request timeout, so a call nobody answers fails quickly."""
    return config.model_copy(update={"telegram": config.telegram.model_copy(update={"request_timeout": 0.5})})


@pytest.fixture
async def bot(
    config: Config, clock: FakeClock, sandbox: BotApiSandbox, run_logs: pytest.LogCaptureFixture
) -> AsyncIterator[UnionApplication]:
    sandbox.set_flood_limit(None)
    for name in ("bot", "flows", "storage"):  # the scan reads everything our code says
        run_logs.set_level(logging.DEBUG, logger=name)
    async with running_bot(config, clock=clock, rate_limited=False) as application:
        yield application


@dataclass
class Cell:
    """One cell of the matrix: the running bot, Telegram's stand-in, the clock, the log, and two people."""

    bot: UnionApplication
    sandbox: BotApiSandbox
    clock: FakeClock
    logs: pytest.LogCaptureFixture
    victim: Person  # the one Telegram fails
    bystander: Person  # who must not wait for it

    def fail(self, method: str, kind: str, chat: Person) -> Fault:
        """``method`` fails for ``chat``: once for a refusal, else until cleared."""
        return self.sandbox.fail(
            method, STATUS[kind], chat_id=chat.user_id, times=1 if kind in REFUSALS else None
        )

    async def through(self, fault: Fault) -> None:
        """The fault strikes; meanwhile the bystander is answered; then Telegram is fine again and every
        retry the bot planned is due and made."""
        await hit(fault)
        await bystander_is_answered(self.bystander)
        fault.clear()
        await self.bot.outbox.send_due()  # the pass under way ends first
        self.clock.advance(timedelta(minutes=11))  # past the longest pause between tries
        await self.bot.outbox.send_due()

    def logged_once(self, method: str, kind: str, messages: int = 1) -> None:
        logged_once(self.logs, method, kind, messages)

    async def answer_of(self, key: str) -> Any:
        """One form answer of the victim's, once committed to SQLite (the update's own commit follows)."""

        async def read() -> dict[str, Any]:
            stored = (await self.bot.storage.load_persistence("user_data")).get(str(self.victim.user_id), {})
            return stored.get("draft", {}).get("answers", {})

        return (await eventually(read, lambda answers: key in answers))[key]

    async def victim_blocked(self) -> bool:
        worker = await self.bot.storage.get_worker(self.victim.user_id)
        return worker is not None and worker.blocked


@pytest.fixture
def cell(
    bot: UnionApplication, sandbox: BotApiSandbox, clock: FakeClock, run_logs: pytest.LogCaptureFixture
) -> Cell:
    return Cell(
        bot=bot,
        sandbox=sandbox,
        clock=clock,
        logs=run_logs,
        victim=sandbox.person(VICTIM_ID, first_name=NAME),
        bystander=sandbox.person(BYSTANDER_ID, first_name="李四"),
    )


async def hit(fault: Fault) -> None:
    """Once the fault has failed a call."""

    async def hits() -> int:
        return fault.hits

    await eventually(hits, lambda count: count >= 1)


async def bystander_is_answered(bystander: Person) -> None:
    bystander.send_command("/help")
    await bystander.next_message(lambda m: (m.text or "").startswith("您可以："))


def logged_once(logs: pytest.LogCaptureFixture, method: str, kind: str, messages: int = 1) -> None:
    """Said once per failed message, with the method and Telegram's reason; no traceback unless ours."""
    said = [r for r in logs.records if r.levelno >= logging.INFO and f"{method}: " in r.getMessage()]
    assert len(said) == messages, [r.getMessage() for r in said]
    for record in said:
        assert REASON[kind] in record.getMessage()
        if kind != "400":
            assert record.exc_info is None, record.getMessage()
    private(logs)


def private(logs: pytest.LogCaptureFixture) -> None:
    """The log scan: nothing a worker told us, and not the token, in any line or traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in logs.records:
        line = formatter.format(record)
        for secret in (NAME, PHONE, EMPLOYER, TYPED, SANDBOX_TOKEN, SANDBOX_TOKEN.split(":")[1]):
            assert secret not in line, line


async def _count(person: Person) -> int:
    return len(person.messages)


# -- worker flows: replies, button answers and edits in a form ------------------------------------------


async def _to_months(worker: Person) -> None:
    worker.send_command("/wages")
    await worker.next_message(lambda m: EMPLOYER_Q in (m.text or ""))
    worker.send_text(EMPLOYER)
    await worker.next_message(lambda m: SITE_Q in (m.text or ""))
    worker.send_text("阳光花园项目 城关镇")
    await worker.next_message(lambda m: WORK_Q in (m.text or ""))
    worker.send_text(TYPED)
    await worker.next_message(lambda m: MONTHS_Q in (m.text or ""))


async def _to_evidence(worker: Person) -> None:
    await _to_months(worker)
    worker.press("3个月")
    await worker.next_message(lambda m: AMOUNT_Q in (m.text or ""))
    worker.send_text("8500")
    await worker.next_message(lambda m: WORKERS_Q in (m.text or ""))
    worker.press("只有我")
    await worker.next_message(lambda m: CONTRACT_Q in (m.text or ""))
    worker.press("签了")
    await worker.next_message(lambda m: EVIDENCE_Q in (m.text or ""))
    worker.send_photo()
    await worker.next_message(lambda m: "收到了（1）" in (m.text or ""))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_question_of_a_form(cell: Cell, kind: str) -> None:
    victim = cell.victim
    await onboard(victim)
    victim.send_command("/wages")
    await victim.next_message(lambda m: EMPLOYER_Q in (m.text or ""))
    fault = cell.fail("sendMessage", kind, victim)
    victim.send_text(EMPLOYER)
    await cell.through(fault)
    assert await cell.answer_of("employer") == EMPLOYER  # kept whatever Telegram did

    if kind == "403":
        assert await cell.victim_blocked()  # nothing can reach them; broadcasts skip them
    elif kind == "400":
        await victim.next_message(lambda m: m.text == SORRY)
        victim.send_text(EMPLOYER)  # as the apology asks: the answer is taken again
        await victim.next_message(lambda m: SITE_Q in (m.text or ""))
    else:  # the question was queued and arrives; the form goes on from it
        await victim.next_message(lambda m: SITE_Q in (m.text or ""))
        victim.send_text("阳光花园项目")
        await victim.next_message(lambda m: WORK_Q in (m.text or ""))
    cell.logged_once("sendMessage", kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["answerCallbackQuery", "editMessageText"])
async def test_a_button_of_a_form(cell: Cell, method: str, kind: str) -> None:
    victim = cell.victim
    await onboard(victim)
    await _to_months(victim)
    question = victim.last_message
    assert question is not None
    fault = cell.fail(method, kind, victim)
    victim.press("3个月")
    await cell.through(fault)

    if method == "answerCallbackQuery" or kind not in REFUSALS:
        # A button's answer is a courtesy: the form goes on. A failed edit waits in the outbox, and the
        # next question waits behind it, in order.
        await victim.next_message(lambda m: AMOUNT_Q in (m.text or ""))
        if method == "editMessageText":
            await victim.next_edit(lambda m: m.text == "欠了多久：3个月", message_id=question.message_id)
    elif kind == "403":
        assert await cell.victim_blocked()
    else:
        await victim.next_message(lambda m: m.text == SORRY)
        victim.press("3个月", message_id=question.message_id)  # the buttons are still there
        await victim.next_message(lambda m: AMOUNT_Q in (m.text or ""))
    if kind != "403" or method == "answerCallbackQuery":
        assert await cell.answer_of("unpaid_months") == 3
    cell.logged_once(method, kind)


@pytest.mark.parametrize("kind", KINDS)
async def test_the_last_evidence_button(cell: Cell, kind: str) -> None:
    victim = cell.victim
    await onboard(victim)
    await _to_evidence(victim)
    fault = cell.fail("editMessageReplyMarkup", kind, victim)
    victim.press("✅ 好了")
    await cell.through(fault)

    if kind == "403":
        assert await cell.victim_blocked()
    elif kind == "400":
        await victim.next_message(lambda m: m.text == SORRY)
        victim.press("✅ 好了")
        await victim.next_message(lambda m: DISCLOSE_Q in (m.text or ""))
    else:
        await victim.next_message(lambda m: DISCLOSE_Q in (m.text or ""))
    assert len(await cell.answer_of("evidence")) == 1
    cell.logged_once("editMessageReplyMarkup", kind)


# -- officer alerts and the outbox ----------------------------------------------------------------------

EVIDENCE_METHODS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendVideo": "video",
    "sendVideoNote": "video_note",
}


async def _uploads(sandbox: BotApiSandbox) -> list[AttachmentIn]:
    """One file of each kind a worker can send, stored in the sandbox as Telegram would keep it."""
    uploader = sandbox.person(UPLOADER_ID, first_name="上传")
    uploader.send_photo()
    uploader.send_document("工资条.pdf", b"%PDF-1.4 sandbox")
    uploader.send_voice()
    uploader.send_audio()
    uploader.send_video()
    uploader.send_video_note()
    attachments = []
    for message in uploader.sent_messages:
        kind = message.kind
        media = message.raw[kind][-1] if kind == "photo" else message.raw[kind]
        attachments.append(
            AttachmentIn(kind=kind, file_id=media["file_id"], file_unique_id=media["file_unique_id"])
        )
    return attachments


async def _case(
    bot: UnionApplication, worker_id: int, attachments: list[AttachmentIn], *, located: bool = True
) -> Case:
    """A wages case of the worker's for 王干事 (backup 陈干事), with these files and the site's location."""
    await bot.storage.ensure_worker(worker_id, language="zh-Hans")
    location = {"location": {"latitude": 31.2, "longitude": 121.4}} if located else {}
    return await bot.storage.create_case(
        NewCase(
            kind=CaseKind.WAGES,
            worker_id=worker_id,
            fields={"employer": EMPLOYER, "work": TYPED, **location},
            attachments=attachments,
            assignee_id=OFFICER_ID,
            backup_id=BACKUP_ID,
        )
    )


async def _queue_alerts(bot: UnionApplication, case: Case, attachments: list[AttachmentIn]) -> None:
    wang, chen = await bot.storage.get_officer(OFFICER_ID), await bot.storage.get_officer(BACKUP_ID)
    messages = alerts.alert_messages(
        case, Assignment(wang, chen), attachments=attachments, worker_name=NAME, default_language="zh-Hans"
    )
    for message in messages:
        await bot.storage.enqueue_outbox(message.model_copy(update={"case_id": case.id}))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["sendMessage", *EVIDENCE_METHODS, "sendLocation"])
async def test_an_officers_alert_and_its_evidence(
    cell: Cell, wang: Person, chen: Person, admin: Person, method: str, kind: str
) -> None:
    bot = cell.bot
    attachments = await _uploads(cell.sandbox)
    case = await _case(bot, VICTIM_ID, attachments)
    await _queue_alerts(bot, case, attachments)
    expected = 1 + len(attachments) + 1  # the alert, each file, the site's map pin
    if method != "sendMessage":  # the officer's next case (a message of another method) does not wait
        await _queue_alerts(bot, await _case(bot, BYSTANDER_ID, [], located=False), [])
        expected += 1  # its alert (its backup note goes to 陈干事)
    fault = cell.fail(method, kind, wang)
    await bot.outbox.send_due()
    await chen.next_message(lambda m: case.reference in (m.text or ""))  # the backup is not held up
    if method != "sendMessage":
        await wang.next_message(lambda m: "W-000002" in (m.text or ""))
    await cell.through(fault)

    if kind in REFUSALS:  # given up at once, and the admins told in the bot
        notice = await admin.next_message(lambda m: "没能送达" in (m.text or ""))
        assert notice.text.startswith("⚠️ 发给工会干事王干事的") and f"案件：{case.reference}" in notice.text
        await eventually(lambda: _count(wang), lambda count: count == expected - 1)
    else:  # tried again until Telegram took it
        await eventually(lambda: _count(wang), lambda count: count == expected)
    now = cell.clock.now()
    backlog = await bot.storage.outbox_backlog(
        now, stuck_after=timedelta(minutes=15), given_up_since=now - timedelta(days=1)
    )
    assert backlog.waiting == 0 and backlog.given_up == (1 if kind in REFUSALS else 0)
    cell.logged_once(method, kind)


@pytest.mark.parametrize("kind", KINDS)
async def test_reminders_and_the_morning_digest(
    cell: Cell, wang: Person, chen: Person, admin: Person, kind: str
) -> None:
    bot = cell.bot
    await _case(bot, VICTIM_ID, [])
    cell.clock.advance(timedelta(hours=6))  # past the first response's deadline: reminders are due
    fault = cell.fail("sendMessage", kind, wang)
    await bot.run_schedules()
    due = await bot.storage.due_outbox(cell.clock.now() + timedelta(days=1))
    to_wang = len([item for item in due if item.chat_id == OFFICER_ID])  # his reminder and digest
    await chen.next_message(lambda m: "W-000001" in (m.text or ""))  # the backup's digest goes on
    await cell.through(fault)

    if kind in REFUSALS:
        await admin.next_message(lambda m: "没能送达" in (m.text or ""))
    else:
        await eventually(lambda: _count(wang), lambda count: count >= to_wang)
        texts = [m.text or "" for m in wang.messages]
        assert any(text.startswith(("⏰", "⚠️")) for text in texts)  # the reminder
        assert any("☀️" in text for text in texts)  # the morning digest
    cell.logged_once("sendMessage", kind, messages=1 if kind in REFUSALS else to_wang)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["sendMessage", "sendPhoto", "sendDocument"])
async def test_a_broadcast(cell: Cell, admin: Person, method: str, kind: str) -> None:
    bot, clock = cell.bot, cell.clock
    for person in (cell.victim, cell.bystander):
        await bot.storage.ensure_worker(person.user_id, language="zh-Hans")
        await bot.storage.record_consent(person.user_id, "test")
    media: dict[str, Any] = {}
    if method != "sendMessage":
        media_kind = MediaKind.PHOTO if method == "sendPhoto" else MediaKind.DOCUMENT
        upload = next(a for a in await _uploads(cell.sandbox) if a.kind == media_kind.value)
        media = {"media_kind": media_kind, "media_file_id": upload.file_id}
    await create_broadcast(
        bot.storage,
        bot.config,
        clock,
        created_by=ADMIN_ID,
        texts={"zh-Hans": "周六上午九点，劳动法培训。"},
        audience=Audience(kind=AudienceKind.EVERYONE),
        schedule=Schedule(kind=ScheduleKind.ONCE, at=clock.now()),
        **media,
    )
    # The bot's dispatcher code on the bot's connection, with its pauses counted instead of slept.
    fake = FakeTime()
    dispatcher = BroadcastDispatcher(
        bot.storage, bot.union_bot, clock, bot.config, rate=25, monotonic=fake.monotonic, sleep=fake.sleep
    )
    fault = cell.fail(method, kind, cell.victim)
    await dispatcher.sweep()
    assert len(cell.bystander.messages) == 1  # nobody waits for the victim
    fault.clear()
    clock.advance(timedelta(minutes=11))
    await dispatcher.sweep()
    report = await bot.storage.latest_broadcast_report(1)
    assert report is not None and report.pending == 0 and report.finished_at is not None

    if kind == "400":
        assert (report.sent, report.failed) == (1, 1)
    elif kind == "403":
        assert (report.sent, report.blocked) == (1, 1) and await cell.victim_blocked()
    else:
        assert report.sent == 2 and len(cell.victim.messages) == 1
    await bot.outbox.send_due()
    await admin.next_message(lambda m: "📊" in (m.text or ""))  # the admin's report tells how it went
    cell.logged_once(method, kind)


# -- a worker's own data and chat -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_mydata(cell: Cell, kind: str) -> None:
    victim = cell.victim
    await onboard(victim)
    case = await _case(cell.bot, VICTIM_ID, [])
    fault = cell.fail("sendDocument", kind, victim)
    victim.send_command("/mydata")
    await cell.through(fault)
    if kind == "403":
        await eventually(cell.victim_blocked, bool)
    else:
        told = await victim.next_message()
        assert told.text.startswith("抱歉，文件可能没有发到您这里")
    events = await cell.bot.storage.list_case_events(case.id)
    assert [e for e in events if e.action == "exported"] == []  # nothing reached them: none recorded

    victim.send_command("/mydata")  # asked again, it comes
    await victim.next_message(lambda m: m.kind == "document")
    cell.logged_once("sendDocument", kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["/deletemessages", "/forget"])
async def test_deleting_the_chat(cell: Cell, command: str, kind: str) -> None:
    victim = cell.victim
    await onboard(victim)
    fault = cell.fail("deleteMessages", kind, victim)
    victim.send_command(command)
    if command == "/forget":
        victim.press((await victim.next_message(lambda m: bool(m.button_labels))).button_labels[0])
    told = await victim.next_message(lambda m: "可能没有删掉" in (m.text or ""))
    assert "超过48小时" not in told.text  # they are minutes old: never said they are too old
    await cell.through(fault)
    if command == "/deletemessages":  # kept, so asking again deletes them
        assert await cell.bot.storage.list_chat_messages(VICTIM_ID) != []
        victim.send_command(command)
        done = await victim.next_message(lambda m: "已删除这个对话里的" in (m.text or "") and m != told)
        assert "可能没有删掉" not in done.text
    else:  # the worker's data is gone all the same, and they were told how to clear the chat
        assert await cell.bot.storage.get_worker(VICTIM_ID) is None
        assert "请自己在 Telegram 里删除这个对话" in told.text
    cell.logged_once("deleteMessages", kind)


# -- admins: /export and /report ----------------------------------------------------------------------------


async def _export(admin: Person) -> None:
    admin.send_command("/export cases 2026-01-01 2026-01-31")
    choose = await admin.next_message(lambda m: bool(m.button_labels))
    admin.press("Excel，工会内部用", message_id=choose.message_id)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["sendChatAction", "sendDocument"])
async def test_export(cell: Cell, admin: Person, method: str, kind: str) -> None:
    case = await _case(cell.bot, VICTIM_ID, [])

    async def exported() -> list[object]:
        return [e for e in await cell.bot.storage.list_case_events(case.id) if e.action == "exported"]

    fault = cell.fail(method, kind, admin)
    await _export(admin)
    await cell.through(fault)
    if method == "sendChatAction":  # "uploading…" is a courtesy: the file comes all the same
        await admin.next_message(lambda m: m.kind == "document")
        await eventually(exported, bool)
    else:
        if kind != "403":
            told = await admin.next_message(lambda m: "文件" in (m.text or ""))
            assert told.text.startswith("抱歉，文件刚才没能发出去") and "这次不记为已导出" in told.text
        assert await exported() == []
        await _export(admin)  # asked again, it comes
        await admin.next_message(lambda m: m.kind == "document")
    cell.logged_once(method, kind)


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["editMessageText", "sendChatAction", "sendPhoto"])
async def test_report(
    cell: Cell, admin: Person, monkeypatch: pytest.MonkeyPatch, method: str, kind: str
) -> None:
    from bot.reports import charts

    # Drawing is not what is tested here, and takes seconds: three tiny pictures stand in for the charts.
    monkeypatch.setattr(charts, "all_charts", lambda *_args: [PNG, PNG, PNG])
    admin.send_command("/report")
    choose = await admin.next_message(lambda m: "统计哪段时间" in (m.text or ""))
    if method == "editMessageText":
        fault = cell.fail(method, kind, admin)
        admin.press("本月", message_id=choose.message_id)
    else:
        admin.press("本月", message_id=choose.message_id)
        report = await admin.next_edit(message_id=choose.message_id)
        fault = cell.fail(method, kind, admin)
        admin.press("📈 图表", message_id=report.message_id)
    await cell.through(fault)

    if method == "editMessageText":
        if kind == "400":
            await admin.next_message(lambda m: m.text == SORRY)
        elif kind != "403":  # waited in the outbox, then shown
            await admin.next_edit(lambda m: "统计报表" in (m.text or ""), message_id=choose.message_id)
    elif method == "sendChatAction":
        for _ in range(3):
            await admin.next_message(lambda m: m.kind == "photo")
    elif kind != "403":
        told = await admin.next_message(lambda m: "图表" in (m.text or "") and m.kind == "text")
        assert told.text.startswith("抱歉，图表刚才没能发出去")
    cell.logged_once(method, kind)


# -- start-up and polling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["getMe", "deleteWebhook", "setMyCommands"])
async def test_start_up(
    config: Config,
    sandbox: BotApiSandbox,
    clock: FakeClock,
    run_logs: pytest.LogCaptureFixture,
    method: str,
    kind: str,
) -> None:
    # One failure at start (then Telegram answers): the start waits for it, or the menu comes later.
    fault = sandbox.fail(method, STATUS[kind], times=1)
    if method == "getMe" and kind in REFUSALS:
        # Telegram refusing to say who the bot is cannot pass by itself: the start stops, saying why
        # (`union-bot run` prints it and exits 1).
        with pytest.raises(Exception, match=REASON[kind]):
            async with running_bot(config, clock=clock, rate_limited=False):
                pass
        logged_once(run_logs, method, kind)
        return
    async with running_bot(config, clock=clock, rate_limited=False) as bot:
        await bystander_is_answered(sandbox.person(BYSTANDER_ID, first_name="李四"))
        assert fault.hits == 1
        if method == "setMyCommands":  # the menu is published when Telegram takes it
            [retry] = bot.job_queue.get_jobs_by_name(MENU_JOB)  # type: ignore[union-attr]
            await retry.run(bot)
            assert [command["command"] for command in sandbox.commands()][:1] == ["start"]
    logged_once(run_logs, method, kind)


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "timeout"])
async def test_polling(cell: Cell, kind: str) -> None:
    # (A long poll nobody answers looks like a quiet one until its read timeout, ten seconds on; then PTB
    # polls again at once. Too slow for the matrix: tests/test_app.py takes the whole API down instead.)
    fault = cell.sandbox.fail("getUpdates", STATUS[kind], times=1)
    await bystander_is_answered(cell.bystander)
    assert fault.hits == 1
    cell.logged_once("getUpdates", kind)
    assert any("Telegram answers again" in r.getMessage() for r in cell.logs.records)


# -- trainings, worker files and hardship help ------------------------------------------------------------

TRAINING_STARTS = datetime(2026, 1, 8, 1, 0, tzinfo=UTC)  # Thursday 09:00 in Shanghai; the clock is Monday
LATITUDE, LONGITUDE = 22.5431, 114.0579
SOON_Q = "您报名的培训快开始了"


async def _training(bot: UnionApplication) -> Training:
    """A training with a map pin and room for everyone, open to every worker."""
    return await bot.storage.create_training(
        NewTraining(
            titles={"zh-Hans": "电工安全培训"},
            starts_at=TRAINING_STARTS,
            ends_at=TRAINING_STARTS + timedelta(hours=2),
            place="镇工会二楼",
            latitude=LATITUDE,
            longitude=LONGITUDE,
            seats=5,
            signup_deadline=TRAINING_STARTS - timedelta(hours=15),
        )
    )


async def _agreed(bot: UnionApplication, person: Person) -> None:
    """A worker who did /start and agreed to the current privacy text (a sign-up needs it), with a name."""
    await bot.storage.ensure_worker(person.user_id, language="zh-Hans")
    await bot.storage.record_consent(person.user_id, CONSENT_VERSION)
    await bot.storage.update_worker_profile(person.user_id, {"name": NAME, "phone": PHONE})


async def _signup(bot: UnionApplication, training: Training, worker_id: int) -> TrainingSignup | None:
    return await bot.storage.get_signup(training.id, worker_id)


def _texts(person: Person, part: str) -> list[SentMessage]:
    return [m for m in person.messages if part in (m.text or "")]


def _pins(person: Person) -> list[SentMessage]:
    return [m for m in person.messages if m.kind == "location"]


def _with_button(label: str) -> Callable[[SentMessage], bool]:
    return lambda message: label in message.button_labels


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["answerCallbackQuery", "sendMessage", "sendLocation"])
async def test_signing_up_for_a_training(cell: Cell, admin: Person, method: str, kind: str) -> None:
    bot, victim = cell.bot, cell.victim
    await _agreed(bot, victim)
    training = await _training(bot)
    victim.send_command("/training")
    card = await victim.next_message(lambda m: "✍️ 报名" in m.button_labels)
    fault = cell.fail(method, kind, victim)
    victim.press("✍️ 报名", message_id=card.message_id)
    await cell.through(fault)
    signup = await eventually(lambda: _signup(bot, training, VICTIM_ID), lambda s: s is not None)
    assert signup is not None and signup.status == SignupStatus.CONFIRMED  # whatever Telegram said

    if method == "sendLocation" and kind in REFUSALS:  # the seat was said; the pin is given up and told
        await victim.next_message(lambda m: "报名成功" in (m.text or ""))
        await admin.next_message(lambda m: "没能送达" in (m.text or ""))
        assert _pins(victim) == _texts(victim, SORRY) == []  # no apology after "signed up"
        assert await cell.victim_blocked() == (kind == "403")
    elif kind == "403" and method == "sendMessage":
        assert await cell.victim_blocked()  # reminders and news skip them until they write again
    elif kind == "400" and method == "sendMessage":
        await victim.next_message(lambda m: m.text == SORRY)
        victim.press("✍️ 报名", message_id=card.message_id)  # as the apology asks: the seat is there
        await victim.next_message(lambda m: (m.text or "").startswith("✅ 您已经报过名了，有名额。"))
        await victim.next_message(lambda m: m.kind == "location")
    else:  # the confirmation, then the pin, each once (a reply Telegram did not take came from the outbox)
        done = await victim.next_message(lambda m: "报名成功" in (m.text or ""))
        pin = await victim.next_message(lambda m: m.kind == "location")
        assert done.seq < pin.seq and len(_texts(victim, "报名成功")) == len(_pins(victim)) == 1
    cell.logged_once(method, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["sendMessage", "sendLocation"])
async def test_a_training_reminder(cell: Cell, admin: Person, method: str, kind: str) -> None:
    bot, victim, bystander = cell.bot, cell.victim, cell.bystander
    training = await _training(bot)
    for person in (victim, bystander):
        await _agreed(bot, person)
        await bot.storage.sign_up(training.id, person.user_id)
    cell.clock.set(TRAINING_STARTS - timedelta(hours=2))  # the 2-hour reminder, with the pin
    fault = cell.fail(method, kind, victim)
    await bot.run_schedules()
    await bystander.next_message(lambda m: m.kind == "location")  # the other worker is not held up
    await cell.through(fault)
    await bot.run_schedules()  # a later pass queues nothing again

    if kind in REFUSALS:  # given up at once, and the admins told in the bot, by the worker's name
        notice = await admin.next_message(lambda m: "没能送达" in (m.text or ""))
        assert f"工人{NAME}" in (notice.text or "")
        assert len(_texts(victim, SOON_Q)) + len(_pins(victim)) == 1  # the other part came
        assert await cell.victim_blocked() == (kind == "403")
    else:  # tried again until Telegram took it, in order, once
        await eventually(lambda: _count(victim), lambda count: count == 2)
        text, pin = victim.messages
        assert SOON_Q in (text.text or "") and pin.kind == "location"
    assert len(_texts(bystander, SOON_Q)) == len(_pins(bystander)) == 1
    now = cell.clock.now()
    backlog = await bot.storage.outbox_backlog(
        now, stuck_after=timedelta(minutes=15), given_up_since=now - timedelta(days=1)
    )
    assert backlog.waiting == 0 and backlog.given_up == (1 if kind in REFUSALS else 0)
    cell.logged_once(method, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["answerCallbackQuery", "editMessageText"])
async def test_marking_attendance(cell: Cell, wang: Person, method: str, kind: str) -> None:
    bot = cell.bot
    training = await _training(bot)
    await _agreed(bot, cell.victim)
    await bot.storage.sign_up(training.id, VICTIM_ID)
    cell.clock.set(TRAINING_STARTS - timedelta(minutes=30))
    wang.send_command("/trainings")
    wang.press((await wang.next_message(lambda m: bool(m.button_labels))).button_labels[0])
    card = await wang.next_message(lambda m: f"⬜ {NAME}" in m.button_labels)
    fault = cell.fail(method, kind, wang)
    wang.press(f"⬜ {NAME}", message_id=card.message_id)
    await cell.through(fault)

    async def came() -> bool | None:
        signup = await _signup(bot, training, VICTIM_ID)
        return signup.attended if signup is not None else None

    assert await eventually(came, lambda attended: attended is not None) is True  # the mark is stored
    if kind == "400" and method == "editMessageText":
        await wang.next_message(lambda m: m.text == SORRY)
        wang.press(f"⬜ {NAME}", message_id=card.message_id)  # the card still shows the old mark: again
    if kind != "403" or method == "answerCallbackQuery":  # the card shows what is stored
        edited = await wang.next_edit(lambda m: f"✅ {NAME}" in m.button_labels, message_id=card.message_id)
        assert (edited.text or "").endswith("来了：1人 · 没来：0人 · 未记录：0人")
    assert await came() is True
    cell.logged_once(method, kind)


async def _to_the_deadline(admin: Person) -> SentMessage:
    """An admin's new training, step by step, up to the deadline question; the question."""
    admin.send_command("/trainings")
    admin.press((await admin.next_message(_with_button("➕ 新建培训"))).button_labels[-1])
    await admin.next_message(lambda m: "标题" in (m.text or ""))
    for step in ("劳动法讲座", "跳过", "Labour law", "01-10 9:00", "3小时", "城关镇职工之家三楼"):
        if step == "跳过":
            admin.press(step)
        else:
            admin.send_text(step)
        await admin.next_message()
    admin.send_location(LATITUDE, LONGITUDE)
    await admin.next_message(lambda m: "有多少个名额" in (m.text or ""))
    admin.send_text("30")
    for label in ("所有行业", "跳过", "跳过"):
        await admin.next_message(_with_button(label))
        admin.press(label)
    return await admin.next_message(lambda m: "报名到什么时候截止" in (m.text or ""))


@pytest.mark.parametrize("kind", KINDS)
async def test_the_map_pin_of_an_admins_training_preview(cell: Cell, admin: Person, kind: str) -> None:
    question = await _to_the_deadline(admin)
    deadline = question.button_labels[0]
    fault = cell.fail("sendLocation", kind, admin)
    admin.press(deadline, message_id=question.message_id)
    await cell.through(fault)

    async def draft() -> dict[str, Any]:
        stored = (await cell.bot.storage.load_persistence("user_data")).get(str(ADMIN_ID), {})
        return stored.get(TRAINING_DRAFT, {})

    assert (await eventually(draft, lambda d: "deadline" in d))["latitude"] == LATITUDE  # nothing lost
    if kind == "403":
        assert await cell.bot.storage.list_trainings() == []  # kept as a draft for when they come back
        cell.logged_once("sendLocation", kind)
        return
    if kind == "400":
        await admin.next_message(lambda m: m.text == SORRY)
        admin.press(deadline, message_id=question.message_id)  # as the apology asks
    # The preview in order: the card, the pin, then what and to whom with the buttons.
    pin = await admin.next_message(lambda m: m.kind == "location")
    summary = await admin.next_message(lambda m: "确定发布吗？" in (m.text or ""))
    assert pin.seq < summary.seq
    admin.press("✅ 发布", message_id=summary.message_id)
    await admin.next_message(lambda m: (m.text or "").startswith("第1号培训已发布。"))
    [training] = await cell.bot.storage.list_trainings()
    assert (training.latitude, training.longitude) == (LATITUDE, LONGITUDE)
    cell.logged_once("sendLocation", kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["sendMessage", "answerCallbackQuery"])
async def test_a_worker_file(cell: Cell, wang: Person, method: str, kind: str) -> None:
    bot = cell.bot
    await _case(bot, VICTIM_ID, [])
    await bot.storage.update_worker_profile(VICTIM_ID, {"name": NAME, "phone": PHONE, "employer": EMPLOYER})
    if method == "sendMessage":
        fault = cell.fail(method, kind, wang)
        wang.send_command("/worker W-000001")
    else:
        wang.send_command("/case W-000001")
        card = await wang.next_message(lambda m: "📁 工人档案" in m.button_labels)
        fault = cell.fail(method, kind, wang)
        wang.press("📁 工人档案", message_id=card.message_id)
    await cell.through(fault)

    def is_file(message: SentMessage) -> bool:
        return (message.text or "").startswith(f"📁 工人档案：{NAME}")

    if kind == "403" and method == "sendMessage":
        assert _texts(wang, "工人档案：") == []  # an officer who blocked the bot: nothing to tell
    else:
        if kind == "400" and method == "sendMessage":
            await wang.next_message(lambda m: m.text == SORRY)
            wang.send_command("/worker W-000001")  # asked again, it comes
        file = await wang.next_message(is_file)
        assert PHONE in (file.text or "") and len([m for m in wang.messages if is_file(m)]) == 1
    cell.logged_once(method, kind)


async def _to_the_story(worker: Person) -> None:
    worker.send_command("/assistance")
    for label in ("生活困难补助", "1个人", "3个人或更多", "没有", "有"):
        await worker.next_message(_with_button(label))
        worker.press(label)
    await worker.next_message(lambda m: INCOME_Q in (m.text or ""))
    worker.send_text("八千五")
    await worker.next_message(lambda m: STORY_Q in (m.text or ""))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_question_of_the_assistance_form(cell: Cell, kind: str) -> None:
    victim = cell.victim
    await onboard(victim)
    await _to_the_story(victim)
    fault = cell.fail("sendMessage", kind, victim)
    victim.send_text(TYPED)
    await cell.through(fault)
    assert await cell.answer_of("description") == TYPED  # kept whatever Telegram did

    if kind == "403":
        assert await cell.victim_blocked()
    elif kind == "400":
        await victim.next_message(lambda m: m.text == SORRY)
        victim.send_text(TYPED)  # as the apology asks: the answer is taken again
        await victim.next_message(lambda m: DOCUMENTS_Q in (m.text or ""))
    else:  # the question was queued and arrives; the form goes on from it
        await victim.next_message(lambda m: DOCUMENTS_Q in (m.text or ""))
        victim.press("跳过：我没有")
        await victim.next_message(lambda m: SHARE_Q in (m.text or ""))
    cell.logged_once("sendMessage", kind)
