"""Accounts, their keys and banned IP addresses."""

from __future__ import annotations

from asyncpg import Record

from service.core.access import WHO, Actor, access_columns
from service.core.ids import key_hash
from service.core.records import record
from service.db.pool import Connection

KEY_PREFIX_LENGTH = 4  # of a key, what an account shows once the key was shown in full


@record
class Account:
    id: int
    email: str
    confirmed: bool
    banned: bool
    locked: bool
    transfers_enabled: bool
    max_variables: int
    key_prefix: str
    password_hash: str | None


def access_sql(who: str, columns: str = "", joins: str = "") -> str:
    """The statement that reads the access rule's columns for the account `who` finds, with more
    `columns` from more `joins` (the read path adds the variable: service/db/reads.py)."""
    # One row whatever the actor: the account's columns are NULL when none matches (a public
    # request, an unknown key), and ip_banned is always answered; core.access.check_access reads it.
    return f"SELECT {access_columns(who)}{columns} FROM (VALUES (1)) AS one (x) LEFT JOIN accounts a ON {who}{joins}"


_ACCESS_SQL = {who: access_sql(who) for who in WHO}

_COLUMNS = "id, email, confirmed, banned, locked, transfers_enabled, max_variables, key_prefix, password_hash"


def _account(row: Record | None) -> Account | None:
    return Account(**dict(row)) if row is not None else None


async def select_access(conn: Connection, actor: Actor) -> Record:
    row = await conn.fetchrow(_ACCESS_SQL[actor.who], actor.credential, actor.address)
    assert row is not None
    return row


async def insert_account(
    conn: Connection,
    email: str,
    password_hash: str | None,
    key: str,
    confirmed: bool,
    max_variables: int,
) -> Account:
    """Raises asyncpg.UniqueViolationError when the email is taken."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO accounts (email, password_hash, key_hash, key_prefix, confirmed, max_variables)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING {_COLUMNS}
        """,
        email,
        password_hash,
        key_hash(key),
        key[:KEY_PREFIX_LENGTH],
        confirmed,
        max_variables,
    )
    account = _account(row)
    assert account is not None
    return account


async def select_by_email(conn: Connection, email: str, *, for_update: bool = False) -> Account | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE lower(email) = lower($1){lock}", email)
    return _account(row)


async def lock_account(conn: Connection, account_id: int) -> Account | None:
    """Lock an account row for the transaction: creates and transfers into it count its variables."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE", account_id)
    return _account(row)


async def update_flags(
    conn: Connection,
    email: str,
    *,
    confirmed: bool | None = None,
    locked: bool | None = None,
    transfers_enabled: bool | None = None,
    banned: bool | None = None,
    max_variables: int | None = None,
) -> Account | None:
    row = await conn.fetchrow(
        f"""
        UPDATE accounts SET
            confirmed = coalesce($2, confirmed),
            locked = coalesce($3, locked),
            transfers_enabled = coalesce($4, transfers_enabled),
            banned = coalesce($5, banned),
            max_variables = coalesce($6, max_variables)
        WHERE lower(email) = lower($1)
        RETURNING {_COLUMNS}
        """,
        email,
        confirmed,
        locked,
        transfers_enabled,
        banned,
        max_variables,
    )
    return _account(row)


async def select_account(conn: Connection, account_id: int) -> Account | None:
    return _account(await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE id = $1", account_id))


async def update_key(conn: Connection, email: str, key: str) -> Account | None:
    row = await conn.fetchrow(
        f"UPDATE accounts SET key_hash = $2, key_prefix = $3 WHERE lower(email) = lower($1) RETURNING {_COLUMNS}",
        email,
        key_hash(key),
        key[:KEY_PREFIX_LENGTH],
    )
    return _account(row)


async def update_password(conn: Connection, account_id: int, password_hash: str, *, confirm: bool = False) -> None:
    """Replace the password hash; `confirm` also marks the email confirmed (a reset link proved it)."""
    await conn.execute(
        "UPDATE accounts SET password_hash = $2, confirmed = confirmed OR $3 WHERE id = $1",
        account_id,
        password_hash,
        confirm,
    )


async def update_email(conn: Connection, account_id: int, email: str) -> Account | None:
    """Raises asyncpg.UniqueViolationError when another account has the email."""
    row = await conn.fetchrow(f"UPDATE accounts SET email = $2 WHERE id = $1 RETURNING {_COLUMNS}", account_id, email)
    return _account(row)


async def delete_account(conn: Connection, account_id: int) -> bool:
    """The account and everything it owns; history and the id directory have no foreign key (DESIGN.md §4)."""
    async with conn.transaction():
        await conn.execute("DELETE FROM history WHERE account_id = $1", account_id)
        await conn.execute("DELETE FROM variable_ids WHERE account_id = $1", account_id)
        status = await conn.execute("DELETE FROM accounts WHERE id = $1", account_id)
    return status != "DELETE 0"


async def ban_ip(conn: Connection, ip: str) -> None:
    await conn.execute("INSERT INTO banned_ips (ip) VALUES ($1::inet) ON CONFLICT DO NOTHING", ip)


async def unban_ip(conn: Connection, ip: str) -> int:
    status = await conn.execute("DELETE FROM banned_ips WHERE ip = $1::inet", ip)
    return int(status.split()[-1])


async def has_key(conn: Connection, email: str, key_hash: bytes) -> bool:
    """Whether the account with `email` opens with the key whose hash is `key_hash`."""
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT FROM accounts WHERE lower(email) = lower($1) AND key_hash = $2)", email, key_hash
    )
    return bool(found)
