"""Every message of the WebSocket protocol, against the real gateway process."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support import WRONG_KEY, Account, Db, make_account
from tests.ws_gateway.support import Gateway, client, closed_with, next_message


def test_key_answers_ok(gateway: Gateway, alice: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url) as ws:
            await ws.send(f"key {alice.key}")
            assert await next_message(ws) == "ok"

    asyncio.run(scenario())


def test_ping_answers_pong_before_and_after_key(gateway: Gateway, alice: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url) as ws:
            await ws.send("ping")
            assert await next_message(ws) == "pong"
            await ws.send(f"key {alice.key}")
            assert await next_message(ws) == "ok"
            await ws.send("ping")
            assert await next_message(ws) == "pong"

    asyncio.run(scenario())


def test_line_endings_are_tolerated(gateway: Gateway, alice: Account) -> None:
    # Arduino sketches send with println: "key ...\r\n".
    async def scenario() -> None:
        async with client(gateway.url) as ws:
            await ws.send(f"key {alice.key}\r\n")
            assert await next_message(ws) == "ok"
            await ws.send("ping\n")
            assert await next_message(ws) == "pong"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("who", "answer"),
    [
        ("wrong", "error_invalid_key"),
        ("empty", "error_invalid_key"),
        ("banned", "error_banned"),
        ("unconfirmed", "error_unconfirmed"),
    ],
)
def test_key_refused_answers_result_then_closes(gateway: Gateway, db: Db, who: str, answer: str) -> None:
    key = {
        "wrong": WRONG_KEY,
        "empty": "",
        "banned": make_account(db, banned=True).key if who == "banned" else "",
        "unconfirmed": make_account(db, confirmed=False).key if who == "unconfirmed" else "",
    }[who]

    async def scenario() -> None:
        async with client(gateway.url) as ws:
            await ws.send(f"key {key}")
            code, reason, before = await closed_with(ws)
            assert before == [answer]
            assert (code, reason) == (1008, answer)

    asyncio.run(scenario())


def test_key_from_banned_ip_answers_invalid_key(gateway: Gateway, db: Db, alice: Account) -> None:
    db.execute("INSERT INTO banned_ips (ip) VALUES ('127.0.0.1') ON CONFLICT DO NOTHING")
    try:

        async def scenario() -> None:
            async with client(gateway.url) as ws:
                await ws.send(f"key {alice.key}")
                code, _, before = await closed_with(ws)
                assert before == ["error_invalid_key"]
                assert code == 1008

        asyncio.run(scenario())
    finally:
        db.execute("DELETE FROM banned_ips WHERE ip = '127.0.0.1'")


@pytest.mark.parametrize("text", ["refresh", "hello", "ok", "keyXYZ", "PING"])
def test_other_text_before_ok_closes(gateway: Gateway, text: str) -> None:
    async def scenario() -> None:
        async with client(gateway.url) as ws:
            await ws.send(text)
            code, _, before = await closed_with(ws)
            assert before == []
            assert code == 1008

    asyncio.run(scenario())


def test_binary_frame_before_ok_closes(gateway: Gateway) -> None:
    async def scenario() -> None:
        async with client(gateway.url) as ws:
            await ws.send(b"ping")
            code, _, before = await closed_with(ws)
            assert (code, before) == (1008, [])

    asyncio.run(scenario())


def test_other_text_after_ok_is_ignored(gateway: Gateway, alice: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            for text in ["hello", f"key {WRONG_KEY}", "refresh", "x" * 1000]:
                await ws.send(text)
            await ws.send(b"\x00binary")
            await ws.send("ping")
            assert await next_message(ws) == "pong"

    asyncio.run(scenario())


@pytest.mark.parametrize("authenticated", [False, True])
def test_frame_over_1kb_is_refused(gateway: Gateway, alice: Account, authenticated: bool) -> None:
    async def scenario() -> None:
        async with client(gateway.url, alice.key if authenticated else None) as ws:
            await ws.send("ping " + "x" * 1100)
            code, _, before = await closed_with(ws)
            assert (code, before) == (1009, [])

    asyncio.run(scenario())


def test_frame_of_1kb_is_accepted(gateway: Gateway, alice: Account) -> None:
    async def scenario() -> None:
        async with client(gateway.url, alice.key) as ws:
            await ws.send("x" * 1024)
            await ws.send("ping")
            assert await next_message(ws) == "pong"

    asyncio.run(scenario())


def test_healthz_answers_ok(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.base}/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/", "/ws/", "/wss", "/healthz/x", "/api"])
def test_unknown_path_is_404(gateway: Gateway, path: str) -> None:
    assert httpx.get(f"{gateway.base}{path}").status_code == 404


def test_ws_without_upgrade_is_refused(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.base}/ws").status_code == 426


def test_two_sockets_of_one_account_both_answer(gateway: Gateway, db: Db) -> None:
    account = make_account(db)

    async def scenario() -> None:
        async with client(gateway.url, account.key) as one, client(gateway.url, account.key) as two:
            await one.send("ping")
            await two.send("ping")
            assert [await next_message(one), await next_message(two)] == ["pong", "pong"]

    asyncio.run(scenario())
