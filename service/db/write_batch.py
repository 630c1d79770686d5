"""Group commit: the writes of the whole process go to PostgreSQL in batches, one statement and one
commit each (issue 13).

While one batch is at the database, the writes that arrive queue; when it returns, everything
queued goes as the next batch, up to a maximum. There is no timer: a lone write goes at once. A
write is answered once its batch committed; a batch that fails fails each of its writes, and
changes nothing (it was one statement). Each write keeps its own deadline, from when it was
submitted: one still queued past it fails with TimeoutError, and a batch gets the deadline of its
earliest write.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from asyncpg import InterfaceError, Record

from service.core.access import BY_ACCOUNT, BY_KEY
from service.db.pool import Database
from service.db.variables import Write, write_values


@dataclass(slots=True, eq=False)
class _Pending:
    write: Write
    due: float  # loop time
    answer: asyncio.Future[Record] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _Batcher:
    """The queue and the one batch in flight for writes by actors of one kind (one statement)."""

    def __init__(self, database: Database, max_size: int) -> None:
        self._database = database
        self._max_size = max_size
        self._queue: list[_Pending] = []
        self._sending: list[_Pending] = []
        self._arrived = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="varistore-write-batches")

    async def write(self, write: Write) -> Record:
        loop = asyncio.get_running_loop()
        pending = _Pending(write, loop.time() + self._database.deadline)
        self._queue.append(pending)
        self._arrived.set()
        return await pending.answer

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._queue:
                self._sending = self._queue[: self._max_size]
                del self._queue[: self._max_size]
                await self._send(self._sending)
                self._sending = []

    async def _send(self, batch: list[_Pending]) -> None:
        now = asyncio.get_running_loop().time()
        live: list[_Pending] = []
        late: list[_Pending] = []
        for pending in batch:
            if not pending.answer.done():  # else its request was cancelled: it is not made
                (live if pending.due > now else late).append(pending)
        _fail(late, TimeoutError("the write waited past its deadline"))
        if not live:
            return
        try:
            async with self._database.connection(min(pending.due for pending in live) - now) as conn:
                rows = await write_values(conn, [pending.write for pending in live])
            for pending, row in zip(live, rows, strict=True):
                if not pending.answer.done():
                    pending.answer.set_result(row)
        except Exception as exc:  # the database's failure, or a bug: either way each write's answer
            _fail(live, exc)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        _fail(self._sending + self._queue, InterfaceError("the write batcher is closed"))


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for pending in batch:
        if not pending.answer.done():
            pending.answer.set_exception(exc)


class WriteBatcher:
    """Writes by key (devices) and by account (the dashboard), each kind batched on its own."""

    def __init__(self, database: Database, max_size: int) -> None:
        self._batchers = {who: _Batcher(database, max_size) for who in (BY_KEY, BY_ACCOUNT)}

    async def write(self, write: Write) -> Record:
        """The write's row of variables.write_values, once its batch committed.

        Raises:
            TimeoutError: the deadline passed, in the queue or at the database.
            Exception: what its batch raised (the database errors of pool.DATABASE_ERRORS).
        """
        return await self._batchers[write.actor.who].write(write)

    async def close(self) -> None:
        """Stop; writes still queued or in flight fail."""
        for batcher in self._batchers.values():
            await batcher.close()
