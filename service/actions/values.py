"""write and toggle (the protocol's s-variants present the same results)."""

from __future__ import annotations

from service.actions.context import Ctx, Outcome, allow
from service.actions.params import IdParams, WriteParams
from service.core.access import check_access
from service.core.changes import Change, ChangeKind
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.values import TYPES, Candidates, Value, VarType
from service.db.variables import Write


@record
class Written:
    """The value a write or toggle stored, and its time (whole Unix seconds)."""

    value: Value
    time: int


async def _write(ctx: Ctx, var_id: str, value: Candidates | None) -> Outcome[Written]:
    """Write `value`, or toggle when None, in one statement that also applies the access rule, in a batch
    with the process's other writes of the moment.

    Raises:
        VariPassError: the access rule's errors (Forbidden: a scoped key that may not write), then
            error_invalid_id (also a variable outside a scoped key's list), then
            error_invalid_parameters (the value does not fit the variable's type) or
            error_not_bool, then error_cooldown.
    """
    row = await ctx.services.writes.write(Write(ctx.actor, var_id, value))
    # The statement wrote nothing the key may not write; this names why.
    allow(ctx.services, check_access(row, public=False), write=True, var_id=var_id)
    if row["type"] is None:
        raise VariPassError(Result.ERROR_INVALID_ID)
    type_ = TYPES[row["type"]]
    if row["time"] is None:
        if value is None and type_ != VarType.BOOL:
            raise VariPassError(Result.ERROR_NOT_BOOL)
        if value is not None and value.as_type(type_) is None:
            raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
        raise VariPassError(Result.ERROR_COOLDOWN, retry_after=row["retry_after"])
    stored = row["value_bool"] if value is None else value.as_type(type_)
    assert stored is not None
    written = Written(stored, row["time"])
    return Outcome(written, (Change(row["account_id"], var_id, ChangeKind.WRITTEN, written.value, written.time),))


async def write(ctx: Ctx, p: WriteParams) -> Outcome[Written]:
    return await _write(ctx, p.id, Candidates.of(p.value))


async def toggle(ctx: Ctx, p: IdParams) -> Outcome[Written]:
    return await _write(ctx, p.id, None)
