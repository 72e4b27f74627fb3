"""Bot API requests, a few at a time.

Updates are handled concurrently (bot/updates.py), so dozens of replies can be ready to send at once.
Handed straight to httpx, they would each open a connection of their own, and httpcore's pool walks
every connection (probing each socket) whenever a request starts or ends: its cost per request grows
with the number of connections, and a burst spends most of its time in pool bookkeeping (encode/httpcore
PR #1035 describes it). Telegram never needs many at once: it takes about 30 messages a second from a
bot, and answers each in tens of milliseconds. So requests wait their turn here, first come first
served, and the pool stays as small as the number of turns.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.request import HTTPXRequest


class BoundedRequest(HTTPXRequest):
    """PTB's httpx request, with at most ``max_in_flight`` requests on the wire and as many connections.

    ``[telegram] requests_in_flight`` sets the number for sending (4: Telegram's 30 messages a second
    while it answers within about 130 ms; broadcasts and the outbox send one at a time, so replies keep
    turns of their own). Long polling has a plain request of its own: one call at a time by nature.

    Waiting for a turn has no time limit of its own: a turn comes within one round trip, and a reply
    that failed because the bot was busy would be a message lost. Each request's own timeouts (connect,
    write, read) still apply once it is sent.
    """

    def __init__(self, max_in_flight: int, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=max_in_flight, **kwargs)
        self.max_in_flight = max_in_flight
        self._turns = asyncio.Semaphore(max_in_flight)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        async with self._turns:
            return await super().do_request(*args, **kwargs)
