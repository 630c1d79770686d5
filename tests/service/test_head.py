"""HEAD, as monitoring tools probe with it: answered as GET without the body, and never a write (issue 9)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from tests.harness import scaled
from tests.support import Api, Db, make_account


def raw_head(api: Api, target: str) -> bytes:
    """Everything a HEAD gets back on a socket of its own, read until the server closes it."""
    address = urlsplit(api.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=scaled(10)) as sock:
        sock.sendall(f"HEAD {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("path", ["/", "/healthz"])
def test_head_answers_get_headers_no_body(api: Api, path: str) -> None:
    get, head = api.http.get(path), api.http.head(path)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.content == b""
    # Over the wire: the head, then nothing (no body bytes a client would take for the next answer).
    answer = raw_head(api, path)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n")


def test_head_read_same_headers_as_get(api: Api, db: Db) -> None:
    key = make_account(db).key
    var = api.create(key)
    api.call("write", key, id=var, value=21.5)
    for action in ("read", "sread", "info", "history", "list", "latest", "all"):
        get = api.request(action=action, key=key, id=var)
        head = api.http.head("/", params={"action": action, "key": key, "id": var})
        assert (head.status_code, head.headers["content-type"]) == (get.status_code, get.headers["content-type"])
        assert head.content == b""


@pytest.mark.parametrize(
    "params",
    [
        {"action": "write", "value": "99"},
        {"action": "swrite", "value": "99"},
        {"action": "toggle"},
        {"action": "delete"},
        {"action": "create", "type": "int", "name": "x"},
        {"action": "edit", "name": "x"},
        {"action": "ordnext"},
    ],
    ids=lambda params: params["action"],
)
def test_head_never_changes_anything(api: Api, db: Db, params: dict[str, str]) -> None:
    key = make_account(db).key
    var = api.create(key)
    api.call("write", key, id=var, value=1.0)
    before = api.call("all", key)

    head = api.http.head("/", params={"key": key, "id": var, **params})

    assert head.status_code == 405 and head.headers["allow"] == "GET, POST"
    assert api.call("all", key) == before
