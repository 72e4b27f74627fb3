"""The callback context every handler gets: storage, config, clock and the user's language."""

from __future__ import annotations

from typing import Any, TypeAlias, cast

from telegram import Update
from telegram.ext import BaseHandler, CallbackContext, ExtBot

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import Translator
from bot.core.services import Services
from storage import Storage


class BotContext(CallbackContext[ExtBot[None], dict[str, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def union_app(self) -> Services:
        return cast(Services, self.application)  # bot.app.UnionApplication provides the Services

    @property
    def storage(self) -> Storage:
        return self.union_app.storage

    @property
    def config(self) -> Config:
        return self.union_app.config

    @property
    def clock(self) -> Clock:
        return self.union_app.clock

    @property
    def language(self) -> str:
        """The language of the user this update came from (their choice, else the union's default)."""
        return self.union_app.language_of(self._user_id)

    @property
    def t(self) -> Translator:
        return Translator(self.language)


# A handler a feature hands the application. PTB's BaseHandler is invariant in its callback's result and
# ours return None, a conversation state or END, so a mixed list says object (as ConversationHandler does).
BotHandler: TypeAlias = BaseHandler[Update, BotContext, object]
