"""The callback context every handler gets: storage, config, clock and the user's language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ExtBot

from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.app import UnionApplication
    from bot.clock import Clock
    from bot.config import Config
    from storage import Storage


class BotContext(CallbackContext[ExtBot[None], dict[str, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def union_app(self) -> UnionApplication:
        return self.application  # type: ignore[return-value]

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
