"""Storage: the only package that speaks SQL. The bot depends on :class:`Storage`, not on SQLite."""

from storage.base import Storage, StorageError
from storage.sqlite import SQLiteStorage

__all__ = ["SQLiteStorage", "Storage", "StorageError", "open_storage"]


async def open_storage(database: str, *, clock=None) -> Storage:
    """Open the configured database (a path, or ":memory:") with migrations applied."""
    storage = SQLiteStorage(database, clock=clock)
    await storage.open()
    return storage
