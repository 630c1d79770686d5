"""`refresh` after committed changes, to the right accounts only, coalesced."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import time

import pytest
from websockets.asyncio.client import ClientConnection

from tests.support import Account, Api, Db, lock, make_account
from tests.ws_gateway.support import Gateway, client, messages_for, next_message
from ws_gateway.registry import MIN_INTERVAL

pytestmark = pytest.mark.anyio

QUIET = 0.5  # how long "nothing arrives" is watched for (scaled)


async def created(api: Api, ws: ClientConnection, key: str, **params: object) -> str:
    """Create a variable while `ws` (of the same account) listens, and take the refresh it gets.

    A test's setup is made with its socket already open, rather than before, so that no refresh
    of the setup can arrive unexpected later.
    """
    var = await asyncio.to_thread(api.create, key, **params)
    assert await next_message(ws) == "refresh"
    return var


async def test_write_by_same_account_refreshes_within_1s(gateway: Gateway, api: Api, alice: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        var = await asyncio.to_thread(api.create, alice.key)
        assert await next_message(ws, 1.0) == "refresh"
        data = await asyncio.to_thread(api.call, "write", alice.key, id=var, value=1.5)
        assert data["result"] == "success"
        assert await next_message(ws, 1.0) == "refresh"


async def test_every_socket_of_the_account_is_refreshed(gateway: Gateway, api: Api, alice: Account) -> None:
    async with client(gateway.url, alice.key) as one, client(gateway.url, alice.key) as two:
        await asyncio.to_thread(api.create, alice.key)
        assert [await next_message(one), await next_message(two)] == ["refresh", "refresh"]


async def test_write_by_another_account_sends_nothing(gateway: Gateway, api: Api, alice: Account, bob: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        var = await asyncio.to_thread(api.create, bob.key)
        await asyncio.to_thread(api.call, "write", bob.key, id=var, value=2.0)
        assert await messages_for(ws, QUIET) == []


async def test_refused_write_cooldown_sends_nothing(gateway: Gateway, api: Api, alice: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        var = await created(api, ws, alice.key)
        assert (await asyncio.to_thread(api.call, "write", alice.key, id=var, value=1.0))["result"] == "success"
        assert await next_message(ws) == "refresh"
        data = await asyncio.to_thread(api.call, "write", alice.key, id=var, value=2.0)
        assert data["result"] == "error_cooldown"
        assert await messages_for(ws, QUIET) == []


async def test_refused_create_locked_sends_nothing(gateway: Gateway, api: Api, db: Db, alice: Account) -> None:
    await asyncio.to_thread(lock, db, alice)
    async with client(gateway.url, alice.key) as ws:
        data = await asyncio.to_thread(api.call, "create", alice.key, type="int", name="n")
        assert data["result"] == "error_locked"
        assert await messages_for(ws, QUIET) == []


async def test_refused_by_another_key_sends_nothing(gateway: Gateway, api: Api, alice: Account, bob: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        var = await created(api, ws, alice.key)
        data = await asyncio.to_thread(api.call, "write", bob.key, id=var, value=3.0)
        assert data["result"] == "error_invalid_id"
        assert await messages_for(ws, QUIET) == []


async def test_transfer_refreshes_both_accounts(gateway: Gateway, api: Api, db: Db, alice: Account) -> None:
    target = await asyncio.to_thread(make_account, db, transfers_enabled=True)
    async with client(gateway.url, alice.key) as source_ws, client(gateway.url, target.key) as target_ws:
        var = await created(api, source_ws, alice.key)
        data = await asyncio.to_thread(api.call, "transfer", alice.key, id=var, target=target.email)
        assert data["result"] == "success"
        assert await next_message(source_ws) == "refresh"
        assert await next_message(target_ws) == "refresh"


async def test_burst_of_creates_is_coalesced(gateway: Gateway, api: Api, alice: Account) -> None:
    burst = 30

    def create_many() -> float:
        # Concurrent creates: their commits land within a few milliseconds of each other (on an
        # idle machine; the bound below allows for a slower burst).
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            ids = list(pool.map(lambda _: api.create(alice.key), range(burst)))
        assert len(set(ids)) == burst
        return time.monotonic() - started

    async with client(gateway.url, alice.key) as ws:
        lasted = await asyncio.to_thread(create_many)
        seen = await messages_for(ws, 1.0)
        assert seen and set(seen) == {"refresh"}
        # At most one refresh per MIN_INTERVAL while the burst lasts, plus the one that follows it:
        # 2 or 3 for a burst of a few dozen milliseconds.
        most = math.ceil(lasted / MIN_INTERVAL) + 2
        assert len(seen) <= most, f"{len(seen)} refreshes for {burst} creates in {lasted:.2f} s"
        # Nothing is left pending, and the next change still gets its own refresh.
        await asyncio.to_thread(api.create, alice.key)
        assert await next_message(ws) == "refresh"


async def test_refresh_is_sent_after_a_burst_ends(gateway: Gateway, api: Api, alice: Account) -> None:
    # A second change right after the first lands inside the first refresh's interval: it must
    # still be announced, a little later, rather than dropped.
    async with client(gateway.url, alice.key) as ws:
        flag = await created(api, ws, alice.key, type="bool", expire=0)
        var = await created(api, ws, alice.key)
        assert (await asyncio.to_thread(api.call, "toggle", alice.key, id=flag))["result"] == "success"
        assert await next_message(ws) == "refresh"
        edit = await asyncio.to_thread(api.call, "edit", alice.key, id=var, type="float", name="again")
        assert edit["result"] == "success"
        assert await next_message(ws) == "refresh"
        assert await messages_for(ws, QUIET) == []
