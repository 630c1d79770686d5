"""What an action gets besides its parameters, what it returns, and the checks several share."""

from __future__ import annotations

from dataclasses import field
from typing import Generic, TypeVar

from service.core.access import Access, Actor
from service.core.changes import Change
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.settings import Plan
from service.core.values import VarType
from service.db import variables as db_variables
from service.db.pool import Connection, Database
from service.db.read_batch import ReadBatcher
from service.db.variables import Variable
from service.db.write_batch import WriteBatcher
from service.rendering import NOTHING_HELD, Conditions, Renderer

T = TypeVar("T")


@record
class Services:
    """What the process holds for every request: the database, its write batcher, the plan and the renderer."""

    database: Database
    writes: WriteBatcher
    plan: Plan
    renderer: Renderer
    # The read path's lookups, in batches (issue 13; max_size=1: each alone).
    reads: ReadBatcher
    # Scoped keys used since the app last wrote their last-used times (service/app.py).
    keys_used: set[int] = field(default_factory=set)

    async def close(self) -> None:
        """Stop the renderer and the batchers: writes and reads still queued or in flight fail."""
        self.renderer.close()
        await self.writes.close()
        await self.reads.close()


@record
class Ctx:
    # None for an action that sends its one statement through the write batcher (the write path).
    connection: Connection | None
    actor: Actor
    # The account acting once the access rule let it in; None for a public request, and for an
    # action that applies the rule inside its own statement (the write path, DESIGN.md §4).
    access: Access | None
    services: Services
    # What the caller says of the picture it holds (graph): a current copy spares drawing and sending it again.
    conditions: Conditions = NOTHING_HELD

    @property
    def conn(self) -> Connection:
        assert self.connection is not None
        return self.connection

    @property
    def plan(self) -> Plan:
        return self.services.plan

    @property
    def account(self) -> Access:
        """The acting account, for actions that are never public."""
        assert self.access is not None
        return self.access


@record
class Outcome(Generic[T]):
    """What an action did: its domain result, and the changes it committed."""

    value: T
    changes: tuple[Change, ...] = ()


async def find_variable(ctx: Ctx, var_id: str) -> Variable:
    """The acting account's variable (reads by id alone go through actions/reads.py).

    Raises:
        VariPassError: error_invalid_id, whether the id is unknown or another account's; the
            answer never reveals that an id exists.
    """
    variable = await db_variables.select_variable(ctx.conn, ctx.account.account_id, var_id)
    if variable is None:
        raise VariPassError(Result.ERROR_INVALID_ID)
    return variable


def allow(
    services: Services, access: Access | None, *, read: bool = False, write: bool = False, var_id: str | None = None
) -> None:
    """A scoped key's limits (core.access.Access.require); its use is noted for its last-used time."""
    if access is not None and access.scope is not None:
        services.keys_used.add(access.scope.key_id)
        access.require(read=read, write=write, var_id=var_id)


def require_unlocked(ctx: Ctx) -> None:
    if ctx.account.locked:
        raise VariPassError(Result.ERROR_LOCKED)


def var_type(name: str) -> VarType:
    try:
        return VarType(name)
    except ValueError:
        raise VariPassError(Result.ERROR_INVALID_TYPE) from None
