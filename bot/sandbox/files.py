"""Files the sandbox stores (uploads and what people send) and their Bot API JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# folder in file_path, default extension, default MIME type, file_id prefix (looks like Telegram's)
FILE_KINDS: dict[str, tuple[str, str, str, str]] = {
    "photo": ("photos", "jpg", "image/jpeg", "AgACAgIAAxk"),
    "document": ("documents", "bin", "application/octet-stream", "BQACAgIAAxk"),
    "voice": ("voice", "oga", "audio/ogg", "AwACAgIAAxk"),
    "sticker": ("stickers", "webp", "image/webp", "CAACAgIAAxk"),
}


@dataclass
class StoredFile:
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


def photo_size(stored: StoredFile, width: int, height: int) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "width": width,
        "height": height,
    }


def document_json(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.file_name or Path(stored.file_path).name,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }


def voice_json(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": stored.duration or 1,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }
