"""transfer: give a variable, with its history, to another account."""

from __future__ import annotations

from service.actions.context import Ctx, Outcome, find_variable, require_unlocked
from service.actions.params import TransferParams
from service.core.changes import Change, ChangeKind
from service.core.results import Result, VariPassError
from service.db import accounts as db_accounts, variables as db_variables


async def transfer(ctx: Ctx, p: TransferParams) -> Outcome[None]:
    variable = await find_variable(ctx, p.id)
    require_unlocked(ctx)
    async with ctx.conn.transaction():
        # Locking the target serialises transfers and creates that count its variables.
        target = await db_accounts.select_by_email(ctx.conn, p.target, for_update=True)
        # A banned or unconfirmed account cannot receive: to the sender it does not exist.
        if target is None or target.banned or not target.confirmed:
            raise VariPassError(Result.ERROR_USER_NOT_FOUND)
        if target.id == variable.account_id:
            return Outcome(None)
        if not target.transfers_enabled:
            raise VariPassError(Result.ERROR_TRANSFER_DISABLED)
        if await db_variables.count_variables(ctx.conn, target.id) >= target.max_variables:
            raise VariPassError(Result.ERROR_MAX_VARIABLES)
        await db_variables.move_to_account(ctx.conn, variable, target.id)
    return Outcome(
        None,
        (
            Change(variable.account_id, variable.id, ChangeKind.TRANSFERRED_OUT),
            Change(target.id, variable.id, ChangeKind.TRANSFERRED_IN),
        ),
    )
