"""Follow-up: some days after a case is resolved, the worker is asked whether the problem is solved.

yes → the case is closed · partly → the officer is told · no → the case is reopened and the officer told.
Then how satisfied they are (1–5). The question is sent by the scheduled sweep (bot/sweeps/followup.py);
the answers arrive here as button presses, checked against the worker who owns the case.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler

from bot.cases import notify
from bot.cases.vocabulary import KIND_LABELS
from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, NP_, OFFICERS, officer_language, translate, translate_in
from bot.runtime.commands import stale_button
from flows.mycases import worker_case
from storage.base import StorageError
from storage.models import Case, CaseStatus, NewCaseEvent, Officer, OutboxMessage

logger = logging.getLogger(__name__)

SOLVED = "fu:"  # "fu:<case id>:<yes|partly|no>"
SATISFACTION = "fs:"  # "fs:<case id>:<1-5>"
_SOLVED_DATA = re.compile(r"^fu:([0-9]{1,18}):(yes|partly|no)$")
_SATISFACTION_DATA = re.compile(r"^fs:([0-9]{1,18}):([1-5])$")

ANSWERS = {
    "yes": N_("✅ Yes, solved"),
    "partly": N_("🟡 Partly"),
    "no": N_("❌ No, not solved"),
}
STARS = ["⭐" * count for count in range(1, 6)]


def question(case: Case, language: str) -> OutboxMessage:
    """The follow-up question for the worker, with the three answers as buttons."""
    text = translate(
        language,
        "Some days ago the union finished working on {reference} ({kind}). Is your problem solved now?",
        reference=case.reference,
        kind=translate(language, KIND_LABELS[case.kind]),
    )
    buttons = [
        [{"text": translate(language, label), "callback_data": f"{SOLVED}{case.id}:{answer}"}]
        for answer, label in ANSWERS.items()
    ]
    return OutboxMessage(
        chat_id=case.worker_id,
        params={"text": text, "parse_mode": "HTML", "reply_markup": {"inline_keyboard": buttons}},
        dedupe_key=f"followup:{case.id}",
    )


async def _answered(context: BotContext, case: Case, action: str) -> bool:
    return any(event.action == action for event in await context.storage.list_case_events(case.id))


async def got_solved(update: Update, context: BotContext) -> None:
    """yes / partly / no: recorded, and the case closed or reopened accordingly."""
    query = update.callback_query
    assert query and query.data
    match = _SOLVED_DATA.match(query.data)
    case = await worker_case(update, context, int(match.group(1))) if match else None
    if match is None or case is None:
        if match is None:
            await stale_button(update, context)
        return
    if await _answered(context, case, "followup"):
        await stale_button(update, context)
        return
    answer = match.group(2)
    storage = context.storage
    officers = await storage.list_officers()
    default = context.config.union.default_language
    news = _officer_news(case, answer, officers, default) if answer != "yes" else []
    await storage.add_case_event(
        NewCaseEvent(
            case_id=case.id,
            actor_id=case.worker_id,
            actor_role="worker",
            action="followup",
            note=json.dumps({"solved": answer}),
        ),
        outbox=news,
    )
    new_status = {"yes": CaseStatus.CLOSED, "no": CaseStatus.REOPENED}.get(answer)
    if new_status is not None and case.status == CaseStatus.RESOLVED:
        try:
            await storage.change_case_status(
                case.id,
                expected=CaseStatus.RESOLVED,
                new=new_status,
                actor_id=case.worker_id,
                actor_role="worker",
            )
        except StorageError:
            logger.info("Case %s changed before the follow-up answer arrived", case.reference)
    context.union_app.send_outbox_soon()
    await query.answer()
    # The question stays readable with the answer under it; its buttons go, so it cannot be pressed twice.
    asked = query.message.text if isinstance(query.message, Message) and query.message.text else ""
    await query.edit_message_text(
        f"{html.escape(asked, quote=False)}\n\n{context.t(ANSWERS[answer])}".strip()
    )
    reply = {
        "yes": context.t("We are glad. Your case {reference} is closed.", reference=case.reference),
        "partly": context.t("Thank you. We have told the union officer; they will contact you here."),
        "no": context.t(
            "We are sorry. {reference} is open again and the union officer will contact you here.",
            reference=case.reference,
        ),
    }[answer]
    stars = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=f"{SATISFACTION}{case.id}:{count}")]
            for count, label in enumerate(STARS, start=1)
        ]
    )
    await context.bot.send_message(
        case.worker_id,
        reply
        + "\n\n"
        + context.t("How satisfied are you with the union's help? 1 star is bad, 5 stars is very good."),
        reply_markup=stars,
    )
    logger.info("Follow-up answered on case %s", case.reference)


def _officer_news(case: Case, answer: str, officers: Sequence[Officer], default: str) -> list[OutboxMessage]:
    template = (
        NP_("officers", "🟡 The worker says {reference} is only partly solved.")
        if answer == "partly"
        else NP_("officers", "❌ The worker says {reference} is not solved. The case is reopened.")
    )
    return [
        notify.officer_note(
            officer.telegram_id,
            translate_in(OFFICERS, officer_language(officer, default), template, reference=case.reference),
            key=f"followup-news:{case.id}:{officer.telegram_id}",
            markup=notify.officer_buttons(case, officer_language(officer, default)),
        )
        for officer in notify.officers_to_tell(case, officers)
    ]


async def got_satisfaction(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    match = _SATISFACTION_DATA.match(query.data)
    case = await worker_case(update, context, int(match.group(1))) if match else None
    if match is None or case is None:
        if match is None:
            await stale_button(update, context)
        return
    if await _answered(context, case, "satisfaction"):
        await stale_button(update, context)
        return
    stars = int(match.group(2))
    await context.storage.add_case_event(
        NewCaseEvent(
            case_id=case.id,
            actor_id=case.worker_id,
            actor_role="worker",
            action="satisfaction",
            note=str(stars),
        )
    )
    await query.answer()
    await query.edit_message_text(context.t("Thank you for telling us: {stars}", stars=STARS[stars - 1]))


def handlers() -> list[BotHandler]:
    return [
        CallbackQueryHandler(got_solved, pattern=f"^{SOLVED}"),
        CallbackQueryHandler(got_satisfaction, pattern=f"^{SATISFACTION}"),
    ]
