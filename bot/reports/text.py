"""The one report text: the figures of a period as officers and the union above read them.

/report shows it for any period; the Monday report sends it to the admins for the week before.
"""

from __future__ import annotations

from bot.cases.vocabulary import KIND_LABELS, TRADE_LABELS, Trade, status_name_in
from bot.core.i18n import labelled, money, span, translate, translate_plural
from bot.reports.figures import Period, PeriodFigures, TrainingFigures
from storage.models import CaseKind


def report_text(
    figures: PeriodFigures, period: Period, language: str, *, everyone: bool, weekly: bool = False
) -> str:
    """The period's figures as an HTML message, in the reader's language: /report, and (``weekly``) the
    admins' Monday report, which is the same text under its own heading."""

    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    dates = {"start": period.first.isoformat(), "end": period.last.isoformat()}
    share = figures.on_time_share
    first_response, resolution = figures.first_response_median, figures.resolution_median
    lines = [
        "<b>"
        + (
            t("📊 Weekly report, {start} to {end}", **dates)
            if weekly
            else t("📊 Report, {start} to {end}", **dates)
        )
        + "</b>",
        t("All cases") if everyone else t("Your cases (where you are primary or backup)"),
        "",
        t("New cases: {count}", count=figures.new_total),
        *(
            "  · " + labelled(language, t(KIND_LABELS[kind]), str(figures.new_by_kind.get(kind, 0)))
            for kind in CaseKind
        ),
        t("Collective cases: {count}", count=figures.collective),
    ]
    if figures.by_status:
        lines.append(t("Where the new cases stand now:"))
        lines += [
            "  · " + labelled(language, status_name_in(language, status), str(count))
            for status, count in figures.by_status.items()
        ]
    lines += [
        "",
        t("Resolved: {count}", count=figures.resolved),
        t("Referred to inspection, arbitration, court or legal aid: {count}", count=figures.referred),
        t("Overdue now: {count}", count=figures.overdue_now),
        t(
            "First response, median: {time}",
            time=span(language, first_response) if first_response is not None else "—",
        ),
        t(
            "Time to resolve, median: {time}",
            time=span(language, resolution) if resolution is not None else "—",
        ),
        t(
            "Handled on time: {share} ({on_time} of {count})",
            share=f"{share:.0%}" if share is not None else "—",
            on_time=figures.on_time,
            count=figures.on_time_counted,
        ),
        translate_plural(
            language,
            "Wages recovered: {amount} for {count} worker",
            "Wages recovered: {amount} for {count} workers",
            figures.workers_helped,
            amount=money(language, figures.wages_recovered),
        ),
        "",
        t("New members: {count}", count=figures.new_members),
    ]
    lines += _breakdown(language, t("By trade:"), figures.new_members_by_trade, by_trade=True)
    lines += _breakdown(language, t("By month:"), figures.new_members_by_month)
    assistance = figures.assistance
    lines += [
        "",
        translate_plural(
            language,
            "Hardship assistance granted: {count} worker, {amount} in all",
            "Hardship assistance granted: {count} workers, {amount} in all",
            assistance.granted,
            amount=money(language, assistance.amount_granted),
        ),
        t("Not eligible: {count}", count=assistance.not_eligible),
        t("Referred upward to the federation: {count}", count=assistance.referred_upward),
    ]
    if figures.trainings is not None:
        lines += ["", *_training_lines(figures.trainings, language)]
    if everyone:
        lines += [
            "",
            t("Broadcast reach: not recorded yet")
            if figures.broadcast_reach is None
            else translate_plural(
                language,
                "Broadcast reach: {count} worker",
                "Broadcast reach: {count} workers",
                figures.broadcast_reach,
            ),
        ]
    return "\n".join(lines)


def _training_lines(trainings: TrainingFigures, language: str) -> list[str]:
    def t(msgid: str, /, **params: object) -> str:
        return translate(language, msgid, **params)

    lines = [
        t("Trainings held: {count}", count=trainings.held),
        t(
            "Seats taken: {count}; attended: {attended}",
            count=trainings.signed_up,
            attended=trainings.attended,
        ),
        t("Workers trained: {count}", count=trainings.workers_trained),
    ]
    lines += _breakdown(language, t("Workers trained by trade:"), trainings.trained_by_trade, by_trade=True)
    lines += _breakdown(language, t("Workers trained by month:"), trainings.trained_by_month)
    if trainings.upcoming:
        lines.append(
            translate_plural(
                language,
                "Still to come in this period: {count} training, {signed_up} signed up",
                "Still to come in this period: {count} trainings, {signed_up} signed up",
                trainings.upcoming,
                signed_up=trainings.upcoming_signed_up,
            )
        )
    return lines


def _breakdown(language: str, heading: str, counts: dict[str, int], *, by_trade: bool = False) -> list[str]:
    """A count split by trade, or by month (only when the period spans more than one)."""
    if len(counts) < (1 if by_trade else 2):
        return []
    return [
        heading,
        *(
            "  · " + labelled(language, _trade_label(key, language) if by_trade else key, str(count))
            for key, count in counts.items()
        ),
    ]


def _trade_label(trade: str, language: str) -> str:
    try:
        return translate(language, TRADE_LABELS[Trade(trade)])
    except ValueError:
        return trade or "—"
