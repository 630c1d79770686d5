"""create, edit, delete, ordprev, ordnext (info is `read` in reads.py)."""

from __future__ import annotations

from service.actions.context import Ctx, Outcome, find_variable, require_unlocked, var_type
from service.actions.params import CreateParams, EditParams, IdParams, MoveParams
from service.core.changes import Change, ChangeKind
from service.core.ids import new_variable_id
from service.core.results import Result, VariPassError
from service.core.values import VarType
from service.db import accounts as db_accounts, history as db_history, variables as db_variables
from service.db.variables import Definition


def _definition(p: CreateParams | EditParams, type_: VarType, cooldown: int) -> Definition:
    settings = p.model_dump(include={"name", "description", "unit", "graph", "perc", "min", "max", "expire", "public"})
    return Definition(type=type_, cooldown=cooldown, **settings)


async def create(ctx: Ctx, p: CreateParams) -> Outcome[str]:
    require_unlocked(ctx)
    type_ = var_type(p.type)
    definition = _definition(p, type_, ctx.plan.cooldown(p.expire))
    account_id = ctx.account.account_id
    async with ctx.conn.transaction():
        # The account row lock makes concurrent creates count one after another.
        account = await db_accounts.lock_account(ctx.conn, account_id)
        assert account is not None
        if await db_variables.count_variables(ctx.conn, account_id) >= account.max_variables:
            raise VariPassError(Result.ERROR_MAX_VARIABLES)
        var_id = new_variable_id()
        while not await db_variables.claim_id(ctx.conn, account_id, var_id):
            var_id = new_variable_id()
        await db_variables.insert_variable(ctx.conn, account_id, var_id, definition)
    return Outcome(var_id, (Change(account_id, var_id, ChangeKind.CREATED),))


async def edit(ctx: Ctx, p: EditParams) -> Outcome[None]:
    variable = await find_variable(ctx, p.id)
    require_unlocked(ctx)
    type_ = var_type(p.type)
    expire = variable.expire if p.expire is None else p.expire
    definition = _definition(p, type_, ctx.plan.cooldown(expire))
    async with ctx.conn.transaction():
        await db_variables.update_settings(ctx.conn, variable, definition)
        if type_ != variable.type:
            await db_history.delete_history(ctx.conn, variable.account_id, variable.id)
        elif expire < variable.expire:
            await db_history.delete_expired_of(ctx.conn, variable.account_id, variable.id)
    return Outcome(None, (Change(variable.account_id, variable.id, ChangeKind.EDITED),))


async def delete(ctx: Ctx, p: IdParams) -> Outcome[None]:
    variable = await find_variable(ctx, p.id)
    require_unlocked(ctx)
    async with ctx.conn.transaction():
        await db_variables.delete_variable(ctx.conn, variable.account_id, variable.id)
    return Outcome(None, (Change(variable.account_id, variable.id, ChangeKind.DELETED),))


async def _move(ctx: Ctx, p: IdParams, *, forward: bool, at_end: Result) -> Outcome[None]:
    variable = await find_variable(ctx, p.id)
    require_unlocked(ctx)
    async with ctx.conn.transaction():
        if not await db_variables.swap_with_neighbour(ctx.conn, variable.account_id, variable.id, forward=forward):
            raise VariPassError(at_end)
    return Outcome(None, (Change(variable.account_id, variable.id, ChangeKind.MOVED),))


async def ordprev(ctx: Ctx, p: IdParams) -> Outcome[None]:
    return await _move(ctx, p, forward=False, at_end=Result.ERROR_ORDER_FIRST)


async def ordnext(ctx: Ctx, p: IdParams) -> Outcome[None]:
    return await _move(ctx, p, forward=True, at_end=Result.ERROR_ORDER_LAST)


async def move_to(ctx: Ctx, p: MoveParams) -> Outcome[None]:
    """Put a variable at place `p.to` of the account's order. Raises error_invalid_parameters past the end."""
    variable = await find_variable(ctx, p.id)
    require_unlocked(ctx)
    async with ctx.conn.transaction():
        await db_accounts.lock_account(ctx.conn, variable.account_id)  # one reorder of an account at a time
        if not await db_variables.move_to_index(ctx.conn, variable.account_id, variable.id, p.to):
            raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
    return Outcome(None, (Change(variable.account_id, variable.id, ChangeKind.MOVED),))
