"""The real gateway process (started by tests/harness.py), and talking to it as a client does.

Every wait here is scaled (tests/harness.py `scaled`): helpers take seconds as they would be on an
idle machine and stretch them by VARISTORE_TEST_TIMEOUT_FACTOR.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.harness import Running, running_gateway, scaled

Message = str | bytes


@dataclass(frozen=True)
class Gateway:
    """A `varistore gateway` process started for the tests, listening on `url`."""

    process: Running
    url: str  # ws://127.0.0.1:PORT/ws

    @property
    def base(self) -> str:
        """The same host and port over HTTP, for /healthz and the other paths."""
        return self.url.replace("ws://", "http://").removesuffix("/ws")

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.base.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def get(self, path: str) -> httpx.Response:
        """GET `path` over plain HTTP (blocking: from async code, in a thread)."""
        return httpx.get(f"{self.base}{path}", timeout=scaled(5))

    def health(self) -> int:
        """The status /healthz answers: 200 while the gateway LISTENs, 503 while it cannot."""
        return self.get("/healthz").status_code

    async def wait_health(self, status: int, within: float, what: str) -> None:
        """Poll /healthz (off the event loop) until it answers `status`."""
        deadline = asyncio.get_running_loop().time() + scaled(within)
        while await asyncio.to_thread(self.health) != status:
            assert asyncio.get_running_loop().time() < deadline, f"not within {scaled(within):.1f} s: {what}"
            await asyncio.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed if it hangs); stopping twice is harmless."""
        return self.process.stop()


@contextlib.contextmanager
def gateway_process(db_url: str, **settings: Any) -> Iterator[Gateway]:
    """A gateway on `db_url` with these settings (seconds given already scaled), stopped afterwards."""
    with running_gateway(db_url, **settings) as (process, url):
        yield Gateway(process, url)


@contextlib.asynccontextmanager
async def client(url: str, key: str | None = None, **options: Any) -> AsyncIterator[ClientConnection]:
    """A socket to the gateway, authenticated with `key` when given (asserting `ok`); `options` go to
    websockets' connect (`ssl`, `local_addr`...)."""
    async with connect(url, ping_interval=None, open_timeout=scaled(5), close_timeout=scaled(1), **options) as ws:
        if key is not None:
            await ws.send(f"key {key}")
            answer = await next_message(ws, 5)
            assert answer == "ok", f"`key` answered {answer!r} (close: {ws.protocol.close_rcvd})"
        yield ws


async def next_message(ws: ClientConnection, within: float = 1.0) -> Message | None:
    """The next message, or None when nothing arrives within `within` (scaled) seconds."""
    try:
        return await asyncio.wait_for(ws.recv(), scaled(within))
    except TimeoutError:
        return None


async def messages_for(ws: ClientConnection, seconds: float) -> list[Message]:
    """Everything the socket receives during `seconds` (scaled)."""
    loop = asyncio.get_running_loop()
    seen: list[Message] = []
    deadline = loop.time() + scaled(seconds)
    while (left := deadline - loop.time()) > 0:
        try:
            seen.append(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
    return seen


async def closed_with(ws: ClientConnection, within: float = 2.0) -> tuple[int | None, str | None, list[Message]]:
    """Wait up to `within` (scaled) seconds for the server to close the socket: (code, reason,
    messages received before)."""
    before: list[Message] = []
    async with asyncio.timeout(scaled(within)):
        with contextlib.suppress(ConnectionClosed):
            while True:
                before.append(await ws.recv())
        await ws.wait_closed()
    rcvd = ws.protocol.close_rcvd
    return (rcvd.code if rcvd else None), (rcvd.reason if rcvd else None), before
