"""Connections to PostgreSQL, each lent for work with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"

# What a lost or overloaded database looks like to its callers: a request answers error_db (503), the
# gateway refuses a key with error_db, its listener reconnects. TargetServerAttributeNotMatched: every
# host of a multi-host DATABASE_URL is up and none accepts writes (target_session_attrs=read-write), as
# in a failover before a standby is promoted.
DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.TargetServerAttributeNotMatched,
    OSError,
    asyncio.TimeoutError,
)

DEFAULT_DEADLINE = 5.0  # seconds; settings.db_deadline's default
# How often deadlines are looked at: one is enforced up to this late. One watcher per pool costs a
# request about 1 µs (a set insertion); a timer per request (loop.call_later, asyncio.timeout)
# 3.5-9 µs, of the ~160 µs of CPU a request spends (README, "The write path").
TICK = 0.05


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Release a connection without asyncpg's default reset query.

    That reset (UNLISTEN, RESET ALL, advisory unlocks, CLOSE ALL) is one more round trip per
    request and most of a request's pool cost; pool connections here never change session
    state (advisory locks are transaction-scoped, LISTEN is the gateway's own connection).
    asyncpg still rolls back a transaction left open.
    """


class _Work:
    """One piece of work with a connection, and what happens when it passes its deadline: its
    connection is dropped, then its task cancelled.

    Dropping comes first. A cancelled query makes asyncpg send a cancel request on a new
    connection, and the transaction's rollback waits for that request to be answered, which a
    frozen server never does (issue 8: requests hung for as long as PostgreSQL did). A dropped
    connection fails whatever waits on it at once, and asyncpg abandons its pending cancel
    requests with it; the pool opens a new connection on a later acquire.
    """

    __slots__ = ("task", "due", "conn", "expired")

    def __init__(self, task: asyncio.Task[object], due: float) -> None:
        self.task = task
        self.due = due
        self.conn: Connection | None = None
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        if self.conn is not None:
            _drop(self.conn)
        self.task.cancel()


def _drop(conn: Connection) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):  # lost already, and back in the pool
        conn.terminate()


class Database:
    """The pool of connections, handed out in the order requests ask, each for work with a deadline.

    asyncpg's pool waits on an asyncio.Queue, which lets a newcomer take the connection a
    woken waiter was about to get; the waiter then queues again at the back. Under load
    (64 clients on a pool of 10) that starved some requests for 300 ms. A semaphore the
    size of the pool, fair since Python 3.11, admits requests first come, first served.
    """

    def __init__(self, pool: Pool, size: int, deadline: float) -> None:
        self.pool = pool
        self.deadline = deadline
        self._turns = asyncio.Semaphore(size)
        self._working: set[_Work] = set()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="varistore-db-deadlines")

    @contextlib.asynccontextmanager
    async def connection(self, deadline: float | None = None) -> AsyncIterator[Connection]:
        """A connection for one piece of work, which must be done within `deadline` seconds (the
        database's own by default; enforced up to TICK late), the wait for a connection included.

        Raises:
            TimeoutError: the deadline passed. The connection was dropped; a write may or may not
                have committed (the server may have done it before it noticed).
        """
        task = asyncio.current_task()
        assert task is not None
        work = _Work(task, task.get_loop().time() + (self.deadline if deadline is None else deadline))
        self._working.add(work)
        try:
            async with self._turns, self.pool.acquire() as conn:
                work.conn = conn
                try:
                    yield conn
                except asyncpg.InternalClientError as exc:
                    # On a fast shutdown PostgreSQL says goodbye (57P01) on every connection, then
                    # closes it. An idle one lent between the two is in a state asyncpg refuses to
                    # query from: it is lost, and reported so (error_db 503, not a bug's 500).
                    _drop(conn)
                    raise asyncpg.ConnectionDoesNotExistError(f"connection lost: {exc}") from exc
                finally:
                    work.conn = None  # being released: the pool's own to handle from here
        except (Exception, asyncio.CancelledError) as exc:
            # Our cancellation and no one else's: the deadline's failure, as asyncio.timeout does.
            if work.expired and task.uncancel() == 0:
                raise TimeoutError("the database did not answer within the deadline") from exc
            raise
        finally:
            self._working.discard(work)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TICK)
            now = loop.time()
            for work in [work for work in self._working if work.due <= now]:
                self._working.discard(work)
                work.expire()

    async def close(self) -> None:
        """Close the connections, waiting for work in progress, but not past the deadline."""
        with contextlib.suppress(TimeoutError):
            # Pool.close() terminates every connection when it is interrupted.
            async with asyncio.timeout(self.deadline):
                await self.pool.close()
        self._watcher.cancel()
        await asyncio.gather(self._watcher, return_exceptions=True)


async def create_database(
    url: str, *, min_size: int, max_size: int, deadline: float = DEFAULT_DEADLINE, pooler: bool = False
) -> Database:
    """A pool on `url`, lending connections for work of `deadline` seconds (Database.connection);
    `pooler`: `url` is a transaction-mode pooler (settings.db_pooler)."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        reset=_keep_session,
        # Connecting, also in the background to keep min_size, gives up with the deadline.
        timeout=deadline,
        # The server also stops a statement the client gave up on, rather than maybe committing it
        # later. Free, where asyncpg's command_timeout would wrap every query in a timer. A pooler's
        # connect_query sets it instead (infra/pgbouncer/): PgBouncer refuses startup parameters.
        server_settings=None if pooler else {"statement_timeout": f"{max(1, round(deadline * 1000))}ms"},
        statement_cache_size=_statement_cache_size(pooler),
    )
    assert pool is not None
    return Database(pool, max_size, deadline)


def _statement_cache_size(pooler: bool) -> int:
    # Through a transaction-mode pooler each transaction, or statement outside one, may run on another
    # server connection, which lacks the named prepared statements of asyncpg's cache: none then, and a
    # Parse per query.
    return 0 if pooler else 100  # asyncpg's default


async def connect(url: str, timeout: float = 60.0, *, pooler: bool = False) -> asyncpg.Connection[asyncpg.Record]:
    """A connection of its own, outside the pool (the notifier and the command line), made within `timeout` s;
    `pooler` as for create_database."""
    return await asyncpg.connect(url, timeout=timeout, statement_cache_size=_statement_cache_size(pooler))
