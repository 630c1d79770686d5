"""The bytes firmware in the field depends on (DESIGN.md §3, "Compatibility"), over raw sockets."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from tests.support import Account, Api


def raw_exchange(base_url: str, request: bytes) -> bytes:
    """Send a request as bytes and read the whole answer (the server closes, or we stop at its end)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
            if _complete(data):
                return data


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    headers = head.lower()
    if b"transfer-encoding: chunked" in headers:
        return body.endswith(b"0\r\n\r\n")
    for line in headers.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def test_sread_http11_chunked_in_one_chunk(api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    api.call("write", alice.key, id=var, value=25.3)

    answer = raw_exchange(
        api.base_url,
        f"GET /?key={alice.key}&action=sread&id={var} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    # The Arduino library before 1.2 skips exactly one line (the chunk size) after the blank line.
    assert body == b"c\r\nsuccess|25.3\r\n0\r\n\r\n"


def test_error_simple_http11_chunked(api: Api) -> None:
    answer = raw_exchange(api.base_url, b"GET /?action=swrite&key=nope HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.endswith(b"\r\n\r\n11\r\nerror_invalid_key\r\n0\r\n\r\n")


def test_json_has_exact_length_never_chunked(api: Api, alice: Account) -> None:
    answer = raw_exchange(api.base_url, f"GET /?key={alice.key}&action=list HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert f"content-length: {len(body)}".encode() in head.lower()
    assert body == b'{"result":"success","list":[]}'


def test_http10_absolute_form_without_host(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    host = urlsplit(api.base_url).netloc

    answer = raw_exchange(
        api.base_url, f"GET http://{host}/?key={alice.key}&action=stoggle&id={var} HTTP/1.0\r\n\r\n".encode()
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 12" in head.lower()
    assert body == b"success|true"


def test_post_form_with_raw_spaces_empty_segments_any_case_header(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="string")
    body = f"&&value=hello world&&id={var}&unknown=1&action=write&key={alice.key}&".encode()

    answer = raw_exchange(
        api.base_url,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )

    assert answer.endswith(b'{"result":"success"}')
    assert api.call("read", alice.key, id=var)["value"] == "hello world"


def test_get_with_content_length_zero(api: Api, alice: Account) -> None:
    answer = raw_exchange(
        api.base_url,
        f"GET /?key={alice.key}&action=slatest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode(),
    )
    assert answer.endswith(b"\r\n\r\na\r\nsuccess|0|\r\n0\r\n\r\n")


@pytest.mark.parametrize("path", ["/?action=list", "/index.php?action=list", "//?action=list", "/?"])
def test_endpoint_never_redirects(api: Api, path: str) -> None:
    answer = raw_exchange(api.base_url, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status = answer.split(b"\r\n", 1)[0]
    assert not status.startswith((b"HTTP/1.1 30", b"HTTP/1.0 30"))
    assert b"location:" not in answer.lower()


def test_keep_alive_serves_many_requests_on_one_socket(api: Api, alice: Account) -> None:
    url = urlsplit(api.base_url)
    request = f"GET /?key={alice.key}&action=slatest HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        for _ in range(5):
            sock.sendall(request)
            data = b""
            while not _complete(data):
                data += sock.recv(65536)
            assert data.endswith(b"success|0|\r\n0\r\n\r\n")


def test_esphome_write_with_zeros_then_inverted_eink_graph_cached(api: Api, alice: Account) -> None:
    # ESPHome's http_request posts `%f` text; its online_image fetches a BMP with both validators.
    var = api.create(alice.key, type="int")
    body = f"key={alice.key}&action=swrite&id={var}&value=21.000000".encode()
    answer = raw_exchange(
        api.base_url,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert answer.endswith(b"\r\n\r\n7\r\nsuccess\r\n0\r\n\r\n")
    assert api.simple("sread", alice.key, id=var) == "success|21"

    target = f"/?key={alice.key}&action=sgraph&id={var}&eink=true&invert=true&width=288&height=128"
    head, _, image = raw_exchange(api.base_url, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode()).partition(
        b"\r\n\r\n"
    )
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert fields[b"Content-Type"] == b"image/bmp" and int(fields[b"Content-Length"]) == len(image)
    assert image[54:62] == b"\xff\xff\xff\x00\x00\x00\x00\x00"
    assert fields[b"Last-Modified"].endswith(b" GMT")

    validators = b"If-None-Match: " + fields[b"ETag"] + b"\r\nIf-Modified-Since: " + fields[b"Last-Modified"]
    request = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode() + validators + b"\r\n\r\n"
    again = raw_exchange(api.base_url, request)
    head, _, rest = again.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 304 Not Modified\r\n") and rest == b""
    assert b"\r\nETag: " + fields[b"ETag"] in head and b"\r\nLast-Modified: " + fields[b"Last-Modified"] in head
