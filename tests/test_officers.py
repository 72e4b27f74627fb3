"""Officer and admin commands, end to end over the sandbox, with their access checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import UnionApplication
from bot.core.clock import FakeClock
from bot.officers.lists import normalise_reference
from bot.sandbox.server import BotApiSandbox, Person
from bot.sandbox.session import ADMIN_ID, BACKUP_ID, OFFICER_ID, WORKER_ID
from storage import Storage
from storage.models import Case, CaseKind, CaseStatus, NewCase, Priority


async def _case(
    storage: Storage,
    kind: CaseKind = CaseKind.WAGES,
    *,
    assignee: int = OFFICER_ID,
    backup: int | None = BACKUP_ID,
    priority: Priority = Priority.NORMAL,
    due_in: timedelta | None = None,
    clock: FakeClock | None = None,
    **fields: object,
) -> Case:
    """A case as the flows file it (the flows themselves are tested end to end elsewhere)."""
    await storage.ensure_worker(WORKER_ID, language="zh-Hans")
    due = clock.now() + due_in if clock is not None and due_in is not None else None
    return await storage.create_case(
        NewCase(
            kind=kind,
            worker_id=WORKER_ID,
            priority=priority,
            fields={"employer": "宏达劳务", "site": "阳光花园", "workers_affected": 1, **fields},
            assignee_id=assignee,
            backup_id=backup,
            first_response_due_at=due,
        )
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("W-000123", "W-000123"), ("w123", "W-000123"), ("m-7", "M-000007"), ("123", None), ("W-12a", None)],
)
def test_normalise_reference(typed: str, expected: str | None) -> None:
    assert normalise_reference(typed) == expected


async def test_a_worker_cannot_use_officer_commands(bot: UnionApplication, worker: Person) -> None:
    await _case(bot.storage)
    for command in (
        "/cases",
        "/case W-000001",
        "/find 宏达",
        "/pending",
        "/stats",
        "/officers",
        "/reassign W1",
    ):
        worker.send_command(command)
        assert (await worker.next_message()).text == "这个功能只供工会干事使用。"


async def test_cases_lists_the_officers_open_cases_with_filters(
    bot: UnionApplication, wang: Person, clock: FakeClock
) -> None:
    late = await _case(bot.storage, due_in=timedelta(hours=1), clock=clock)
    group = await _case(bot.storage, priority=Priority.HIGH, employer="<b>黑心</b>公司")
    await _case(bot.storage, assignee=BACKUP_ID, backup=ADMIN_ID)  # not Wang's
    done = await _case(bot.storage)
    await bot.storage.change_case_status(
        done.id, expected=CaseStatus.NEW, new=CaseStatus.RESOLVED, actor_id=OFFICER_ID, actor_role="officer"
    )
    clock.advance(timedelta(hours=2))

    wang.send_command("/cases")
    listed = await wang.next_message()
    assert listed.text.splitlines()[0] == "您的未办结案件："
    assert listed.button_labels == [group.reference, late.reference]  # collective first
    wang.send_command("/cases overdue")
    assert (await wang.next_message()).button_labels == [late.reference]
    wang.send_command("/cases collective")
    assert (await wang.next_message()).button_labels == [group.reference]
    wang.send_command("/cases all")
    assert (await wang.next_message()).text == "只有工会管理员可以这样做。"
    wang.send_command("/cases nonsense")
    assert "/cases overdue" in (await wang.next_message()).text

    wang.press(group.reference)
    card = await wang.next_message()
    assert card.text.startswith(f"{group.reference} · 欠薪 · 新案件\n🔴 群体性案件")
    assert "欠薪方：<b>黑心</b>公司" in card.text  # shown as typed, not as markup
    assert "✋ 接手" in card.button_labels


async def test_admins_see_every_case_and_officers_only_theirs(
    bot: UnionApplication, wang: Person, admin: Person
) -> None:
    mine = await _case(bot.storage, employer="宏达劳务")
    other = await _case(bot.storage, assignee=BACKUP_ID, backup=ADMIN_ID, employer="宏达劳务二队")

    wang.send_command("/find 宏达")
    assert (await wang.next_message()).button_labels == [mine.reference]
    wang.send_command(f"/case {other.reference}")
    assert (await wang.next_message()).text == "这个案件不是分给您的。"
    wang.send_command("/case W-999999")
    assert (await wang.next_message()).text == "没有这个案件。"
    wang.send_command("/case")
    assert "比如 /case W-000123" in (await wang.next_message()).text
    wang.send_command("/find 100%_")
    assert (await wang.next_message()).text.endswith("没有案件。")  # % and _ are literal

    admin.send_command("/find 宏达")
    assert (await admin.next_message()).button_labels == [mine.reference, other.reference]
    admin.send_command("/cases all")
    assert (await admin.next_message()).button_labels == [mine.reference, other.reference]
    admin.send_command(f"/case {other.reference.lower().replace('-0000', '')}")
    assert (await admin.next_message()).text.startswith(f"{other.reference} · 欠薪")


async def test_pending_lists_open_membership_applications(bot: UnionApplication, admin: Person) -> None:
    application = await _case(
        bot.storage, CaseKind.MEMBERSHIP, assignee=ADMIN_ID, backup=OFFICER_ID, name="张三"
    )
    await _case(bot.storage)  # wages, not an application

    admin.send_command("/pending")
    listed = await admin.next_message()
    assert listed.text.startswith("待处理的入会申请：")
    assert listed.button_labels == [application.reference]


async def test_stats_counts_open_overdue_and_this_weeks_results(
    bot: UnionApplication, wang: Person, clock: FakeClock
) -> None:
    from decimal import Decimal

    from storage.models import Outcome, Resolution

    await _case(bot.storage, due_in=timedelta(minutes=30), clock=clock)
    await _case(bot.storage, CaseKind.LEGAL, priority=Priority.HIGH)
    won = await _case(bot.storage)
    await bot.storage.resolve_case(
        won.id,
        expected=CaseStatus.NEW,
        resolution=Resolution(
            outcome=Outcome.RECOVERED_FULL, amount_recovered=Decimal("12500"), workers_helped=5
        ),
        actor_id=OFFICER_ID,
        actor_role="officer",
    )
    clock.advance(timedelta(hours=1))

    wang.send_command("/stats")
    lines = (await wang.next_message()).text.splitlines()
    assert lines[:7] == [
        "您的案件：",
        "未办结：2",
        "  · 入会申请：0",
        "  · 欠薪：1",
        "  · 法律援助：1",
        "  · 申请帮扶：0",
        "群体性：1",
    ]
    assert "超时：1" in lines
    assert "已办结：1" in lines
    assert "追回欠薪：1.25万元，涉及5名工人" in lines


async def test_admins_add_deactivate_and_reactivate_officers(
    bot: UnionApplication, sandbox: BotApiSandbox, wang: Person, admin: Person
) -> None:
    admin.send_command("/officers add 2010 周 干事 wages legal")
    assert (await admin.next_message()).text.startswith("周 干事现在是工会干事了")
    added = await bot.storage.get_officer(2010)
    assert added is not None and added.active and added.specialties == [CaseKind.WAGES, CaseKind.LEGAL]

    admin.send_command("/officers deactivate 2001")
    assert (await admin.next_message()).text.startswith("王干事已停用")
    wang.send_command("/cases")
    assert (await wang.next_message()).text == "这个功能只供工会干事使用。"
    admin.send_command("/officers")
    listing = (await admin.next_message()).text
    assert "王干事 (2001) · 已停用" in listing and "周 干事 (2010)" in listing
    admin.send_command(f"/officers deactivate {ADMIN_ID}")
    assert (await admin.next_message()).text == "您不能停用自己。"
    admin.send_command("/officers deactivate 999")
    assert (await admin.next_message()).text == "没有这个 ID 的工会干事。"
    admin.send_command("/officers fire 2001")
    assert (await admin.next_message()).text.startswith("用法：/officers")

    # The admin's choice outlives a restart that re-reads the config (where Wang is active).
    await bot.storage.sync_officers([o.to_officer() for o in bot.config.officers])
    officer = await bot.storage.get_officer(OFFICER_ID)
    assert officer is not None and not officer.active
    admin.send_command("/officers activate 2001")
    assert "已恢复在岗" in (await admin.next_message()).text
    wang.send_command("/cases")
    assert (await wang.next_message()).text.startswith("您的未办结案件：")

    wang.send_command("/officers")
    assert (await wang.next_message()).text == "只有工会管理员可以这样做。"


async def test_officers_see_their_commands_in_help(
    bot: UnionApplication, wang: Person, worker: Person
) -> None:
    wang.send_command("/help")
    text = (await wang.next_message()).text
    assert "给工会干事用的：" in text and "/cases" in text and "/officers" not in text
    worker.send_command("/help")
    assert "/cases" not in (await worker.next_message()).text


async def test_reassign_command(bot: UnionApplication, wang: Person, admin: Person) -> None:
    case = await _case(bot.storage)
    wang.send_command(f"/reassign {case.reference}")
    assert "已请管理员改派" in (await wang.next_message()).text
    await admin.next_message(lambda m: "请求改派" in m.text)
    admin.send_command(f"/reassign {case.reference}")
    choices = await admin.next_message(lambda m: "改派给谁" in m.text)
    assert "王干事" not in choices.button_labels and "陈干事" in choices.button_labels
