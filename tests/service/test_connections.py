"""The API's connections, bounded (DESIGN.md §8) and exact (§3), checked over raw sockets.

A head or a body not sent in time closes the connection, a head past its cap is answered 431, a
process holds at most its cap of connections, 1,000 trickling clients starve nobody, and every
header name goes out spelled canonically.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psutil
import pytest

from service.connections import canonical_head
from service.core.files import raise_file_limit
from tests.harness import Running, running_api, scaled
from tests.support import Account

pytestmark = pytest.mark.anyio

# Short deadlines keep the tests quick; scaled, so that a busy machine only needs a larger factor.
HEAD_TIMEOUT = scaled(1.5)
BODY_TIMEOUT = scaled(1.5)


@pytest.fixture(scope="module")
def bounded(db_url: str) -> Iterator[tuple[Running, tuple[str, int]]]:
    """An API with short deadlines and a small cap on connections: the process and its (host, port)."""
    with running_api(db_url, head_timeout=HEAD_TIMEOUT, body_timeout=BODY_TIMEOUT, max_connections=1100) as (
        api,
        base,
    ):
        address = urlsplit(base)
        assert address.hostname is not None and address.port is not None
        yield api, (address.hostname, address.port)


async def exchange(address: tuple[str, int], request: bytes, within: float = 10) -> bytes:
    """Send `request` on a new connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), scaled(within))
    finally:
        await shut(writer)


async def shut(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def head_of(answer: bytes) -> list[bytes]:
    return answer.partition(b"\r\n\r\n")[0].split(b"\r\n")


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> float:
    """How long until the server closes the connection (reading and dropping what it sends)."""
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(65536), seconds):
        pass
    return time.monotonic() - started


# -- header names --------------------------------------------------------------------------------

CANONICAL_NAME = re.compile(rb"^(ETag|[A-Z][a-z0-9]*(-[A-Z][a-z0-9]*)*)$")


def test_canonical_head_spells_every_name() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\netag: W/x\r\naccess-control-allow-origin: *\r\n\r\n"
    assert canonical_head(head) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: W/x\r\nAccess-Control-Allow-Origin: *\r\n\r\n"
    )


@pytest.mark.parametrize(
    "target",
    [
        "/?key={key}&action=list",  # JSON with Content-Length
        "/?key={key}&action=slatest",  # simple text, chunked to HTTP/1.1
        "/?key={key}&action=graph&id=nosuch",
        "/?action=read&id=x",
        "/healthz",
        "/nowhere",
    ],
)
async def test_every_header_name_is_canonical(service_url: str, alice: Account, target: str) -> None:
    address = urlsplit(service_url)
    request = f"GET {target.format(key=alice.key)} HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\nConnection: close\r\n\r\n"
    answer = await exchange((address.hostname or "", address.port or 0), request.encode())
    names = [line.partition(b":")[0] for line in head_of(answer)[1:]]
    assert names and all(CANONICAL_NAME.match(name) for name in names), names
    assert b"Content-Length" in names or b"Transfer-Encoding" in names


async def test_image_and_not_modified_heads_are_canonical(service_url: str, alice: Account) -> None:
    address = urlsplit(service_url)
    target = (address.hostname or "", address.port or 0)
    created = await exchange(target, f"GET /?key={alice.key}&action=create&type=float&name=t HTTP/1.0\r\n\r\n".encode())
    var_id = re.search(rb'"id":"([^"]+)"', created)
    assert var_id is not None
    graph = f"GET /?key={alice.key}&action=sgraph&id={var_id[1].decode()}&eink=1 HTTP/1.1\r\nConnection: close\r\n"
    image = head_of(await exchange(target, (graph + "\r\n").encode()))
    assert any(line.startswith(b"Content-Length: ") for line in image)
    etag = next(line for line in image if line.startswith(b"ETag: ")).partition(b": ")[2].decode()
    assert any(line == b"Cache-Control: no-cache" for line in image)
    not_modified = head_of(await exchange(target, f"{graph}If-None-Match: {etag}\r\n\r\n".encode()))
    assert not_modified[0].startswith(b"HTTP/1.1 304")
    assert any(line.startswith(b"ETag: ") for line in not_modified)


# -- deadlines -----------------------------------------------------------------------------------


async def test_a_silent_connection_is_closed_at_the_head_deadline(bounded: tuple[Running, tuple[str, int]]) -> None:
    reader, writer = await asyncio.open_connection(*bounded[1])
    took = await closed_within(reader, HEAD_TIMEOUT + scaled(5))
    await shut(writer)
    assert took >= HEAD_TIMEOUT * 0.9


async def test_a_trickled_head_is_closed_at_the_head_deadline(bounded: tuple[Running, tuple[str, int]]) -> None:
    reader, writer = await asyncio.open_connection(*bounded[1])
    started = time.monotonic()
    closed = asyncio.ensure_future(closed_within(reader, HEAD_TIMEOUT + scaled(5)))
    for byte in b"GET /?action=list HTTP/1.1\r\nX-Slow: " + b"a" * 1000:
        if closed.done():
            break
        writer.write(bytes([byte]))
        await asyncio.sleep(HEAD_TIMEOUT / 10)
    await closed
    await shut(writer)
    assert HEAD_TIMEOUT * 0.9 <= time.monotonic() - started < HEAD_TIMEOUT + scaled(5)


async def test_a_keep_alive_connection_trickling_its_next_head_is_closed(
    bounded: tuple[Running, tuple[str, int]],
) -> None:
    reader, writer = await asyncio.open_connection(*bounded[1])
    writer.write(b"GET /?action=list HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), scaled(10))).startswith(b"HTTP/1.1 200")
    closed = asyncio.ensure_future(closed_within(reader, HEAD_TIMEOUT + scaled(10)))
    while not closed.done():  # never idle long enough for the keep-alive timeout
        writer.write(b"G")
        await asyncio.sleep(HEAD_TIMEOUT / 10)
    await closed
    await shut(writer)


async def test_a_stalled_body_is_closed_at_the_body_deadline_without_a_traceback(
    bounded: tuple[Running, tuple[str, int]], alice: Account
) -> None:
    api, address = bounded
    reader, writer = await asyncio.open_connection(*address)
    body = f"key={alice.key}&action=list&padding="
    writer.write(b"POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n")
    writer.write(f"Content-Length: {len(body) + 100}\r\n\r\n{body}".encode())
    took = await closed_within(reader, BODY_TIMEOUT + scaled(5))
    await shut(writer)
    assert took >= BODY_TIMEOUT * 0.9
    await asyncio.sleep(scaled(0.2))
    assert "Traceback" not in api.output()


async def test_a_slow_but_steady_body_within_the_deadline_is_answered(
    bounded: tuple[Running, tuple[str, int]], alice: Account
) -> None:
    body = f"key={alice.key}&action=list".encode()
    reader, writer = await asyncio.open_connection(*bounded[1])
    writer.write(b"POST / HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), 8):
        writer.write(body[i : i + 8])
        await asyncio.sleep(BODY_TIMEOUT / len(body) * 2)
    answer = await asyncio.wait_for(reader.read(), scaled(10))
    await shut(writer)
    assert answer.endswith(b'"result":"success","list":[]}') or b'"result":"success"' in answer


# -- caps ----------------------------------------------------------------------------------------


def _refused_431(answer: bytes) -> None:
    head = head_of(answer)
    assert head[0].startswith(b"HTTP/1.1 431 ")
    assert b"Connection: close" in head and b"Content-Type: application/json" in head
    assert answer.endswith(b'{"result":"error_invalid_parameters"}')


async def test_a_head_past_its_cap_is_refused_431(service_url: str) -> None:
    address = urlsplit(service_url)
    request = b"GET /?action=list HTTP/1.1\r\nX-Big: " + b"a" * 17_000 + b"\r\n\r\n"
    _refused_431(await exchange((address.hostname or "", address.port or 0), request))


async def test_a_huge_header_is_refused_before_it_is_read(bounded: tuple[Running, tuple[str, int]]) -> None:
    api, address = bounded
    rss = psutil.Process(api.pid).memory_info().rss
    reader, writer = await asyncio.open_connection(*address)
    sent = 0

    async def send_32_mb() -> None:
        nonlocal sent
        writer.write(b"GET /?action=list HTTP/1.1\r\nX-Big: ")
        with contextlib.suppress(ConnectionError):
            while sent < 32 << 20:
                writer.write(b"a" * 65536)
                await writer.drain()
                sent += 65536

    sending = asyncio.ensure_future(send_32_mb())
    answer = await asyncio.wait_for(reader.read(), scaled(10))
    sending.cancel()
    await shut(writer)
    _refused_431(answer)
    assert psutil.Process(api.pid).memory_info().rss - rss < 8 << 20


async def test_a_malformed_request_gets_a_protocol_answer(service_url: str) -> None:
    address = urlsplit(service_url)
    answer = await exchange((address.hostname or "", address.port or 0), b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    assert head_of(answer)[0].startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b'{"result":"error_invalid_parameters"}')


async def test_past_the_connection_cap_new_connections_close_at_once(db_url: str) -> None:
    with running_api(db_url, max_connections=20) as (_, base):
        address = urlsplit(base)
        target = (address.hostname or "", address.port or 0)
        held = [await asyncio.open_connection(*target) for _ in range(20)]
        await asyncio.sleep(scaled(0.2))  # all accepted by now
        reader, writer = await asyncio.open_connection(*target)
        assert await closed_within(reader, scaled(5)) < scaled(5)
        await shut(writer)
        for _, held_writer in held:
            await shut(held_writer)
        answer = b""
        for _ in range(int(scaled(50))):  # the server notices the closes
            answer = await exchange(target, b"GET /?action=list HTTP/1.0\r\n\r\n")
            if answer:
                break
            await asyncio.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 200 ")


# -- slowloris -----------------------------------------------------------------------------------


async def _trickle(address: tuple[str, int], every: float, closed: list[float]) -> None:
    try:
        reader, writer = await asyncio.open_connection(*address)
    except OSError:
        return
    started = time.monotonic()
    try:
        request = b"GET /?action=list HTTP/1.1\r\nX-Slow: " + b"a" * 10_000
        for byte in request:
            writer.write(bytes([byte]))
            try:
                if await asyncio.wait_for(reader.read(1), every) == b"":
                    break
            except TimeoutError:
                continue
        closed.append(time.monotonic() - started)
    except ConnectionError:
        closed.append(time.monotonic() - started)
    finally:
        await shut(writer)


async def test_a_thousand_trickling_connections_starve_nobody(
    bounded: tuple[Running, tuple[str, int]], alice: Account
) -> None:
    raise_file_limit(1200)
    address = bounded[1]
    closed: list[float] = []
    tricklers = [asyncio.ensure_future(_trickle(address, HEAD_TIMEOUT / 4, closed)) for _ in range(1000)]
    await asyncio.sleep(HEAD_TIMEOUT / 3)
    answered = 0
    for _ in range(30):
        answer = await exchange(address, f"GET /?key={alice.key}&action=list HTTP/1.0\r\n\r\n".encode())
        answered += b'"result":"success"' in answer
        assert b"success" in answer, answer[:400]
    await asyncio.wait_for(asyncio.gather(*tricklers), HEAD_TIMEOUT + scaled(30))
    assert answered == 30
    assert len(closed) == 1000  # every one dropped by the head deadline
