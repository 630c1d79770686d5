"""Running the real gateway process, and talking to it as a client does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import stop_process

ROOT = Path(__file__).resolve().parents[2]


# The entry point the command line wraps (`varistore gateway`), called directly so that these
# tests depend on ws_gateway alone. Port 0: the gateway prints the port it was given.
class Gateway:
    """A gateway process started for the tests."""

    def __init__(self, db_url: str, **settings: object) -> None:
        env = {**os.environ, "DATABASE_URL": db_url, "VARISTORE_LOG_LEVEL": "warning"}
        env.update({f"VARISTORE_{name.upper()}": str(value) for name, value in settings.items()})
        # `varistore gateway` on port 0: it prints the port it bound.
        command = [sys.executable, "-m", "service", "gateway", "--host", "127.0.0.1", "--port", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if not line.startswith("Varistore gateway on ws://"):
            self.process.kill()
            raise RuntimeError(f"the gateway did not start: {line!r}")
        self.url = line.split(" on ", 1)[1].strip()
        self.base = self.url.replace("ws://", "http://").removesuffix("/ws")
        self.wait_healthy()

    def health(self) -> int:
        return httpx.get(f"{self.base}/healthz", timeout=2).status_code

    def wait_healthy(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.health() != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway never got its LISTEN connection")
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed if it hangs)."""
        try:
            return stop_process(self.process)
        finally:
            assert self.process.stdout is not None
            self.process.stdout.close()


@contextlib.contextmanager
def running_gateway(db_url: str, **settings: object) -> Iterator[Gateway]:
    gateway = Gateway(db_url, **settings)
    try:
        yield gateway
    finally:
        gateway.stop()


@contextlib.asynccontextmanager
async def client(url: str, key: str | None = None) -> AsyncIterator[ClientConnection]:
    """A socket to the gateway, authenticated with `key` when given (asserting `ok`)."""
    async with connect(url, ping_interval=None, open_timeout=5, close_timeout=1) as ws:
        if key is not None:
            await ws.send(f"key {key}")
            assert await asyncio.wait_for(ws.recv(), 5) == "ok"
        yield ws


async def next_message(ws: ClientConnection, within: float = 1.0) -> str | bytes | None:
    """The next message, or None when nothing arrives in time."""
    try:
        return await asyncio.wait_for(ws.recv(), within)
    except TimeoutError:
        return None


async def messages_for(ws: ClientConnection, seconds: float) -> list[str | bytes]:
    """Everything the socket receives during `seconds`."""
    seen: list[str | bytes] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await next_message(ws, left)
        if message is not None:
            seen.append(message)
    return seen


async def closed_with(ws: ClientConnection, within: float = 2.0) -> tuple[int | None, str | None, list[str | bytes]]:
    """Wait for the server to close the socket: (code, reason, messages received before)."""
    before: list[str | bytes] = []
    async with asyncio.timeout(within):
        with contextlib.suppress(ConnectionClosed):
            while True:
                before.append(await ws.recv())
        await ws.wait_closed()
    rcvd = ws.protocol.close_rcvd
    return (rcvd.code if rcvd else None), (rcvd.reason if rcvd else None), before
