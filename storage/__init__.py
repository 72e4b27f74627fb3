"""Storage: the only package that speaks SQL. The bot depends on :class:`Storage`, not on SQLite."""

from collections.abc import Callable
from datetime import datetime

from storage.base import Storage, StorageError
from storage.sqlite import SQLiteStorage

__all__ = ["SQLiteStorage", "Storage", "StorageError", "open_storage"]


async def open_storage(database: str, *, now: Callable[[], datetime] | None = None) -> Storage:
    """Open the configured database (a path, or ":memory:") with migrations applied."""
    storage = SQLiteStorage(database, now=now)
    await storage.open()
    return storage
