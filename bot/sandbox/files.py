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
    "video": ("videos", "mp4", "video/mp4", "BAACAgIAAxk"),
    "audio": ("music", "mp3", "audio/mpeg", "CQACAgIAAxk"),
    "video_note": ("video_notes", "mp4", "video/mp4", "DQACAgIAAxk"),
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
    width: int | None = None  # videos; a video note's diameter is its width
    height: int | None = None

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


def video_json(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": stored.width or 640,
        "height": stored.height or 360,
        "duration": stored.duration or 1,
        "file_name": stored.file_name or Path(stored.file_path).name,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }


def audio_json(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": stored.duration or 1,
        "file_name": stored.file_name or Path(stored.file_path).name,
        "mime_type": stored.mime_type,
        "file_size": len(stored.content),
    }


def video_note_json(stored: StoredFile) -> dict[str, Any]:
    """A round video: no name or MIME type, and one ``length`` for its diameter."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "length": stored.width or 240,
        "duration": stored.duration or 1,
        "file_size": len(stored.content),
    }
