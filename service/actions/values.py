"""read, sread, history, write, swrite, toggle, stoggle."""

from __future__ import annotations

from asyncpg import Record

from service.auth import check_access
from service.context import Ctx, find_variable, now
from service.db import history as db_history, variables as db_variables
from service.params import IdParams, WriteParams
from service.results import Outcome, Result, VariPassError
from service.values import Candidates, VarType, simple_text


async def read(ctx: Ctx, p: IdParams) -> Outcome:
    variable = await find_variable(ctx, p.id)
    return Outcome({"value": variable.value, "time": variable.time, "current": now()})


async def sread(ctx: Ctx, p: IdParams) -> Outcome:
    variable = await find_variable(ctx, p.id)
    return Outcome(simple=(simple_text(variable.value),))


async def history(ctx: Ctx, p: IdParams) -> Outcome:
    variable = await find_variable(ctx, p.id)
    points = await db_history.select_history(ctx.conn, variable)
    return Outcome({"history": [{"value": pt.value, "time": pt.time} for pt in points], "current": now()})


async def _write(ctx: Ctx, var_id: str, value: Candidates | None) -> Record:
    """Write `value`, or toggle when None, in one statement that also checks the key.

    Raises:
        VariPassError: the key's errors, then error_invalid_id, then error_invalid_parameters
            (the value does not fit the variable's type) or error_not_bool, then error_cooldown.
    """
    assert ctx.key_hash is not None
    row = await db_variables.write_value(ctx.conn, ctx.key_hash, ctx.client_ip, var_id, value)
    check_access(row, public=False)
    if row["type"] is None:
        raise VariPassError(Result.ERROR_INVALID_ID)
    if row["value_time"] is None:
        type_ = VarType(row["type"])
        if value is None and type_ != VarType.BOOL:
            raise VariPassError(Result.ERROR_NOT_BOOL)
        if value is not None and value.as_type(type_) is None:
            raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
        raise VariPassError(Result.ERROR_COOLDOWN)
    return row


async def write(ctx: Ctx, p: WriteParams) -> Outcome:
    row = await _write(ctx, p.id, Candidates.of(p.value))
    return Outcome(refresh=(row["account_id"],))


async def toggle(ctx: Ctx, p: IdParams) -> Outcome:
    row = await _write(ctx, p.id, None)
    value: bool = row["value_bool"]
    return Outcome(
        {"value": value, "time": int(row["value_time"].timestamp()), "current": now()},
        simple=(simple_text(value),),
        refresh=(row["account_id"],),
    )
