"""Collective-case detection: spelling variants of one employer from several workers, then linking."""

from __future__ import annotations

import pytest

from bot.app import UnionApplication
from bot.cases.collective import normalise_name
from bot.sandbox.server import BotApiSandbox
from bot.sandbox.session import ADMIN_ID, OFFICER_ID
from storage.models import CaseStatus, Priority
from tests.flow_helpers import onboard
from tests.test_alerts import _fill_wages


@pytest.mark.parametrize(
    ("variant", "same_as"),
    [
        ("宏达劳务有限公司", "宏达劳务"),
        ("宏达 劳务", "宏达劳务"),
        ("宏达劳务（集团）有限公司", "宏达劳务"),
        ("宏达劳务股份有限公司", "宏达劳务"),
        ("ＨＯＮＧＤＡ Labour Co., Ltd.", "Hongda labour"),
        ("hongda   LABOUR company", "Hongda Labour"),
        ("宏達勞務有限公司", "宏達勞務"),
        ("「宏达劳务」", "宏达劳务"),
    ],
)
def test_spelling_variants_meet_under_one_key(variant: str, same_as: str) -> None:
    assert normalise_name(variant) == normalise_name(same_as) != ""


@pytest.mark.parametrize("different", ["宏发劳务", "宏达建筑", "达劳务"])
def test_different_names_stay_apart(different: str) -> None:
    assert normalise_name(different) != normalise_name("宏达劳务有限公司")


def test_names_that_are_only_a_suffix_or_one_character_match_nothing() -> None:
    assert normalise_name("有限公司") == normalise_name("公司") == normalise_name("厂") == ""
    assert normalise_name("  ") == ""


async def _report(sandbox: BotApiSandbox, user_id: int, employer: str) -> str:
    """A different worker reports unpaid wages by ``employer``; returns the case reference."""
    person = sandbox.person(user_id, first_name=f"工人{user_id}", language_code="zh-hans")
    await onboard(person)
    # Each at their own site, so only the employer can make them one dispute.
    await _fill_wages(person, employer=employer, workers=None, disclose=False, site=f"{user_id} 号工地")
    person.press("✅ 提交")
    received = await person.next_message(lambda m: "求助编号" in m.text)
    return next(word for word in received.text.replace("。", " ").split() if word.startswith("W-"))


async def test_three_workers_naming_one_employer_are_suggested_as_collective_and_linked(
    bot: UnionApplication, sandbox: BotApiSandbox
) -> None:
    admin = sandbox.person(ADMIN_ID, first_name="李主席")
    wang = sandbox.person(OFFICER_ID, first_name="王干事")
    sandbox.person(2002, first_name="陈干事")
    first = await _report(sandbox, 1101, "宏达劳务有限公司")
    await _report(sandbox, 1102, "宏发劳务")  # another employer
    second = await _report(sandbox, 1103, "宏达 劳务")
    await bot.outbox.send_due()
    assert [m.text for m in admin.messages if "可能是群体性案件" in (m.text or "")] == []

    third = await _report(sandbox, 1104, "宏达劳务（集团）公司")
    suggestion = await admin.next_message(lambda m: "可能是群体性案件" in (m.text or ""))
    assert f"{first}、{second}、{third}" in suggestion.text and "3名工人" in suggestion.text

    # Only admins may link; a forged press by an officer changes nothing.
    query = wang.press_data(suggestion.inline_buttons[0][0][1] or "", message_id=None)
    assert (await wang.next_answer(query))["text"] == "只有工会管理员可以这样做。"
    admin.press("🔗 合并为群体性案件")
    await admin.next_message(lambda m: "已合并为一个群体性案件" in (m.text or ""))
    linked = [await bot.storage.get_case_by_reference(reference) for reference in (first, second, third)]
    assert all(case is not None and case.priority == Priority.HIGH for case in linked)
    assert len({case.group_id for case in linked if case is not None}) == 1

    # A fourth report joins the group at once, and the officers hear of it.
    fourth = await _report(sandbox, 1105, "宏达劳务")
    joined = await bot.storage.get_case_by_reference(fourth)
    assert joined is not None and joined.group_id == linked[0].group_id if linked[0] else False
    assert joined.priority == Priority.HIGH and joined.status == CaseStatus.NEW
    await admin.next_message(lambda m: f"{fourth} 也反映了" in (m.text or ""))
