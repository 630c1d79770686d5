"""Timeouts, connection limits and slow clients, on a gateway with short timeouts and low limits."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import Account, Api, Db, make_account
from tests.ws_gateway.support import Gateway, client, closed_with, next_message, running_gateway

AUTH_TIMEOUT = 0.5
IDLE_TIMEOUT = 1.0
SEND_TIMEOUT = 1.0
MAX_PER_ACCOUNT = 2
MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def strict(db_url: str) -> Iterator[Gateway]:
    with running_gateway(
        db_url,
        ws_auth_timeout=AUTH_TIMEOUT,
        ws_idle_timeout=IDLE_TIMEOUT,
        ws_send_timeout=SEND_TIMEOUT,
        ws_max_per_account=MAX_PER_ACCOUNT,
        ws_max_connections=MAX_CONNECTIONS,
    ) as gateway:
        yield gateway


def test_unauthenticated_socket_is_closed_after_auth_timeout(strict: Gateway) -> None:
    async def scenario() -> None:
        async with client(strict.url) as ws:
            started = time.monotonic()
            # A ping is answered but does not stand in for a key.
            await ws.send("ping")
            assert await next_message(ws) == "pong"
            code, _, before = await closed_with(ws, AUTH_TIMEOUT + 2)
            assert (code, before) == (1008, [])
            assert AUTH_TIMEOUT - 0.1 <= time.monotonic() - started <= AUTH_TIMEOUT + 1

    asyncio.run(scenario())


def test_silent_client_is_closed_after_idle_timeout(strict: Gateway, alice: Account) -> None:
    async def scenario() -> None:
        async with client(strict.url, alice.key) as ws:
            # Pinging keeps it open well past the timeout...
            for _ in range(6):
                await asyncio.sleep(IDLE_TIMEOUT / 3)
                await ws.send("ping")
                assert await next_message(ws) == "pong"
            # ...other text does not.
            started = time.monotonic()
            await ws.send("hello")
            code, _, before = await closed_with(ws, IDLE_TIMEOUT + 2)
            assert (code, before) == (1008, [])
            assert IDLE_TIMEOUT - 0.1 <= time.monotonic() - started <= IDLE_TIMEOUT + 1

    asyncio.run(scenario())


def test_per_account_limit_closes_the_extra_socket(strict: Gateway, db: Db, alice: Account) -> None:
    other = make_account(db)

    async def scenario() -> None:
        async with client(strict.url, alice.key), client(strict.url, alice.key) as second:
            async with client(strict.url) as extra:
                await extra.send(f"key {alice.key}")
                code, reason, before = await closed_with(extra)
                assert (code, reason, before) == (1008, "too many connections for this account", [])
            # Another account is not affected by alice's limit.
            async with client(strict.url, other.key):
                pass
            await second.close()
        # Once a socket has gone, its place is free again.
        async with client(strict.url, alice.key) as again:
            await again.send("ping")
            assert await next_message(again) == "pong"

    asyncio.run(scenario())


def test_total_limit_closes_the_extra_socket(strict: Gateway) -> None:
    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stack:
            # Unauthenticated sockets count: they hold memory too.
            for _ in range(MAX_CONNECTIONS):
                await stack.enter_async_context(client(strict.url))
            async with client(strict.url) as extra:
                code, reason, _ = await closed_with(extra)
                assert (code, reason) == (1013, "too many connections")

    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def stalled_client(gateway: Gateway, key: str) -> AsyncIterator[ClientConnection]:
    """An authenticated socket whose owner stops reading (with a small receive buffer to fill)."""
    host, port = gateway.base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    async with connect(gateway.url, sock=sock, ping_interval=None, close_timeout=0.5) as ws:
        await ws.send(f"key {key}")
        assert await next_message(ws, 5) == "ok"
        ws.transport.pause_reading()
        yield ws


async def flood_with_pings(ws: ClientConnection, seconds: float) -> bool:
    """Send pings (each answered by a `pong` nobody reads) until the server drops the socket."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                # send() only yields once the write buffer is full; let the test's other
                # sockets run meanwhile.
                for _ in range(100):
                    await ws.send("ping")
                await asyncio.sleep(0.001)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


def test_stalled_client_is_dropped_without_delaying_others(strict: Gateway, api: Api, alice: Account) -> None:
    async def scenario() -> None:
        async with client(strict.url, alice.key) as healthy, stalled_client(strict, alice.key) as stalled:
            flood = asyncio.create_task(flood_with_pings(stalled, SEND_TIMEOUT + 10))
            await asyncio.sleep(0.5)  # the gateway's write buffer for `stalled` is full by now
            assert not flood.done()
            await healthy.send("ping")  # (the idle timeout is short here)
            assert await next_message(healthy) == "pong"
            started = time.monotonic()
            await asyncio.to_thread(api.create, alice.key)
            assert await next_message(healthy, 1.0) == "refresh"
            assert time.monotonic() - started < 1.0
            # The stalled socket is dropped once a send to it waits past the send timeout.
            started = time.monotonic()
            assert await flood, "the gateway kept a client that reads nothing"
            assert time.monotonic() - started < SEND_TIMEOUT + 3

    asyncio.run(scenario())
