"""The API's HTTP connections: uvicorn's httptools protocol, bounded (DESIGN.md §8) and exact.

By itself uvicorn waits forever for a request's head or body, takes heads of any size (a
32 MB header grew the process by 100 MB) and any number of connections (1,100 trickling
ones starved every normal request), and writes header names in lower case, which old
firmware compares case-sensitively (DESIGN.md §3). This protocol adds, per connection:

- a deadline to send a whole request head, from the connection's start or the end of the
  previous answer (a keep-alive connection idle for `timeout_keep_alive` closes sooner);
- a deadline to send the body once the head is in;
- a cap on the head's size, answered 431 with a protocol body;
- a cap on open connections per process (past it a new connection is closed at once);
- response heads with canonical header names (`Content-Length`, `ETag`).

Malformed requests are answered 400 with a protocol body and closed, without a log line
per request (anyone can send them).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.core.compact_json import compact_json
from service.core.records import record
from service.core.results import Result


@record
class Bounds:
    head_timeout: float
    body_timeout: float
    max_head_bytes: int
    max_connections: int

    @property
    def tick(self) -> float:
        """How often deadlines are looked at: each is enforced up to a tenth of the shorter one late."""
        return min(1.0, self.head_timeout / 10, self.body_timeout / 10)


# Names whose canonical spelling is not their title case.
_SPELLINGS = {b"etag": b"ETag", b"www-authenticate": b"WWW-Authenticate", b"content-md5": b"Content-MD5"}


@functools.lru_cache(maxsize=128)
def _canonical_name(name: bytes) -> bytes:
    return _SPELLINGS.get(name) or name.title()


def canonical_head(head: bytes) -> bytes:
    """A response head with every header name spelled canonically (`content-length` → `Content-Length`)."""
    status, _, fields = head.partition(b"\r\n")
    lines = [status]
    for line in fields.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        lines.append(_canonical_name(name) + colon + value if colon else line)
    return b"\r\n".join(lines)


def head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """A parsed request head's size: the target and each header with its separators."""
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


class _HeadWriter:
    """The transport as one response sees it: the first thing it writes, its head, goes out
    with canonical header names (uvicorn lower-cases them on the way).

    With `hold`, the head waits for the body's first write and goes out with it, one send instead of
    two (a tenth of a protocol request's CPU went to sending heads, issue 13). uvicorn writes a body
    for every request but HEAD, and closes the transport when a response ends early.
    """

    __slots__ = ("_transport", "_head_sent", "_held")

    def __init__(self, transport: asyncio.Transport, *, hold: bool = False) -> None:
        self._transport = transport
        self._head_sent = False
        self._held: bytes | None = b"" if hold else None

    def write(self, data: bytes) -> None:
        if not self._head_sent and not data.startswith(b"HTTP/1.1 100 "):  # 100 Continue comes first
            self._head_sent = True
            data = canonical_head(data)
            if self._held is not None:
                self._held = data
                return
        elif self._held:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def close(self) -> None:
        if self._held:
            self._transport.write(self._held)
            self._held = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


def refusal(status: int, reason: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole answer to a request the parser refused, in the protocol's shape; it closes the connection."""
    body = compact_json({"result": Result.ERROR_INVALID_PARAMETERS.value}).encode()
    fields = [name + b": " + value for name, value in default_headers]
    fields += [b"content-type: application/json", b"content-length: %d" % len(body), b"connection: close"]
    head = b"\r\n".join([b"HTTP/1.1 %d %s" % (status, reason.encode()), *fields]) + b"\r\n\r\n"
    return canonical_head(head) + body


# How long a refused connection's incoming bytes are dropped before it closes.
LINGER = 1.0


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of DESIGN.md §8; `bounded_protocol` makes one."""

    bounds: Bounds
    sweeper: asyncio.TimerHandle | None = None  # the process's sweep of deadlines, once a connection came

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._due = 0.0  # loop time by which the head or body must be in; 0: none
        self._reading_head = True  # waiting for (the rest of) a request head
        self._head_bytes = 0  # read of the head so far, counted per read
        self._read = 0  # bytes of the read being parsed
        self._since_head = 0  # bytes read since the last head was complete (an upper bound of the next)
        self._heads = 0  # heads read on this connection
        self._too_large = False
        self._refused = False  # answered 4xx by the parser, lingering before the close

    # Deadlines are times kept per connection and enforced by one sweep of all connections a tick:
    # a timer per request (call_later, then cancel) cost 2.7 µs, a request's costliest part here.

    def _arm(self, seconds: float) -> None:
        self._due = self.loop.time() + seconds
        if self.sweeper is None:
            type(self).sweeper = self.loop.call_later(self.bounds.tick, self._sweep)

    def _disarm(self) -> None:
        self._due = 0.0

    def _sweep(self) -> None:
        now = self.loop.time()
        for connection in list(self.connections):
            if isinstance(connection, BoundedHttpProtocol) and connection._due and connection._due <= now:
                connection._due = 0.0
                # A head or a body not sent in time (or a refusal's lingering over): nobody waits
                # for an answer to it.
                connection.transport.close()
        type(self).sweeper = self.loop.call_later(self.bounds.tick, self._sweep)

    def _refuse(self, status: int, reason: str) -> None:
        # A lingering close: the client may still be sending what we refuse, and closing with its
        # bytes unread would reset the connection and lose the answer. So the answer goes out with
        # a FIN, what arrives meanwhile is dropped unread, and the connection closes after LINGER.
        self.transport.write(refusal(status, reason, self.server_state.default_headers))
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._arm(LINGER)
        else:
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.bounds.max_connections:
            transport.close()
            return
        self._arm(self.bounds.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's, but refusing in the protocol's shape, without a log line per bad request.
        if self._refused:
            return
        self._unset_keepalive_if_required()
        reading_head, heads, self._read = self._reading_head, self._heads, len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._too_large:
                self._refuse(431, "Request Header Fields Too Large")
            else:
                self._refuse(400, "Bad Request")
            return
        self._since_head = self._since_head + self._read if heads == self._heads else self._read
        if reading_head and self._reading_head and heads == self._heads:
            # Still the same head: what the parser holds of it grows with every read.
            self._head_bytes += len(data)
            if self._head_bytes > self.bounds.max_head_bytes:
                self._refuse(431, "Request Header Fields Too Large")
        elif not self._reading_head and not self._due:
            self._arm(self.bounds.body_timeout)  # the head is in, the body is not

    def on_headers_complete(self) -> None:
        self._disarm()
        self._reading_head, self._heads = False, self._heads + 1
        limit = self.bounds.max_head_bytes
        # Summed only when the reads that brought this head could hold more than the limit.
        if self._since_head + self._read > limit and head_size(self.url, self.headers) > limit:
            self._too_large = True
            raise ValueError("request head too large")  # stops the parser; data_received answers
        self._head_bytes = 0
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not previous:  # a request to answer (not an upgrade)
            hold = self.cycle.scope["method"] != "HEAD"  # a HEAD's answer is its head alone
            self.cycle.transport = _HeadWriter(self.transport, hold=hold)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._reading_head = True
        if self.cycle is not None and self.cycle.response_complete:
            self._arm(self.bounds.head_timeout)  # answered before its body was in: the next head's turn
        else:
            self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn now waits for the next head (with its keep-alive timer) unless more are queued.
        if self.timeout_keep_alive_task is not None:
            self._arm(self.bounds.head_timeout)


def bounded_protocol(bounds: Bounds) -> type[BoundedHttpProtocol]:
    """The protocol class for uvicorn's `http` setting, with these bounds."""
    return type("BoundedHttpProtocol", (BoundedHttpProtocol,), {"bounds": bounds})
