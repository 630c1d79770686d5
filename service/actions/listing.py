"""list, all, latest: the whole account at once."""

from __future__ import annotations

from service.actions.context import Ctx, Outcome
from service.actions.params import NoParams
from service.db import history as db_history, variables as db_variables
from service.db.history import Point
from service.db.variables import Variable


async def list_ids(ctx: Ctx, p: NoParams) -> Outcome[list[str]]:
    return Outcome(await db_variables.select_ids(ctx.conn, ctx.account.account_id))


async def all_data(ctx: Ctx, p: NoParams) -> Outcome[list[tuple[Variable, list[Point]]]]:
    account_id = ctx.account.account_id
    async with ctx.conn.transaction(isolation="repeatable_read", readonly=True):
        variables = await db_variables.select_variables(ctx.conn, account_id)
        history = await db_history.select_account_history(ctx.conn, account_id, variables)
    return Outcome([(v, history[v.id]) for v in variables])


async def latest(ctx: Ctx, p: NoParams) -> Outcome[list[Variable]]:
    return Outcome(await db_variables.select_variables(ctx.conn, ctx.account.account_id))
