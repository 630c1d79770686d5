"""The gateway's side of the VariPass WebSocket protocol, without I/O.

seeds/varipass-api.txt ("WebSocket"): the client sends `key <key>` and gets `ok`, sends `ping`
and gets `pong`, and the server sends `refresh` when the account changed. DESIGN.md §3 adds: any
other text before `ok` closes the socket. After `ok`, unknown text is ignored, so that a client
speaking a newer dialect is not cut off.
"""

from __future__ import annotations

from enum import IntEnum

from service.core.records import record
from service.core.results import Result

OK = "ok"
PONG = "pong"
REFRESH = "refresh"
_KEY = "key"
_PING = "ping"


class Code(IntEnum):
    """WebSocket close codes the gateway uses (RFC 6455 §7.4.1)."""

    GOING_AWAY = 1001  # the gateway is shutting down
    POLICY = 1008  # the client broke the protocol, or was refused
    INTERNAL_ERROR = 1011  # the key could not be checked (database unavailable)
    TRY_AGAIN_LATER = 1013  # the gateway is full


@record
class Reply:
    """Send this text; the socket stays open."""

    text: str


@record
class Authenticate:
    """Check this key, then answer `ok` or its result code."""

    key: str


@record
class Close:
    """Send `text` first when given, then close with this code and reason."""

    code: Code
    reason: str
    text: str | None = None


Action = Reply | Authenticate | Close | None


def _normalise(message: str | bytes) -> str | None:
    # Firmware often terminates lines with CR LF (println); that is not a different message.
    return message.strip(" \t\r\n") if isinstance(message, str) else None


def before_auth(message: str | bytes) -> Action:
    """What to do with a message from a socket that has not been answered `ok` yet."""
    text = _normalise(message)
    if text == _PING:
        return Reply(PONG)
    # "key " with nothing after it arrives stripped to "key": a missing key, not another message.
    if text is not None and (text == _KEY or text.startswith(f"{_KEY} ")):
        key = text[len(_KEY) :].strip(" ")
        return Authenticate(key) if key else refused(Result.ERROR_INVALID_KEY)
    return Close(Code.POLICY, "authenticate first: send `key <key>`")


def after_auth(message: str | bytes) -> Action:
    """What to do with a message from an authenticated socket: `ping` is answered, the rest ignored."""
    return Reply(PONG) if _normalise(message) == _PING else None


def refused(result: Result) -> Close:
    """A failed key check: the result code as a text frame, then a close that names it."""
    return Close(Code.POLICY, result.value, text=result.value)


ACCOUNT_FULL = Close(Code.POLICY, "too many connections for this account")
GATEWAY_FULL = Close(Code.TRY_AGAIN_LATER, "too many connections")
AUTH_TIMEOUT = Close(Code.POLICY, "no `key <key>` in time")
IDLE_TIMEOUT = Close(Code.POLICY, "no `ping` in time")
# The account's key changed, the account was deleted, or the page's session ended.
REVOKED = Close(Code.POLICY, "access revoked", text=Result.ERROR_INVALID_KEY.value)
DATABASE_DOWN = Close(Code.INTERNAL_ERROR, "key check unavailable", text=Result.ERROR_DB.value)
