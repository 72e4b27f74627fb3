"""Privacy rules the whole bot shares: forgetting a worker, retention, audit records, the third-party view.

- Forgetting (/forget): open cases are withdrawn and their officers told; every case of the worker keeps
  only anonymous facts (storage.models.ANONYMOUS_FIELDS); the worker row, drafts and message ids go.
- Retention (the hourly "privacy-sweep" job, from the app's clock): finished cases are anonymised the same
  way ``privacy.retain_closed`` after they ended; the profiles and drafts of workers who sent nothing for
  ``privacy.retain_inactive_workers`` and have no open case are erased; message ids older than Telegram's
  48-hour deletion window are dropped.
- Audit: every officer view of a case's personal fields and every export is a case event, next to the
  changes that already are; admins list them with /audit.
- Disclosure: :func:`third_party_view` is what anything sent outside the union may show of a case.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.cases import notify
from bot.core.services import Services
from bot.runtime import chatlog
from storage import Storage
from storage.models import (
    AUDIT_ONLY_ACTIONS,
    Case,
    Forgotten,
    NewCaseEvent,
    Officer,
    Worker,
)

logger = logging.getLogger(__name__)

# Audit events: the action, and what the note says was seen or exported (never the data itself).
VIEWED = "viewed"
EXPORTED = "exported"
ANONYMISED = "anonymised"
VIEW_CARD = "card"  # the case card, from a button
VIEW_COMMAND = "case_command"  # the case card, from /case
VIEW_FILES = "files"  # the worker's files, sent to the officer
EXPORT_MYDATA = "mydata"  # the worker's own copy (/mydata)
EXPORT_THIRD_PARTY = "third_party"  # a spreadsheet for a third party (employer, authorities)
EXPORT_UNION = "union"  # a spreadsheet for the union's own use (/export, union-bot export)
AUDIT_ONLY = AUDIT_ONLY_ACTIONS  # not case work: shown by /audit, not on the case card


async def record_view(storage: Storage, officer: Officer, case: Case, what: str) -> None:
    """An officer saw the case's personal fields."""
    await storage.add_case_event(
        NewCaseEvent(
            case_id=case.id,
            actor_id=officer.telegram_id,
            actor_role=officer.role.value,
            action=VIEWED,
            note=what,
        )
    )


async def record_export(
    storage: Storage, case: Case, *, actor_id: int | None, actor_role: str, what: str
) -> None:
    await storage.add_case_event(
        NewCaseEvent(case_id=case.id, actor_id=actor_id, actor_role=actor_role, action=EXPORTED, note=what)
    )


async def record_exports(
    storage: Storage, case_ids: Sequence[int], *, actor_id: int | None, actor_role: str, third_party: bool
) -> None:
    """A spreadsheet of these cases left the bot: one audit event on each, before the file is sent."""
    what = EXPORT_THIRD_PARTY if third_party else EXPORT_UNION
    await storage.add_case_events(
        [
            NewCaseEvent(
                case_id=case_id, actor_id=actor_id, actor_role=actor_role, action=EXPORTED, note=what
            )
            for case_id in case_ids
        ]
    )


# -- consent ---------------------------------------------------------------------------------------------

# The consent text's version, recorded with each "I agree"; change it whenever the text changes in meaning.
# 2026-12-03: the text names the admins, what may leave the union, and that a lone reporter may be guessed.
CONSENT_VERSION = "2026-12-03"


def has_current_consent(worker: Worker | None) -> bool:
    """Whether the worker agreed to the text shown now; an older agreement is asked for again."""
    return worker is not None and worker.consent_at is not None and worker.consent_version == CONSENT_VERSION


# -- forgetting and retention --------------------------------------------------------------------------


async def forget(application: Services, user_id: int) -> Forgotten:
    """Erase a worker (see storage.Storage.forget_worker); officers of their open cases are told."""
    storage = application.storage
    default = application.config.union.default_language
    officers = await storage.list_officers()
    news = {
        case.id: notify.forgotten_news(case, officers, default, key=f"forgotten:{case.id}")
        for case in await storage.list_cases_for_worker(user_id)
        if case.is_open
    }
    forgotten = await storage.forget_worker(user_id, withdrawal_news=news)
    application.forget_user_state(user_id, language=True)
    if forgotten.withdrawn:
        application.send_outbox_soon()
    logger.info(
        "A worker's data was erased: %d case(s) anonymised, %d withdrawn",
        len(forgotten.anonymised),
        len(forgotten.withdrawn),
    )
    return forgotten


async def sweep(application: Services) -> None:
    """Apply the retention rules as of the application's clock; safe to run any time, any number of times."""
    storage = application.storage
    now = application.clock.now()
    rules = application.config.privacy
    anonymised = await storage.anonymise_finished_cases(now - rules.retain_closed)
    erased = await storage.erase_inactive_workers(now - rules.retain_inactive_workers)
    for user_id in erased:
        application.forget_user_state(user_id, language=False)
    pruned = await chatlog.prune(storage, now)
    if anonymised or erased or pruned:
        logger.info(
            "Privacy sweep: %d case(s) anonymised, %d inactive worker(s) erased, %d message id(s) dropped",
            len(anonymised),
            len(erased),
            pruned,
        )


# -- who may be named outside the union -----------------------------------------------------------------


def may_name_worker(case: Case) -> bool:
    """The one rule for anything that leaves the union (third-party exports): the worker's name, phone and
    Telegram name go with a case only if they said yes to the form's question (only the wages form asks),
    and never once the case is anonymised. Everything else about the case stays, so a worker who reported
    alone may still be recognised: the form, the alert and the export caption say so."""
    return case.fields.get("disclose_identity") is True and case.anonymised_at is None
