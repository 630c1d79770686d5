"""`refresh` after committed changes, to the right accounts only, coalesced."""

from __future__ import annotations

import asyncio
import concurrent.futures

from websockets.asyncio.client import ClientConnection

from tests.support import Account, Api, Db, lock, make_account
from tests.ws_gateway.support import Gateway, client, messages_for, next_message

QUIET = 0.5  # how long "nothing arrives" is watched for


async def settle(ws: ClientConnection) -> None:
    """Let the refresh of the test's own setup (made before connecting) arrive and drop it."""
    await messages_for(ws, 0.3)


def test_write_by_same_account_refreshes_within_1s(gateway: Gateway, api: Api, alice: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            var = await asyncio.to_thread(api.create, alice.key)
            assert await next_message(ws, 1.0) == "refresh"
            data = await asyncio.to_thread(api.call, "write", alice.key, id=var, value=1.5)
            assert data["result"] == "success"
            assert await next_message(ws, 1.0) == "refresh"

    asyncio.run(scenario())


def test_every_socket_of_the_account_is_refreshed(gateway: Gateway, api: Api, alice: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url, alice.key) as one, client(gateway.url, alice.key) as two:
            await asyncio.to_thread(api.create, alice.key)
            assert [await next_message(one), await next_message(two)] == ["refresh", "refresh"]

    asyncio.run(scenario())


def test_write_by_another_account_sends_nothing(gateway: Gateway, api: Api, alice: Account, bob: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            var = await asyncio.to_thread(api.create, bob.key)
            await asyncio.to_thread(api.call, "write", bob.key, id=var, value=2.0)
            assert await messages_for(ws, QUIET) == []

    asyncio.run(scenario())


def test_refused_write_cooldown_sends_nothing(gateway: Gateway, api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    assert api.call("write", alice.key, id=var, value=1.0)["result"] == "success"

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            await settle(ws)
            data = await asyncio.to_thread(api.call, "write", alice.key, id=var, value=2.0)
            assert data["result"] == "error_cooldown"
            assert await messages_for(ws, QUIET) == []

    asyncio.run(scenario())


def test_refused_create_locked_sends_nothing(gateway: Gateway, api: Api, db: Db, alice: Account) -> None:
    lock(db, alice)

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            data = await asyncio.to_thread(api.call, "create", alice.key, type="int", name="n")
            assert data["result"] == "error_locked"
            assert await messages_for(ws, QUIET) == []

    asyncio.run(scenario())


def test_refused_by_another_key_sends_nothing(gateway: Gateway, api: Api, alice: Account, bob: Account) -> None:
    var = api.create(alice.key)

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            await settle(ws)
            data = await asyncio.to_thread(api.call, "write", bob.key, id=var, value=3.0)
            assert data["result"] == "error_invalid_id"
            assert await messages_for(ws, QUIET) == []

    asyncio.run(scenario())


def test_transfer_refreshes_both_accounts(gateway: Gateway, api: Api, db: Db, alice: Account) -> None:
    target = make_account(db, transfers_enabled=True)
    var = api.create(alice.key)

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as source_ws, client(gateway.url, target.key) as target_ws:
            await settle(source_ws)
            data = await asyncio.to_thread(api.call, "transfer", alice.key, id=var, target=target.email)
            assert data["result"] == "success"
            assert await next_message(source_ws) == "refresh"
            assert await next_message(target_ws) == "refresh"

    asyncio.run(scenario())


def test_burst_of_creates_is_coalesced(gateway: Gateway, api: Api, alice: Account) -> None:
    burst = 30

    def create_many() -> None:
        # Concurrent creates: their commits land within a few milliseconds of each other.
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            ids = list(pool.map(lambda _: api.create(alice.key), range(burst)))
        assert len(set(ids)) == burst

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            await asyncio.to_thread(create_many)
            seen = await messages_for(ws, 1.0)
            assert seen and set(seen) == {"refresh"}
            assert len(seen) <= 5, f"{len(seen)} refreshes for {burst} creates"
            # Nothing is left pending, and the next change still gets its own refresh.
            await asyncio.to_thread(api.create, alice.key)
            assert await next_message(ws) == "refresh"

    asyncio.run(scenario())


def test_refresh_is_sent_after_a_burst_ends(gateway: Gateway, api: Api, alice: Account) -> None:
    # A second change right after the first lands inside the first refresh's interval: it must
    # still be announced, a little later, rather than dropped.
    flag = api.create(alice.key, type="bool", expire=0)
    var = api.create(alice.key)

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            await settle(ws)
            assert (await asyncio.to_thread(api.call, "toggle", alice.key, id=flag))["result"] == "success"
            assert await next_message(ws) == "refresh"
            edit = await asyncio.to_thread(api.call, "edit", alice.key, id=var, type="float", name="again")
            assert edit["result"] == "success"
            assert await next_message(ws) == "refresh"
            assert await messages_for(ws, QUIET) == []

    asyncio.run(scenario())
