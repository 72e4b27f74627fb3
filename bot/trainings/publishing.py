"""Publishing, announcing and cancelling a training: the bot's /trainings and the command line share these.

Announcing goes through the broadcast machinery (the broadcast sweep sends it at Telegram's pace, and a
restart loses nothing): one broadcast with the training's text in every language and its ``training_id``,
so each worker gets the sign-up button under it (bot/broadcasts/dispatch.py). A broadcast has one
audience, and a training may name a trade and a region: then the trade decides (see
:func:`announcement_audience`).

Cancelling tells every worker who had a seat or was waiting, in their language, through the outbox,
in the same transaction as the cancellation: nobody is told of a cancellation that did not happen, and
nobody signed up is left out.
"""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from telegram.constants import ParseMode

from bot.cases.vocabulary import TRADE_LABELS, Trade
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.dates import local_time
from bot.core.i18n import LANGUAGES, N_, Html, TranslatableError, translate
from flows.training import describe_training, title_of, when
from storage import Storage
from storage.models import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    NewBroadcast,
    OutboxMessage,
    Schedule,
    ScheduleKind,
    SignupStatus,
    Training,
    TrainingSignup,
    TrainingStatus,
)

REGION_LIMIT = 50  # an audience's value (storage.models.Audience)
# Announcements still going out are looked for among this many latest broadcasts.
RECENT_BROADCASTS = 50

ANNOUNCEMENT_RULE = N_(
    "With a trade and a region, the announcement goes to all workers of the trade: workplaces are typed "
    "by hand, so a region match would miss some. Those known to work elsewhere are told it is not for "
    "them if they sign up."
)


class PublishError(TranslatableError):
    """Why a training cannot be announced or cancelled now."""


def announcement_audience(trade: str | None, region: str | None) -> Audience:
    """Who gets the announcement: the trade's workers, else the region's, else everyone.

    With both, the trade wins: trades are chosen from buttons in every worker's profile, while a
    workplace is free text ("城关镇", "城关", "Chengguan"), so a region match would silently miss
    workers of the trade. The training's text names the place, so a worker far away knows.
    """
    if trade is not None:
        return Audience(kind=AudienceKind.TRADE, value=trade)
    if region is not None:
        return Audience(kind=AudienceKind.REGION, value=region[:REGION_LIMIT])
    return Audience(kind=AudienceKind.EVERYONE)


def audience_text(trade: str | None, region: str | None, language: str) -> str:
    """The training's audience as admins read it: ``Construction · 城关镇``, or everyone (plain text)."""
    parts = []
    if trade is not None:
        parts.append(translate(language, TRADE_LABELS[Trade(trade)]) if trade in set(Trade) else trade)
    if region is not None:
        parts.append(region)
    return " · ".join(parts) if parts else translate(language, "all trades, everywhere")


def seats_taken(signups: list[TrainingSignup]) -> tuple[int, int]:
    """(confirmed, waiting) among a training's sign-ups."""
    confirmed = sum(signup.status == SignupStatus.CONFIRMED for signup in signups)
    waiting = sum(signup.status == SignupStatus.WAITING for signup in signups)
    return confirmed, waiting


async def announce(
    storage: Storage, config: Config, clock: Clock, training: Training, *, created_by: int | None
) -> Broadcast:
    """A broadcast of the training to its audience, going out now (the caller wakes the sweep).

    PublishError when it is cancelled, sign-up has closed, or an announcement of it is still going out.
    """
    now = clock.now()
    if training.status == TrainingStatus.CANCELLED:
        raise PublishError(N_("Training #{number} is cancelled."), number=training.id)
    if training.signup_deadline <= now:
        raise PublishError(N_("Sign-up for training #{number} has closed."), number=training.id)
    for broadcast in await storage.list_broadcasts(limit=RECENT_BROADCASTS):
        if broadcast.training_id == training.id and broadcast.status in (
            BroadcastStatus.SCHEDULED,
            BroadcastStatus.SENDING,
        ):
            raise PublishError(
                N_("An announcement of training #{number} is already going out."), number=training.id
            )
    confirmed, _waiting = seats_taken(await storage.list_signups(training.id))
    zone = config.union.zone
    texts = {
        language: describe_training(training, language=language, zone=zone, seats_taken=confirmed)
        for language in LANGUAGES
    }
    return await storage.create_broadcast(
        NewBroadcast(
            created_by=created_by,
            texts=texts,
            audience=announcement_audience(training.trade, training.region),
            schedule=Schedule(kind=ScheduleKind.ONCE, at=now),
            next_run_at=now,
            training_id=training.id,
        )
    )


async def cancel(storage: Storage, config: Config, training_id: int) -> tuple[Training, int]:
    """Cancel the training, tell everyone signed up or waiting, stop its announcements still going out.

    Returns the training and how many workers are told. PublishError when there is no such training or
    it is cancelled already.
    """
    training = await storage.get_training(training_id)
    if training is None:
        raise PublishError(N_("There is no training #{number}."), number=training_id)
    if training.status == TrainingStatus.CANCELLED:
        raise PublishError(N_("Training #{number} is cancelled."), number=training_id)
    signups = [
        signup
        for signup in await storage.list_signups(training_id)
        if signup.status in (SignupStatus.CONFIRMED, SignupStatus.WAITING)
    ]
    notices = [
        notice
        for signup in signups
        if (notice := await _cancellation_notice(storage, config, training, signup.worker_id)) is not None
    ]
    cancelled = await storage.cancel_training(training_id, outbox=notices)
    for broadcast in await storage.list_broadcasts(limit=RECENT_BROADCASTS):
        if broadcast.training_id == training_id and broadcast.status in (
            BroadcastStatus.SCHEDULED,
            BroadcastStatus.SENDING,
        ):
            await storage.cancel_broadcast(broadcast.id)
    return cancelled, len(notices)


async def _cancellation_notice(
    storage: Storage, config: Config, training: Training, worker_id: int
) -> OutboxMessage | None:
    """The worker's notice, in their language; None for a worker who has since been forgotten."""
    worker = await storage.get_worker(worker_id)
    if worker is None:
        return None
    default = config.union.default_language
    language = worker.language if worker.language in LANGUAGES else default
    text = translate(
        language,
        "Sorry: the training “{title}” ({when}) was called off. You do not need to go.",
        title=title_of(training, language),
        when=Html(when(training, language, config.union.zone)),
    )
    return OutboxMessage(
        chat_id=worker_id,
        params={"text": text, "parse_mode": ParseMode.HTML.value},
        dedupe_key=f"training-cancelled:{training.id}:{worker_id}",
    )


def summary_line(training: Training, signups: list[TrainingSignup], language: str, config: Config) -> str:
    """One training in a list (HTML, user text escaped): number, start, title, seats, place."""
    zone: ZoneInfo = config.union.zone
    confirmed, waiting = seats_taken(signups)
    title = _short(title_of(training, language), 40)
    line = (
        f"<b>#{training.id}</b> · {local_time(training.starts_at, zone)} · {html.escape(title, quote=False)}"
    )
    if training.status == TrainingStatus.CANCELLED:
        return line + " · " + translate(language, "cancelled")
    counts = translate(
        language,
        "signed up {taken}/{seats} · waiting {waiting}",
        taken=confirmed,
        seats=training.seats,
        waiting=waiting,
    )
    return f"{line}\n  {counts} · {html.escape(_short(training.place, 40), quote=False)}"


def plain_text(text: str) -> str:
    """What a reader sees of an HTML text (tags gone, entities read): for the terminal, or to compare."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
