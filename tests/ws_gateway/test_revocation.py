"""Dashboard pages authenticate with single-use socket tokens of their session, never the API key; a
regenerated key, a deleted account or an ended session closes the sockets they opened, at once."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from service.actions import accounts
from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.core.access import Actor
from service.db import accounts as db_accounts, sessions as db_sessions
from tests.support import Account, Db
from tests.ws_gateway.support import Gateway, client, closed_with, next_message

pytestmark = pytest.mark.anyio


async def _with_conn(db_url: str, work: Any) -> Any:
    conn = await asyncpg.connect(db_url)
    try:
        return await work(conn)
    finally:
        await conn.close()


async def session_of(db_url: str, account: Account) -> db_sessions.Session:
    async def work(conn: asyncpg.Connection) -> db_sessions.Session:
        found = await db_accounts.select_account(conn, account.id)
        assert found is not None
        cookie = await accounts.start_session(conn, found, 1, "test", None)
        session = await db_sessions.select_session(conn, cookie, 1)
        assert session is not None
        return session

    result: db_sessions.Session = await _with_conn(db_url, work)
    return result


async def token_of(db_url: str, session: db_sessions.Session) -> str:
    token: str = await _with_conn(db_url, lambda conn: accounts.socket_token(conn, session))
    return token


async def test_a_socket_token_opens_the_socket_once(gateway: Gateway, db_url: str, alice: Account) -> None:
    token = await token_of(db_url, await session_of(db_url, alice))
    async with client(gateway.url, token):
        pass
    async with client(gateway.url) as ws:
        await ws.send(f"key {token}")
        code, _, seen = await closed_with(ws)
    assert seen == ["error_invalid_key"] and code == 1008


async def test_a_token_of_an_ended_session_is_refused(gateway: Gateway, db_url: str, alice: Account) -> None:
    session = await session_of(db_url, alice)
    token = await token_of(db_url, session)
    await _with_conn(db_url, lambda conn: accounts.end_session(conn, alice.id, session.id))
    async with client(gateway.url) as ws:
        await ws.send(f"key {token}")
        _, _, seen = await closed_with(ws)
    assert seen == ["error_invalid_key"]


async def test_a_new_key_closes_the_sockets_of_the_old_one(gateway: Gateway, db_url: str, alice: Account) -> None:
    async with client(gateway.url, alice.key) as ws:

        async def regenerate(conn: asyncpg.Connection) -> None:
            found = await db_accounts.select_account(conn, alice.id)
            assert found is not None
            await accounts.regenerate_key(conn, found)

        await _with_conn(db_url, regenerate)
        code, _, seen = await closed_with(ws, 5)
    assert seen == ["error_invalid_key"] and code == 1008
    async with client(gateway.url) as ws:
        await ws.send(f"key {alice.key}")
        _, _, seen = await closed_with(ws)
    assert seen == ["error_invalid_key"]


async def test_ending_a_session_closes_its_pages_sockets_only(
    gateway: Gateway, db_url: str, alice: Account, db: Db
) -> None:
    session = await session_of(db_url, alice)
    token = await token_of(db_url, session)
    async with client(gateway.url, token) as page, client(gateway.url, alice.key) as device:
        await _with_conn(db_url, lambda conn: accounts.end_session(conn, alice.id, session.id))
        code, _, _ = await closed_with(page, 5)
        assert code == 1008
        await device.send("ping")
        assert await next_message(device, 2) == "pong"


async def test_deleting_the_account_closes_its_sockets(gateway: Gateway, db_url: str, alice: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        await _with_conn(db_url, lambda conn: accounts.delete(conn, alice.id))
        code, _, _ = await closed_with(ws, 5)
    assert code == 1008


async def test_a_revoked_scoped_key_closes_its_sockets_and_only_them(
    gateway: Gateway, services: Services, alice: Account
) -> None:
    # A socket opened with a scoped key (issue 14) closes when that key is revoked; the others stay open.
    owner = Actor.of_secret(alice.key, None)
    revoked, kept = [(await USE_CASES["key_create"].perform_fields(services, owner, {})).value for _ in range(2)]
    async with client(gateway.url, revoked.key) as gone, client(gateway.url, kept.key) as stays:
        async with client(gateway.url, alice.key) as own:
            await USE_CASES["key_revoke"].perform_fields(services, owner, {"key_id": revoked.info.id})
            code, _, seen = await closed_with(gone, 5)
            assert seen == ["error_invalid_key"] and code == 1008
            for ws in (stays, own):
                await ws.send("ping")
                assert await next_message(ws) == "pong"
