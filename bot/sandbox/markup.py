"""Reply markup: inline and reply keyboards validated and normalised the way Telegram does."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.errors import bad

MAX_CALLBACK_DATA_BYTES = 64
_INLINE_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not _INLINE_ACTIONS & button.keys():
        raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad("BUTTON_DATA_INVALID")
    if "url" in button:
        parts = urlsplit(str(button["url"]))
        if parts.scheme not in ("http", "https", "tg") or not (parts.netloc or parts.path):
            raise bad("BUTTON_URL_INVALID")
    return dict(button)


def _rows(markup: dict[str, Any], key: str, kind: str) -> list[list[Any]]:
    rows = markup[key]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad(f'field "{key}" of the {kind} should be an Array of Arrays')
    return rows


def _keyboard_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise bad('can\'t parse keyboard button: Field "text" must be of type String')
    return dict(button)


def parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Validate reply_markup the way Telegram does; return it normalised, or None."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise bad("can't parse reply keyboard markup JSON object") from exc
    if not isinstance(raw, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = _rows(raw, "inline_keyboard", "InlineKeyboardMarkup")
        return {"inline_keyboard": [[_inline_button(b) for b in row] for row in rows]}
    if "keyboard" in raw:
        rows = _rows(raw, "keyboard", "ReplyKeyboardMarkup")
        return {**raw, "keyboard": [[_keyboard_button(b) for b in row] for row in rows]}
    if raw.get("remove_keyboard") or raw.get("force_reply"):
        return raw
    raise bad("can't parse reply keyboard markup JSON object")
