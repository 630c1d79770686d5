"""Tell the WebSocket gateways what changed (the change feed of service/core/changes.py).

DESIGN.md §3 ("WebSocket"): a NOTIFY inside the writing transaction makes PostgreSQL
serialise the commits of every notifying transaction, so the service instead sends the
changes after the commit, from a connection of its own with synchronous_commit off, gathered
and coalesced since the last NOTIFY. The price: if the process dies between a commit and its
NOTIFY, those changes are not announced (gateways re-read on reconnect anyway).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence

from service.core.changes import CHANNEL, Change, coalesce, payloads
from service.db.pool import Connection, connect

# Changes are gathered for this long before one NOTIFY names them all: under load, one NOTIFY
# per few ms instead of one per write, for a few ms of delay to a refresh.
GATHER_SECONDS = 0.005

# Each NOTIFY is a transaction of its own, committed without waiting for its WAL flush. The setting is the
# transaction's (a commit obeys the value in effect then), not the session's: through a transaction-mode
# pooler a session setting would stay on a server connection that other clients' transactions go on to use.
_NOTIFY = "SELECT pg_notify($1, $2), set_config('synchronous_commit', 'off', true)"

log = logging.getLogger(__name__)


async def notify_in_transaction(conn: Connection, changes: Iterable[Change]) -> None:
    """Announce `changes` when the caller's transaction commits, and never if it does not.

    For the rare changes that must not be lost to a crash after the commit (a revoked key must close
    its sockets), at the price of the serialised commit the Notifier avoids for writes.
    """
    for payload in payloads(coalesce(changes)):
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)


class Notifier:
    """Gathers the changes of committed actions and sends them as soon as the connection is free."""

    def __init__(self, url: str, *, pooler: bool = False) -> None:
        self._url = url
        self._pooler = pooler  # `url` is a transaction-mode pooler (settings.db_pooler)
        self._pending: list[Change] = []
        self._since: float | None = None  # when the oldest pending change committed (Unix seconds)
        self._wake = asyncio.Event()
        self._conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="varistore-notifier")

    def notify(self, changes: Sequence[Change]) -> None:
        """Announce `changes`, committed just now."""
        if not changes:
            return
        if not self._pending:
            self._since = time.time()
        self._pending.extend(changes)
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pending:
            try:
                await self._flush()
            except Exception as exc:
                log.warning("refresh notifications lost at shutdown: %s", exc)
        if self._conn is not None:
            await self._conn.close()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            await self._wake.wait()
            await asyncio.sleep(GATHER_SECONDS)
            try:
                await self._flush()
                backoff = 0.1
            except Exception as exc:  # whatever went wrong, a fresh connection is the cure
                log.warning("refresh notification failed, retrying in %.1fs: %s", backoff, exc)
                if self._conn is not None:
                    self._conn.terminate()
                self._conn = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _flush(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self._url, pooler=self._pooler)
        self._wake.clear()
        changes, self._pending = coalesce(self._pending), []
        since = self._since
        try:
            for payload in payloads(changes, since):
                await self._conn.execute(_NOTIFY, CHANNEL, payload)
        except BaseException:
            self._pending[:0] = changes
            self._since = since
            raise
