"""Stopping the gateway, and PostgreSQL going away under it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.harness import Postgres, private_postgres, running_api, scaled
from tests.support import Account, Api, account_on
from tests.ws_gateway.support import Gateway, client, closed_with, gateway_process, next_message


@pytest.fixture
def own_gateway(db_url: str) -> Iterator[Gateway]:
    """A gateway of the test's own, which it may stop."""
    with gateway_process(db_url) as gateway:
        yield gateway


@pytest.mark.anyio
async def test_sigterm_closes_sockets_with_1001_and_exits_0(own_gateway: Gateway, alice: Account) -> None:
    async with client(own_gateway.url, alice.key) as authenticated, client(own_gateway.url) as anonymous:
        stopping = asyncio.create_task(asyncio.to_thread(own_gateway.stop))
        for ws in (authenticated, anonymous):
            code, _, before = await closed_with(ws, 5)
            assert (code, before) == (1001, [])
        assert await stopping == 0


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Postgres]:
    with private_postgres("varistore-ws-restart-") as postgres:
        yield postgres


@pytest.fixture
def restart_account(own_postgres: Postgres) -> Account:
    return account_on(own_postgres.url)


@pytest.fixture
def restart_api(own_postgres: Postgres) -> Iterator[Api]:
    """A service of its own on `own_postgres`, which it outlives the restart of."""
    with running_api(own_postgres.url) as (_, base):
        api = Api(base)
        try:
            yield api
        finally:
            api.http.close()


def _write_until_success(api: Api, key: str, var: str, value: float, within: float = 15) -> None:
    # The service's pool and notifier reconnect on their own; the first requests after the
    # restart may still meet a dead connection (error_db).
    deadline = time.monotonic() + scaled(within)
    while True:
        data = api.call("write", key, id=var, value=value)
        if data["result"] == "success":
            return
        assert data["result"] == "error_db", data
        assert time.monotonic() < deadline, "the service never came back"
        time.sleep(0.2)


@pytest.fixture
def restart_gateway(own_postgres: Postgres) -> Iterator[Gateway]:
    with gateway_process(own_postgres.url) as gateway:
        yield gateway


@pytest.mark.anyio
async def test_postgres_restart_keeps_sockets_and_refreshes_them(
    own_postgres: Postgres, restart_account: Account, restart_api: Api, restart_gateway: Gateway
) -> None:
    account, api, gateway = restart_account, restart_api, restart_gateway
    async with client(gateway.url, account.key) as ws:
        var = await asyncio.to_thread(api.create, account.key, expire=0)
        assert await next_message(ws) == "refresh"
        await asyncio.to_thread(own_postgres.stop)
        await gateway.wait_health(503, 5, "/healthz saying unavailable without PostgreSQL")
        await asyncio.to_thread(own_postgres.start)
        # Reconnected and listening again: every socket is told it may have missed changes.
        assert await next_message(ws, 10) == "refresh"
        assert await asyncio.to_thread(gateway.health) == 200
        await ws.send("ping")
        assert await next_message(ws) == "pong"
        # And notifications flow again.
        await asyncio.to_thread(_write_until_success, api, account.key, var, 4.5)
        assert await next_message(ws, 1.0) == "refresh"
