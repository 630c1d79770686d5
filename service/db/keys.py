"""Scoped keys and API tokens (issue 14): only SHA-256 hashes of their secrets are stored (DESIGN.md §3).

Which account they act as, and their limits, are read by the access rule's statements
(service/core/access.py); this module makes, lists and ends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asyncpg import Record

from service.core.ids import key_hash
from service.core.records import record
from service.db.pool import Connection

PREFIX_LENGTH = 7  # of a scoped key, shown after it was shown once in full: "vk_" and four characters


@record
class ScopedKey:
    id: int
    label: str
    prefix: str
    variables: tuple[str, ...] | None  # None: every variable of the account
    read: bool
    write: bool
    created: datetime
    last_used: datetime | None


_COLUMNS = "id, label, key_prefix, variable_ids, can_read, can_write, created_at, last_used_at"


def _scoped_key(row: Record) -> ScopedKey:
    ids = row["variable_ids"]
    return ScopedKey(
        id=row["id"],
        label=row["label"],
        prefix=row["key_prefix"],
        variables=None if ids is None else tuple(ids),
        read=row["can_read"],
        write=row["can_write"],
        created=row["created_at"],
        last_used=row["last_used_at"],
    )


async def insert_scoped_key(
    conn: Connection, account_id: int, key: str, label: str, variables: Sequence[str] | None, read: bool, write: bool
) -> ScopedKey:
    row = await conn.fetchrow(
        f"""
        INSERT INTO scoped_keys (account_id, key_hash, key_prefix, label, variable_ids, can_read, can_write)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {_COLUMNS}
        """,
        account_id,
        key_hash(key),
        key[:PREFIX_LENGTH],
        label,
        None if variables is None else list(variables),
        read,
        write,
    )
    assert row is not None
    return _scoped_key(row)


async def select_scoped_keys(conn: Connection, account_id: int) -> list[ScopedKey]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM scoped_keys WHERE account_id = $1 ORDER BY id", account_id)
    return [_scoped_key(row) for row in rows]


async def delete_scoped_key(conn: Connection, account_id: int, key_id: int) -> bool:
    status = await conn.execute("DELETE FROM scoped_keys WHERE account_id = $1 AND id = $2", account_id, key_id)
    return status != "DELETE 0"


async def touch_scoped_keys(conn: Connection, key_ids: Sequence[int]) -> None:
    """Mark keys used now (the API notes uses in memory and writes them now and then: a read is not a write)."""
    await conn.execute("UPDATE scoped_keys SET last_used_at = now() WHERE id = ANY ($1::bigint[])", list(key_ids))


async def insert_token(conn: Connection, account_id: int, token: str, minutes: int) -> datetime:
    """Store a new token for the account; returns when it expires."""
    expires = await conn.fetchval(
        """
        INSERT INTO api_tokens (token_hash, account_id, expires_at)
        VALUES ($1, $2, now() + make_interval(mins => $3))
        RETURNING expires_at
        """,
        key_hash(token),
        account_id,
        minutes,
    )
    assert isinstance(expires, datetime)
    return expires


async def delete_token(conn: Connection, token_hash: bytes) -> bool:
    status = await conn.execute("DELETE FROM api_tokens WHERE token_hash = $1", token_hash)
    return status != "DELETE 0"


async def delete_expired_tokens(conn: Connection) -> int:
    status = await conn.execute("DELETE FROM api_tokens WHERE expires_at <= now()")
    return int(status.split()[-1])
