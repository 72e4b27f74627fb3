"""Telegram's parse modes: HTML, MarkdownV2 and legacy Markdown, following tdlib's parsers.

``format_text`` turns what the bot sent into the plain text and entities (UTF-16 offsets)
Telegram would store, refusing malformed markup with Telegram's error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.sandbox.errors import ApiError, bad


def _entities_error(detail: str) -> ApiError:
    return bad(f"can't parse entities: {detail}")


def utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


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
            extra: dict[str, Any] = {}
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
        extra: dict[str, Any] = {"language": language} if language else {}
        out.entity("pre", start, **extra)
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
        raise bad("can't parse entities JSON object")
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
        raise bad("unsupported parse_mode")
    return _trim(text, parsed)
