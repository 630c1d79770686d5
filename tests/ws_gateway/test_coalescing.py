"""Coalescing, without the gateway process: ws_gateway.registry.Client over a real websockets
connection in this event loop, and the change feed's own coalesce() and decode()."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from service.core.changes import MAX_PAYLOAD, Change, ChangeKind, coalesce, decode, payloads
from service.core.values import Value
from tests.harness import eventually_async, scaled
from tests.ws_gateway.support import messages_for, next_message
from ws_gateway import registry
from ws_gateway.registry import Client, Grant, send_within

# Client.refresh ---------------------------------------------------------------------------------

# The interval the tests give the registry instead of its 0.1 s (scaled): long enough to tell
# "at once" from "one interval later" on a busy machine.
INTERVAL = 0.5
BIG = 8 * 1024 * 1024  # more than the kernel buffers between two sockets that nobody reads


@pytest.fixture
def interval(monkeypatch: pytest.MonkeyPatch) -> float:
    """The registry's MIN_INTERVAL for this test, in seconds on this machine."""
    monkeypatch.setattr(registry, "MIN_INTERVAL", scaled(INTERVAL))
    return scaled(INTERVAL)


@contextlib.asynccontextmanager
async def connection(*, small_buffers: bool = False) -> AsyncIterator[tuple[ServerConnection, ClientConnection]]:
    """Both ends of a real WebSocket connection on 127.0.0.1, port 0, in this event loop."""
    accepted: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        accepted.set_result(ws)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, ping_interval=None, compression=None, write_limit=4096) as server:
        port = server.sockets[0].getsockname()[1]
        sock = socket.socket()
        if small_buffers:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port)), scaled(5))
        async with connect(
            f"ws://127.0.0.1:{port}", sock=sock, ping_interval=None, max_size=None, close_timeout=scaled(1)
        ) as ws:
            yield await asyncio.wait_for(accepted, scaled(5)), ws


async def fill(server_ws: ServerConnection, client_ws: ClientConnection) -> asyncio.Task[None]:
    """Stop reading on the client and send it more than the buffers hold, until the server end is
    paused (its write buffer over the limit): a client that stopped reading, as the gateway sees it."""
    client_ws.transport.pause_reading()
    filling = asyncio.create_task(server_ws.send("x" * BIG))
    await eventually_async(lambda: server_ws.paused, 5, "the server's write buffer to be full")
    return filling


@pytest.mark.anyio
async def test_one_refresh_is_sent_at_once(interval: float) -> None:
    async with connection() as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=scaled(5))
        client.greeted()  # `ok` sent
        started = time.monotonic()
        client.refresh()
        assert await next_message(client_ws) == "refresh"
        assert time.monotonic() - started < interval
        assert await messages_for(client_ws, 2 * INTERVAL) == []


@pytest.mark.anyio
async def test_a_burst_gives_one_refresh_now_and_one_after_the_interval(interval: float) -> None:
    async with connection() as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=scaled(5))
        client.greeted()  # `ok` sent
        started = time.monotonic()
        for _ in range(20):
            client.refresh()
        assert await next_message(client_ws) == "refresh"
        first = time.monotonic() - started
        assert await next_message(client_ws, 2 * INTERVAL) == "refresh"
        second = time.monotonic() - started
        assert first < interval <= second
        assert await messages_for(client_ws, 2 * INTERVAL) == []


@pytest.mark.anyio
async def test_a_refresh_inside_the_interval_waits_for_its_end(interval: float) -> None:
    async with connection() as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=scaled(5))
        client.greeted()  # `ok` sent
        started = time.monotonic()
        client.refresh()
        assert await next_message(client_ws) == "refresh"
        # A burst spread over the interval, not only at its start: still one refresh at its end.
        for _ in range(3):
            client.refresh()
            await asyncio.sleep(interval / 20)
        assert await next_message(client_ws, 2 * INTERVAL) == "refresh"
        assert time.monotonic() - started >= interval
        assert await messages_for(client_ws, 2 * INTERVAL) == []


@pytest.mark.anyio
async def test_a_refresh_after_the_interval_is_sent_at_once(interval: float) -> None:
    async with connection() as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=scaled(5))
        client.greeted()  # `ok` sent
        client.refresh()
        assert await next_message(client_ws) == "refresh"
        await asyncio.sleep(interval)
        started = time.monotonic()
        client.refresh()
        assert await next_message(client_ws) == "refresh"
        assert time.monotonic() - started < interval


@pytest.mark.anyio
async def test_discard_drops_the_pending_refresh(interval: float) -> None:
    async with connection() as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=scaled(5))
        client.greeted()  # `ok` sent
        client.refresh()
        client.refresh()
        client.discard()
        assert await messages_for(client_ws, 2 * INTERVAL) == ["refresh"]
        # And the client still works afterwards (the registry discards only sockets that are gone).
        client.refresh()
        assert await next_message(client_ws, 2 * INTERVAL) == "refresh"


@pytest.mark.anyio
async def test_a_paused_socket_gets_one_refresh_once_it_drains(interval: float) -> None:
    async with connection(small_buffers=True) as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=scaled(30))
        client.greeted()  # `ok` sent
        filling = await fill(server_ws, client_ws)
        for _ in range(5):
            client.refresh()
        client_ws.transport.resume_reading()
        assert await next_message(client_ws, 30) == "x" * BIG
        await filling
        assert await next_message(client_ws) == "refresh"
        assert await messages_for(client_ws, 2 * INTERVAL) == []


@pytest.mark.anyio
async def test_a_socket_that_stays_paused_is_dropped_after_the_send_timeout() -> None:
    send_timeout = scaled(1)
    async with connection(small_buffers=True) as (server_ws, client_ws):
        client = Client(server_ws, Grant(1), send_timeout=send_timeout)
        client.greeted()  # `ok` sent
        filling = await fill(server_ws, client_ws)
        started = time.monotonic()
        client.refresh()
        await asyncio.wait_for(server_ws.wait_closed(), scaled(1 + 5))
        assert time.monotonic() - started >= send_timeout
        await asyncio.gather(filling, return_exceptions=True)
        client.discard()


@pytest.mark.anyio
async def test_send_within_sends_when_there_is_room() -> None:
    async with connection() as (server_ws, client_ws):
        assert await send_within(server_ws, "pong", scaled(1))
        assert await next_message(client_ws) == "pong"


# service.core.changes ---------------------------------------------------------------------------


def written(account_id: int, variable_id: str, value: Value, at: int = 1764781200) -> Change:
    return Change(account_id, variable_id, ChangeKind.WRITTEN, value, at)


def test_coalesce_keeps_the_latest_of_one_kind_to_one_variable() -> None:
    changes = [
        written(1, "aaaaaaaa", 1.5, 100),
        Change(1, "aaaaaaaa", ChangeKind.EDITED),
        written(1, "aaaaaaaa", 2.5, 101),
        written(1, "bbbbbbbb", 3.5, 101),
        written(2, "aaaaaaaa", 4.5, 102),  # another account: another key, even with the same id
        Change(1, "aaaaaaaa", ChangeKind.EDITED),
    ]
    assert coalesce(changes) == [
        written(1, "aaaaaaaa", 2.5, 101),
        written(1, "bbbbbbbb", 3.5, 101),
        written(2, "aaaaaaaa", 4.5, 102),
        Change(1, "aaaaaaaa", ChangeKind.EDITED),
    ]


def test_coalesce_keeps_both_sides_of_a_transfer() -> None:
    changes = [Change(1, "aaaaaaaa", ChangeKind.TRANSFERRED_OUT), Change(2, "aaaaaaaa", ChangeKind.TRANSFERRED_IN)]
    assert coalesce(changes) == changes


def test_coalesce_of_nothing() -> None:
    assert coalesce([]) == []


WITH_VALUE = (ChangeKind.WRITTEN, ChangeKind.KEY_REVOKED)
EVERY_KIND = [Change(7, "a1B2c3D4", kind) for kind in ChangeKind if kind not in WITH_VALUE] + [
    Change(7, "", ChangeKind.KEY_REVOKED, 5),
    written(7, "a1B2c3D4", 25.3),
    written(7, "a1B2c3D4", -(2**63)),
    written(7, "a1B2c3D4", True),
    written(7, "a1B2c3D4", '°C ünïcode "quoted" \\ ✓'),
    written(7, "a1B2c3D4", ""),
]


def test_decode_reads_what_payloads_writes() -> None:
    texts = list(payloads(EVERY_KIND))
    assert len(texts) == 1
    assert decode(texts[0]) == EVERY_KIND
    assert decode('[[3,"a1B2c3D4","written",25.3,1764781200]]') == [written(3, "a1B2c3D4", 25.3)]


def test_payloads_split_to_fit_and_decode_back() -> None:
    changes = [written(account, "a1B2c3D4", "é" * 1024) for account in range(40)]
    texts = list(payloads(changes))
    assert len(texts) > 1
    assert all(len(text.encode()) < MAX_PAYLOAD for text in texts)
    assert [change for text in texts for change in decode(text)] == changes


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not json",
        "[[1,",
        "{}",
        '{"account_id": 1}',
        "null",
        "1",
        '"refresh"',
        "[" * 100_000 + "]" * 100_000,  # too deep for the parser
    ],
)
def test_decode_skips_a_payload_that_is_not_a_list(payload: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="service.core.changes"):
        assert decode(payload) == []
    assert caplog.records


MALFORMED = {
    "not a list": {"account_id": 1},
    "a number": 1,
    "null": None,
    "too short": [1, "a1B2c3D4"],
    "empty": [],
    "account as text": ["1", "a1B2c3D4", "edited"],
    "account as float": [1.0, "a1B2c3D4", "edited"],
    "account as bool": [True, "a1B2c3D4", "edited"],
    "variable as number": [1, 12345678, "edited"],
    "unknown kind": [1, "a1B2c3D4", "exploded"],
    "kind in capitals": [1, "a1B2c3D4", "EDITED"],
    "kind as list": [1, "a1B2c3D4", ["edited"]],
    "written without value": [1, "a1B2c3D4", "written"],
    "written without time": [1, "a1B2c3D4", "written", 2.5],
    "written with more": [1, "a1B2c3D4", "written", 2.5, 100, "extra"],
    "written null": [1, "a1B2c3D4", "written", None, 100],
    "written list": [1, "a1B2c3D4", "written", [2.5], 100],
    "written object": [1, "a1B2c3D4", "written", {"v": 2.5}, 100],
    "time as float": [1, "a1B2c3D4", "written", 2.5, 100.5],
    "time as text": [1, "a1B2c3D4", "written", 2.5, "100"],
}


@pytest.mark.parametrize("item", [pytest.param(item, id=name) for name, item in MALFORMED.items()])
def test_decode_skips_a_malformed_change_and_keeps_the_rest(item: object, caplog: pytest.LogCaptureFixture) -> None:
    payload = json.dumps([[1, "aaaaaaaa", "created"], item, [2, "bbbbbbbb", "written", 1, 100]])
    with caplog.at_level(logging.WARNING, logger="service.core.changes"):
        assert decode(payload) == [Change(1, "aaaaaaaa", ChangeKind.CREATED), written(2, "bbbbbbbb", 1, 100)]
    assert "skipped 1 malformed" in caplog.text


def test_decode_of_an_empty_list_is_no_change(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="service.core.changes"):
        assert decode("[]") == []
    assert not caplog.records
