"""The gateway's plain HTTP answers spell header names canonically, as the API does (DESIGN.md §3)."""

from __future__ import annotations

import re
import socket

import pytest

from tests.harness import scaled
from tests.ws_gateway.support import Gateway

CANONICAL_NAME = re.compile(rb"^[A-Z][a-z0-9]*(-[A-Z][a-z0-9]*)*$")


def raw_answer(address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(address, timeout=scaled(10)) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",  # not an upgrade: 426
    ],
)
def test_every_header_name_is_canonical(gateway: Gateway, request_bytes: bytes) -> None:
    head = raw_answer(gateway.address, request_bytes).partition(b"\r\n\r\n")[0].split(b"\r\n")
    names = [line.partition(b":")[0] for line in head[1:]]
    assert b"Content-Length" in names
    assert all(CANONICAL_NAME.match(name) for name in names), names


@pytest.mark.parametrize("path", ["/healthz", "/nowhere"])
def test_head_gets_get_status_and_headers_no_body(gateway: Gateway, path: str) -> None:
    # Issue 9: monitoring tools probe with HEAD; websockets sent the body too.
    get = raw_answer(gateway.address, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head = raw_answer(gateway.address, f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    get_head, _, get_body = get.partition(b"\r\n\r\n")
    head_head, _, head_body = head.partition(b"\r\n\r\n")
    assert get_body and head_body == b""
    strip_date = re.compile(rb"\r\nDate: [^\r]*")
    assert strip_date.sub(b"", head_head) == strip_date.sub(b"", get_head)


def test_head_ws_refused_without_body(gateway: Gateway) -> None:
    # /ws only upgrades, which takes a GET: HEAD is refused (websockets' 405), with no body either.
    head = raw_answer(gateway.address, b"HEAD /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _, body = head.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 405 ") and b"\r\nAllow: GET" in status and body == b""
