"""Know your rights (/rights): short topics as buttons; each says what the law says and what the union can do.

Read-only and asks nothing personal, so it works for workers who declined data keeping. The texts live in
the catalogs (one message per topic and part), where the union can edit them.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.core.context import BotContext, BotHandler
from bot.core.i18n import N_, Html
from bot.runtime.commands import stale_button
from flows import forms
from flows.menu import MENU_PREFIX, menu_pattern

TOPICS_DATA = "rights:topics"
TOPIC_PREFIX = "rights:t:"


@dataclass(frozen=True)
class Topic:
    key: str  # in the callback data
    title: str  # message id, also the button label
    law: str  # message id: what the law says, in general
    union: str  # message id: what the union can do
    form: str  # the menu item of the related form
    form_label: str  # message id of that menu button


TOPICS: list[Topic] = [
    Topic(
        "wages",
        N_("💰 Unpaid wages"),
        N_(
            "• Wages must be paid in money, in full and on time, at least once a month.\n"
            "• The employer may not keep your ID card "
            "or make you pay a deposit.\n"
            "• On a construction project, if a subcontractor does not pay, "
            "the main contractor must pay first.\n"
            "• Labour arbitration is free. In general you must apply within 1 year; "
            "for unpaid wages the year counts from the day the job ends."
        ),
        N_(
            "• Help you write down who owes you, how much and for how long.\n"
            "• Talk to the employer or contractor for you.\n"
            "• Go with you to the labour inspection office or to arbitration."
        ),
        "wages",
        N_("💰 Report unpaid wages"),
    ),
    Topic(
        "contract",
        N_("📝 Labour contracts"),
        N_(
            "• The employer must sign a written labour contract with you "
            "within one month of your first day.\n"
            "• If it does not, in general it owes you double wages for each month without a contract "
            "(up to 11 months).\n"
            "• You should get your own copy of the contract. Keep it safe."
        ),
        N_(
            "• Read your contract with you and explain it.\n"
            "• Ask the employer to sign a contract with you.\n"
            "• Help you claim double wages if there was no contract."
        ),
        "legal",
        N_("⚖️ Legal aid"),
    ),
    Topic(
        "injury",
        N_("🩹 Injured at work"),
        N_(
            "• The employer must pay work-injury insurance for every worker.\n"
            "• After an injury, the employer should apply for work-injury recognition (工伤认定) "
            "within 30 days.\n"
            "• If it does not, you or your family can apply yourselves within 1 year of the accident.\n"
            "• Keep hospital papers and the names of coworkers who saw what happened."
        ),
        N_(
            "• Help you collect evidence and apply for recognition in time (the union may apply with you).\n"
            "• Ask the employer to pay what it owes for treatment and lost wages.\n"
            "• Find you legal aid if the employer refuses."
        ),
        "legal",
        N_("⚖️ Legal aid"),
    ),
    Topic(
        "insurance",
        N_("🏥 Social insurance"),
        N_(
            "• Social insurance is compulsory: the employer must register you and pay its part.\n"
            "• It covers pension, medical care, unemployment, work injury and maternity.\n"
            "• A paper where you “give up” social insurance does not free the employer, in general.\n"
            "• You can check what was paid for you at the social insurance office or in its app."
        ),
        N_(
            "• Help you check your insurance record.\n"
            "• Ask the employer to register you and pay what is missing.\n"
            "• Help you complain to the social insurance office."
        ),
        "legal",
        N_("⚖️ Legal aid"),
    ),
    Topic(
        "disease",
        N_("😷 Occupational disease"),
        N_(
            "• Illness caused by dust, chemicals or noise at work can be an occupational disease "
            "(for example silicosis).\n"
            "• For such jobs the employer must arrange health checks, at its own cost.\n"
            "• You can ask for a diagnosis at a qualified hospital where you work, where your household is "
            "registered, or where you live."
        ),
        N_(
            "• Help you get your work records and health check results.\n"
            "• Help you ask for a diagnosis and work-injury recognition.\n"
            "• Find you legal aid."
        ),
        "legal",
        N_("⚖️ Legal aid"),
    ),
]

_BY_KEY = {topic.key: topic for topic in TOPICS}


def _topics_markup(context: BotContext) -> InlineKeyboardMarkup:
    return forms.buttons([[(context.t(topic.title), TOPIC_PREFIX + topic.key)] for topic in TOPICS])


def _topics_text(context: BotContext) -> str:
    return context.t("Know your rights. Choose a topic:")


def _topic_text(context: BotContext, topic: Topic) -> Html:
    # Catalog texts are HTML already (no user data in them), so they are joined as they are.
    # (t() stays outside f-strings: the message extractor does not look inside them.)
    law, union = context.t("What the law says"), context.t("What the union can do")
    caveat = context.t("This is general information. Every case is different: ask us about yours.")
    parts = [
        _bold(context.t(topic.title)),
        "",
        _bold(law),
        context.t(topic.law),
        "",
        _bold(union),
        context.t(topic.union),
        "",
        f"<i>{caveat}</i>",
    ]
    return Html("\n".join(parts))


def _bold(text: str) -> str:
    return f"<b>{text}</b>"


# -- steps ------------------------------------------------------------------------------------------


async def show_topics(update: Update, context: BotContext) -> None:
    """/rights or the menu button: the topics as buttons, in a new message."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await forms.say(update, context, _topics_text(context), _topics_markup(context))


async def back_to_topics(update: Update, context: BotContext) -> None:
    """Back from a topic: the same message shows the topics again (fewer messages on a small screen)."""
    query = update.callback_query
    assert query
    await query.answer()
    await query.edit_message_text(_topics_text(context), reply_markup=_topics_markup(context))


async def show_topic(update: Update, context: BotContext) -> None:
    """One topic in place of the list, with the related form and a way back."""
    query = update.callback_query
    assert query and query.data
    topic = _BY_KEY.get(query.data.removeprefix(TOPIC_PREFIX))
    if topic is None:
        await stale_button(update, context)
        return
    await query.answer()
    markup = forms.buttons(
        [
            [(context.t(topic.form_label), MENU_PREFIX + topic.form)],
            [(context.t("⬅️ Back to topics"), TOPICS_DATA)],
        ]
    )
    await query.edit_message_text(_topic_text(context, topic), reply_markup=markup)


def handlers() -> list[BotHandler]:
    return [
        CommandHandler("rights", show_topics),
        CallbackQueryHandler(show_topics, pattern=menu_pattern("rights")),
        CallbackQueryHandler(back_to_topics, pattern=f"^{TOPICS_DATA}$"),
        CallbackQueryHandler(show_topic, pattern=f"^{TOPIC_PREFIX}"),
    ]
