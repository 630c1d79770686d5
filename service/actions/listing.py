"""list, all, latest: the whole account at once (and `names`, what a writer looks variables up by)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from service.actions.context import Ctx, Outcome
from service.actions.params import NoParams
from service.core.records import record
from service.core.values import VarType
from service.db import history as db_history, variables as db_variables
from service.db.history import Point
from service.db.variables import Variable

V = TypeVar("V", str, Variable)


def _visible(ctx: Ctx, found: Iterable[V]) -> list[V]:
    """Of the account's variables (or their ids), those the acting key may see (a scoped key: its own)."""
    scope = ctx.account.scope
    if scope is None:
        return list(found)
    return [v for v in found if scope.covers(v if isinstance(v, str) else v.id)]


async def list_ids(ctx: Ctx, p: NoParams) -> Outcome[list[str]]:
    return Outcome(_visible(ctx, await db_variables.select_ids(ctx.conn, ctx.account.account_id)))


async def all_data(ctx: Ctx, p: NoParams) -> Outcome[list[tuple[Variable, list[Point]]]]:
    account_id = ctx.account.account_id
    async with ctx.conn.transaction(isolation="repeatable_read", readonly=True):
        variables = _visible(ctx, await db_variables.select_variables(ctx.conn, account_id))
        history = await db_history.select_account_history(ctx.conn, account_id, variables)
    return Outcome([(v, history[v.id]) for v in variables])


async def latest(ctx: Ctx, p: NoParams) -> Outcome[list[Variable]]:
    return Outcome(_visible(ctx, await db_variables.select_variables(ctx.conn, ctx.account.account_id)))


@record
class Named:
    id: str
    name: str
    type: VarType


async def names(ctx: Ctx, p: NoParams) -> Outcome[list[Named]]:
    """The variables' ids by name, in the account's order, for a front door that writes by name
    (InfluxDB line protocol): a key that may only write may look up the variables it may write."""
    variables = _visible(ctx, await db_variables.select_variables(ctx.conn, ctx.account.account_id))
    return Outcome([Named(v.id, v.name, v.type) for v in variables])
