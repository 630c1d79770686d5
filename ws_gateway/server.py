"""The gateway process: websockets on /ws, /healthz beside it, one listener, signals to stop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import signal
import socket
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from service.core import metrics as core_metrics
from service.core.changes import Change, ChangeKind
from service.core.logs import configure_logging
from service.core.results import VariPassError
from service.core.settings import Settings
from service.db.pool import DATABASE_ERRORS
from service.supervisor import STARTUP_FAILURE
from ws_gateway import protocol
from ws_gateway.keys import Keys, client_ip
from ws_gateway.listener import Listener
from ws_gateway.metrics import GatewayMetrics
from ws_gateway.protocol import Authenticate, Close, Reply
from ws_gateway.registry import Grant, Registry, send_within

PATH = "/ws"
HEALTH_PATH = "/healthz"
MAX_FRAME = 1024  # bytes; firmware sends `key <16 characters>` and `ping`
# What the gateway sends is a few bytes now and then; a socket needs buffers only to ride out a
# hiccup. Small fixed buffers bound the memory of 10,000 sockets and let a client that stopped
# reading fill them quickly, so that the send timeout finds it (DESIGN.md §3; registry.py).
SEND_BUFFER = 16 * 1024  # the kernel's SO_SNDBUF (Linux doubles it), instead of autotuning to MBs
WRITE_LIMIT = 4 * 1024  # websockets' own write buffer, above which send() waits
# On shutdown, a client gets this long to answer the close frame before its socket is dropped.
CLOSE_TIMEOUT = 2.0
# A full garbage collection walks every object of every socket: at 10,000 sockets it stalls all
# of them for 0.3-0.6 s (tests/bench/gateway.py). Automatic collections keep to the young
# generations, where the garbage of each refresh is; the old one is collected on this schedule.
FULL_COLLECTION_INTERVAL = 600.0

log = logging.getLogger(__name__)


class Gateway:
    """The state one gateway process shares between its connections."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.registry = Registry(
            max_per_account=settings.ws_max_per_account,
            max_connections=settings.ws_max_connections,
            send_timeout=settings.ws_send_timeout,
        )
        self.keys = Keys(settings, url)
        self._closing: set[asyncio.Task[None]] = set()  # revoked sockets being closed
        self.metrics = GatewayMetrics(self.registry)
        self._metrics_allowed = core_metrics.networks(settings.metrics_allow_ips)
        self.listener = Listener(url, self._changed, self.registry.refresh_all)

    def _changed(self, changes: list[Change], committed_at: float | None = None) -> None:
        self.metrics.notified(committed_at)
        # VariPass clients get the one word `refresh` whatever changed (DESIGN.md §7).
        revocations = (ChangeKind.REVOKED, ChangeKind.KEY_REVOKED)
        self.registry.refresh({change.account_id for change in changes if change.kind not in revocations})
        for change in changes:
            if change.kind in (ChangeKind.REVOKED, ChangeKind.KEY_REVOKED):
                grant = change.value if isinstance(change.value, int) else None
                by_key = change.kind is ChangeKind.KEY_REVOKED
                for client in self.registry.revoked(change.account_id, grant, by_key=by_key):
                    closing = asyncio.create_task(_close(client.ws, protocol.REVOKED, self.settings.ws_send_timeout))
                    self._closing.add(closing)
                    closing.add_done_callback(self._closing.discard)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == HEALTH_PATH:
            ok = self.listener.connected
            body = json.dumps({"status": "ok" if ok else "unavailable"}, separators=(",", ":"))
            return _response(200 if ok else 503, body)
        if path == core_metrics.PATH and self._may_read_metrics(connection, request):
            return _response(200, core_metrics.exposition(self.metrics.registry), core_metrics.CONTENT_TYPE)
        if path != PATH:
            return connection.respond(404, "Not Found\n")
        return None

    def _may_read_metrics(self, connection: ServerConnection, request: Request) -> bool:
        # The client as the API sees it: behind a trusted proxy, the address it forwarded.
        peer = connection.remote_address[0] if connection.remote_address else None
        return core_metrics.allowed(
            client_ip(peer, request.headers, self.settings.forwarded_allow_ips), self._metrics_allowed
        )

    def process_response(self, connection: ServerConnection, request: Request, response: Response) -> Response:
        # HEAD (monitoring tools probe with it) gets GET's status and headers, Content-Length included, and
        # no body: websockets would send one, which a keep-alive client would read as the next answer.
        return dataclasses.replace(response, body=b"") if request.method == "HEAD" else response

    async def handle(self, ws: ServerConnection) -> None:
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        if not self.registry.admit():
            await _close(ws, protocol.GATEWAY_FULL, self.settings.ws_send_timeout)
            return
        try:
            who = await self._authenticate(ws)
            if who is not None:
                await self._serve(ws, who)
        except ConnectionClosed:
            pass
        finally:
            self.registry.leave()

    async def _authenticate(self, ws: ServerConnection) -> Grant | None:
        """Read messages until a key is accepted (what it grants) or the socket is closed (None)."""
        timeout = self.settings.ws_send_timeout
        try:
            async with asyncio.timeout(self.settings.ws_auth_timeout):
                while True:
                    action = protocol.before_auth(await ws.recv())
                    if isinstance(action, Reply):
                        if not await send_within(ws, action.text, timeout):
                            return None
                    elif isinstance(action, Authenticate):
                        verdict = await self._check(ws, action.key)
                        if not isinstance(verdict, Close):
                            return verdict
                        await _close(ws, verdict, timeout)
                        return None
                    elif isinstance(action, Close):
                        await _close(ws, action, timeout)
                        return None
        except TimeoutError:
            await _close(ws, protocol.AUTH_TIMEOUT, timeout)
            return None

    async def _check(self, ws: ServerConnection, key: str) -> Grant | Close:
        peer = ws.remote_address[0] if ws.remote_address else None
        headers = ws.request.headers if ws.request is not None else Headers()
        ip = client_ip(peer, headers, self.settings.forwarded_allow_ips)
        try:
            return await self.keys.account(key, ip)
        except VariPassError as exc:
            return protocol.refused(exc.result)
        except DATABASE_ERRORS as exc:
            log.warning("cannot check a key: %s", exc)
            return protocol.DATABASE_DOWN

    async def _serve(self, ws: ServerConnection, grant: Grant) -> None:
        timeout = self.settings.ws_send_timeout
        client = self.registry.add(ws, grant)
        if client is None:
            await _close(ws, protocol.ACCOUNT_FULL, timeout)
            return
        try:
            # Registered before `ok` is sent: a change committed after the client sees `ok` is
            # never missed. A refresh meanwhile waits for `ok` to be sent, and then follows it.
            if not await send_within(ws, protocol.OK, timeout):
                return
            client.greeted()
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(self.settings.ws_idle_timeout) as idle:
                while True:
                    action = protocol.after_auth(await ws.recv())
                    if isinstance(action, Reply):
                        idle.reschedule(loop.time() + self.settings.ws_idle_timeout)
                        if not await send_within(ws, action.text, timeout):
                            return
        except TimeoutError:
            await _close(ws, protocol.IDLE_TIMEOUT, timeout)
        finally:
            self.registry.remove(client)


def _response(status: int, body: str | bytes, content_type: str = "application/json") -> Response:
    data = body.encode() if isinstance(body, str) else body
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(data)))])
    reason = "OK" if status == 200 else "Service Unavailable"
    return Response(status, reason, headers, data)


async def _close(ws: ServerConnection, close: Close, timeout: float) -> None:
    if close.text is not None and not await send_within(ws, close.text, timeout):
        return
    await ws.close(close.code, close.reason)


class CannotListen(Exception):
    """The gateway's address could not be bound (in use, or not this machine's)."""


async def serve_until_stopped(settings: Settings, url: str, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then close every socket with 1001 (going away)."""
    gateway = Gateway(settings, url)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listening = asyncio.create_task(gateway.listener.run(), name="varistore-listener")
    collecting = asyncio.create_task(_collect_old_garbage(), name="varistore-gc")
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                server = await stack.enter_async_context(
                    serve(
                        gateway.handle,
                        host,
                        port,
                        process_request=gateway.process_request,
                        process_response=gateway.process_response,
                        max_size=MAX_FRAME,
                        # Compression state costs ~40 kB per socket; `refresh`, `ping` and `ok` gain nothing.
                        compression=None,
                        # Liveness is the protocol's own `ping` (idle timeout); protocol-level pings would
                        # add a task per socket and close clients the spec says may stay.
                        ping_interval=None,
                        close_timeout=CLOSE_TIMEOUT,
                        write_limit=WRITE_LIMIT,
                        server_header=None,
                    )
                )
            except OSError as exc:
                raise CannotListen(f"cannot listen on {host}:{port}: {exc}") from exc
            bound = server.sockets[0].getsockname()[1] if server.sockets else port
            print(f"Varistore gateway on ws://{host}:{bound}{PATH}", flush=True)
            await stop.wait()
            # Leaving the block closes every connection with 1001 and waits for the handlers.
    finally:
        listening.cancel()
        collecting.cancel()
        await asyncio.gather(listening, collecting, return_exceptions=True)
        await gateway.keys.close()


async def _collect_old_garbage() -> None:
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, 1 << 30)  # no automatic full collection
    while True:
        await asyncio.sleep(FULL_COLLECTION_INTERVAL)
        gc.collect()


def run(settings: Settings, database_url: str, host: str, port: int) -> None:
    """Run the gateway in the foreground until SIGTERM or SIGINT (then exit normally)."""
    configure_logging(
        settings.log_level, settings.log_format
    )  # frames (`key <key>`) are logged at debug level: redacted
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # websockets logs every handshake and close at INFO: thousands of lines for a busy gateway.
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        asyncio.run(serve_until_stopped(settings, database_url, host, port))
    except CannotListen as exc:
        log.error("%s", exc)
        raise SystemExit(STARTUP_FAILURE) from None
