"""ws_gateway/protocol.py on its own: each incoming message and what the gateway does with it."""

from __future__ import annotations

import pytest

from service.core.results import Result
from ws_gateway.protocol import (
    ACCOUNT_FULL,
    AUTH_TIMEOUT,
    DATABASE_DOWN,
    GATEWAY_FULL,
    IDLE_TIMEOUT,
    Authenticate,
    Close,
    Code,
    Reply,
    after_auth,
    before_auth,
    refused,
)

KEY = "R4jJzY7TRd5DqhCq"
NOT_AUTHENTICATED = Close(Code.POLICY, "authenticate first: send `key <key>`")
MISSING_KEY = Close(Code.POLICY, "error_invalid_key", text="error_invalid_key")


def test_close_codes_are_rfc_6455s() -> None:
    assert [int(code) for code in Code] == [1001, 1008, 1011, 1013]


@pytest.mark.parametrize("message", ["ping", "ping\r\n", "ping\n", " ping ", "\tping\r\n"])
def test_before_auth_ping_answers_pong(message: str) -> None:
    assert before_auth(message) == Reply("pong")


@pytest.mark.parametrize(
    "message",
    [
        f"key {KEY}",
        f"key {KEY}\r\n",  # println
        f"key {KEY}\n",
        f"key   {KEY}",  # spaces between
        f"key {KEY}   ",
        f"  key {KEY}",
    ],
)
def test_before_auth_key_asks_for_a_check(message: str) -> None:
    assert before_auth(message) == Authenticate(KEY)


def test_before_auth_key_is_checked_as_sent() -> None:
    # Anything after "key " is the key: the database check refuses what is not one.
    assert before_auth("key not a key") == Authenticate("not a key")
    assert before_auth("key \tx") == Authenticate("\tx")


@pytest.mark.parametrize("message", ["key", "key ", "key    ", "key\r\n", "key \r\n", " key \t"])
def test_before_auth_key_without_a_key_is_refused_as_invalid(message: str) -> None:
    assert before_auth(message) == MISSING_KEY


@pytest.mark.parametrize(
    "message",
    ["", " ", "\r\n", "PING", "Ping", "pong", "ok", "refresh", "hello", "keyXYZ", "KEY abc", "key\tabc", "ping ping"],
)
def test_before_auth_other_text_closes(message: str) -> None:
    assert before_auth(message) == NOT_AUTHENTICATED


@pytest.mark.parametrize("message", [b"ping", f"key {KEY}".encode(), b"", b"\x00\xff"])
def test_before_auth_bytes_close(message: bytes) -> None:
    assert before_auth(message) == NOT_AUTHENTICATED


@pytest.mark.parametrize("message", ["ping", "ping\r\n", " ping "])
def test_after_auth_ping_answers_pong(message: str) -> None:
    assert after_auth(message) == Reply("pong")


@pytest.mark.parametrize(
    "message",
    ["", "PING", "hello", "key", f"key {KEY}", "refresh", "x" * 1024, b"ping", b"\x00binary", b""],
)
def test_after_auth_everything_else_is_ignored(message: str | bytes) -> None:
    assert after_auth(message) is None


@pytest.mark.parametrize("result", list(Result))
def test_refused_sends_the_result_then_closes_with_it(result: Result) -> None:
    assert refused(result) == Close(Code.POLICY, result.value, text=result.value)


@pytest.mark.parametrize(
    ("close", "expected"),
    [
        (ACCOUNT_FULL, Close(Code.POLICY, "too many connections for this account")),
        (GATEWAY_FULL, Close(Code.TRY_AGAIN_LATER, "too many connections")),
        (AUTH_TIMEOUT, Close(Code.POLICY, "no `key <key>` in time")),
        (IDLE_TIMEOUT, Close(Code.POLICY, "no `ping` in time")),
        (DATABASE_DOWN, Close(Code.INTERNAL_ERROR, "key check unavailable", text="error_db")),
    ],
)
def test_closes_the_gateway_decides_on_its_own(close: Close, expected: Close) -> None:
    assert close == expected
