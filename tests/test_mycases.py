"""My cases, end to end through the sandbox: the list, a case's history, messages, withdrawing, access."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.core.config import Config
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import OFFICER_ID, WORKER_ID, running_bot
from storage import Storage
from storage.models import Case, CaseKind, CaseStatus, NewCase, NewCaseEvent
from tests.flow_helpers import onboard, press

OTHER_ID = 1002


async def _case(storage: Storage, kind: CaseKind = CaseKind.WAGES, worker_id: int = WORKER_ID) -> Case:
    return await storage.create_case(NewCase(kind=kind, worker_id=worker_id, fields={"employer": "宏达劳务"}))


async def _officer_moves(
    storage: Storage, case: Case, *statuses: CaseStatus, note: str | None = None
) -> Case:
    """An officer changes the status step by step (the last step carries the note to the worker)."""
    for i, new in enumerate(statuses):
        case = await storage.change_case_status(
            case.id,
            expected=case.status,
            new=new,
            actor_id=OFFICER_ID,
            actor_role="officer",
            note=note if i == len(statuses) - 1 else None,
        )
    return case


async def _stale(worker: Person, data: str) -> str:
    query = worker.press_data(data)
    return (await worker.next_answer(query))["text"]


async def test_a_worker_without_cases_gets_a_kind_line_and_the_menu(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    reply = await press(worker, "📂 我的求助")
    assert reply.text.startswith("您还没有求助。")
    assert "💰 反映欠薪" in reply.button_labels

    worker.send_command("/start")
    await worker.next_message()
    worker.send_command("/mycases")
    assert (await worker.next_message()).text.startswith("您还没有求助。")


async def test_list_and_history_in_english(bot: UnionApplication, worker: Person, clock: FakeClock) -> None:
    await onboard(worker, "English")
    wages = await _case(bot.storage)
    clock.set(datetime(2026, 1, 5, 20, 0, tzinfo=UTC))  # already 6 January in Shanghai
    legal = await _case(bot.storage, CaseKind.LEGAL)
    legal = await _officer_moves(
        bot.storage,
        legal,
        CaseStatus.ACKNOWLEDGED,
        CaseStatus.WAITING_FOR_WORKER,
        note="Please send your <b>pay slip</b> & contract *_[",
    )
    await bot.storage.add_case_event(
        NewCaseEvent(
            case_id=legal.id,
            actor_id=OFFICER_ID,
            actor_role="officer",
            action="note",
            note="internal: boss is a relative",
        )
    )

    worker.send_command("/mycases")
    listing = await worker.next_message()
    assert listing.text.startswith("Your cases, newest first.")
    assert (
        "L-000002 · Legal aid\nStatus: the officer needs your answer\nLast update: 2026-01-06" in listing.text
    )
    assert (
        "W-000001 · Unpaid wages\nStatus: received, waiting for an officer\nLast update: 2026-01-05"
        in listing.text
    )
    assert listing.inline_buttons == [
        [("❗ L-000002 · Legal aid", f"mycase:open:{legal.id}")],
        [("W-000001 · Unpaid wages", f"mycase:open:{wages.id}")],
        [("⬅️ Main menu", "mycase:menu")],
    ]

    view = await press(worker, "❗ L-000002 · Legal aid")
    assert view.text.splitlines()[:2] == ["L-000002 · Legal aid", "Status: the officer needs your answer"]
    assert "2026-01-06 — Request received" in view.text
    assert "2026-01-06 — Status: an officer has it" in view.text
    assert (
        "2026-01-06 — Status: the officer needs your answer\n"
        "💬 Please send your <b>pay slip</b> & contract *_[" in view.text
    )
    assert "internal" not in view.text  # internal notes are never worker-visible
    assert view.button_labels == [
        "✉️ Send a message to the officer",
        "Withdraw this case",
        "⬅️ Back to my cases",
    ]

    again = await press(worker, "⬅️ Back to my cases")
    assert again.text == listing.text
    menu = await press(worker, "⬅️ Main menu")
    assert menu.text == "What would you like to do?"
    assert set(worker.presses) == set(worker.callback_answers)


async def test_only_the_ten_newest_cases_are_listed(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "English")
    for _ in range(12):
        await _case(bot.storage)
    worker.send_command("/mycases")
    listing = await worker.next_message()
    assert len(listing.button_labels) == 11  # ten cases and the way back
    assert listing.button_labels[0] == "W-000012 · Unpaid wages" and "W-000002" not in listing.text
    assert "Only your 10 newest cases are shown (of 12)." in listing.text


async def test_nobody_sees_or_touches_another_workers_case(
    bot: UnionApplication, worker: Person, sandbox: BotApiSandbox
) -> None:
    other = sandbox.person(OTHER_ID, first_name="小李", language_code="zh-hans")
    await onboard(worker, "简体中文")
    await onboard(other, "English")
    theirs = await _case(bot.storage, worker_id=OTHER_ID)
    mine = await _case(bot.storage)

    worker.send_command("/mycases")
    listing = await worker.next_message()
    assert listing.button_labels == [f"{mine.reference} · 欠薪", "⬅️ 主菜单"]
    worker.press(f"{mine.reference} · 欠薪")
    await worker.next_message(lambda m: "撤回这个求助" in m.button_labels)
    worker.press("撤回这个求助")
    await worker.next_message(lambda m: "是的，撤回" in m.button_labels)

    seen = len(worker.messages)
    for data in (
        f"mycase:open:{theirs.id}",
        f"mycase:write:{theirs.id}",
        f"mycase:withdraw:{theirs.id}",
        f"mycase:yes:{theirs.id}",
        f"mycase:no:{theirs.id}",
        "mycase:open:999",
        "mycase:open:abc",
        "mycase:open:²",
        "mycase:open:",
        "mycase:nonsense",
    ):
        assert "不能用了" in await _stale(worker, data), data
    worker.send_text("随便说说")
    assert (await worker.next_message()).text == "请点上面的一个按钮。"  # still at the question, nothing else
    assert len(worker.messages) == seen + 1
    assert (await bot.storage.get_case(theirs.id)).status == CaseStatus.NEW  # type: ignore[union-attr]
    assert [e.action for e in await bot.storage.list_case_events(theirs.id)] == ["created"]

    other.send_command("/mycases")
    assert (await other.next_message()).button_labels == [f"{theirs.reference} · Unpaid wages", "⬅️ Main menu"]


async def test_withdraw_asks_first_then_changes_the_status(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    case = await _case(bot.storage)
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, f"{case.reference} · 欠薪")

    confirm = await press(worker, "撤回这个求助")
    assert confirm.text == f"要撤回 {case.reference} 吗？撤回以后，工会就不再办了。"
    assert confirm.button_labels == ["是的，撤回", "不撤回，继续办"]
    worker.send_sticker()
    assert (await worker.next_message()).text == "请点上面的一个按钮。"
    kept = await press(worker, "不撤回，继续办")
    assert kept.text == "好的，这个求助继续办。"
    assert (await bot.storage.get_case(case.id)).status == CaseStatus.NEW  # type: ignore[union-attr]
    assert "撤回这个求助" in (await worker.next_message()).button_labels

    await press(worker, "撤回这个求助")
    done = await press(worker, "是的，撤回")
    assert done.text.startswith(f"{case.reference} 已撤回。")
    view = await worker.next_message()
    assert "状态：已撤回" in view.text and "您撤回了这个求助" in view.text
    assert view.button_labels == ["✉️ 给工会干事留言", "⬅️ 返回我的求助"]
    stored = await bot.storage.get_case(case.id)
    assert stored is not None and stored.status == CaseStatus.WITHDRAWN
    last = (await bot.storage.list_case_events(case.id))[-1]
    assert (last.actor_id, last.actor_role, last.to_status, last.visible_to_worker) == (
        WORKER_ID,
        "worker",
        CaseStatus.WITHDRAWN,
        True,
    )

    assert "不能用了" in await _stale(worker, f"mycase:yes:{case.id}")  # the old confirmation, pressed again
    worker.press("撤回这个求助", message_id=confirm.message_id - 1)  # withdraw button on an old view
    assert "不能撤回了" in (await worker.next_message()).text


async def test_withdraw_when_the_officer_acted_meanwhile(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "English")
    case = await _case(bot.storage)
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, "W-000001 · Unpaid wages")
    await press(worker, "Withdraw this case")
    await _officer_moves(
        bot.storage, case, CaseStatus.ACKNOWLEDGED, CaseStatus.RESOLVED, note="Paid in full."
    )

    explained = await press(worker, "Yes, withdraw")
    assert (
        explained.text
        == "W-000001 changed in the meantime, so it was not withdrawn. Here is how it stands now."
    )
    view = await worker.next_message()
    assert "Status: finished" in view.text and "💬 Paid in full." in view.text
    assert "Withdraw this case" not in view.button_labels
    assert (await bot.storage.get_case(case.id)).status == CaseStatus.RESOLVED  # type: ignore[union-attr]


async def test_messages_reach_storage_intact_and_answer_the_officer(
    bot: UnionApplication, worker: Person
) -> None:
    await onboard(worker, "简体中文")
    case = await _officer_moves(
        bot.storage,
        await _case(bot.storage),
        CaseStatus.ACKNOWLEDGED,
        CaseStatus.WAITING_FOR_WORKER,
        note="欠了几个月？",
    )
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, f"❗ {case.reference} · 欠薪")
    prompt = await press(worker, "✉️ 给工会干事留言")
    assert prompt.text.startswith(f"请写下您要对工会干事说的话（关于 {case.reference}）")

    worker.send_sticker()
    assert (await worker.next_message()).text == "请写下您要说的话，或者发一张照片、一个文件或一条语音。"
    worker.send_location(31.2, 121.4)
    assert (await worker.next_message()).text.startswith("请写下您要说的话")
    worker.send_text("长" * 2001)
    assert (await worker.next_message()).text == "太长了，请不要超过2000个字。"
    worker.send_command("/nonsense")
    assert "没有这个命令" in (await worker.next_message()).text
    assert "不能用了" in await _stale(worker, "mycase:yes:1")

    worker.send_text("<b>&*_[")
    sent = await worker.next_message()
    assert sent.text == f"已发送。您的留言已经存到 {case.reference} 里，工会干事会看到。"
    view = await worker.next_message()
    assert "状态：正在办" in view.text and "您的留言\n💬 <b>&*_[" in view.text
    stored = await bot.storage.get_case(case.id)
    assert stored is not None and stored.status == CaseStatus.IN_PROGRESS
    events = await bot.storage.list_case_events(case.id)
    message = next(e for e in events if e.action == "message")
    assert (message.note, message.actor_id, message.actor_role, message.visible_to_worker) == (
        "<b>&*_[",
        WORKER_ID,
        "worker",
        True,
    )
    assert events[-1].to_status == CaseStatus.IN_PROGRESS and events[-1].actor_role == "worker"

    await press(worker, "✉️ 给工会干事留言")
    worker.send_photo(caption="工资条 <i>&")
    assert (await worker.next_message()).text.startswith("已发送。")
    assert "💬 工资条 <i>&" in (await worker.next_message()).text  # the case again
    attachments = await bot.storage.list_attachments(case.id)
    assert [(a.kind, a.caption) for a in attachments] == [("photo", "工资条 <i>&")]
    assert (await bot.storage.list_case_events(case.id))[-1].note == "工资条 <i>&"
    assert (await bot.storage.get_case(case.id)).status == CaseStatus.IN_PROGRESS  # type: ignore[union-attr]

    worker.send_text("还有一件事")  # writing ended with the photo: this is not for the officer
    assert "没看懂" in (await worker.next_message()).text
    assert len([e for e in await bot.storage.list_case_events(case.id) if e.action == "message"]) == 2


async def test_documents_and_voice_notes_in_english(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "English")
    case = await _case(bot.storage, CaseKind.LEGAL)
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, "L-000001 · Legal aid")
    prompt = await press(worker, "✉️ Send a message to the officer")
    assert prompt.text.startswith("Write your message to the officer about L-000001.")
    assert prompt.button_labels == ["✖️ Cancel"]
    worker.send_document("contract.pdf", b"%PDF-1.4 contract")
    assert (await worker.next_message()).text.startswith("Sent. Your message is saved with L-000001")
    view = await worker.next_message()
    assert "Your message" in view.text
    await press(worker, "✉️ Send a message to the officer")
    worker.send_voice()
    assert (await worker.next_message()).text.startswith("Sent.")
    attachments = await bot.storage.list_attachments(case.id)
    assert [(a.kind, a.file_name) for a in attachments] == [("document", "contract.pdf"), ("voice", None)]
    assert (await bot.storage.get_case(case.id)).status == CaseStatus.NEW  # type: ignore[union-attr]


async def test_cancel_and_other_commands_leave_without_sending(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "English")
    case = await _case(bot.storage)
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, "W-000001 · Unpaid wages")

    await press(worker, "✉️ Send a message to the officer")
    worker.send_command("/cancel")
    assert (await worker.next_message()).text == "Cancelled. Nothing was sent or changed."

    await press(worker, "✉️ Send a message to the officer")
    worker.send_command("/start")
    menu = await worker.next_message()
    assert menu.text.startswith("You left “My cases”. Nothing was sent or changed.")
    assert "📂 My cases" in menu.button_labels
    worker.send_text("hello")
    assert "did not understand" in (await worker.next_message()).text

    await press(worker, "✉️ Send a message to the officer")
    worker.send_command("/rights")
    assert (await worker.next_message()).text.startswith("You left")
    assert (await worker.next_message()).text == "Know your rights. Choose a topic:"

    await press(worker, "Withdraw this case")
    worker.press("❓ Help")
    assert (await worker.next_message()).text.startswith("You left")
    assert (await worker.next_message()).text.startswith("What you can do:")

    prompt = await press(worker, "✉️ Send a message to the officer")
    reopened = await press(worker, "✖️ Cancel")  # the prompt's own button: back to the case
    assert reopened.text.startswith("W-000001 · Unpaid wages")
    worker.send_text("hello again")
    assert "did not understand" in (await worker.next_message()).text
    assert "no longer active" in await _stale(worker, f"mycase:yes:{case.id}")

    assert [e.action for e in await bot.storage.list_case_events(case.id)] == ["created"]
    assert (await bot.storage.get_case(case.id)).status == CaseStatus.NEW  # type: ignore[union-attr]
    assert prompt.message_id < reopened.message_id


async def test_a_form_started_while_writing_takes_over(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    case = await _case(bot.storage)
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, f"{case.reference} · 欠薪")
    await press(worker, "✉️ 给工会干事留言")

    worker.send_command("/join")
    assert (await worker.next_message()).text == "您叫什么名字？请写全名。"
    worker.send_command("/cancel")
    assert (await worker.next_message()).text == "已取消，什么都没有发出去。"
    worker.send_text("你好")  # not the message to the officer any more
    assert "没看懂" in (await worker.next_message()).text
    assert [e.action for e in await bot.storage.list_case_events(case.id)] == ["created"]


async def test_a_restart_while_writing_resumes_there(
    config: Config, clock: FakeClock, sandbox: BotApiSandbox, worker: Person
) -> None:
    async with running_bot(config, clock=clock) as application:
        await onboard(worker, "简体中文")
        case = await _case(application.storage)
        worker.send_command("/mycases")
        await worker.next_message()
        await press(worker, f"{case.reference} · 欠薪")
        await press(worker, "✉️ 给工会干事留言")

    async with running_bot(config, clock=clock) as application:
        worker.send_text("老板说下个月发 & <不一定>")
        assert (await worker.next_message()).text.startswith("已发送。")
        events = await application.storage.list_case_events(case.id)
        assert events[-1].action == "message" and events[-1].note == "老板说下个月发 & <不一定>"


async def test_an_album_of_photos_all_reach_the_case(bot: UnionApplication, worker: Person) -> None:
    await onboard(worker, "简体中文")
    case = await _case(bot.storage, CaseKind.WAGES)
    worker.send_command("/mycases")
    await worker.next_message()
    await press(worker, f"{case.reference} · 欠薪")
    await press(worker, "✉️ 给工会干事留言")
    for number in range(3):  # Telegram delivers an album as one update per photo
        worker.send_photo(caption="工资条" if number == 0 else None, media_group_id="album-1")
    await worker.next_message(lambda m: m.text.startswith("这个也存到"))
    await worker.next_message(lambda m: m.text.startswith("这个也存到"))
    assert [a.kind for a in await bot.storage.list_attachments(case.id)] == ["photo", "photo", "photo"]
    worker.send_photo(media_group_id="album-2")  # a new album, not sent to the officer: not kept
    assert "没看懂" in (await worker.next_message(lambda m: "没看懂" in m.text)).text
    assert len(await bot.storage.list_attachments(case.id)) == 3
