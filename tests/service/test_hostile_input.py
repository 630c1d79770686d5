"""Hostile bytes (issue 8): NUL, lone UTF-16 surrogates and invalid UTF-8 in any parameter are bad
requests, never an outage. Each is refused with the protocol's answer before the database, over
every transport, changes nothing and logs nothing; and bodies cut short or too large end quietly.

These tests run their own `varistore api`, so that they can read what it logs.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

import httpx
import pytest

from service.core.results import VariPassError
from service.core.settings import Settings
from tests.conftest import Server
from tests.harness import scaled
from tests.support import Account, Api, Db, unchanged
from tests.ws_gateway.support import client as ws_client, closed_with, gateway_process
from ws_gateway.keys import Keys


@pytest.fixture
def quiet(server: Server) -> Iterator[None]:
    """Whatever the test sends, the server logs no traceback and no database error."""
    start = len(server.output())
    yield
    logged = server.output()[start:]
    assert "Traceback" not in logged and "error" not in logged.lower(), logged


@dataclass(frozen=True)
class Hostile:
    """A bad string as a form or query carries it (bytes, percent-encoded or raw) and as JSON does."""

    wire: bytes
    json: bytes


HOSTILE = {
    "nul": Hostile(b"\x00", b'"\\u0000"'),
    "nul-inside": Hostile(b"ab\x00cd", b'"ab\\u0000cd"'),
    "high-surrogate": Hostile(b"\xed\xa0\x80", b'"\\ud800"'),
    "low-surrogate-inside": Hostile(b"a\xed\xbf\xbfb", b'"a\\udfffb"'),
    "latin-1": Hostile(b"caf\xe9", b'"caf\xe9"'),
    "truncated-utf-8": Hostile(b"\xe2\x82", b'"\xe2\x82"'),
    "overlong-utf-8": Hostile(b"\xc0\xaf", b'"\xc0\xaf"'),
}
HOSTILE_IDS = list(HOSTILE)

Field = str | Hostile


def _wire(value: Field) -> bytes:
    return value.wire if isinstance(value, Hostile) else value.encode()


def _json(value: Field) -> bytes:
    return value.json if isinstance(value, Hostile) else json.dumps(value).encode()


def send(api: Api, transport: str, fields: dict[str, Field], *, raw: bool = False) -> httpx.Response:
    """Send `fields` over `transport`, hostile ones as their bytes (`raw`: form bytes unescaped)."""
    if transport == "json":
        body = b"{" + b",".join(_json(k) + b":" + _json(v) for k, v in fields.items()) + b"}"
        return api.http.post("/", content=body, headers={"Content-Type": "application/json"})
    quote = (lambda b: b.replace(b"&", b"%26")) if raw else (lambda b: quote_from_bytes(b).encode())
    encoded = b"&".join(quote(k.encode()) + b"=" + quote(_wire(v)) for k, v in fields.items())
    if transport == "get":
        return api.http.get("/?" + encoded.decode("ascii"))
    return api.http.post("/", content=encoded, headers={"Content-Type": "application/x-www-form-urlencoded"})


def result_of(response: httpx.Response, simple: bool) -> str:
    """The result an error answer names, checking it has the action's format."""
    assert response.status_code == 200, (response.status_code, response.text)
    if simple:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        return response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert list(data) == ["result"], data
    return str(data["result"])


@pytest.fixture
def variables(server: Server, alice: Account) -> dict[str, str]:
    """One of alice's variables of each type, by type."""
    return {t: server.api.create(alice.key, type=t, name=f"v-{t}") for t in ("int", "float", "bool", "string")}


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("action", ["read", "sread", "info", "history", "graph", "sgraph"])
def test_public_action_hostile_id_without_key_invalid_parameters(
    server: Server, db: Db, alice: Account, quiet: None, transport: str, action: str, hostile: str
) -> None:
    with unchanged(db, alice):
        response = send(server.api, transport, {"action": action, "id": HOSTILE[hostile]})
    assert result_of(response, simple=action.startswith("s")) == "error_invalid_parameters"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("action", ["read", "delete", "toggle", "stoggle", "ordprev", "transfer", "write", "swrite"])
def test_keyed_action_hostile_id_invalid_parameters(
    server: Server, db: Db, alice: Account, quiet: None, transport: str, action: str, hostile: str
) -> None:
    fields: dict[str, Field] = {"key": alice.key, "action": action, "id": HOSTILE[hostile]}
    fields.update({"value": "1", "target": alice.email})
    with unchanged(db, alice):
        response = send(server.api, transport, fields)
    assert result_of(response, simple=action.startswith("s")) == "error_invalid_parameters"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("action", ["write", "swrite"])
@pytest.mark.parametrize("type_", ["string", "int"])
def test_write_hostile_value_invalid_parameters(
    server: Server,
    db: Db,
    alice: Account,
    variables: dict[str, str],
    quiet: None,
    transport: str,
    action: str,
    type_: str,
    hostile: str,
) -> None:
    fields: dict[str, Field] = {"key": alice.key, "action": action, "id": variables[type_], "value": HOSTILE[hostile]}
    with unchanged(db, alice):
        response = send(server.api, transport, fields)
    assert result_of(response, simple=action == "swrite") == "error_invalid_parameters"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("field", ["name", "unit", "description", "type"])
@pytest.mark.parametrize("action", ["create", "edit"])
def test_create_edit_hostile_text_invalid_parameters(
    server: Server,
    db: Db,
    alice: Account,
    variables: dict[str, str],
    quiet: None,
    transport: str,
    action: str,
    field: str,
    hostile: str,
) -> None:
    fields: dict[str, Field] = {"key": alice.key, "action": action, "id": variables["int"], "type": "int", "name": "n"}
    fields[field] = HOSTILE[hostile]
    with unchanged(db, alice):
        response = send(server.api, transport, fields)
    assert result_of(response, simple=False) == "error_invalid_parameters"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_transfer_hostile_target_invalid_parameters(
    server: Server, db: Db, alice: Account, variables: dict[str, str], quiet: None, transport: str, hostile: str
) -> None:
    fields: dict[str, Field] = {"key": alice.key, "action": "transfer", "id": variables["int"]}
    fields["target"] = HOSTILE[hostile]
    with unchanged(db, alice):
        response = send(server.api, transport, fields)
    assert result_of(response, simple=False) == "error_invalid_parameters"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("option", ["format", "color_line"])
def test_graph_hostile_option_invalid_parameters(
    server: Server, db: Db, alice: Account, variables: dict[str, str], quiet: None, option: str, hostile: str
) -> None:
    fields: dict[str, Field] = {
        "key": alice.key,
        "action": "sgraph",
        "id": variables["float"],
        option: HOSTILE[hostile],
    }
    response = send(server.api, "get", fields)
    assert result_of(response, simple=True) == "error_invalid_parameters"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("action", ["list", "read", "swrite"])
def test_hostile_key_invalid_key(
    server: Server,
    db: Db,
    alice: Account,
    variables: dict[str, str],
    quiet: None,
    transport: str,
    action: str,
    hostile: str,
) -> None:
    # Access is checked before the parameters (DESIGN.md §3): the id and value are fine here.
    fields: dict[str, Field] = {"key": HOSTILE[hostile], "action": action, "id": variables["int"], "value": "1"}
    with unchanged(db, alice):
        response = send(server.api, transport, fields)
    assert result_of(response, simple=action == "swrite") == "error_invalid_key"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_hostile_action_invalid_action(server: Server, quiet: None, transport: str, hostile: str) -> None:
    response = send(server.api, transport, {"action": HOSTILE[hostile]})
    assert result_of(response, simple=False) == "error_invalid_action"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_raw_form_bytes_invalid_parameters(
    server: Server, db: Db, alice: Account, variables: dict[str, str], quiet: None, hostile: str
) -> None:
    # Bytes sent as they are, not percent-encoded: old firmware builds bodies by concatenation.
    fields: dict[str, Field] = {"key": alice.key, "action": "write", "id": variables["string"]}
    fields["value"] = HOSTILE[hostile]
    with unchanged(db, alice):
        response = send(server.api, "form", fields, raw=True)
    assert result_of(response, simple=False) == "error_invalid_parameters"


def test_percent_encoded_latin_1_value_is_refused_not_replaced(
    server: Server, db: Db, alice: Account, variables: dict[str, str], quiet: None
) -> None:
    var = variables["string"]
    response = server.api.http.get(f"/?key={alice.key}&action=write&id={var}&value=caf%E9")
    assert result_of(response, simple=False) == "error_invalid_parameters"
    assert server.api.call("read", alice.key, id=var)["value"] == ""
    assert db.fetchval("SELECT count(*) FROM history WHERE variable_id = $1", var) == 0


def test_valid_non_ascii_text_still_round_trips(
    server: Server, alice: Account, variables: dict[str, str], transport: str, quiet: None
) -> None:
    # The refusal is narrow: astral characters (surrogate pairs in JSON) and U+FFFD itself are text.
    var = variables["string"]
    value = "°C ✓ \U0001f600 \ufffd"
    answer = server.api.call("write", alice.key, transport, id=var, value=value)
    assert answer == {"result": "success"}
    assert server.api.call("read", alice.key, id=var)["value"] == value


@pytest.mark.parametrize("key", ["\x00", "\ud800", "caf\udce9", "abc\x00defghijklmn"])
@pytest.mark.anyio
async def test_gateway_key_check_hostile_key_invalid_key(db_url: str, key: str) -> None:
    # The gateway's key check takes any string: a text frame is valid UTF-8, so only NUL arrives
    # that way, but nothing else may make the check crash either.
    keys = Keys(Settings(gateway_pool_min_size=0, gateway_pool_max_size=1), db_url)
    try:
        with pytest.raises(VariPassError) as refused:
            await keys.account(key, None)
    finally:
        await keys.close()
    assert refused.value.result == "error_invalid_key"


@pytest.mark.anyio
async def test_gateway_hostile_key_frames_refused_quietly(db_url: str) -> None:
    with gateway_process(db_url) as gateway:
        start = len(gateway.process.output())
        for frame in (
            "key \x00",
            "key abc\x00defghijklm",
            "key \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        ):
            async with ws_client(gateway.url) as ws:
                await ws.send(frame)
                code, reason, before = await closed_with(ws, 5)
            assert (code, reason, before) == (1008, "error_invalid_key", ["error_invalid_key"])
        # Bytes that are not UTF-8 in a text frame: websockets itself closes (1007, invalid data).
        async with ws_client(gateway.url) as ws:
            await ws.send(b"key caf\xe9", text=True)
            code, _, before = await closed_with(ws, 5)
        assert (code, before) == (1007, [])
        logged = gateway.process.output()[start:]
    assert "Traceback" not in logged, logged


# -- Bodies too large, and bodies cut short -----------------------------------------------------------


def _connect(api: Api) -> socket.socket:
    url = urlsplit(api.base_url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=scaled(10))


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_body_too_large_413_then_connection_closed(server: Server, quiet: None, chunked: bool) -> None:
    limit = Settings().max_body_bytes
    with _connect(server.api) as sock:
        if chunked:
            # Past the limit, but the rest of the body never comes: only a close ends the exchange.
            size = limit + 1
            head = b"POST /?action=sread HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            sock.sendall(head + b"%x\r\n" % size + b"x" * size + b"\r\n")
        else:
            # Only the head: the server must answer at once and close, not wait for 10 MB.
            sock.sendall(b"POST /?action=sread HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        answer = _read_until_closed(sock)  # a timeout here fails the test: the server kept it open
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()
    assert body.endswith(b"error_invalid_parameters\r\n0\r\n\r\n")


def test_client_gone_mid_body_is_quiet(server: Server, alice: Account, quiet: None) -> None:
    with _connect(server.api) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\n\r\naction=list&key="
        )
    # The server notices the hang-up; it keeps serving, and logs nothing (checked by `quiet`).
    assert server.api.call("list", alice.key) == {"result": "success", "list": []}
    assert server.api.call("list", alice.key) == {"result": "success", "list": []}


def test_deep_json_action_and_key_refused_quietly(server: Server, quiet: None) -> None:
    # Around the parser's depth limit: a body read whole may hold an action or key too deep to print.
    for depth in [*range(900, 1000, 10), 5000]:
        deep = "[" * depth + "]" * depth
        for member, refused in (("action", "error_invalid_action"), ("key", "error_invalid_key")):
            body = f'{{"action":"list","{member}":{deep}}}'.encode()
            response = server.api.http.post("/", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 200
            assert response.json()["result"] in (refused, "error_no_request")  # no_request: too deep to read


def test_hostile_headers_are_harmless(server: Server, alice: Account, variables: dict[str, str], quiet: None) -> None:
    headers: Any = {
        "If-None-Match": b"\xe9\xff, *, W/\xfe",
        "X-Forwarded-For": b"\xe9, 999.1.1.1, ::zz",
        "Content-Type": b"application/json; charset=\xff",
    }
    response = server.api.http.get(
        "/", params={"key": alice.key, "action": "read", "id": variables["int"]}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["result"] == "success"
