"""Group commit: the writes of the whole process go to PostgreSQL in batches, one statement and one
commit each (issue 13).

While one batch is at the database, the writes that arrive queue; when it returns, everything
queued goes as the next batch, up to a maximum. There is no timer: a lone write goes at once. A
write is answered once its batch committed; a batch that fails fails each of its writes, and
changes nothing (it was one statement). Each write keeps its own deadline, from when it was
submitted: one still queued past it fails with TimeoutError, and a batch gets the deadline of its
earliest write (service/db/batches.py).
"""

from __future__ import annotations

from asyncpg import Record

from service.core.access import WHO
from service.db.batches import Batcher
from service.db.pool import Database
from service.db.variables import Write, write_values


class WriteBatcher:
    """Writes by each kind of actor (core.access.WHO: keys, scoped keys, tokens, the dashboard), each
    kind batched on its own."""

    def __init__(self, database: Database, max_size: int) -> None:
        self._batchers = {who: Batcher(database, write_values, max_size, "write") for who in WHO}

    async def write(self, write: Write) -> Record:
        """The write's row of variables.write_values, once its batch committed.

        Raises:
            TimeoutError: the deadline passed, in the queue or at the database.
            Exception: what its batch raised (the database errors of pool.DATABASE_ERRORS).
        """
        return await self._batchers[write.actor.who].submit(write)

    async def close(self) -> None:
        """Stop; writes still queued or in flight fail."""
        for batcher in self._batchers.values():
            await batcher.close()
