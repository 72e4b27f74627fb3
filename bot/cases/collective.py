"""Spotting collective disputes (群体性劳资纠纷): several workers reporting the same employer or site.

Workers type names their own way: "宏达劳务有限公司", "宏达劳务", "宏达 劳务", "ＨＯＮＧＤＡ Co., Ltd.". Names
are compared after :func:`normalise_name` (width, case, spacing, punctuation, common company suffixes).
When ``[reports] collective_threshold`` different workers name the same employer or site within
``[reports] collective_window``, the admins get one alert suggesting a collective case, with a button
that links the cases: they become one group, each marked collective (handled first). A later report
about a linked group joins it at once, and its officer is told.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.cases import notify
from bot.cases.access import refuse, require_officer
from bot.core.config import Config
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import listing, officer_language, translate
from storage import Storage
from storage.models import Case, CaseKind, CaseQuery, Officer, OfficerRole, OutboxMessage

logger = logging.getLogger(__name__)

LINK = "cl:"  # "cl:<case id>": link the cases that match this one
_LINK_DATA = re.compile(r"^cl:([0-9]{1,18})$")
RECENT_LIMIT = 5000  # wages reports read per check; a union's window holds far fewer
NAME_FIELDS = ("employer", "site")  # what a wages report names

# Longest first, so "有限责任公司" goes before "公司". Matched at the end of a name, after normalising.
_SUFFIXES = sorted(
    {
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "责任公司",
        "公司",
        "集团",
        "有限責任公司",
        "責任公司",
        "集團",
        "coltd",
        "ltd",
        "limited",
        "inc",
        "corp",
        "corporation",
        "company",
        "co",
        "group",
    },
    key=len,
    reverse=True,
)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)  # spacing and punctuation of any script


def normalise_name(text: str) -> str:
    """A key under which spellings of the same name meet; empty when nothing is left to compare."""
    clean = _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())
    while suffix := next((suffix for suffix in _SUFFIXES if clean.endswith(suffix)), None):
        clean = clean[: -len(suffix)]
    return clean if len(clean) >= 2 else ""  # one character matches far too much


def name_keys(case: Case) -> set[str]:
    return {key for field in NAME_FIELDS if (key := normalise_name(str(case.fields.get(field) or "")))}


def matching_cases(case: Case, recent: Sequence[Case]) -> list[Case]:
    """The recent wages reports that name the same employer or site as ``case`` (itself included)."""
    keys = name_keys(case)
    if not keys:
        return []
    return [other for other in recent if other.id == case.id or name_keys(other) & keys]


def _label(case: Case) -> str:
    return str(case.fields.get("employer") or case.fields.get("site") or case.reference)


class CollectiveDetector:
    def __init__(self, storage: Storage, config: Config) -> None:
        self._storage = storage
        self._config = config

    async def check(self, case: Case, now: datetime) -> list[OutboxMessage]:
        """Messages for the admins (and a linked group's officer) about a newly filed wages case."""
        if case.kind != CaseKind.WAGES or not name_keys(case):
            return []
        recent = await self._storage.find_cases(
            CaseQuery(
                kind=CaseKind.WAGES,
                created_from=now - self._config.reports.collective_window,
                limit=RECENT_LIMIT,
            )
        )
        matches = matching_cases(case, recent)
        officers = await self._storage.list_officers(active_only=True)
        group = next((other.group_id for other in matches if other.group_id is not None), None)
        if group is not None and case.group_id is None:
            await self._storage.link_cases([case.id], group_id=group, actor_id=None, actor_role="system")
            logger.info("Case %s joined collective group %s", case.reference, group)
            return self._joined_messages(case, matches, officers)
        workers = {other.worker_id for other in matches}
        if len(workers) < self._config.reports.collective_threshold:
            return []
        logger.info("Possible collective case: %d workers, %d reports", len(workers), len(matches))
        return self._suggestion(case, matches, len(workers), officers)

    def _suggestion(
        self, case: Case, matches: Sequence[Case], workers: int, officers: Sequence[Officer]
    ) -> list[OutboxMessage]:
        default = self._config.union.default_language
        ordered = [other.reference for other in sorted(matches, key=lambda other: other.id)]
        messages = []
        for admin in (officer for officer in officers if officer.role == OfficerRole.ADMIN):
            language = officer_language(admin, default)
            references = listing(language, ordered)
            text = translate(
                language,
                "👥 Possible collective case: {count} workers reported “{name}” within {days} days: "
                "{references}. Link them as one collective case?",
                count=workers,
                name=notify.clip(_label(case), 100),
                days=self._config.reports.collective_window.days,
                references=references,
            )
            markup = {
                "inline_keyboard": [
                    [
                        {
                            "text": translate(language, "🔗 Link as one collective case"),
                            "callback_data": f"{LINK}{case.id}",
                        }
                    ],
                    [
                        {
                            "text": translate(language, "📂 Open case"),
                            "callback_data": f"{notify.CASE_ACTION}show:{case.id}",
                        }
                    ],
                ]
            }
            # One suggestion per new report that crosses the threshold; its key names that report.
            messages.append(
                notify.officer_note(
                    admin.telegram_id, text, key=f"collective:{case.id}:{admin.telegram_id}", markup=markup
                )
            )
        return messages

    def _joined_messages(
        self, case: Case, matches: Sequence[Case], officers: Sequence[Officer]
    ) -> list[OutboxMessage]:
        default = self._config.union.default_language
        by_id = {officer.telegram_id: officer for officer in officers}
        others = [other.reference for other in matches if other.id != case.id]
        recipients = {officer_id for other in matches for officer_id in other.officers if officer_id in by_id}
        recipients |= {officer.telegram_id for officer in officers if officer.role == OfficerRole.ADMIN}
        messages = []
        for officer_id in sorted(recipients):
            language = officer_language(by_id[officer_id], default)
            text = translate(
                language,
                "👥 {reference} names “{name}” too and has joined the collective case with {references}.",
                reference=case.reference,
                name=notify.clip(_label(case), 100),
                references=listing(language, others),
            )
            messages.append(
                notify.officer_note(officer_id, text, key=f"collective-joined:{case.id}:{officer_id}")
            )
        return messages


async def link(update: Update, context: BotContext) -> None:
    """cl:<case id>: an admin links the reports that match this case into one collective case."""
    query = update.callback_query
    assert query and query.data
    admin = await require_officer(update, context, action="link", admin=True)
    if admin is None:
        return
    match = _LINK_DATA.match(query.data)
    case = await context.storage.get_case(int(match.group(1))) if match else None
    if case is None:
        await refuse(update, context, context.t("This button is no longer active."))
        return
    recent = await context.storage.find_cases(
        CaseQuery(
            kind=CaseKind.WAGES,
            created_from=case.created_at - context.config.reports.collective_window,
            limit=RECENT_LIMIT,
        )
    )
    matches = [other for other in matching_cases(case, recent) if other.is_open]
    if len(matches) < 2:
        await refuse(update, context, context.t("These cases are no longer open together."))
        return
    group = await context.storage.link_cases(
        [other.id for other in matches],
        group_id=None,
        actor_id=admin.telegram_id,
        actor_role=admin.role.value,
    )
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    references = listing(context.language, (other.reference for other in matches))
    logger.info("An admin linked %d cases as collective group %s", len(matches), group)
    await context.bot.send_message(
        query.from_user.id,
        context.t(
            "🔗 Linked as one collective case: {references}. They are handled first now.",
            references=references,
        ),
    )
    await _tell_officers(context, matches, references)


async def _tell_officers(context: BotContext, cases: Sequence[Case], references: str) -> None:
    officers = {
        officer.telegram_id: officer for officer in await context.storage.list_officers(active_only=True)
    }
    default = context.config.union.default_language
    for officer_id in sorted(
        {officer_id for case in cases for officer_id in case.officers if officer_id in officers}
    ):
        language = officer_language(officers[officer_id], default)
        await context.storage.enqueue_outbox(
            notify.officer_note(
                officer_id,
                translate(
                    language,
                    "👥 These cases are now one collective case, handled first: {references}.",
                    references=references,
                ),
                key=f"collective-linked:{cases[0].id}:{officer_id}:{context.clock.now().isoformat()}",
            )
        )
    context.union_app.send_outbox_soon()


def handlers() -> list[BotHandler]:
    return [CallbackQueryHandler(link, pattern=f"^{LINK}")]
