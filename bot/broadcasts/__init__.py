"""News to many workers: writing a broadcast (admins), its schedule, and sending it at Telegram's pace."""
