"""list, all, latest, slatest: the whole account at once."""

from __future__ import annotations

from service.context import Ctx, describe, now
from service.db import history as db_history, variables as db_variables
from service.params import NoParams
from service.results import Outcome
from service.values import simple_text


async def list_ids(ctx: Ctx, p: NoParams) -> Outcome:
    return Outcome({"list": await db_variables.select_ids(ctx.conn, ctx.account.account_id)})


async def all_data(ctx: Ctx, p: NoParams) -> Outcome:
    account_id = ctx.account.account_id
    async with ctx.conn.transaction(isolation="repeatable_read", readonly=True):
        variables = await db_variables.select_variables(ctx.conn, account_id)
        history = await db_history.select_account_history(ctx.conn, account_id, variables)
    items = [
        {"id": v.id, **describe(v), "history": [{"value": pt.value, "time": pt.time} for pt in history[v.id]]}
        for v in variables
    ]
    return Outcome({"list": items, "current": now()})


async def latest(ctx: Ctx, p: NoParams) -> Outcome:
    variables = await db_variables.select_variables(ctx.conn, ctx.account.account_id)
    items = [{"id": v.id, "value": v.value, "time": v.time} for v in variables]
    # slatest: `success|N|id|value|...|` with a trailing `|`, and `success|0|` when empty.
    simple = [str(len(variables))]
    for v in variables:
        simple += [v.id, simple_text(v.value)]
    return Outcome({"list": items, "current": now()}, simple=(*simple, ""))
