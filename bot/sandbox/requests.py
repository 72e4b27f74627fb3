"""The HTTP side of the sandbox: request decoding (query, form, JSON, multipart) and the server.

``Params`` holds one API call's decoded parameters with Telegram-style coercion; ``Server``
is the threading HTTP server that hands every request to ``BotApiSandbox.handle_http``, which
answers it or, for an injected timeout, says to leave it ``Unanswered``.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.errors import bad

if TYPE_CHECKING:
    from bot.sandbox.server import BotApiSandbox

logger = logging.getLogger(__name__)

# An unanswered request is let go after this long even if nobody ends its fault, so a forgotten
# fault cannot keep a test's connection (and its thread) forever.
MAX_HOLD_SECONDS = 60.0
# How often a held request looks whether the client gave up or the fault ended.
_HOLD_POLL_SECONDS = 0.03

Response = tuple[int, str, bytes]  # status, content type, body

_TOKEN_IN_PATH = re.compile(r"/(?:file/)?bot[^/\s]+/")

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
        "video_note",
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
        "performer",
        "address",
        "emoji",
        "name",
        "description",
        "short_description",
    }
)


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
        raise bad("multipart boundary is missing")
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


class Params:
    """The decoded parameters of one API call, with Telegram-style coercion on access."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    @classmethod
    def from_request(cls, query: str, content_type: str, body: bytes) -> Params:
        values: dict[str, Any] = {k: _decode_form_value(k, v) for k, v in parse_qsl(query, True)}
        files: dict[str, UploadedFile] = {}
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json" and body:
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise bad("can't parse JSON encoded request body") from exc
            if not isinstance(decoded, dict):
                raise bad("JSON encoded request body must be an object")
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
            raise bad(f'field "{name}" must be of type Integer') from exc

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad(f'field "{name}" must be of type Float') from exc

    def flag(self, name: str) -> bool:
        return self.values.get(name) in (True, 1, "true", "True", "1")

    def json_value(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str) and name not in _STRING_PARAMS:
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad(f"can't parse {name} JSON object") from exc
        return value

    def loggable(self) -> dict[str, Any]:
        described = {
            name: f"<file {upload.filename!r}, {len(upload.content)} bytes>"
            for name, upload in self.files.items()
        }
        return {**self.values, **described}


@dataclass(frozen=True)
class Unanswered:
    """Hold the request open without an answer while ``holding()`` is true, then hang up.

    This is how a lost answer looks to a client: it waits until its own read timeout.
    """

    holding: Callable[[], bool]


class Server(ThreadingHTTPServer):
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
    server: Server

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
        # Request lines carry the token in their path, as Telegram's URLs do: never in a log.
        logger.debug("%s %s", self.address_string(), _TOKEN_IN_PATH.sub("/bot[token]/", format % args))

    def _handle(self) -> None:
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            answer = self.server.sandbox.handle_http(
                url.path, url.query, self.headers.get("Content-Type", ""), body
            )
            if isinstance(answer, Unanswered):
                self._hold(answer)
                self.close_connection = True
                return
            status, content_type, payload = answer
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a killed bot, a cancelled long poll); nothing to answer.
            self.close_connection = True

    def _hold(self, unanswered: Unanswered) -> None:
        """Keep the connection open, answering nothing, until it is time to hang up.

        Runs outside the sandbox lock: other requests are served meanwhile.
        """
        give_up_at = time.monotonic() + MAX_HOLD_SECONDS
        while unanswered.holding() and time.monotonic() < give_up_at and not self._client_left():
            pass

    def _client_left(self) -> bool:
        """Wait a moment for the client to close its side (EOF); whether it did."""
        try:
            readable, _, _ = select.select([self.connection], [], [], _HOLD_POLL_SECONDS)
            if not readable:
                return False
            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                return True
        except OSError:
            return True
        time.sleep(_HOLD_POLL_SECONDS)  # bytes of a next request: not a goodbye, and no reason to spin
        return False

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()


def json_response(status: int, body: dict[str, Any]) -> Response:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8")
