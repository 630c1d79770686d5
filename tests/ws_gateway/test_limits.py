"""Timeouts, connection limits and slow clients, on gateways with short timeouts and low limits.

Two gateways, so that each test meets only the limit it is about: `timeouts` closes silent
sockets quickly, `limits` admits few sockets and drops a client that reads nothing, but leaves
the others plenty of time to speak (a test must not trip an idle timeout while it waits on
something else, however busy the machine is).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.harness import scaled
from tests.support import Account, Api, Db, make_account
from tests.ws_gateway.support import Gateway, client, closed_with, gateway_process, next_message

pytestmark = pytest.mark.anyio

# Seconds on an idle machine; the gateways get them scaled.
AUTH_TIMEOUT = 0.5
IDLE_TIMEOUT = 1.0
SEND_TIMEOUT = 3.0
GENEROUS = 60.0  # a timeout no test of `limits` should ever reach
MAX_PER_ACCOUNT = 2
MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def timeouts(db_url: str) -> Iterator[Gateway]:
    with gateway_process(db_url, ws_auth_timeout=scaled(AUTH_TIMEOUT), ws_idle_timeout=scaled(IDLE_TIMEOUT)) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def limits(db_url: str) -> Iterator[Gateway]:
    with gateway_process(
        db_url,
        ws_auth_timeout=scaled(GENEROUS),
        ws_idle_timeout=scaled(GENEROUS),
        ws_send_timeout=scaled(SEND_TIMEOUT),
        ws_max_per_account=MAX_PER_ACCOUNT,
        ws_max_connections=MAX_CONNECTIONS,
    ) as gateway:
        yield gateway


async def test_unauthenticated_socket_is_closed_after_auth_timeout(timeouts: Gateway) -> None:
    # Timed from before the connection: the gateway's clock starts later, so the close never
    # comes sooner than the timeout after `started`.
    started = time.monotonic()
    async with client(timeouts.url) as ws:
        # A ping is answered but does not stand in for a key.
        await ws.send("ping")
        assert await next_message(ws) == "pong"
        code, _, before = await closed_with(ws, AUTH_TIMEOUT + 2)
        assert (code, before) == (1008, [])
        assert scaled(AUTH_TIMEOUT) <= time.monotonic() - started <= scaled(AUTH_TIMEOUT + 1)


async def test_silent_client_is_closed_after_idle_timeout(timeouts: Gateway, alice: Account) -> None:
    async with client(timeouts.url, alice.key) as ws:
        # Pinging keeps it open well past the timeout...
        for _ in range(6):
            await asyncio.sleep(scaled(IDLE_TIMEOUT / 3))
            last_ping = time.monotonic()  # before the gateway restarts its clock
            await ws.send("ping")
            assert await next_message(ws) == "pong"
        # ...other text does not.
        await ws.send("hello")
        code, _, before = await closed_with(ws, IDLE_TIMEOUT + 2)
        assert (code, before) == (1008, [])
        assert scaled(IDLE_TIMEOUT) <= time.monotonic() - last_ping <= scaled(IDLE_TIMEOUT + 1)


async def test_per_account_limit_closes_the_extra_socket(limits: Gateway, db: Db, alice: Account) -> None:
    other = await asyncio.to_thread(make_account, db)
    async with client(limits.url, alice.key), client(limits.url, alice.key) as second:
        async with client(limits.url) as extra:
            await extra.send(f"key {alice.key}")
            code, reason, before = await closed_with(extra)
            assert (code, reason, before) == (1008, "too many connections for this account", [])
        # Another account is not affected by alice's limit.
        async with client(limits.url, other.key):
            pass
        await second.close()
    # Once a socket has gone, its place is free again.
    async with client(limits.url, alice.key) as again:
        await again.send("ping")
        assert await next_message(again) == "pong"


async def test_total_limit_closes_the_extra_socket(limits: Gateway) -> None:
    async with contextlib.AsyncExitStack() as stack:
        # Unauthenticated sockets count: they hold memory too.
        sockets = [await stack.enter_async_context(client(limits.url)) for _ in range(MAX_CONNECTIONS)]
        async with client(limits.url) as extra:
            code, reason, _ = await closed_with(extra)
            assert (code, reason) == (1013, "too many connections")
        # The limit is the number of sockets: every one below it is open and served.
        for ws in sockets:
            await ws.send("ping")
            assert await next_message(ws) == "pong"


@contextlib.asynccontextmanager
async def stalled_client(gateway: Gateway, key: str) -> AsyncIterator[ClientConnection]:
    """An authenticated socket whose owner stops reading (with a small receive buffer to fill)."""
    sock = socket.socket()
    # Small, so that the gateway's pongs fill it soon; not tiny: at 4 or 16 kB the kernel, short
    # of memory for thousands of 6-byte segments, drops some of them with the acknowledgements they
    # carry, and the connection can hang with neither side sending (seen in one run of this
    # directory in five on a loaded 2-core machine).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.setblocking(False)
    await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, gateway.address), scaled(5))
    async with connect(gateway.url, sock=sock, ping_interval=None, close_timeout=scaled(0.5)) as ws:
        await ws.send(f"key {key}")
        assert await next_message(ws, 5) == "ok"
        ws.transport.pause_reading()
        yield ws


def unsent(ws: ClientConnection) -> int:
    """Bytes in our kernel's send queue for `ws` that the gateway has not acknowledged (Linux)."""
    sock = ws.transport.get_extra_info("socket")
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0])


async def flood_with_pings(ws: ClientConnection) -> None:
    """Send pings, each answered by a `pong` nobody reads, until cancelled or closed.

    Only about as fast as the gateway takes them: pings sent faster fill its receive buffer, and
    the connection can then sit with both windows shut and the gateway idle, waiting for pings,
    instead of stuck on its pongs.
    """
    with contextlib.suppress(ConnectionClosed):
        while not ws.transport.is_closing():
            if unsent(ws) < 16 * 1024:
                for _ in range(100):
                    await ws.send("ping")
            await asyncio.sleep(0.002)  # and let the test's other sockets run


async def admitted(gateway: Gateway, key: str) -> bool:
    """Whether the gateway accepts one more socket of the account now (then closed again)."""
    async with client(gateway.url) as ws:
        await ws.send(f"key {key}")
        with contextlib.suppress(ConnectionClosed):
            return await next_message(ws, 5) == "ok"
        rcvd = ws.protocol.close_rcvd
        assert rcvd is not None and rcvd.reason == "too many connections for this account", rcvd
        return False


async def test_stalled_client_is_dropped_without_delaying_others(limits: Gateway, api: Api, alice: Account) -> None:
    # `stalled` stops reading and keeps sending pings. Once the unread pongs fill the buffers
    # between them, the gateway owes it data it cannot write; after the send timeout it drops it,
    # which frees its place among alice's MAX_PER_ACCOUNT sockets. When the buffers are full
    # depends on the kernel and the load, so in the meantime alice's account changes again and
    # again: some of those changes fall inside the stall, and every one reaches `healthy` at once.
    assert MAX_PER_ACCOUNT == 2
    async with client(limits.url, alice.key) as healthy:
        var = await asyncio.to_thread(api.create, alice.key)
        assert await next_message(healthy) == "refresh"
        async with stalled_client(limits, alice.key) as stalled:
            flood = asyncio.create_task(flood_with_pings(stalled))
            flooding = time.monotonic()
            changes: list[tuple[float, float]] = []  # (requested, refreshed) while `stalled` was still held
            try:
                while True:
                    requested = time.monotonic()
                    name = f"n{len(changes)}"
                    edit = await asyncio.to_thread(api.call, "edit", alice.key, id=var, type="float", name=name)
                    assert edit["result"] == "success"
                    assert await next_message(healthy, 1.0) == "refresh"
                    refreshed = time.monotonic()
                    assert refreshed - requested < scaled(1.0)
                    if await admitted(limits, alice.key):
                        dropped = time.monotonic()
                        break
                    changes.append((requested, refreshed))
                    assert time.monotonic() - flooding < scaled(SEND_TIMEOUT + 10), "the gateway kept `stalled`"
                    await asyncio.sleep(scaled(0.2))  # past MIN_INTERVAL: each change its own refresh
            finally:
                flood.cancel()
                await asyncio.gather(flood, return_exceptions=True)
        # `healthy` is still open and served.
        await healthy.send("ping")
        assert await next_message(healthy) == "pong"
    # Dropped after the send timeout, not sooner.
    assert dropped - flooding >= scaled(SEND_TIMEOUT)
    # The stall began a send timeout or more before `dropped`, so a change requested after
    # `dropped - SEND_TIMEOUT` (and refreshed while `stalled` was still held) was fanned out during
    # the stall. A round takes about 1.2 s at most, so with a 3 s timeout there is always one.
    during = [change for change in changes if change[0] >= dropped - scaled(SEND_TIMEOUT)]
    assert during, f"no change fell inside the stall: {changes}, dropped at {dropped}"
