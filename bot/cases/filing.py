"""Filing a case: written with its two officers to SQLite first, then its alerts queued in the outbox.

The conversations call this when a worker submits a form; only after it returns may they say "received".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.cases import alerts
from bot.cases.assignment import choose_officers
from bot.core.services import Services
from storage.models import Case, NewCase

logger = logging.getLogger(__name__)


async def file_case(
    services: Services,
    new_case: NewCase,
    *,
    telegram_name: str,
    language: str,
    on_filed: Callable[[], None] = lambda: None,
) -> Case:
    """Store the case with its primary and backup officer, then queue the alerts (and any collective-case
    news). ``on_filed`` runs as soon as the case is stored: the worker's draft can go then, and a failure
    after that point must not make them file it twice."""
    storage = services.storage
    # Officers see the worker by the name Telegram shows; /forget erases it with the rest of the profile.
    await storage.update_worker_profile(new_case.worker_id, {"telegram_name": telegram_name})
    worker = await storage.get_worker(new_case.worker_id)
    profile = worker.profile if worker is not None else {}
    fields = new_case.fields
    assignment = choose_officers(
        await storage.list_officers(active_only=True),
        await storage.officer_workloads(),
        kind=new_case.kind,
        place=fields.get("site") or fields.get("workplace") or profile.get("workplace"),
        language=language,
    )
    case = await storage.create_case(
        new_case.model_copy(
            update={
                "assignee_id": assignment.primary.telegram_id if assignment.primary else None,
                "backup_id": assignment.backup.telegram_id if assignment.backup else None,
            }
        )
    )
    on_filed()
    messages = alerts.alert_messages(
        case,
        assignment,
        attachments=new_case.attachments,
        worker_name=telegram_name,
        default_language=services.config.union.default_language,
    )
    try:
        messages += await services.collective.check(case, services.clock.now())
    except Exception:  # a failed check must never cost the worker their report
        logger.exception("Collective-case check failed for %s", case.reference)
    for message in messages:
        # About this case: its messages keep their order, and forgetting its worker drops the unsent ones.
        await storage.enqueue_outbox(message.model_copy(update={"case_id": message.case_id or case.id}))
    if messages:
        services.send_outbox_soon()
    logger.info("Case %s filed", case.reference)
    return case
