"""An offline Telegram Bot API for tests and for trying the bot without Telegram.

``BotApiSandbox`` serves the Bot API on 127.0.0.1; ``Person`` plays a user in a private chat;
``chat_in_terminal`` lets a human chat with the bot through the sandbox.
"""

from bot.sandbox.formatting import format_text, utf16_len
from bot.sandbox.markup import parse_reply_markup
from bot.sandbox.server import BotApiSandbox, CallbackAnswer, Person, SentMessage
from bot.sandbox.terminal import chat_in_terminal

__all__ = [
    "BotApiSandbox",
    "CallbackAnswer",
    "Person",
    "SentMessage",
    "chat_in_terminal",
    "format_text",
    "parse_reply_markup",
    "utf16_len",
]
