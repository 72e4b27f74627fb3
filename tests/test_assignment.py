"""Choosing the primary and backup officer of a new case."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.cases.assignment import choose_officers
from storage.models import CaseKind, Officer, OfficerRole, Workload

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _officer(
    telegram_id: int,
    *,
    role: OfficerRole = OfficerRole.OFFICER,
    specialties: tuple[CaseKind, ...] = (CaseKind.WAGES, CaseKind.LEGAL),
    regions: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
    active: bool = True,
) -> Officer:
    return Officer(
        telegram_id=telegram_id,
        name=f"干事{telegram_id}",
        role=role,
        specialties=list(specialties),
        regions=list(regions),
        languages=list(languages),
        active=active,
        created_at=NOW,
        updated_at=NOW,
    )


def _ids(officers: list[Officer], workloads: dict[int, Workload] | None = None, **kwargs: object) -> tuple:
    kwargs.setdefault("kind", CaseKind.WAGES)
    chosen = choose_officers(officers, workloads or {}, **kwargs)  # type: ignore[arg-type]
    return (
        chosen.primary.telegram_id if chosen.primary else None,
        chosen.backup.telegram_id if chosen.backup else None,
    )


def test_only_officers_with_the_specialty_are_chosen() -> None:
    officers = [
        _officer(1, specialties=(CaseKind.MEMBERSHIP,)),
        _officer(2, specialties=(CaseKind.LEGAL,)),
        _officer(3),
        _officer(4),
    ]
    assert _ids(officers, kind=CaseKind.WAGES) == (3, 4)
    assert _ids(officers, kind=CaseKind.MEMBERSHIP) == (1, None)


def test_an_officer_covering_the_workers_region_comes_first() -> None:
    officers = [_officer(1, regions=("城关镇",)), _officer(2, regions=("城南镇", "河西村"))]
    assert _ids(officers, place="阳光花园项目 河西村") == (2, 1)
    assert _ids(officers, place="城关镇工地") == (1, 2)


def test_an_unknown_place_prefers_nobody() -> None:
    officers = [_officer(1), _officer(2, regions=("城南镇",))]
    assert _ids(officers, place=None) == (1, 2)


def test_region_matching_ignores_case() -> None:
    officers = [_officer(1), _officer(2, regions=("Shenzhen",))]
    assert _ids(officers, place="Factory in SHENZHEN, Bao'an") == (2, 1)


def test_an_officer_who_speaks_the_workers_language_comes_first() -> None:
    officers = [_officer(1, languages=("zh-Hans",)), _officer(2, languages=("zh-Hant", "en"))]
    assert _ids(officers, language="en") == (2, 1)
    assert _ids(officers, language="zh-Hans") == (1, 2)


def test_an_officer_listing_no_languages_is_not_passed_over() -> None:
    officers = [_officer(1, languages=("zh-Hans",)), _officer(2)]
    assert _ids(officers, language="en") == (2, 1)


def test_region_weighs_more_than_language() -> None:
    officers = [_officer(1, languages=("en",)), _officer(2, regions=("城关镇",), languages=("zh-Hans",))]
    assert _ids(officers, place="城关镇", language="en") == (2, 1)


def test_the_officer_with_fewest_open_cases_comes_first() -> None:
    officers = [_officer(1), _officer(2), _officer(3)]
    workloads = {1: Workload(open_cases=4), 2: Workload(open_cases=1), 3: Workload(open_cases=2)}
    assert _ids(officers, workloads) == (2, 3)


def test_a_better_match_beats_a_lighter_load() -> None:
    officers = [_officer(1), _officer(2, regions=("城关镇",))]
    workloads = {1: Workload(open_cases=0), 2: Workload(open_cases=5)}
    assert _ids(officers, workloads, place="城关镇") == (2, 1)


def test_ties_go_to_the_officer_assigned_least_recently() -> None:
    officers = [_officer(1), _officer(2), _officer(3)]
    workloads = {
        1: Workload(open_cases=1, last_assigned_at=NOW),
        2: Workload(open_cases=1, last_assigned_at=NOW - timedelta(days=2)),
        3: Workload(open_cases=1, last_assigned_at=NOW - timedelta(days=1)),
    }
    assert _ids(officers, workloads) == (2, 3)


def test_never_assigned_comes_before_assigned_and_the_lowest_id_breaks_the_last_tie() -> None:
    officers = [_officer(3), _officer(1), _officer(2)]
    workloads = {1: Workload(open_cases=0, last_assigned_at=NOW)}
    assert _ids(officers, workloads) == (2, 3)


def test_equal_officers_take_turns() -> None:
    """Case after case, the work goes round: each assignment makes the chosen officer 'busier'."""
    officers = [_officer(1), _officer(2), _officer(3)]
    workloads: dict[int, Workload] = {}
    primaries = []
    for hour in range(6):
        primary, _backup = _ids(officers, workloads)
        primaries.append(primary)
        before = workloads.get(primary, Workload())
        workloads[primary] = Workload(
            open_cases=before.open_cases + 1, last_assigned_at=NOW + timedelta(hours=hour)
        )
    assert primaries == [1, 2, 3, 1, 2, 3]


def test_the_backup_is_never_the_primary() -> None:
    # The only specialist is also the only admin: there is nobody else to back them up.
    assert _ids([_officer(9, role=OfficerRole.ADMIN)]) == (9, None)
    assert _ids([_officer(1), _officer(1)]) == (1, None)  # listed twice, still one person


def test_a_lone_specialist_is_backed_up_by_an_admin() -> None:
    officers = [_officer(1), _officer(9, role=OfficerRole.ADMIN, specialties=(CaseKind.MEMBERSHIP,))]
    assert _ids(officers) == (1, 9)


def test_an_admin_with_the_specialty_is_an_officer_too() -> None:
    officers = [_officer(9, role=OfficerRole.ADMIN), _officer(1)]
    workloads = {1: Workload(open_cases=3)}
    assert _ids(officers, workloads) == (9, 1)


def test_inactive_officers_are_skipped() -> None:
    officers = [
        _officer(1, active=False),
        _officer(2),
        _officer(3),
        _officer(9, role=OfficerRole.ADMIN, active=False),
    ]
    assert _ids(officers) == (2, 3)
    assert _ids([_officer(1, active=False), _officer(2)]) == (2, None)


def test_with_no_specialist_the_admins_get_the_case(caplog: pytest.LogCaptureFixture) -> None:
    officers = [
        _officer(1, specialties=(CaseKind.LEGAL,)),
        _officer(8, role=OfficerRole.ADMIN, specialties=()),
        _officer(9, role=OfficerRole.ADMIN, specialties=()),
    ]
    workloads = {8: Workload(open_cases=2)}
    with caplog.at_level(logging.WARNING, logger="bot.cases.assignment"):
        assert _ids(officers, workloads) == (9, 8)
    assert "wages" in caplog.text


def test_a_lone_admin_gets_the_case_without_backup() -> None:
    officers = [_officer(1, specialties=()), _officer(9, role=OfficerRole.ADMIN, specialties=())]
    assert _ids(officers) == (9, None)


def test_with_nobody_at_all_the_case_has_no_officer(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.cases.assignment"):
        assert _ids([]) == (None, None)
        assert _ids([_officer(1, active=False)]) == (None, None)
    assert "No active officer or admin" in caplog.text
