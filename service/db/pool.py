"""Connections to PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Release a connection without asyncpg's default reset query.

    That reset (UNLISTEN, RESET ALL, advisory unlocks, CLOSE ALL) is one more round trip per
    request and most of a request's pool cost; pool connections here never change session
    state (advisory locks are transaction-scoped, LISTEN is the gateway's own connection).
    asyncpg still rolls back a transaction left open.
    """


class Database:
    """The pool of connections, handed out in the order requests ask.

    asyncpg's pool waits on an asyncio.Queue, which lets a newcomer take the connection a
    woken waiter was about to get; the waiter then queues again at the back. Under load
    (64 clients on a pool of 10) that starved some requests for 300 ms. A semaphore the
    size of the pool, fair since Python 3.11, admits requests first come, first served.
    """

    def __init__(self, pool: Pool, size: int) -> None:
        self.pool = pool
        self._turns = asyncio.Semaphore(size)

    @contextlib.asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Connection]:
        async with self._turns, self.pool.acquire(timeout=timeout) as conn:
            yield conn

    async def close(self) -> None:
        await self.pool.close()


async def create_database(url: str, *, min_size: int, max_size: int) -> Database:
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        reset=_keep_session,
        # A stuck statement must not hold a request forever. The server enforces this for free;
        # asyncpg's command_timeout would wrap every query in a timer (3% of a request's CPU).
        server_settings={"statement_timeout": "30s"},
    )
    assert pool is not None
    return Database(pool, max_size)


async def connect(url: str) -> asyncpg.Connection[asyncpg.Record]:
    """A connection of its own, outside the pool (the notifier and the command line)."""
    return await asyncpg.connect(url)
