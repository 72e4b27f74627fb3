"""An offline stand-in for the Telegram Bot API.

CI machines and new contributors cannot reach Telegram, yet the bot must be exercised with the
real python-telegram-bot stack.  ``BotApiSandbox`` is a small HTTP server that speaks the part
of the Bot API the bot uses and answers the way Telegram does - including its refusals - so a
PTB ``Application`` built with ``.base_url(sandbox.base_url).base_file_url(sandbox.file_url)``
runs end to end.  Simulated people (``Person``) send messages, press buttons and read what the
bot showed them.  Only the standard library is used so the sandbox adds no dependencies.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

logger = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"^(\d+):[A-Za-z0-9_-]{5,}$")
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
DELETE_WINDOW_SECONDS = 48 * 3600
BOT_FIRST_NAME = "Union Bot"
BOT_USERNAME = "union_sandbox_bot"

_API_PATH = re.compile(r"^/bot([^/]+)/([A-Za-z]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot([^/]+)/(.+)$")
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_MEDIA_KINDS = frozenset({"photo", "document", "voice", "sticker"})
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
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Form values are JSON-encoded by PTB unless they are strings; these stay strings even when
# they look like JSON (a text of "123" must not become a number).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "url",
        "action",
        "language_code",
        "secret_token",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "sticker",
        "animation",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "phone_number",
        "first_name",
        "last_name",
        "title",
        "address",
        "emoji",
        "name",
        "description",
        "short_description",
    }
)
_CONTENT_KEYS = ("text", "entities", "photo", "document", "voice", "location", "sticker", "contact")
_CAPTION_KEYS = ("caption", "caption_entities")
# folder in file_path, default extension, default MIME type, file_id prefix (looks like Telegram's)
_FILE_KINDS: dict[str, tuple[str, str, str, str]] = {
    "photo": ("photos", "jpg", "image/jpeg", "AgACAgIAAxk"),
    "document": ("documents", "bin", "application/octet-stream", "BQACAgIAAxk"),
    "voice": ("voice", "oga", "audio/ogg", "AwACAgIAAxk"),
    "sticker": ("stickers", "webp", "image/webp", "CAACAgIAAxk"),
}
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00sandbox\xff\xd9"
_FAKE_OGG = b"OggS\x00\x02" + bytes(58)
_FAKE_WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 sandbox-sticker"


class ApiError(Exception):
    """A refusal, carried up to the HTTP layer and answered in Telegram's error format."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _entities_error(detail: str) -> ApiError:
    return _bad(f"can't parse entities: {detail}")


def utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# Request decoding
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    filename: str
    mime_type: str
    content: bytes


def _header_params(value: str) -> dict[str, str]:
    """Parse ``type; a="x"; b=y`` header parameters (quoted values may contain ``;``)."""
    params: dict[str, str] = {}
    for match in re.finditer(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', ";" + value):
        raw = match.group(2).strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1]).replace("%22", '"')
        params[match.group(1).lower()] = raw
    return params


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split multipart/form-data into text fields and files (the ``cgi`` module is gone)."""
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise _bad("multipart boundary is missing")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            mime = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(disposition["filename"], mime, content)
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def _decode_form_value(name: str, raw: str) -> Any:
    """PTB JSON-encodes every non-string value of a form; undo that except for string params."""
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class _Params:
    """The decoded parameters of one API call, with Telegram-style coercion on access."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    @classmethod
    def from_request(cls, query: str, content_type: str, body: bytes) -> _Params:
        values: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in parse_qsl(query, True)}
        files: dict[str, UploadedFile] = {}
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json" and body:
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise _bad("can't parse JSON encoded request body") from exc
            if not isinstance(decoded, dict):
                raise _bad("JSON encoded request body must be an object")
            values.update(decoded)
        elif mime == "multipart/form-data":
            fields, files = _parse_multipart(body, content_type)
            values.update({k: _decode_form_value(k, v) for k, v in fields.items()})
        elif body:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            values.update({k: _decode_form_value(k, v) for k, v in pairs})
        return cls(values, files)

    def names(self) -> set[str]:
        """Parameter names as Telegram sees them: attach:// file parts are not parameters."""
        attached = {
            v.removeprefix("attach://")
            for v in self.values.values()
            if isinstance(v, str) and v.startswith("attach://")
        }
        return set(self.values) | (set(self.files) - attached)

    def value(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError) as exc:
            raise _bad(f'field "{name}" must be of type Integer') from exc

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise _bad(f'field "{name}" must be of type Float') from exc

    def flag(self, name: str) -> bool:
        return self.values.get(name) in (True, 1, "true", "True", "1")

    def json_value(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str) and name not in _STRING_PARAMS:
            try:
                return json.loads(value)
            except ValueError as exc:
                raise _bad(f"can't parse {name} JSON object") from exc
        return value

    def loggable(self) -> dict[str, Any]:
        described = {
            name: f"<file {upload.filename!r}, {len(upload.content)} bytes>"
            for name, upload in self.files.items()
        }
        return {**self.values, **described}


# --------------------------------------------------------------------------------------------
# Text formatting (parse_mode), following tdlib's parsers and error messages
# --------------------------------------------------------------------------------------------


class _TextBuilder:
    """Collects parsed plain text and entities with UTF-16 offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_len(text)

    def entity(self, kind: str, start: int, end: int | None = None, **extra: Any) -> None:
        length = (self.offset if end is None else end) - start
        if length > 0:
            self.entities.append({"type": kind, "offset": start, "length": length, **extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_CHAR_REF = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z]+));")


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    start: int
    byte_offset: int


class _HtmlParser:
    """Telegram's HTML parse mode.

    Deliberately stricter than Telegram in one place: an ``&`` that does not start
    ``&lt; &gt; &amp; &quot; &#NN; &#xHH;`` is refused, because Telegram shows such text
    verbatim only by luck and it nearly always means the bot forgot to escape user input.
    """

    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.out = _TextBuilder()
        self.stack: list[_OpenTag] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.i < len(self.src):
            char = self.src[self.i]
            if char == "&":
                self.out.add(self._char_ref())
            elif char == "<" and self.src.startswith("</", self.i):
                self._close_tag()
            elif char == "<":
                self._open_tag()
            else:
                self.out.add(char)
                self.i += 1
        if self.stack:
            raise _entities_error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return self.out.result()

    def _char_ref(self) -> str:
        match = _HTML_CHAR_REF.match(self.src, self.i)
        decoded = _decode_char_ref(match) if match else None
        if match is None or decoded is None:
            raise _entities_error(
                f"Unsupported HTML entity at byte offset {_byte_offset(self.src, self.i)}: "
                'write "&" as "&amp;"'
            )
        self.i = match.end()
        return decoded

    def _read_token(self, stop: str) -> str:
        start = self.i
        while self.i < len(self.src) and not self.src[self.i].isspace() and self.src[self.i] not in stop:
            self.i += 1
        return self.src[start : self.i]

    def _skip_spaces(self) -> None:
        while self.i < len(self.src) and self.src[self.i].isspace():
            self.i += 1

    def _open_tag(self) -> None:
        begin = self.i
        offset = _byte_offset(self.src, begin)
        self.i += 1
        name = self._read_token(">").lower()
        if self.i >= len(self.src):
            raise _entities_error(f"Unclosed start tag at byte offset {offset}")
        if name not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        attributes = self._attributes(name, offset)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            raise _entities_error(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        self.stack.append(_OpenTag(name, attributes, self.out.offset, offset))

    def _attributes(self, tag: str, offset: int) -> dict[str, str]:
        attributes: dict[str, str] = {}
        while True:
            self._skip_spaces()
            if self.i >= len(self.src):
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            if self.src[self.i] == ">":
                self.i += 1
                return attributes
            name = self._read_token("=>").lower()
            if not name:
                raise _entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
            self._skip_spaces()
            if tag == "blockquote" and name == "expandable" and self.src[self.i : self.i + 1] != "=":
                attributes[name] = ""
                continue
            if self.src[self.i : self.i + 1] != "=":
                raise _entities_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {offset}"
                )
            self.i += 1
            self._skip_spaces()
            attributes[name] = self._attribute_value(offset)

    def _attribute_value(self, offset: int) -> str:
        if self.i >= len(self.src):
            raise _entities_error(f"Unclosed start tag at byte offset {offset}")
        quote = self.src[self.i]
        if quote in "\"'":
            end = self.src.find(quote, self.i + 1)
            if end < 0:
                raise _entities_error(f"Unclosed start tag at byte offset {offset}")
            raw = self.src[self.i + 1 : end]
            value_start = self.i + 1
            self.i = end + 1
            return self._decode_attribute(raw, value_start)
        start = self.i
        while self.i < len(self.src) and (self.src[self.i].isalnum() or self.src[self.i] in ".-"):
            self.i += 1
        if self.i == start:
            raise _entities_error(
                f"Unexpected end of name token at byte offset {_byte_offset(self.src, self.i)}"
            )
        return self.src[start : self.i]

    def _decode_attribute(self, raw: str, start: int) -> str:
        """Attribute values may use character references but contain no tags."""
        parts: list[str] = []
        position = 0
        while (amp := raw.find("&", position)) >= 0:
            parts.append(raw[position:amp])
            self.i, saved = start + amp, self.i
            parts.append(self._char_ref())
            position, self.i = self.i - start, saved
        parts.append(raw[position:])
        return "".join(parts)

    def _close_tag(self) -> None:
        offset = _byte_offset(self.src, self.i)
        if not self.stack:
            raise _entities_error(f"Unexpected end tag at byte offset {offset}")
        self.i += 2
        name = self._read_token(">").lower()
        self._skip_spaces()
        if self.src[self.i : self.i + 1] != ">":
            raise _entities_error(f"Unclosed end tag at byte offset {offset}")
        self.i += 1
        tag = self.stack.pop()
        if name and name != tag.name:
            raise _entities_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found "</{name}>"'
            )
        self._emit(tag)

    def _emit(self, tag: _OpenTag) -> None:
        kind = _HTML_TAGS[tag.name]
        if kind == "text_link":
            self._emit_link(tag)
        elif kind == "custom_emoji":
            self.out.entity(kind, tag.start, custom_emoji_id=tag.attributes["emoji-id"])
        elif kind == "pre":
            self._emit_pre(tag)
        elif kind == "blockquote" and "expandable" in tag.attributes:
            self.out.entity("expandable_blockquote", tag.start)
        else:
            extra = {}
            language = tag.attributes.get("class", "").removeprefix("language-")
            if kind == "code" and tag.attributes.get("class", "").startswith("language-") and language:
                extra["language"] = language
            self.out.entity(kind, tag.start, **extra)

    def _emit_link(self, tag: _OpenTag) -> None:
        href = tag.attributes.get("href", "")
        if href:
            self.out.entity("text_link", tag.start, url=href)
        else:
            self.out.entity("url", tag.start)

    def _emit_pre(self, tag: _OpenTag) -> None:
        """``<pre><code class="language-x">`` is one pre entity with a language, as in tdlib."""
        length = self.out.offset - tag.start
        inner = [
            e
            for e in self.out.entities
            if e["type"] == "code" and (e["offset"], e["length"]) == (tag.start, length)
        ]
        extra = {}
        for entity in inner:
            self.out.entities.remove(entity)
            if "language" in entity:
                extra["language"] = entity["language"]
        self.out.entity("pre", tag.start, **extra)


def _decode_char_ref(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, named = match.groups()
    if named is not None:
        return _HTML_NAMED.get(named)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_CLOSERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "code": "`",
    "pre": "```",
    "text_link": "]",
    "custom_emoji": "]",
}
_MDV2_OPENERS = (
    ("```", "pre"),
    ("__", "underline"),
    ("||", "spoiler"),
    ("![", "custom_emoji"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
    ("`", "code"),
    ("[", "text_link"),
)
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenMarkup:
    kind: str
    start: int
    byte_offset: int
    language: str | None = None


@dataclass
class _Quote:
    start: int
    expandable: bool


class _MarkdownV2Parser:
    """Telegram's MarkdownV2 parse mode: every reserved character must be markup or escaped."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.out = _TextBuilder()
        self.stack: list[_OpenMarkup] = []
        self.quote: _Quote | None = None
        self.line_start = True
        self.line_end = 0

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.i < len(self.src):
            if self.line_start:
                self._begin_line()
                if self.i >= len(self.src):
                    break
            self._step()
        if self.stack:
            top = self.stack[-1]
            raise _entities_error(
                f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
            )
        self._end_quote(self.out.offset)
        return self.out.result()

    def _step(self) -> None:
        src, i = self.src, self.i
        char = src[i]
        top = self.stack[-1] if self.stack else None
        if char == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
            self.out.add(src[i + 1])
            self.i += 2
        elif char == "\n":
            self.line_end = self.out.offset
            self.out.add(char)
            self.i += 1
            self.line_start = True
        elif top is not None and src.startswith(_MDV2_CLOSERS[top.kind], i):
            self._close(top)
        elif top is not None and top.kind in ("code", "pre"):
            self.out.add(char)
            self.i += 1
        elif self._ends_expandable_quote():
            self.i += 2
        elif char not in _MDV2_RESERVED:
            self.out.add(char)
            self.i += 1
        else:
            self._open()

    def _begin_line(self) -> None:
        self.line_start = False
        if self.src.startswith("**>", self.i) and self.quote is None:
            self.quote = _Quote(self.out.offset, expandable=True)
            self.i += 3
        elif self.src.startswith(">", self.i):
            if self.quote is None:
                self.quote = _Quote(self.out.offset, expandable=False)
            self.i += 1
        else:
            self._end_quote(self.line_end)

    def _ends_expandable_quote(self) -> bool:
        end = self.i + 2
        return (
            self.quote is not None
            and self.quote.expandable
            and self.src.startswith("||", self.i)
            and (end == len(self.src) or self.src[end] == "\n")
        )

    def _end_quote(self, end: int) -> None:
        if self.quote is not None:
            kind = "expandable_blockquote" if self.quote.expandable else "blockquote"
            self.out.entity(kind, self.quote.start, end)
            self.quote = None

    def _open(self) -> None:
        opener = next(((t, k) for t, k in _MDV2_OPENERS if self.src.startswith(t, self.i)), None)
        if opener is None:
            raise _entities_error(
                f"Character '{self.src[self.i]}' is reserved and must be escaped with the preceding '\\'"
            )
        token, kind = opener
        markup = _OpenMarkup(kind, self.out.offset, _byte_offset(self.src, self.i))
        self.i += len(token)
        if kind == "pre":
            markup.language = self._pre_language()
        self.stack.append(markup)

    def _pre_language(self) -> str | None:
        end = self.i
        while end < len(self.src) and not self.src[end].isspace() and self.src[end] != "`":
            end += 1
        language = None
        if end > self.i and end < len(self.src) and self.src[end] != "`":
            language = self.src[self.i : end]
            self.i = end
        if self.src[self.i : self.i + 1] == "\n":
            self.i += 1
        return language

    def _close(self, top: _OpenMarkup) -> None:
        self.stack.pop()
        self.i += len(_MDV2_CLOSERS[top.kind])
        if top.kind == "text_link":
            url = self._link_target()
            if url:
                self.out.entity("text_link", top.start, url=url)
        elif top.kind == "custom_emoji":
            emoji_id = self._link_target().removeprefix("tg://emoji?id=")
            if not emoji_id.isdigit():
                raise _entities_error(
                    f"Custom emoji entity must contain a tg://emoji URL at byte offset {top.byte_offset}"
                )
            self.out.entity("custom_emoji", top.start, custom_emoji_id=emoji_id)
        elif top.kind == "pre" and top.language:
            self.out.entity("pre", top.start, language=top.language)
        else:
            self.out.entity(top.kind, top.start)

    def _link_target(self) -> str:
        if not self.src.startswith("(", self.i):
            return ""
        begin = self.i
        self.i += 1
        url: list[str] = []
        while self.i < len(self.src) and self.src[self.i] != ")":
            if self.src[self.i] == "\\" and self.i + 1 < len(self.src):
                self.i += 1
            url.append(self.src[self.i])
            self.i += 1
        if self.i >= len(self.src):
            raise _entities_error(f"Can't find end of a URL at byte offset {_byte_offset(self.src, begin)}")
        self.i += 1
        return "".join(url)


_LEGACY_MARKDOWN = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}


def _parse_legacy_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's old "Markdown" mode: flat entities, and an unclosed one is an error."""
    out = _TextBuilder()
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and source[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(source[i + 1])
            i += 2
        elif char not in _LEGACY_MARKDOWN:
            out.add(char)
            i += 1
        else:
            i = _legacy_entity(source, i, out)
    return out.result()


def _legacy_entity(source: str, i: int, out: _TextBuilder) -> int:
    """Parse one entity starting at ``i``; return the index just after it."""
    char = source[i]
    error = _entities_error(f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}")
    start = out.offset
    if source.startswith("```", i):
        end = source.find("```", i + 3)
        if end < 0:
            raise error
        inner = source[i + 3 : end]
        first_line, newline, rest = inner.partition("\n")
        language = first_line if newline and first_line and " " not in first_line else None
        out.add(rest if language else inner)
        out.entity("pre", start, **({"language": language} if language else {}))
        return end + 3
    end = source.find("]" if char == "[" else char, i + 1)
    if end < 0:
        raise error
    out.add(source[i + 1 : end])
    if char != "[":
        out.entity(_LEGACY_MARKDOWN[char], start)
        return end + 1
    if not source.startswith("(", end + 1):
        return end + 1
    close = source.find(")", end + 2)
    if close < 0:
        raise error
    out.entity("text_link", start, url=source[end + 2 : close])
    return close + 1


def _explicit_entities(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("type"), str)
        and isinstance(e.get("offset"), int)
        and isinstance(e.get("length"), int)
        for e in raw
    ):
        raise _bad("can't parse entities JSON object")
    return [dict(e) for e in raw if e["length"] > 0]


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips surrounding whitespace after parsing; entities move along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def format_text(raw: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[dict[str, Any]]]:
    """Turn what the bot sent into the plain text and entities Telegram would store."""
    mode = (parse_mode or "").lower()
    if entities is not None:
        text, parsed = raw, _explicit_entities(entities)
    elif mode == "html":
        text, parsed = _HtmlParser(raw).parse()
    elif mode == "markdownv2":
        text, parsed = _MarkdownV2Parser(raw).parse()
    elif mode == "markdown":
        text, parsed = _parse_legacy_markdown(raw)
    elif mode == "":
        text, parsed = raw, []
    else:
        raise _bad("unsupported parse_mode")
    return _trim(text, parsed)


# --------------------------------------------------------------------------------------------
# Reply markup
# --------------------------------------------------------------------------------------------


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not _INLINE_ACTIONS & button.keys():
        raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        parts = urlsplit(str(button["url"]))
        if parts.scheme not in ("http", "https", "tg") or not (parts.netloc or parts.path):
            raise _bad("BUTTON_URL_INVALID")
    return dict(button)


def _rows(markup: dict[str, Any], key: str, kind: str) -> list[list[Any]]:
    rows = markup[key]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad(f'field "{key}" of the {kind} should be an Array of Arrays')
    return rows


def _keyboard_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
    return dict(button)


def parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Validate reply_markup the way Telegram does; return it normalised, or None."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise _bad("can't parse reply keyboard markup JSON object") from exc
    if not isinstance(raw, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = _rows(raw, "inline_keyboard", "InlineKeyboardMarkup")
        return {"inline_keyboard": [[_inline_button(b) for b in row] for row in rows]}
    if "keyboard" in raw:
        rows = _rows(raw, "keyboard", "ReplyKeyboardMarkup")
        return {**raw, "keyboard": [[_keyboard_button(b) for b in row] for row in rows]}
    if raw.get("remove_keyboard") or raw.get("force_reply"):
        return raw
    raise _bad("can't parse reply keyboard markup JSON object")


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    """What a person sees of one bot message, frozen at the moment of an event.

    ``text`` is the text, or the caption of a media message.  ``inline_buttons`` holds rows of
    ``(label, callback_data or url)``; ``reply_keyboard`` holds the label rows of the reply
    keyboard this message brought up (None if it brought none).  ``seq`` orders events across
    the whole sandbox and can be passed as ``since`` to the ``wait_for_*`` methods.
    """

    message_id: int
    kind: str
    text: str | None
    date: int
    seq: int
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    inline_buttons: list[list[tuple[str, str | None]]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    edits: int = 0
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def button_labels(self) -> list[str]:
        return [label for row in self.inline_buttons for label, _ in row]


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    mime_type: str
    file_name: str | None = None
    duration: int | None = None

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class _StoredMessage:
    data: dict[str, Any]
    from_bot: bool
    kind: str
    parse_mode: str | None = None
    reply_keyboard: list[list[dict[str, Any]]] | None = None
    edits: int = 0
    deleted: bool = False
    seq: int = 0

    def snapshot(self) -> SentMessage:
        data = self.data
        markup = data.get("reply_markup", {})
        inline = [
            [(b["text"], b.get("callback_data", b.get("url"))) for b in row]
            for row in markup.get("inline_keyboard", [])
        ]
        keyboard = None
        if self.reply_keyboard is not None:
            keyboard = [[b["text"] for b in row] for row in self.reply_keyboard]
        return SentMessage(
            message_id=data["message_id"],
            kind=self.kind,
            text=data.get("text", data.get("caption")),
            date=data["date"],
            seq=self.seq,
            parse_mode=self.parse_mode,
            entities=copy.deepcopy(data.get("entities", data.get("caption_entities", []))),
            inline_buttons=inline,
            reply_keyboard=keyboard,
            edits=self.edits,
            deleted=self.deleted,
            raw=copy.deepcopy(data),
        )


@dataclass
class _ChatState:
    user: dict[str, Any]
    messages: dict[int, _StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: list[list[dict[str, Any]]] | None = None
    blocked: bool = False
    events: list[tuple[int, str, SentMessage]] = field(default_factory=list)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    presses: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.user["id"]

    def chat_json(self) -> dict[str, Any]:
        chat = {"id": self.id, "type": "private", "first_name": self.user["first_name"]}
        chat.update({k: self.user[k] for k in ("last_name", "username") if k in self.user})
        return chat

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def bot_messages(self) -> list[_StoredMessage]:
        return [m for m in self.messages.values() if m.from_bot and not m.deleted]


@dataclass
class _Outage:
    status: int
    description: str
    methods: frozenset[str] | None
    remaining: int | None

    def matches(self, method: str) -> bool:
        return self.methods is None or method.lower() in self.methods


@dataclass
class _Query:
    chat_id: int
    answered: bool = False


Listener = Callable[[int, SentMessage, str], None]


def _load_spec(path: str | os.PathLike[str]) -> dict[str, dict[str, bool]]:
    """Method name -> {parameter: required} from the published Bot API JSON description."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: {f["name"]: bool(f.get("required")) for f in method.get("fields", [])}
        for name, method in data["methods"].items()
    }


def _scope_key(scope: Any) -> str:
    """Commands are stored per scope; a chat scope and the default scope are different lists."""
    if scope is None:
        return "default"
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except ValueError:
            return scope
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise _bad("can't parse BotCommandScope JSON object")
    ids = [str(scope[key]) for key in ("chat_id", "user_id") if key in scope]
    return ":".join([scope["type"], *ids])


def _is_sending(method: str) -> bool:
    return method.startswith(("send", "edit")) or method in ("copyMessage", "forwardMessage")


# --------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: BotApiSandbox) -> None:
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        """Wake handler threads stuck reading idle keep-alive connections so stop() is clean."""
        with self.connections_lock:
            for connection in list(self.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out separately; don't wait 40 ms for an ACK
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            status, content_type, payload = self.server.sandbox.handle_http(
                url.path, url.query, self.headers.get("Content-Type", ""), body
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a killed bot, a cancelled long poll); nothing to answer.
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()


def _json_response(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------


class BotApiSandbox:
    """A local Telegram Bot API server with simulated people; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limit: float | None = 30.0,
        clock: Callable[[], float] = time.time,
        spec_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._address = (host, port)
        self._flood_limit = flood_limit
        self._clock = clock
        self._spec = _load_spec(spec_path) if spec_path is not None else None
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._chats: dict[int, _ChatState] = {}
        self._people: dict[int, Person] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._seq = 0
        self._files: dict[str, _StoredFile] = {}
        self._photo_sets: dict[str, list[dict[str, Any]]] = {}
        self._queries: dict[str, _Query] = {}
        self._next_query = 1
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._webhook_url = ""
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._flood_window: deque[float] = deque()
        self._outages: list[_Outage] = []
        self._listeners: list[Listener] = []
        self._outbox: list[tuple[int, SentMessage, str]] = []
        self._bot_id = 1
        self._methods = self._method_table()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> BotApiSandbox:
        self._stopping = False
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="bot-api-sandbox",
            daemon=True,
        )
        self._thread.start()
        logger.info("Bot API sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- test controls -----------------------------------------------------------------------

    def set_flood_limit(self, limit: float | None) -> None:
        """Sending calls allowed per second of the clock; None lifts the limit."""
        with self._cond:
            self._flood_limit = limit
            self._flood_window.clear()

    def fail_requests(
        self, status: int = 502, description: str | None = None, methods: Iterable[str] | None = None
    ) -> None:
        """Answer every call (or only ``methods``) with ``status`` until ``restore()``."""
        self._add_outage(status, description, methods, remaining=None)

    def fail_next(
        self, n: int = 1, status: int = 502, description: str | None = None, method: str | None = None
    ) -> None:
        """Answer the next ``n`` calls (of ``method``, if given) with ``status``."""
        self._add_outage(status, description, None if method is None else [method], remaining=n)

    def restore(self) -> None:
        with self._cond:
            self._outages.clear()

    def _add_outage(
        self, status: int, description: str | None, methods: Iterable[str] | None, remaining: int | None
    ) -> None:
        if description is None:
            description = "Too Many Requests: retry after 1" if status == 429 else HTTPStatus(status).phrase
        names = None if methods is None else frozenset(m.lower() for m in methods)
        with self._cond:
            self._outages.append(_Outage(status, description, names, remaining))

    # -- inspection --------------------------------------------------------------------------

    def person(
        self,
        user_id: int,
        first_name: str = "Li",
        language_code: str = "zh-hans",
        last_name: str | None = None,
        username: str | None = None,
    ) -> Person:
        """The simulated person with this id, created with a private chat on first use."""
        with self._cond:
            if user_id not in self._people:
                user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
                user.update({k: v for k, v in (("last_name", last_name), ("username", username)) if v})
                user["language_code"] = language_code
                self._chats[user_id] = _ChatState(user)
                self._people[user_id] = Person(self, user_id)
            return self._people[user_id]

    def chat(self, chat_id: int) -> Person:
        """The person behind a private chat (chat id == user id); KeyError if unknown."""
        with self._cond:
            return self._people[chat_id]

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API call the bot made, as (method, decoded parameters)."""
        with self._cond:
            return list(self._calls)

    def wait_for_call(self, method: str, *, since: int = 0, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the bot calls ``method`` (at index >= ``since`` in ``calls``); its params.

        Lets a test know e.g. that the bot is already long polling, without sleeping.
        """
        with self._cond:

            def find() -> dict[str, Any] | None:
                return next((p for name, p in self._calls[since:] if name == method), None)

            if not self._cond.wait_for(lambda: find() is not None, timeout=timeout):
                raise TimeoutError(f"the bot did not call {method} within {timeout}s")
            return find() or {}

    def pending_update_count(self) -> int:
        with self._cond:
            return len(self._updates)

    def commands(
        self, scope: str | dict[str, Any] = "default", language_code: str = ""
    ) -> list[dict[str, str]]:
        with self._cond:
            return copy.deepcopy(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str:
        with self._cond:
            return self._webhook_url

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(chat_id, message, "new"|"edit"|"delete")`` on every bot message event.

        Listeners run on a server thread, outside the sandbox lock, so they may call back in.
        """
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._cond:
            self._listeners.remove(listener)

    # -- HTTP entry point --------------------------------------------------------------------

    def handle_http(self, path: str, query: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Answer one HTTP request: (status, content type, body)."""
        path = unquote(path)  # PTB percent-encodes the ':' of the token in file URLs
        if match := _API_PATH.match(path):
            return self._api_request(match.group(1), match.group(2), query, content_type, body)
        if match := _FILE_PATH.match(path):
            return self._download(match.group(1), match.group(2))
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def _api_request(
        self, token: str, method: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, str, bytes]:
        with self._cond:
            try:
                status, result = (
                    200,
                    {"ok": True, "result": self._call(token, method, query, content_type, body)},
                )
            except ApiError as err:
                logger.info("sandbox refused %s: %s", method, err.description)
                status, result = err.status, err.payload()
            except Exception as exc:  # a sandbox bug must not look like a Telegram answer
                logger.exception("sandbox failed on %s", method)
                status, result = (
                    500,
                    {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc}"},
                )
            response = _json_response(status, result)
            events, self._outbox = self._outbox, []
            listeners = list(self._listeners)
        for chat_id, message, event in events:
            for listener in listeners:
                try:
                    listener(chat_id, message, event)
                except Exception:
                    logger.exception("sandbox listener failed")
        return response

    def _call(self, token: str, method: str, query: str, content_type: str, body: bytes) -> Any:
        bot = self._authenticate(token)
        name, handler = self._methods.get(method.lower(), (None, None))
        if name is None or handler is None:
            if self._spec and any(m.lower() == method.lower() for m in self._spec):
                logger.warning("the sandbox does not implement %s", method)
            raise ApiError(404, "Not Found")
        params = _Params.from_request(query, content_type, body)
        self._calls.append((name, params.loggable()))
        self._cond.notify_all()
        self._check_outage(name)
        self._check_spec(name, params)
        self._check_flood(name)
        return handler(bot, params)

    def _authenticate(self, token: str) -> dict[str, Any]:
        match = TOKEN_PATTERN.match(token)
        if not match:
            raise ApiError(401, "Unauthorized")
        self._bot_id = int(match.group(1))
        return self._bot_user()

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _check_outage(self, method: str) -> None:
        for outage in self._outages:
            if outage.matches(method):
                if outage.remaining is not None:
                    outage.remaining -= 1
                    if outage.remaining <= 0:
                        self._outages.remove(outage)
                retry_after = 1 if outage.status == 429 else None
                raise ApiError(outage.status, outage.description, retry_after)

    def _check_spec(self, method: str, params: _Params) -> None:
        fields = self._spec.get(method) if self._spec else None
        if fields is None:
            return
        names = params.names()
        unknown = sorted(names - fields.keys())
        if unknown:
            raise _bad(f'unknown parameter "{unknown[0]}" for method {method} (sandbox spec check)')
        missing = [name for name, required in fields.items() if required and name not in names]
        if missing:
            raise _bad(f'parameter "{missing[0]}" is required')

    def _check_flood(self, method: str) -> None:
        if self._flood_limit is None or not _is_sending(method):
            return
        now = self._clock()
        window = self._flood_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self._flood_limit:
            retry_after = max(1, math.ceil(window[0] + 1.0 - now))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        window.append(now)

    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        with self._cond:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if not TOKEN_PATTERN.match(token) or stored is None:
            return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return 200, stored.mime_type, stored.content

    def _method_table(self) -> dict[str, tuple[str, Callable[[dict[str, Any], _Params], Any]]]:
        methods: dict[str, Callable[[dict[str, Any], _Params], Any]] = {
            "getMe": lambda bot, p: bot,
            "logOut": lambda bot, p: True,
            "close": lambda bot, p: True,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_voice,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
        }
        return {name.lower(): (name, handler) for name, handler in methods.items()}

    # -- updates -----------------------------------------------------------------------------

    def _get_updates(self, bot: dict[str, Any], p: _Params) -> list[dict[str, Any]]:
        """Long polling with at-least-once delivery: only a later offset confirms an update."""
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._set_allowed_updates(p.json_value("allowed_updates"))
        self._confirm_updates(p.integer("offset"))
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.integer("timeout") or 0, 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.wait_for(
            lambda: bool(self._updates) or self._stopping or generation != self._poll_generation,
            timeout=timeout,
        )
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._updates[:limit]

    def _confirm_updates(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _set_allowed_updates(self, allowed: Any) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise _bad("can't parse allowed_updates JSON object")
        self._allowed_updates = [str(kind) for kind in allowed]
        self._updates = [u for u in self._updates if self._allowed(u)]

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        return not self._allowed_updates or kind in self._allowed_updates

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, kind: copy.deepcopy(payload)}
        if self._allowed(update):
            self._updates.append(update)
        self._cond.notify_all()
        return update_id

    def _set_webhook(self, bot: dict[str, Any], p: _Params) -> bool:
        url = p.text("url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._set_allowed_updates(p.json_value("allowed_updates"))
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = url
        return True

    def _delete_webhook(self, bot: dict[str, Any], p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook_url = ""
        return True

    def _get_webhook_info(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    # -- commands ----------------------------------------------------------------------------

    def _commands_key(self, p: _Params) -> tuple[str, str]:
        return _scope_key(p.json_value("scope")), p.text("language_code") or ""

    def _set_my_commands(self, bot: dict[str, Any], p: _Params) -> bool:
        commands = p.json_value("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME.match(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        stored = [{"command": c["command"], "description": c["description"]} for c in commands]
        self._commands[self._commands_key(p)] = stored
        return True

    def _get_my_commands(self, bot: dict[str, Any], p: _Params) -> list[dict[str, str]]:
        return self._commands.get(self._commands_key(p), [])

    def _delete_my_commands(self, bot: dict[str, Any], p: _Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    # -- chats and messages ------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _chat_by_ref(self, ref: Any) -> _ChatState:
        if ref is None or ref == "":
            raise _bad("chat_id is empty")
        if isinstance(ref, str) and ref.startswith("@"):
            found = next((c for c in self._chats.values() if c.user.get("username") == ref[1:]), None)
            if found is None:
                raise _bad("chat not found")
            return found
        try:
            chat_id = int(ref)
        except (TypeError, ValueError) as exc:
            raise _bad("chat not found") from exc
        if chat_id not in self._chats:
            raise _bad("chat not found")
        return self._chats[chat_id]

    def _target_chat(self, p: _Params, *, sending: bool = True) -> _ChatState:
        chat = self._chat_by_ref(p.value("chat_id"))
        if sending and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _record_event(self, chat: _ChatState, stored: _StoredMessage, event: str) -> None:
        self._seq += 1
        stored.seq = self._seq
        snapshot = stored.snapshot()
        chat.events.append((self._seq, event, snapshot))
        self._outbox.append((chat.id, snapshot, event))
        self._cond.notify_all()

    def _reply_target(self, chat: _ChatState, p: _Params) -> dict[str, Any] | None:
        parameters = p.json_value("reply_parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        message_id = parameters.get("message_id", p.integer("reply_to_message_id"))
        if message_id is None:
            return None
        target = chat.messages.get(int(message_id))
        if target is None or target.deleted:
            if parameters.get("allow_sending_without_reply") or p.flag("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        reply = copy.deepcopy(target.data)
        reply.pop("reply_to_message", None)
        return reply

    def _post(
        self, bot: dict[str, Any], chat: _ChatState, p: _Params, content: dict[str, Any], kind: str
    ) -> dict[str, Any]:
        """Store a bot message built from validated content and show it to the person."""
        markup = parse_reply_markup(p.value("reply_markup"))
        reply = self._reply_target(chat, p)
        data = {
            "message_id": chat.allocate_message_id(),
            "from": bot,
            "chat": chat.chat_json(),
            "date": self._now(),
            **content,
        }
        if reply is not None:
            data["reply_to_message"] = reply
        keyboard = None
        if markup is not None and markup.get("inline_keyboard"):
            data["reply_markup"] = markup
        elif markup is not None and "keyboard" in markup:
            keyboard = chat.reply_keyboard = markup["keyboard"]
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        stored = _StoredMessage(data, True, kind, p.text("parse_mode"), keyboard)
        chat.messages[data["message_id"]] = stored
        self._record_event(chat, stored, "new")
        return data

    def _send_message(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        text, entities = format_text(p.text("text") or "", p.text("parse_mode"), p.json_value("entities"))
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return self._post(
            bot, chat, p, {"text": text, **({"entities": entities} if entities else {})}, "text"
        )

    def _caption(self, p: _Params) -> dict[str, Any]:
        raw = p.text("caption")
        if raw is None:
            return {}
        text, entities = format_text(raw, p.text("parse_mode"), p.json_value("caption_entities"))
        if utf16_len(text) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        content: dict[str, Any] = {"caption": text} if text else {}
        if text and entities:
            content["caption_entities"] = entities
        return content

    # -- files -------------------------------------------------------------------------------

    def _store_file(
        self,
        content: bytes,
        kind: str,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        duration: int | None = None,
    ) -> _StoredFile:
        folder, default_ext, default_mime, prefix = _FILE_KINDS[kind]
        number = len(self._files) + 1
        extension = (
            Path(file_name).suffix.lstrip(".") if file_name and Path(file_name).suffix else default_ext
        )
        stored = _StoredFile(
            file_id=f"{prefix}{number:06d}sandbox",
            file_unique_id=f"AQAD{number:06d}",
            content=content,
            file_path=f"{folder}/file_{number}.{extension}",
            mime_type=mime_type or default_mime,
            file_name=file_name,
            duration=duration,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, p: _Params, name: str) -> _StoredFile:
        """Resolve a media parameter: an upload, an attach:// part, a known file_id or a URL."""
        value = p.value(name)
        upload = p.files.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad("wrong file identifier/HTTP URL specified")
        if upload is not None:
            return self._store_file(
                upload.content, name, mime_type=upload.mime_type, file_name=upload.filename
            )
        if value is None or value == "":
            raise _bad(f"there is no {name} in the request")
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # Telegram would download it; offline, keep an empty placeholder under that name.
            return self._store_file(b"", name, file_name=Path(urlsplit(value).path).name or None)
        raise _bad("wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, stored: _StoredFile, width: int = 1280, height: int = 960) -> list[dict[str, Any]]:
        """A thumbnail and the full size; either file_id sends the same photo again."""
        if stored.file_id in self._photo_sets:
            return copy.deepcopy(self._photo_sets[stored.file_id])
        thumb = self._store_file(stored.content, "photo", mime_type=stored.mime_type)
        scale = 90 / max(width, height, 1)
        sizes = [
            _photo_size(thumb, max(1, round(width * scale)), max(1, round(height * scale))),
            _photo_size(stored, width, height),
        ]
        for size in sizes:
            self._photo_sets[size["file_id"]] = sizes
        return copy.deepcopy(sizes)

    def _send_photo(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        sizes = self._photo_sizes(self._input_file(p, "photo"))
        return self._post(bot, chat, p, {"photo": sizes, **self._caption(p)}, "photo")

    def _send_document(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        document = _document_json(self._input_file(p, "document"))
        return self._post(bot, chat, p, {"document": document, **self._caption(p)}, "document")

    def _send_voice(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        stored = self._input_file(p, "voice")
        duration = p.integer("duration")
        if duration is not None:
            stored.duration = duration
        return self._post(bot, chat, p, {"voice": _voice_json(stored), **self._caption(p)}, "voice")

    def _send_location(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        latitude, longitude = p.number("latitude"), p.number("longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise _bad("wrong latitude")
        if longitude is None or not -180 <= longitude <= 180:
            raise _bad("wrong longitude")
        return self._post(
            bot, chat, p, {"location": {"latitude": latitude, "longitude": longitude}}, "location"
        )

    def _send_chat_action(self, bot: dict[str, Any], p: _Params) -> bool:
        self._target_chat(p)
        if p.text("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _get_file(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        stored = self._files.get(p.text("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        return stored.as_file()

    # -- copy and forward --------------------------------------------------------------------

    def _source_message(self, p: _Params, verb: str) -> _StoredMessage:
        source = self._chat_by_ref(p.value("from_chat_id"))
        stored = source.messages.get(p.integer("message_id") or 0)
        if stored is None or stored.deleted:
            raise _bad(f"message to {verb} not found")
        return stored

    def _copy_message(self, bot: dict[str, Any], p: _Params) -> dict[str, int]:
        chat = self._target_chat(p)
        source = self._source_message(p, "copy")
        content = {k: copy.deepcopy(v) for k, v in source.data.items() if k in _CONTENT_KEYS + _CAPTION_KEYS}
        if p.value("caption") is not None and source.kind in _MEDIA_KINDS:
            for key in _CAPTION_KEYS:
                content.pop(key, None)
            content.update(self._caption(p))
        return {"message_id": self._post(bot, chat, p, content, source.kind)["message_id"]}

    def _forward_message(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p)
        source = self._source_message(p, "forward")
        content = {k: copy.deepcopy(v) for k, v in source.data.items() if k in _CONTENT_KEYS + _CAPTION_KEYS}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": source.data["from"],
            "date": source.data["date"],
        }
        return self._post(bot, chat, _Params({}), content, source.kind)

    # -- edits and deletes -------------------------------------------------------------------

    def _editable(self, p: _Params) -> tuple[_ChatState, _StoredMessage]:
        if p.value("inline_message_id") is not None:
            raise _bad("message to edit not found")
        chat = self._target_chat(p)
        stored = chat.messages.get(p.integer("message_id") or 0)
        if stored is None or stored.deleted:
            raise _bad("message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        return chat, stored

    def _edit_markup(self, p: _Params) -> dict[str, Any] | None:
        """Edits only take inline keyboards; leaving reply_markup out removes the keyboard."""
        markup = parse_reply_markup(p.value("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        return markup if markup and markup["inline_keyboard"] else None

    def _apply_edit(
        self,
        chat: _ChatState,
        stored: _StoredMessage,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        p: _Params,
    ) -> dict[str, Any]:
        before = {k: stored.data.get(k) or None for k in content} | {
            "reply_markup": stored.data.get("reply_markup")
        }
        after = {k: v or None for k, v in content.items()} | {"reply_markup": markup}
        if before == after:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        for key, value in after.items():
            if value is None:
                stored.data.pop(key, None)
            else:
                stored.data[key] = value
        if content:
            stored.parse_mode = p.text("parse_mode")
        stored.data["edit_date"] = self._now()
        stored.edits += 1
        self._record_event(chat, stored, "edit")
        return stored.data

    def _edit_message_text(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat, stored = self._editable(p)
        if "text" not in stored.data:
            raise _bad("there is no text in the message to edit")
        text, entities = format_text(p.text("text") or "", p.text("parse_mode"), p.json_value("entities"))
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return self._apply_edit(chat, stored, {"text": text, "entities": entities}, self._edit_markup(p), p)

    def _edit_message_caption(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat, stored = self._editable(p)
        if stored.kind not in _MEDIA_KINDS:
            raise _bad("there is no caption in the message to edit")
        caption = self._caption(p)
        content = {"caption": caption.get("caption"), "caption_entities": caption.get("caption_entities")}
        return self._apply_edit(chat, stored, content, self._edit_markup(p), p)

    def _edit_message_reply_markup(self, bot: dict[str, Any], p: _Params) -> dict[str, Any]:
        chat, stored = self._editable(p)
        return self._apply_edit(chat, stored, {}, self._edit_markup(p), p)

    def _delete(self, chat: _ChatState, stored: _StoredMessage) -> None:
        if self._now() - stored.data["date"] > DELETE_WINDOW_SECONDS:
            raise _bad("message can't be deleted for everyone")
        stored.deleted = True
        if stored.from_bot:
            self._record_event(chat, stored, "delete")

    def _delete_message(self, bot: dict[str, Any], p: _Params) -> bool:
        chat = self._target_chat(p, sending=False)
        stored = chat.messages.get(p.integer("message_id") or 0)
        if stored is None or stored.deleted:
            raise _bad("message to delete not found")
        self._delete(chat, stored)
        return True

    def _delete_messages(self, bot: dict[str, Any], p: _Params) -> bool:
        """Telegram skips messages that are missing or too old instead of failing the batch."""
        chat = self._target_chat(p, sending=False)
        message_ids = p.json_value("message_ids")
        if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
            raise _bad("message identifiers are not specified")
        for message_id in message_ids:
            stored = chat.messages.get(int(message_id))
            if stored is not None and not stored.deleted:
                try:
                    self._delete(chat, stored)
                except ApiError:
                    continue
        return True

    # -- callback queries --------------------------------------------------------------------

    def _answer_callback_query(self, bot: dict[str, Any], p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = p.text("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        query.answered = True
        answer = {"text": text, "show_alert": p.flag("show_alert"), "url": p.text("url")}
        self._chats[query.chat_id].callback_answers[query_id] = answer
        self._cond.notify_all()
        return True

    # -- the person's side (called by Person under the lock) ---------------------------------

    def _chat_state(self, user_id: int) -> _ChatState:
        return self._chats[user_id]

    def _from_person(self, user_id: int, content: dict[str, Any], kind: str) -> int:
        """Store a message the person sent and queue it as an update; returns the update_id."""
        chat = self._chats[user_id]
        if chat.blocked:
            raise RuntimeError(f"user {user_id} has blocked the bot; call unblock() first")
        data = {
            "message_id": chat.allocate_message_id(),
            "from": dict(chat.user),
            "chat": chat.chat_json(),
            "date": self._now(),
            **content,
        }
        chat.messages[data["message_id"]] = _StoredMessage(data, False, kind)
        return self._enqueue("message", data)

    def _edit_from_person(self, user_id: int, message_id: int, text: str) -> int:
        chat = self._chats[user_id]
        stored = chat.messages.get(message_id)
        if stored is None or stored.from_bot or "text" not in stored.data:
            raise LookupError(f"no text message {message_id} from user {user_id}")
        stored.data.update(text=text, edit_date=self._now())
        stored.data.pop("entities", None)
        entities = _command_entities(text)
        if entities:
            stored.data["entities"] = entities
        return self._enqueue("edited_message", stored.data)

    def _press(self, user_id: int, stored: _StoredMessage, data: str) -> str:
        chat = self._chats[user_id]
        if chat.blocked:
            raise RuntimeError(f"user {user_id} has blocked the bot; call unblock() first")
        query_id = str(4_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self._queries[query_id] = _Query(user_id)
        chat.presses.append(query_id)
        query = {
            "id": query_id,
            "from": dict(chat.user),
            "message": stored.data,
            "chat_instance": str(7_000_000_000_000 + user_id),
            "data": data,
        }
        self._enqueue("callback_query", query)
        return query_id

    def _set_blocked(self, user_id: int, blocked: bool) -> int:
        """Blocking sends my_chat_member, as Telegram does, so the bot can notice it."""
        chat = self._chats[user_id]
        chat.blocked = blocked
        bot = self._bot_user()
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        member_old: dict[str, Any] = {"status": old, "user": bot}
        member_new: dict[str, Any] = {"status": new, "user": bot}
        for member in (member_old, member_new):
            if member["status"] == "kicked":
                member["until_date"] = 0
        update = {
            "chat": chat.chat_json(),
            "from": dict(chat.user),
            "date": self._now(),
            "old_chat_member": member_old,
            "new_chat_member": member_new,
        }
        return self._enqueue("my_chat_member", update)


def _photo_size(stored: _StoredFile, width: int, height: int) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "width": width,
        "height": height,
    }


def _document_json(stored: _StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.file_name or Path(stored.file_path).name,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }


def _voice_json(stored: _StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": stored.duration or 1,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }


def _command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram clients mark a leading /command, which PTB's CommandHandler relies on."""
    match = _COMMAND.match(text)
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}] if match else []


# --------------------------------------------------------------------------------------------
# Simulated people
# --------------------------------------------------------------------------------------------


class Person:
    """A simulated Telegram user in a private chat with the bot.

    Every action is synchronous, never waits on the server and queues exactly one update;
    it returns the update_id (the callback query id for presses).  Reading methods show what
    the person sees.  ``wait_for_message`` / ``wait_for_edit`` keep a cursor: by default they
    return the first matching bot message (or edit) after both the person's latest action and
    the previous message that call returned, so consecutive waits walk through the replies.
    """

    def __init__(self, sandbox: BotApiSandbox, user_id: int) -> None:
        self._sandbox = sandbox
        self.user_id = user_id
        self._cursors = {"new": 0, "edit": 0}

    def __repr__(self) -> str:
        return f"Person({self.user_id}, {self.first_name!r})"

    # -- identity ----------------------------------------------------------------------------

    @property
    def chat_id(self) -> int:
        return self.user_id

    @property
    def user(self) -> dict[str, Any]:
        with self._sandbox._cond:
            return dict(self._state().user)

    @property
    def first_name(self) -> str:
        return self.user["first_name"]

    @property
    def phone_number(self) -> str:
        """The number shared by a request_contact button (a fake Chinese mobile number)."""
        return f"+8613{self.user_id % 10**9:09d}"

    @property
    def blocked(self) -> bool:
        with self._sandbox._cond:
            return self._state().blocked

    def _state(self) -> _ChatState:
        return self._sandbox._chat_state(self.user_id)

    # -- actions -----------------------------------------------------------------------------

    def _send(self, content: dict[str, Any], kind: str) -> int:
        with self._sandbox._cond:
            self._cursors = dict.fromkeys(self._cursors, self._sandbox._seq)
            return self._sandbox._from_person(self.user_id, content, kind)

    def send_text(self, text: str) -> int:
        """Send a text; a leading /command gets its bot_command entity like in real clients."""
        entities = _command_entities(text)
        return self._send({"text": text, **({"entities": entities} if entities else {})}, "text")

    def send_command(self, command: str) -> int:
        """Send ``/name [payload]``, e.g. ``/start join``."""
        if not _COMMAND.match(command):
            raise ValueError(f"not a bot command: {command!r}")
        return self.send_text(command)

    def press(self, label: str, message_id: int | None = None) -> str:
        """Press the inline button ``label`` on ``message_id`` or the newest bot message with it."""
        with self._sandbox._cond:
            stored, button = self._find_button(label, message_id)
            if "callback_data" not in button:
                raise LookupError(f"button {label!r} is not a callback button: {button}")
            self._cursors = dict.fromkeys(self._cursors, self._sandbox._seq)
            return self._sandbox._press(self.user_id, stored, button["callback_data"])

    def press_data(self, data: str, message_id: int | None = None) -> str:
        """Send arbitrary (possibly forged or stale) callback data from a bot message."""
        with self._sandbox._cond:
            stored = self._message_for_press(message_id)
            self._cursors = dict.fromkeys(self._cursors, self._sandbox._seq)
            return self._sandbox._press(self.user_id, stored, data)

    def _find_button(self, label: str, message_id: int | None) -> tuple[_StoredMessage, dict[str, Any]]:
        candidates = self._state().bot_messages()
        if message_id is not None:
            candidates = [m for m in candidates if m.data["message_id"] == message_id]
        for stored in reversed(candidates):
            for row in stored.data.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return stored, button
        where = f"message {message_id}" if message_id is not None else "any bot message"
        raise LookupError(f"no inline button {label!r} on {where}; buttons: {self._all_labels()}")

    def _all_labels(self) -> list[str]:
        return [label for m in self.messages for label in m.button_labels]

    def _message_for_press(self, message_id: int | None) -> _StoredMessage:
        messages = self._state().bot_messages()
        if message_id is not None:
            messages = [m for m in messages if m.data["message_id"] == message_id]
        with_keyboard = [m for m in messages if "reply_markup" in m.data]
        if not messages:
            raise LookupError("no bot message to press a button on")
        return (with_keyboard or messages)[-1]

    def tap_reply_button(self, label: str) -> int:
        """Tap a reply-keyboard button: sends its text, or the contact/location it requests."""
        with self._sandbox._cond:
            keyboard = self._state().reply_keyboard
            buttons = [b for row in keyboard or [] for b in row if b["text"] == label]
        if keyboard is None:
            raise LookupError("no reply keyboard is shown")
        if not buttons:
            labels = [b["text"] for row in keyboard for b in row]
            raise LookupError(f"no reply keyboard button {label!r}; buttons: {labels}")
        if buttons[0].get("request_contact"):
            return self.share_contact(self.phone_number)
        if buttons[0].get("request_location"):
            return self.send_location(31.2304, 121.4737)
        return self.send_text(label)

    def share_contact(
        self, phone_number: str, first_name: str | None = None, user_id: int | None = None
    ) -> int:
        """Share a contact; ``user_id`` defaults to the person's own id (their own number)."""
        user = self.user
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or user["first_name"],
            "user_id": self.user_id if user_id is None else user_id,
        }
        if first_name is None and "last_name" in user:
            contact["last_name"] = user["last_name"]
        return self._send({"contact": contact}, "contact")

    def send_photo(self, caption: str | None = None, width: int = 1280, height: int = 960) -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_JPEG, "photo")
            sizes = self._sandbox._photo_sizes(stored, width, height)
            return self._send({"photo": sizes, **({"caption": caption} if caption else {})}, "photo")

    def send_document(
        self, file_name: str, content: bytes, mime_type: str = "application/pdf", caption: str | None = None
    ) -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(content, "document", mime_type=mime_type, file_name=file_name)
            document = _document_json(stored)
            return self._send({"document": document, **({"caption": caption} if caption else {})}, "document")

    def send_voice(self, duration: int = 3) -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_OGG, "voice", duration=duration)
            return self._send({"voice": _voice_json(stored)}, "voice")

    def send_location(self, latitude: float, longitude: float) -> int:
        return self._send({"location": {"latitude": latitude, "longitude": longitude}}, "location")

    def send_sticker(self, emoji: str = "😀") -> int:
        with self._sandbox._cond:
            stored = self._sandbox._store_file(_FAKE_WEBP, "sticker")
            sticker = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(stored.content),
            }
            return self._send({"sticker": sticker}, "sticker")

    def edit_text(self, message_id: int, new_text: str) -> int:
        """Edit a text the person sent earlier (an edited_message update)."""
        with self._sandbox._cond:
            return self._sandbox._edit_from_person(self.user_id, message_id, new_text)

    def block(self) -> int:
        with self._sandbox._cond:
            return self._sandbox._set_blocked(self.user_id, True)

    def unblock(self) -> int:
        with self._sandbox._cond:
            return self._sandbox._set_blocked(self.user_id, False)

    # -- what the person sees ----------------------------------------------------------------

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat, oldest first, without deleted ones."""
        with self._sandbox._cond:
            return [m.snapshot() for m in self._state().bot_messages()]

    @property
    def last_message(self) -> SentMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def inline_buttons(self, message_id: int | None = None) -> list[str]:
        """Labels of the inline buttons on ``message_id`` (default: the newest bot message)."""
        messages = self.messages
        if message_id is not None:
            messages = [m for m in messages if m.message_id == message_id]
            if not messages:
                raise LookupError(f"no bot message {message_id}")
        return messages[-1].button_labels if messages else []

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Label rows of the reply keyboard currently shown, None once removed."""
        with self._sandbox._cond:
            keyboard = self._state().reply_keyboard
            return None if keyboard is None else [[b["text"] for b in row] for row in keyboard]

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """Query id -> {text, show_alert, url} for every press the bot answered."""
        with self._sandbox._cond:
            return copy.deepcopy(self._state().callback_answers)

    @property
    def presses(self) -> list[str]:
        """Every callback query id this person produced, answered or not."""
        with self._sandbox._cond:
            return list(self._state().presses)

    def mark(self) -> int:
        """The current event sequence number, to pass as ``since``."""
        with self._sandbox._cond:
            return self._sandbox._seq

    def wait_for_message(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> SentMessage:
        """Block until a new bot message after ``since`` (default: the cursor) matches."""
        return self._wait("new", predicate, timeout, since)

    def wait_for_edit(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        message_id: int | None = None,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> SentMessage:
        """Block until the bot edits a message (``message_id`` if given); returns it as edited."""

        def matches(message: SentMessage) -> bool:
            return (message_id is None or message.message_id == message_id) and (
                predicate is None or predicate(message)
            )

        return self._wait("edit", matches, timeout, since)

    async def next_message(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - bounds a wait in a worker thread
        since: int | None = None,
    ) -> SentMessage:
        """``wait_for_message`` in a worker thread, so asyncio tests keep their loop running."""
        return await asyncio.to_thread(self.wait_for_message, predicate, timeout=timeout, since=since)

    async def next_edit(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        message_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - bounds a wait in a worker thread
        since: int | None = None,
    ) -> SentMessage:
        return await asyncio.to_thread(
            self.wait_for_edit, predicate, message_id=message_id, timeout=timeout, since=since
        )

    def wait_for_answer(self, query_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the bot answers the callback query ``query_id``; the answer."""
        with self._sandbox._cond:
            answers = self._state().callback_answers
            if not self._sandbox._cond.wait_for(lambda: query_id in answers, timeout=timeout):
                raise TimeoutError(f"{self!r}: callback query {query_id} was not answered within {timeout}s")
            return dict(answers[query_id])

    async def next_answer(
        self,
        query_id: str,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for_answer, query_id, timeout=timeout)

    def _wait(
        self, event: str, predicate: Callable[[SentMessage], bool] | None, timeout: float, since: int | None
    ) -> SentMessage:
        found: list[tuple[int, SentMessage]] = []
        with self._sandbox._cond:
            start = self._cursors[event] if since is None else since

            def arrived() -> bool:
                for seq, kind, message in self._state().events:
                    if seq > start and kind == event and (predicate is None or predicate(message)):
                        found.append((seq, message))
                        return True
                return False

            # The timeout is only a safety net against a hung bot; waking is event driven.
            if not self._sandbox._cond.wait_for(arrived, timeout=timeout):
                recent = [m.text for m in self.messages[-5:]]
                raise TimeoutError(
                    f"{self!r}: no matching bot {event} message within {timeout}s; recent: {recent}"
                )
            seq, message = found[0]
            self._cursors[event] = seq
            return message
