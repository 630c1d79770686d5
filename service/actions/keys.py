"""The account itself, its scoped keys and its API tokens (issue 14): what REST and the CLI manage.

Every use case here needs the whole account (a scoped key may not make keys), and tokens are made
only by an account that proved its password (core.access.BY_ACCOUNT).
"""

from __future__ import annotations

from service.actions.context import Ctx, Outcome
from service.actions.params import KeyIdParams, KeyParams, NoParams
from service.core.access import BY_ACCOUNT, BY_TOKEN
from service.core.changes import Change, ChangeKind
from service.core.ids import new_api_token, new_scoped_key
from service.core.records import record
from service.core.results import Forbidden, Result, VariPassError
from service.core.settings import Plan
from service.db import accounts as db_accounts, keys as db_keys, variables as db_variables
from service.db.accounts import Account
from service.db.keys import ScopedKey
from service.db.notify import notify_in_transaction

TOKEN_MINUTES = 60  # how long a token from POST /api/v1/auth acts as its account


@record
class AccountInfo:
    account: Account
    variables: int
    plan: Plan


@record
class NewKey:
    key: str  # shown once
    info: ScopedKey


@record
class NewToken:
    token: str  # shown once
    expires: int  # Unix seconds


async def account(ctx: Ctx, p: NoParams) -> Outcome[AccountInfo]:
    account_id = ctx.account.account_id
    found = await db_accounts.select_account(ctx.conn, account_id)
    assert found is not None  # the access rule just read it
    return Outcome(AccountInfo(found, await db_variables.count_variables(ctx.conn, account_id), ctx.plan))


async def create_key(ctx: Ctx, p: KeyParams) -> Outcome[NewKey]:
    """Raises error_invalid_parameters (a key that may do nothing), error_invalid_id (a variable
    that is not the account's)."""
    if not (p.read or p.write):
        raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
    account_id = ctx.account.account_id
    variables = None if p.variables is None else tuple(dict.fromkeys(p.variables))
    if variables is not None:
        owned = set(await db_variables.select_ids(ctx.conn, account_id))
        if not owned.issuperset(variables):
            raise VariPassError(Result.ERROR_INVALID_ID)
    key = new_scoped_key()
    made = await db_keys.insert_scoped_key(ctx.conn, account_id, key, p.label, variables, p.read, p.write)
    return Outcome(NewKey(key, made))


async def list_keys(ctx: Ctx, p: NoParams) -> Outcome[list[ScopedKey]]:
    return Outcome(await db_keys.select_scoped_keys(ctx.conn, ctx.account.account_id))


async def revoke_key(ctx: Ctx, p: KeyIdParams) -> Outcome[None]:
    """Takes effect at once: the access rule reads the key's row on every request, and the gateways
    close the sockets opened with it. Raises error_invalid_id for a key that is not the account's."""
    account_id = ctx.account.account_id
    async with ctx.conn.transaction():
        if not await db_keys.delete_scoped_key(ctx.conn, account_id, p.key_id):
            raise VariPassError(Result.ERROR_INVALID_ID)
        # Not lost to a crash after the commit, whichever front door revoked it.
        await notify_in_transaction(ctx.conn, [Change(account_id, "", ChangeKind.KEY_REVOKED, p.key_id)])
    return Outcome(None)


async def create_token(ctx: Ctx, p: NoParams) -> Outcome[NewToken]:
    """Raises Forbidden unless the request proved the account's password (a key or a token may not)."""
    if ctx.actor.who != BY_ACCOUNT:
        raise Forbidden()
    token = new_api_token()
    expires = await db_keys.insert_token(ctx.conn, ctx.account.account_id, token, TOKEN_MINUTES)
    return Outcome(NewToken(token, int(expires.timestamp())))


async def revoke_token(ctx: Ctx, p: NoParams) -> Outcome[None]:
    """Revoke the token the request acts with. Raises Forbidden when it acts with something else."""
    if ctx.actor.who != BY_TOKEN or ctx.actor.key_hash is None:
        raise Forbidden()
    await db_keys.delete_token(ctx.conn, ctx.actor.key_hash)
    return Outcome(None)
