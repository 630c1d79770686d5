"""What an action gets besides its parameters, what it returns, and the checks several share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from service.core.access import Access, Actor
from service.core.changes import Change
from service.core.results import Result, VariPassError
from service.core.settings import Plan
from service.core.values import VarType
from service.db import variables as db_variables
from service.db.pool import Connection, Database
from service.db.variables import Variable
from service.rendering import NOTHING_HELD, Conditions, Renderer

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Services:
    """What the process holds for every request: the database, the plan and the renderer."""

    database: Database
    plan: Plan
    renderer: Renderer


@dataclass(frozen=True, slots=True)
class Ctx:
    conn: Connection
    actor: Actor
    # The account acting once the access rule let it in; None for a public request, and for an
    # action that applies the rule inside its own statement (the write path, DESIGN.md §4).
    access: Access | None
    services: Services
    # What the caller says of the picture it holds (graph): a current copy spares drawing and sending it again.
    conditions: Conditions = NOTHING_HELD

    @property
    def plan(self) -> Plan:
        return self.services.plan

    @property
    def account(self) -> Access:
        """The acting account, for actions that are never public."""
        assert self.access is not None
        return self.access


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What an action did: its domain result, and the changes it committed."""

    value: T
    changes: tuple[Change, ...] = ()


async def find_variable(ctx: Ctx, var_id: str) -> Variable:
    """The caller's variable, or a public one for a request without a key.

    Raises:
        VariPassError: error_invalid_id, whether the id is unknown, another account's, or
            private; the answer never reveals that an id exists.
    """
    if ctx.access is None:
        variable = await db_variables.select_public_variable(ctx.conn, var_id)
    else:
        variable = await db_variables.select_variable(ctx.conn, ctx.access.account_id, var_id)
    if variable is None:
        raise VariPassError(Result.ERROR_INVALID_ID)
    return variable


def require_unlocked(ctx: Ctx) -> None:
    if ctx.account.locked:
        raise VariPassError(Result.ERROR_LOCKED)


def var_type(name: str) -> VarType:
    try:
        return VarType(name)
    except ValueError:
        raise VariPassError(Result.ERROR_INVALID_TYPE) from None
