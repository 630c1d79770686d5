"""The gateway's one LISTEN connection to PostgreSQL, kept alive across outages.

It is a connection of its own, never from a pool nor through a pooler (DESIGN.md §5): LISTEN is
session state. When it is lost, sockets stay open; it reconnects with backoff, LISTENs again and
only then refreshes every socket, so a change made while it was away is never missed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import asyncpg

from service.core.changes import CHANNEL, Change, decode_timed
from service.db.pool import DATABASE_ERRORS

MIN_BACKOFF = 0.1
MAX_BACKOFF = 5.0
CONNECT_TIMEOUT = 5.0
# A connection can die without a FIN (a firewall, a failover); a query now and then finds out.
KEEPALIVE_INTERVAL = 10.0
KEEPALIVE_TIMEOUT = 5.0

log = logging.getLogger(__name__)


class Listener:
    """LISTENs on the service's channel and hands each payload's changes, and when they committed, to `on_change`."""

    def __init__(
        self,
        url: str,
        on_change: Callable[[list[Change], float | None], None],
        on_listening: Callable[[], None],
    ) -> None:
        self._url = url
        self._on_change = on_change
        self._on_listening = on_listening
        self.connected = False
        self._backoff = MIN_BACKOFF

    async def run(self) -> None:
        """Listen forever; cancel the task to stop."""
        while True:
            try:
                conn = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT)
                try:
                    await self._listen(conn)
                finally:
                    self.connected = False
                    conn.terminate()
                log.warning("lost the connection to PostgreSQL; reconnecting")
            except DATABASE_ERRORS as exc:
                # Jitter, so that many gateways do not reconnect in lockstep after a failover.
                delay = self._backoff * random.uniform(0.5, 1.0)
                log.warning("no LISTEN connection to PostgreSQL, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    async def _listen(self, conn: asyncpg.Connection[asyncpg.Record]) -> None:
        """LISTEN on `conn`, refresh everyone, then return once the connection is lost."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANNEL, self._notified)
        self.connected = True
        self._backoff = MIN_BACKOFF
        self._on_listening()
        while not lost.is_set():
            try:
                async with asyncio.timeout(KEEPALIVE_INTERVAL):
                    await lost.wait()
            except TimeoutError:
                await conn.execute("SELECT 1", timeout=KEEPALIVE_TIMEOUT)

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        committed_at, changes = decode_timed(str(payload))
        self._on_change(changes, committed_at)
