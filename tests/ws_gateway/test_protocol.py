"""Every message of the WebSocket protocol, against the real gateway process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.support import WRONG_KEY, Account, Db, make_account
from tests.ws_gateway.support import Gateway, client, closed_with, next_message

pytestmark = pytest.mark.anyio


async def test_key_answers_ok(gateway: Gateway, alice: Account) -> None:
    async with client(gateway.url) as ws:
        await ws.send(f"key {alice.key}")
        assert await next_message(ws) == "ok"


async def test_ping_answers_pong_before_and_after_key(gateway: Gateway, alice: Account) -> None:
    async with client(gateway.url) as ws:
        await ws.send("ping")
        assert await next_message(ws) == "pong"
        await ws.send(f"key {alice.key}")
        assert await next_message(ws) == "ok"
        await ws.send("ping")
        assert await next_message(ws) == "pong"


async def test_line_endings_are_tolerated(gateway: Gateway, alice: Account) -> None:
    # Arduino sketches send with println: "key ...\r\n".
    async with client(gateway.url) as ws:
        await ws.send(f"key {alice.key}\r\n")
        assert await next_message(ws) == "ok"
        await ws.send("ping\n")
        assert await next_message(ws) == "pong"


@pytest.fixture
def refused_key(request: pytest.FixtureRequest, db: Db) -> str:
    """The key a refused client sends (made here: Db cannot run inside the test's event loop)."""
    match request.param:
        case "wrong":
            return WRONG_KEY
        case "empty":
            return ""
        case "banned":
            return make_account(db, banned=True).key
        case "unconfirmed":
            return make_account(db, confirmed=False).key
    raise ValueError(request.param)


@pytest.mark.parametrize(
    ("refused_key", "answer"),
    [
        ("wrong", "error_invalid_key"),
        ("empty", "error_invalid_key"),
        ("banned", "error_banned"),
        ("unconfirmed", "error_unconfirmed"),
    ],
    indirect=["refused_key"],
)
async def test_key_refused_answers_result_then_closes(gateway: Gateway, refused_key: str, answer: str) -> None:
    async with client(gateway.url) as ws:
        await ws.send(f"key {refused_key}")
        code, reason, before = await closed_with(ws)
        assert before == [answer]
        assert (code, reason) == (1008, answer)


@pytest.fixture
def localhost_banned(db: Db) -> Iterator[None]:
    db.execute("INSERT INTO banned_ips (ip) VALUES ('127.0.0.1') ON CONFLICT DO NOTHING")
    try:
        yield
    finally:
        db.execute("DELETE FROM banned_ips WHERE ip = '127.0.0.1'")


@pytest.mark.usefixtures("localhost_banned")
async def test_key_from_banned_ip_answers_invalid_key(gateway: Gateway, alice: Account) -> None:
    async with client(gateway.url) as ws:
        await ws.send(f"key {alice.key}")
        code, _, before = await closed_with(ws)
        assert before == ["error_invalid_key"]
        assert code == 1008


@pytest.mark.parametrize("text", ["refresh", "hello", "ok", "keyXYZ", "PING"])
async def test_other_text_before_ok_closes(gateway: Gateway, text: str) -> None:
    async with client(gateway.url) as ws:
        await ws.send(text)
        code, _, before = await closed_with(ws)
        assert before == []
        assert code == 1008


async def test_binary_frame_before_ok_closes(gateway: Gateway) -> None:
    async with client(gateway.url) as ws:
        await ws.send(b"ping")
        code, _, before = await closed_with(ws)
        assert (code, before) == (1008, [])


async def test_other_text_after_ok_is_ignored(gateway: Gateway, alice: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        for text in ["hello", f"key {WRONG_KEY}", "refresh", "x" * 1000]:
            await ws.send(text)
        await ws.send(b"\x00binary")
        await ws.send("ping")
        assert await next_message(ws) == "pong"


@pytest.mark.parametrize("authenticated", [False, True])
async def test_frame_over_1kb_is_refused(gateway: Gateway, alice: Account, authenticated: bool) -> None:
    async with client(gateway.url, alice.key if authenticated else None) as ws:
        await ws.send("ping " + "x" * 1100)
        code, _, before = await closed_with(ws)
        assert (code, before) == (1009, [])


async def test_frame_of_1kb_is_accepted(gateway: Gateway, alice: Account) -> None:
    async with client(gateway.url, alice.key) as ws:
        await ws.send("x" * 1024)
        await ws.send("ping")
        assert await next_message(ws) == "pong"


def test_healthz_answers_ok(gateway: Gateway) -> None:
    response = gateway.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/", "/ws/", "/wss", "/healthz/x", "/api"])
def test_unknown_path_is_404(gateway: Gateway, path: str) -> None:
    assert gateway.get(path).status_code == 404


def test_ws_without_upgrade_is_refused(gateway: Gateway) -> None:
    assert gateway.get("/ws").status_code == 426


async def test_two_sockets_of_one_account_both_answer(gateway: Gateway, db: Db) -> None:
    account = await asyncio.to_thread(make_account, db)
    async with client(gateway.url, account.key) as one, client(gateway.url, account.key) as two:
        await one.send("ping")
        await two.send("ping")
        assert [await next_message(one), await next_message(two)] == ["pong", "pong"]
