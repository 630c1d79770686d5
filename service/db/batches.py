"""What group commit (write_batch.py) and batched reads (read_batch.py) share (issue 13).

While one batch is at the database, the requests that arrive queue; when it returns, everything
queued goes as the next batch, up to a maximum, in one statement. There is no timer: a lone request
goes at once. Each request keeps its own deadline, from when it was submitted: one still queued past
it fails with TimeoutError, and a batch gets the deadline of its earliest request. A batch that
fails fails each of its requests.

The maximum matters for speed. With no cap short of the number of clients, the requests settle into
one big batch and one lone one, in turns: the API idles while PostgreSQL runs the big batch, then
PostgreSQL idles while the API answers it. A cap near half the clients keeps two similar batches
alternating, so one is answered while the other is at the database. Measured 2026-12-05 on 2 cores, 64
clients (issue 13): writes capped at 64 made 9,300-9,600/s, at 32 11,200-11,700/s (16: 10,600-11,000;
48: 10,400); reads capped at 256 12,800-13,100/s, at 32 14,800-15,300/s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from asyncpg import InterfaceError, Record

from service.db.pool import Connection, Database

T = TypeVar("T")
# Makes one batch's statement: a row per request, in their order.
Send = Callable[[Connection, list[T]], Awaitable[list[Record]]]


class _Pending(Generic[T]):
    __slots__ = ("item", "due", "answer")

    def __init__(self, item: T, due: float, answer: asyncio.Future[Record]) -> None:
        self.item = item
        self.due = due  # loop time
        self.answer = answer


class Batcher(Generic[T]):
    """The queue and the one batch in flight of requests that go as one statement (`send`)."""

    def __init__(
        self,
        database: Database,
        send: Callable[[Connection, list[T]], Awaitable[list[Record]]],
        max_size: int,
        what: str,
    ) -> None:
        self._database = database
        self._statement = send
        self._max_size = max_size
        self._what = what
        self._loop = asyncio.get_running_loop()
        self._queue: list[_Pending[T]] = []
        self._sending: list[_Pending[T]] = []
        self._arrived = asyncio.Event()
        self._task = self._loop.create_task(self._run(), name=f"varistore-{what}-batches")

    def submit(self, item: T) -> asyncio.Future[Record]:
        """The request's row, once its batch is answered (a future, not a coroutine: one level less
        for the request's task at each suspension)."""
        loop = self._loop
        pending = _Pending(item, loop.time() + self._database.deadline, loop.create_future())
        self._queue.append(pending)
        self._arrived.set()
        return pending.answer

    async def _run(self) -> None:
        # The next batch goes in the very step the last one's answer arrived: a hop through the event
        # loop (an event, a task of its own per batch) waits for everything else ready in it, a
        # millisecond or more under load, while the database has nothing to do (measured, 2026-12-05).
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._queue:
                self._sending = self._queue[: self._max_size]
                del self._queue[: self._max_size]
                await self._send(self._sending)
                self._sending = []

    async def _send(self, batch: list[_Pending[T]]) -> None:
        now = self._loop.time()
        live: list[_Pending[T]] = []
        late: list[_Pending[T]] = []
        for pending in batch:
            if not pending.answer.done():  # else its request was cancelled: it is not sent
                (live if pending.due > now else late).append(pending)
        _fail(late, TimeoutError(f"the {self._what} waited past its deadline"))
        if not live:
            return
        try:
            async with self._database.connection(min(pending.due for pending in live) - now) as conn:
                rows = await self._statement(conn, [pending.item for pending in live])
            for pending, row in zip(live, rows, strict=True):
                if not pending.answer.done():
                    pending.answer.set_result(row)
        except Exception as exc:  # the database's failure, or a bug: either way each request's answer
            _fail(live, exc)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        _fail(self._sending + self._queue, InterfaceError(f"the {self._what} batcher is closed"))


def _fail(batch: list[_Pending[T]], exc: BaseException) -> None:
    for pending in batch:
        if not pending.answer.done():
            pending.answer.set_exception(exc)
