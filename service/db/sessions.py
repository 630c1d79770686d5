"""The dashboard's sessions, the single-use tokens of emailed links, and the short-lived tokens a
page opens its WebSocket with. Only SHA-256 hashes of their secrets are stored (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from service.core.access import IPAddress
from service.core.ids import key_hash
from service.core.records import record
from service.db.pool import Connection


@record
class Session:
    id: int
    account_id: int
    csrf_token: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime
    user_agent: str
    ip: IPAddress | None


_SESSION_COLUMNS = "id, account_id, csrf_token, created_at, last_seen, expires_at, user_agent, ip"

# A session's last_seen (and with it its expiry) moves at most this often: a page view is not a write.
TOUCH_SECONDS = 60


async def insert_session(
    conn: Connection, account_id: int, token: str, csrf_token: str, days: int, user_agent: str, ip: IPAddress | None
) -> int:
    session_id = await conn.fetchval(
        """
        INSERT INTO sessions (account_id, token_hash, csrf_token, expires_at, user_agent, ip)
        VALUES ($1, $2, $3, now() + make_interval(days => $4), $5, $6)
        RETURNING id
        """,
        account_id,
        key_hash(token),
        csrf_token,
        days,
        user_agent[:200],
        ip,
    )
    assert isinstance(session_id, int)
    return session_id


async def select_session(conn: Connection, token: str, days: int) -> Session | None:
    """The live session whose cookie holds `token`; its expiry moves `days` ahead of now (a used session lives on)."""
    row = await conn.fetchrow(
        f"""
        WITH found AS (
            SELECT id FROM sessions WHERE token_hash = $1 AND expires_at > now()
        ), touched AS (
            UPDATE sessions s SET last_seen = now(), expires_at = now() + make_interval(days => $2)
            FROM found WHERE s.id = found.id AND s.last_seen < now() - make_interval(secs => $3)
        )
        SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = (SELECT id FROM found)
        """,
        key_hash(token),
        days,
        TOUCH_SECONDS,
    )
    return Session(**dict(row)) if row is not None else None


async def select_sessions(conn: Connection, account_id: int) -> list[Session]:
    rows = await conn.fetch(
        f"""
        SELECT {_SESSION_COLUMNS} FROM sessions WHERE account_id = $1 AND expires_at > now()
        ORDER BY last_seen DESC
        """,
        account_id,
    )
    return [Session(**dict(row)) for row in rows]


async def delete_session(conn: Connection, account_id: int, session_id: int) -> bool:
    status = await conn.execute("DELETE FROM sessions WHERE account_id = $1 AND id = $2", account_id, session_id)
    return status != "DELETE 0"


async def delete_other_sessions(conn: Connection, account_id: int, keep: int | None) -> list[int]:
    """End every session of the account but `keep` (None: all); the ids of those ended."""
    rows = await conn.fetch(
        "DELETE FROM sessions WHERE account_id = $1 AND id IS DISTINCT FROM $2 RETURNING id", account_id, keep
    )
    return [row["id"] for row in rows]


class Purpose(StrEnum):
    CONFIRM = "confirm"  # the account's address, at sign-up
    RESET = "reset"  # a forgotten password
    EMAIL = "email"  # a new address, confirmed before it replaces the old one


async def insert_email_token(
    conn: Connection, account_id: int, purpose: Purpose, email: str, token: str, minutes: int
) -> None:
    """A new link for `purpose` replaces the account's earlier ones: only the latest email works."""
    async with conn.transaction():
        await conn.execute("DELETE FROM email_tokens WHERE account_id = $1 AND purpose = $2", account_id, purpose.value)
        await conn.execute(
            """
            INSERT INTO email_tokens (token_hash, account_id, purpose, email, expires_at)
            VALUES ($1, $2, $3, $4, now() + make_interval(mins => $5))
            """,
            key_hash(token),
            account_id,
            purpose.value,
            email,
            minutes,
        )


async def take_email_token(conn: Connection, purpose: Purpose, token: str) -> tuple[int, str] | None:
    """Use a link's token once: (its account, the email it was sent to), or None if unknown, used or expired."""
    row = await conn.fetchrow(
        """
        DELETE FROM email_tokens WHERE token_hash = $1 AND purpose = $2
        RETURNING account_id, email, expires_at > now() AS live
        """,
        key_hash(token),
        purpose.value,
    )
    return (row["account_id"], row["email"]) if row is not None and row["live"] else None


async def peek_email_token(conn: Connection, purpose: Purpose, token: str) -> bool:
    """Whether a link still works, without using it (the reset page shows its form only then)."""
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > now())",
        key_hash(token),
        purpose.value,
    )
    return bool(found)


async def insert_socket_token(conn: Connection, session: Session, token: str, seconds: int) -> None:
    await conn.execute(
        """
        INSERT INTO socket_tokens (token_hash, account_id, session_id, expires_at)
        VALUES ($1, $2, $3, now() + make_interval(secs => $4))
        """,
        key_hash(token),
        session.account_id,
        session.id,
        seconds,
    )


async def take_socket_token(conn: Connection, token: str) -> tuple[int, int] | None:
    """Use a WebSocket token once: (its account, its session) while both live, else None."""
    row = await conn.fetchrow(
        """
        WITH taken AS (
            DELETE FROM socket_tokens WHERE token_hash = $1 RETURNING account_id, session_id, expires_at
        )
        SELECT t.account_id, t.session_id FROM taken t JOIN sessions s ON s.id = t.session_id
        WHERE t.expires_at > now() AND s.expires_at > now()
        """,
        key_hash(token),
    )
    return (row["account_id"], row["session_id"]) if row is not None else None


async def delete_expired(conn: Connection) -> int:
    """Sweep what has expired (the pruner calls it)."""
    count = 0
    for table in ("socket_tokens", "email_tokens", "sessions"):
        status = await conn.execute(f"DELETE FROM {table} WHERE expires_at <= now()")
        count += int(status.split()[-1])
    return count
