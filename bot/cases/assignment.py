"""Who handles a new case: a primary officer and a backup (AB替补机制), chosen at once.

The rule, in the order it decides:

1. Only active officers whose specialties include the case's kind (admins too, when they have it).
2. Prefer an officer whose regions appear in the worker's workplace or site text, when it is known.
3. Prefer an officer who speaks the worker's language (an officer listing no languages counts as one).
4. Fewest open cases as primary officer.
5. On a tie, the officer whose last assignment is oldest (never assigned comes first), then the lowest id:
   equal officers take turns.

The backup is the next in the same order. With only one match, an admin backs them up. When nobody
has the specialty, the admins get the case (primary and, if there is a second one, backup). Pure: the
caller reads the officers and their workloads from storage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.models import CaseKind, Officer, OfficerRole, Workload

logger = logging.getLogger(__name__)

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Assignment:
    primary: Officer | None
    backup: Officer | None


def choose_officers(
    officers: Iterable[Officer],
    workloads: Mapping[int, Workload],
    *,
    kind: CaseKind,
    place: str | None = None,
    language: str | None = None,
) -> Assignment:
    """The primary and backup officer for a new case of ``kind`` (see the module docstring)."""
    active = [officer for officer in officers if officer.active]

    def rank(officer: Officer) -> tuple[bool, bool, int, datetime, int]:
        workload = workloads.get(officer.telegram_id, Workload())
        return (
            not _covers_region(officer, place),
            not _speaks(officer, language),
            workload.open_cases,
            workload.last_assigned_at or _NEVER,
            officer.telegram_id,
        )

    matching = sorted((o for o in active if kind in o.specialties), key=rank)
    admins = sorted((o for o in active if o.role == OfficerRole.ADMIN), key=rank)
    if matching:
        primary = matching[0]
        backup = next(
            (o for o in [*matching[1:], *admins] if o.telegram_id != primary.telegram_id),
            None,
        )
        return Assignment(primary, backup)
    if admins:
        logger.warning("No active officer handles %s cases: assigned to an admin", kind)
        return Assignment(admins[0], admins[1] if len(admins) > 1 else None)
    logger.warning("No active officer or admin to assign a new %s case to", kind)
    return Assignment(None, None)


def _covers_region(officer: Officer, place: str | None) -> bool:
    if not place:
        return False
    text = place.casefold()
    return any(region.strip() and region.strip().casefold() in text for region in officer.regions)


def _speaks(officer: Officer, language: str | None) -> bool:
    return not officer.languages or language is None or language in officer.languages
