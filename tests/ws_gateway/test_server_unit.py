"""ws_gateway.server.Gateway in this event loop, without a process or a database: the order of
what an authenticated socket is sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from service.core.settings import Settings
from tests.harness import scaled
from tests.ws_gateway.support import messages_for, next_message
from ws_gateway.registry import Grant
from ws_gateway.server import Gateway

ACCOUNT = 1


@contextlib.asynccontextmanager
async def served(before: Callable[[Gateway], None]) -> AsyncIterator[tuple[Gateway, ClientConnection]]:
    """A gateway and a socket whose key it accepted for ACCOUNT: `before(gateway)` runs, then the
    gateway serves the socket."""
    # The database is never reached: the key check is what these tests skip.
    gateway = Gateway(Settings(ws_idle_timeout=scaled(30)), "postgresql://127.0.0.1:1/unused")

    async def handler(ws: ServerConnection) -> None:
        before(gateway)
        with contextlib.suppress(ConnectionClosed):
            await gateway._serve(ws, Grant(ACCOUNT))

    async with (
        serve(handler, "127.0.0.1", 0, ping_interval=None, compression=None) as server,
        connect(
            f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", ping_interval=None, close_timeout=scaled(1)
        ) as ws,
    ):
        yield gateway, ws


@pytest.mark.anyio
async def test_ok_then_refresh_for_each_change_to_the_account() -> None:
    async with served(lambda gateway: None) as (gateway, ws):
        assert await next_message(ws) == "ok"
        gateway.registry.refresh([ACCOUNT + 1])  # another account's change
        gateway.registry.refresh([ACCOUNT])
        assert await messages_for(ws, 0.5) == ["refresh"]
        await ws.send("ping")
        assert await next_message(ws) == "pong"


@pytest.mark.anyio
async def test_ok_comes_before_a_refresh_already_on_its_way() -> None:
    # A NOTIFY for the account read in the same loop iteration as the key check's answer: asyncpg
    # calls listeners with call_soon, so the callback is queued when _serve() registers the socket.
    def change_on_its_way(gateway: Gateway) -> None:
        asyncio.get_running_loop().call_soon(gateway.registry.refresh, [ACCOUNT])

    async with served(change_on_its_way) as (_, ws):
        assert await messages_for(ws, 0.5) == ["ok", "refresh"]
