"""Reads in batches (issue 13): the read path's lookups (service/db/reads.py) that arrive while one
is at the database go together as the next one, one statement for all of them.

As group commit does for writes (service/db/write_batch.py): there is no timer, so a lone lookup
goes at once, as the one-by-one statement; each lookup keeps its own deadline from when it was
submitted, and a batch gets the earliest; a batch that fails fails each of its lookups. A batch
costs one pool admission, one statement and one round trip whatever its size, where each lookup
alone cost a statement's client CPU of its own (~60 µs measured; a read inside a batch ~9 µs).

Lookups of one statement (the kind of actor, or a public request) are batched together.
"""

from __future__ import annotations

from functools import partial

from asyncpg import Record

from service.core.access import Actor
from service.db.batches import Batcher
from service.db.pool import Connection, Database
from service.db.reads import Lookup, found, lookup_sql, select_many
from service.db.variables import Variable

# Lookups per statement at most: small enough that two batches alternate (service/db/batches.py).
MAX_SIZE = 32


async def _select(lookup: Lookup, conn: Connection, reads: list[tuple[Actor, str]]) -> list[Record]:
    return await select_many(conn, lookup, reads)


class ReadBatcher:
    """The read path's lookups, batched per statement (max_size=1: each alone, as the lookup itself)."""

    def __init__(self, database: Database, max_size: int = MAX_SIZE) -> None:
        self._database = database
        self._max_size = max_size
        self._batchers: dict[Lookup, Batcher[tuple[Actor, str]]] = {}

    async def select(self, actor: Actor, var_id: str, *, public: bool) -> tuple[Record, Variable | None]:
        """The access rule's columns for `actor` and the variable `var_id` it may read: its own, or with
        `public` a public one (service/db/reads.py found), once the lookup's batch was answered.

        Raises:
            TimeoutError: the deadline passed, in the queue or at the database.
            Exception: what its batch raised (the database errors of pool.DATABASE_ERRORS).
        """
        lookup = lookup_sql(actor, public=public)
        batcher = self._batchers.get(lookup)
        if batcher is None:
            batcher = self._batchers[lookup] = Batcher(self._database, partial(_select, lookup), self._max_size, "read")
        return found(await batcher.submit((actor, var_id)))

    async def close(self) -> None:
        """Stop; lookups still queued or in flight fail."""
        for batcher in self._batchers.values():
            await batcher.close()
