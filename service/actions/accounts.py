"""What people do to their accounts, from the dashboard or the command line: sign up, confirm, log in,
change the password, the email or the key, and delete it all. The rules are here once; the front doors
(service/web/, service/cli.py) only ask and present.

Secrets are made here and returned once: API keys, session cookies and link tokens are stored hashed.
"""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
from argon2.exceptions import InvalidHashError, VerificationError

from service.core.access import IPAddress
from service.core.changes import Change, ChangeKind
from service.core.ids import new_key
from service.core.records import record
from service.db import accounts as db_accounts, sessions as db_sessions
from service.db.accounts import Account
from service.db.notify import notify_in_transaction
from service.db.pool import Connection
from service.db.sessions import Purpose
from service.passwords import hash_password, verify_password

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; this bounds the work one request can ask for
SOCKET_TOKEN_SECONDS = 60


class AccountError(Exception):
    """A request about an account that cannot be done; the message is fit to show its user."""


class EmailTaken(AccountError):
    def __init__(self) -> None:
        super().__init__("An account with this email exists.")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Choose a password of at most {MAX_PASSWORD} characters.")


async def hashed(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
    return await asyncio.to_thread(hash_password, password)


# A hash to verify against when no account has the email, so that a log-in with an unknown email
# costs the same time as one with a wrong password (no user enumeration by timing).
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


async def password_matches(account: Account | None, password: str) -> bool:
    stored = account.password_hash if account is not None and account.password_hash else _DUMMY_HASH
    try:
        ok = await asyncio.to_thread(verify_password, stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and account is not None and account.password_hash is not None


@record
class NewAccount:
    account: Account
    key: str  # shown once


async def create(
    conn: Connection, email: str, password: str | None, *, confirmed: bool, max_variables: int
) -> NewAccount:
    """Raises EmailTaken, AccountError (a password too short or too long)."""
    if password is not None:
        check_password(password)
    password_hash = await hashed(password) if password is not None else None
    key = new_key()
    try:
        account = await db_accounts.insert_account(conn, email, password_hash, key, confirmed, max_variables)
    except asyncpg.UniqueViolationError:
        raise EmailTaken() from None
    return NewAccount(account, key)


async def email_link(conn: Connection, account_id: int, purpose: Purpose, email: str, minutes: int) -> str:
    """A new single-use token for an emailed link; earlier links of the same purpose stop working."""
    token = secrets.token_urlsafe(32)
    await db_sessions.insert_email_token(conn, account_id, purpose, email, token, minutes)
    return token


async def confirm(conn: Connection, token: str) -> NewAccount | None:
    """Confirm the account a sign-up link names, with a new key to show once (the one made at sign-up was
    never shown). None: the link is unknown, used or expired."""
    async with conn.transaction():
        taken = await db_sessions.take_email_token(conn, Purpose.CONFIRM, token)
        if taken is None:
            return None
        account = await db_accounts.select_account(conn, taken[0])
        if account is None or account.confirmed:
            return None
        await db_accounts.update_flags(conn, account.email, confirmed=True)
        return await regenerate_key(conn, account)


async def regenerate_key(conn: Connection, account: Account) -> NewAccount:
    """A new key for the account: the old one stops working at once, on open WebSockets too."""
    key = new_key()
    async with conn.transaction():
        updated = await db_accounts.update_key(conn, account.email, key)
        assert updated is not None
        await notify_in_transaction(conn, [Change(account.id, "", ChangeKind.REVOKED)])
    return NewAccount(updated, key)


async def change_email(conn: Connection, token: str) -> Account | None:
    """Move the account to the address an email-change link was sent to. None: the link is unknown,
    used or expired. Raises EmailTaken when another account took the address meanwhile."""
    async with conn.transaction():
        taken = await db_sessions.take_email_token(conn, Purpose.EMAIL, token)
        if taken is None:
            return None
        try:
            return await db_accounts.update_email(conn, *taken)
        except asyncpg.UniqueViolationError:
            raise EmailTaken() from None


async def set_password(conn: Connection, account_id: int, password: str, *, keep_session: int | None) -> None:
    """Replace the password; every other session ends (a stolen one among them)."""
    check_password(password)
    password_hash = await hashed(password)
    async with conn.transaction():
        await db_accounts.update_password(conn, account_id, password_hash)
        await end_sessions(conn, account_id, keep=keep_session)


async def reset_password(conn: Connection, token: str, password: str) -> bool:
    """Set a new password from a reset link, ending every session. False: the link is unknown, used or expired."""
    check_password(password)
    password_hash = await hashed(password)
    async with conn.transaction():
        taken = await db_sessions.take_email_token(conn, Purpose.RESET, token)
        if taken is None:
            return False
        # Whoever can read the mailbox owns the account: following the link confirms the address too.
        await db_accounts.update_password(conn, taken[0], password_hash, confirm=True)
        await end_sessions(conn, taken[0], keep=None)
    return True


async def start_session(conn: Connection, account: Account, days: int, user_agent: str, ip: IPAddress | None) -> str:
    """A new session for a logged-in account; returns the cookie's secret."""
    token = secrets.token_urlsafe(32)
    await db_sessions.insert_session(conn, account.id, token, secrets.token_urlsafe(24), days, user_agent, ip)
    return token


async def end_sessions(conn: Connection, account_id: int, *, keep: int | None) -> None:
    """End the account's sessions but `keep`; the pages open on them lose their live updates at once."""
    async with conn.transaction():
        ended = await db_sessions.delete_other_sessions(conn, account_id, keep)
        await notify_in_transaction(conn, [Change(account_id, "", ChangeKind.REVOKED, s) for s in ended])


async def end_session(conn: Connection, account_id: int, session_id: int) -> bool:
    async with conn.transaction():
        ended = await db_sessions.delete_session(conn, account_id, session_id)
        if ended:
            await notify_in_transaction(conn, [Change(account_id, "", ChangeKind.REVOKED, session_id)])
    return ended


async def socket_token(conn: Connection, session: db_sessions.Session) -> str:
    """A token a page opens the gateway's WebSocket with (`key <token>`): single use, short-lived, and
    tied to the session, so that the API key never sits in a page."""
    token = "s." + secrets.token_urlsafe(24)
    await db_sessions.insert_socket_token(conn, session, token, SOCKET_TOKEN_SECONDS)
    return token


async def delete(conn: Connection, account_id: int) -> None:
    """The account with all its variables, history, sessions and links; its sockets close."""
    async with conn.transaction():
        await notify_in_transaction(conn, [Change(account_id, "", ChangeKind.REVOKED)])
        await db_accounts.delete_account(conn, account_id)
