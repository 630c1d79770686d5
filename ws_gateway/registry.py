"""Which sockets belong to which account, the connection limits, and the fan-out of `refresh`.

A `refresh` carries no data: the client re-reads everything it shows. So each socket needs at
most one `refresh` pending, never a queue of them. A burst of changes to one account collapses
into one `refresh` now and, if more came after it, one more `MIN_INTERVAL` later.

The fan-out never waits on a socket. A socket whose write buffer has room is written to at once
(websockets' `broadcast`: synchronous, no task); one whose buffer is full (a client that stopped
reading) gets the pending flag and a sender task of its own that waits for room, and that socket
is dropped when the wait passes the send timeout. So a stalled client costs the others nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import ClassVar

from websockets.asyncio.server import ServerConnection, broadcast

from service.core.records import record
from ws_gateway.protocol import REFRESH

# Seconds between two refreshes to one socket. A client re-reads on each, so a burst of writes
# (a script creating 20 variables) gives it two re-reads instead of twenty. At 1,000 writes/s
# over 1,000 accounts an account changes about once a second, so this rarely delays anything.
MIN_INTERVAL = 0.1


async def send_within(ws: ServerConnection, text: str, timeout: float) -> bool:
    """Send `text`, or drop the connection if the client has not made room for it within `timeout`.

    websockets' send() waits while the write buffer is over its high-water mark; a client that
    never reads would hold the sender (and memory) forever. The send runs as a task of its own
    and the wait is ours: cancelling a send that waits for room did not reliably end it.
    """
    sending = asyncio.ensure_future(ws.send(text))
    done, _ = await asyncio.wait({sending}, timeout=timeout)
    if not done:
        # close() would queue a close frame behind the data the client is not reading.
        ws.transport.abort()
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        return False
    return sending.exception() is None


@record
class Grant:
    """What a socket was let in with: its account, and the dashboard session or the scoped key
    (None for the account's key) whose revocation closes it."""

    account_id: int
    session_id: int | None = None
    key_id: int | None = None


class Client:
    """One authenticated socket and its single-slot pending `refresh`."""

    refreshes_sent: ClassVar[int] = 0  # by every socket of this process, for the metrics

    __slots__ = (
        "ws",
        "account_id",
        "session_id",
        "key_id",
        "_send_timeout",
        "_greeted",
        "_pending",
        "_next_at",
        "_timer",
        "_sender",
    )

    def __init__(self, ws: ServerConnection, grant: Grant, *, send_timeout: float) -> None:
        self.ws = ws
        self.account_id = grant.account_id
        self.session_id = grant.session_id  # a dashboard page's session; None for a socket opened with a key
        self.key_id = grant.key_id  # the scoped key it was opened with; None for the account's key
        self._send_timeout = send_timeout
        self._greeted = False  # `ok` sent: until then a refresh waits, so that `ok` comes first
        self._pending = False
        self._next_at = 0.0  # loop time before which no further refresh is sent
        self._timer: asyncio.TimerHandle | None = None
        self._sender: asyncio.Task[None] | None = None

    def refresh(self) -> None:
        """Make sure one `refresh` reaches the socket after this moment; a no-op if one is pending."""
        if self._pending:
            return
        self._pending = True
        if not self._greeted:
            return
        loop = asyncio.get_running_loop()
        delay = self._next_at - loop.time()
        if delay > 0:
            self._timer = loop.call_later(delay, self._flush)
        else:
            self._flush()

    def greeted(self) -> None:
        """`ok` is sent: a refresh that waited for it goes now."""
        self._greeted = True
        if self._pending:
            self._pending = False
            self.refresh()

    def discard(self) -> None:
        """Forget anything pending: the socket is gone."""
        self._pending = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None

    def _flush(self) -> None:
        self._timer = None
        if not self._pending:
            return  # the sender already sent it
        if self._sender is not None:
            return  # the sender sends the pending refresh once the buffer has room
        if self.ws.paused:
            self._sender = asyncio.create_task(self._send_when_drained())
            return
        self._pending = False
        self._next_at = asyncio.get_running_loop().time() + MIN_INTERVAL
        broadcast([self.ws], REFRESH)
        Client.refreshes_sent += 1

    async def _send_when_drained(self) -> None:
        try:
            while self._pending:
                self._pending = False
                self._next_at = asyncio.get_running_loop().time() + MIN_INTERVAL
                if not await send_within(self.ws, REFRESH, self._send_timeout):
                    return
                Client.refreshes_sent += 1
        finally:
            self._sender = None


class Registry:
    """account_id → its authenticated sockets, under a per-account and a total limit."""

    def __init__(self, *, max_per_account: int, max_connections: int, send_timeout: float) -> None:
        self.max_per_account = max_per_account
        self.max_connections = max_connections
        self.send_timeout = send_timeout
        self.connections = 0  # open sockets, authenticated or not
        self._accounts: dict[int, set[Client]] = {}

    def admit(self) -> bool:
        """Count a new socket in, unless the gateway is full (then the caller closes it)."""
        if self.connections >= self.max_connections:
            return False
        self.connections += 1
        return True

    def leave(self) -> None:
        """Count an admitted socket out."""
        self.connections -= 1

    def add(self, ws: ServerConnection, grant: Grant) -> Client | None:
        """Register an authenticated socket; None when its account already has the most allowed."""
        clients = self._accounts.setdefault(grant.account_id, set())
        if len(clients) >= self.max_per_account:
            return None
        client = Client(ws, grant, send_timeout=self.send_timeout)
        clients.add(client)
        return client

    def remove(self, client: Client) -> None:
        client.discard()
        clients = self._accounts.get(client.account_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._accounts[client.account_id]

    def sockets(self, account_id: int) -> int:
        return len(self._accounts.get(account_id, ()))

    def refresh(self, account_ids: Iterable[int]) -> None:
        """Fan a change out to every socket of these accounts (unknown accounts cost nothing)."""
        for account_id in account_ids:
            for client in self._accounts.get(account_id, ()):
                client.refresh()

    def revoked(self, account_id: int, grant: int | None, *, by_key: bool = False) -> list[Client]:
        """The sockets a revocation closes: the account's all (None), or those of one dashboard
        session, or (`by_key`) those opened with one scoped key."""
        clients = self._accounts.get(account_id, ())
        return [c for c in clients if grant is None or (c.key_id if by_key else c.session_id) == grant]

    def refresh_all(self) -> None:
        """Refresh every socket: after the listener reconnects, any change may have been missed."""
        for clients in self._accounts.values():
            for client in clients:
                client.refresh()
