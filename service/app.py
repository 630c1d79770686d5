"""The ASGI application: the protocol endpoint at `/`, /healthz, and the lifespan that holds the
process's services (the pool, the renderer, the notifier, the pruner)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from service.actions.context import Services
from service.core import metrics as core_metrics
from service.core.settings import Settings
from service.db import history as db_history, keys as db_keys, sessions as db_sessions
from service.db.notify import Notifier
from service.db.pool import DATABASE_ERRORS, Database, create_database
from service.db.read_batch import ReadBatcher
from service.db.write_batch import WriteBatcher
from service.mail import Mailer
from service.metrics import ApiMetrics
from service.rendering import Renderer
from service.rest.app import Api as RestApi, routes as rest_routes
from service.varipass import transport
from service.varipass.dispatch import ACTIONS, changes_nothing
from service.varipass.endpoint import Endpoint
from service.varipass.floods import FloodLimits
from service.web.app import Web, error_page, landing, routes as web_routes, templates
from service.web.auth import Throttles

log = logging.getLogger(__name__)

HEALTH_DEADLINE = 2.0  # seconds for /healthz's whole answer, a free connection included
# Pruning is background work, batch after batch in one transaction: it gets longer than a request.
PRUNE_DEADLINE = 300.0
_VARY_ORIGIN = (b"vary", b"Origin")
KEY_USE_INTERVAL = 30.0  # seconds: a scoped key's last-used time is this precise


async def _prune_forever(database: Database, interval: float) -> None:
    """Delete expired history in the background; one replica at a time does it."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with database.connection(PRUNE_DEADLINE) as conn, conn.transaction():
                if await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('varistore_prune'))"):
                    while await db_history.prune_expired(conn) > 0:
                        pass
                    await db_sessions.delete_expired(conn)
                    await db_keys.delete_expired_tokens(conn)
        except DATABASE_ERRORS as exc:
            log.warning("history pruning failed: %s", exc)


async def _note_key_use_forever(services: Services, interval: float) -> None:
    """Write the last-used time of the scoped keys used since the last time (to `interval`): a
    request through a key is not a write of its own."""
    while True:
        await asyncio.sleep(interval)
        used = list(services.keys_used)
        services.keys_used.clear()
        if used:
            try:
                async with services.database.connection() as conn:
                    await db_keys.touch_scoped_keys(conn, used)
            except DATABASE_ERRORS as exc:
                log.warning("noting key use failed: %s", exc)


def _wants_page(scope: Scope) -> bool:
    """A browser opening `/` itself: a GET with no query that accepts HTML. Devices always send an
    action (and rarely accept HTML); everything else about `/` is the protocol's."""
    if scope["method"] != "GET" or scope["query_string"]:
        return False
    accept = next((value for name, value in scope["headers"] if name == b"accept"), b"")
    return b"text/html" in accept


def _has_origin(scope: Scope) -> bool:
    for name, _ in scope["headers"]:
        if name == b"origin":
            return True
    return False


def _vary_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """Add to a response's `headers` what CORSMiddleware adds to an answer to a request without Origin:
    `Vary: Origin`, after the Vary values the answer has (at the first one's place). The middleware
    itself costs a protocol request several µs of header objects and a wrapped `send` (issue 13)."""
    varies = [i for i, (name, _) in enumerate(headers) if name == b"vary"]
    if not varies:
        headers.append(_VARY_ORIGIN)
        return
    headers[varies[0]] = (b"vary", b", ".join([*(headers[i][1] for i in varies), b"Origin"]))
    for i in reversed(varies[1:]):
        del headers[i]


def create_app(settings: Settings, database_url: str) -> ASGIApp:
    floods = FloodLimits.from_settings(settings)  # here, so that a malformed limit fails at startup
    throttles = Throttles(settings)
    metrics = ApiMetrics(ACTIONS)
    metrics_allowed = core_metrics.networks(settings.metrics_allow_ips)  # a malformed one fails at startup

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database = await create_database(
            database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            deadline=settings.db_deadline,
            pooler=settings.db_pooler == "transaction",
        )
        renderer = Renderer(settings.render_workers, settings.render_cache_bytes, metrics.rendered)
        metrics.watch_pool(lambda: database.pool.get_size() - database.pool.get_idle_size())
        notifier = Notifier(database_url, pooler=settings.db_pooler == "transaction")
        notifier.start()
        pruner = asyncio.create_task(_prune_forever(database, settings.prune_interval))
        services = Services(
            database, WriteBatcher(database, settings.write_batch_max), settings.plan, renderer, ReadBatcher(database)
        )
        key_use = asyncio.create_task(_note_key_use_forever(services, KEY_USE_INTERVAL))
        app.state.endpoint = Endpoint(services, notifier, settings.max_body_bytes, floods, metrics)
        app.state.web = Web(settings, services, notifier, Mailer(settings), throttles, templates())
        try:
            yield
        finally:
            pruner.cancel()
            key_use.cancel()
            await asyncio.gather(pruner, key_use, return_exceptions=True)
            await notifier.close()
            await services.close()
            await database.close()

    async def healthz(request: Request) -> Response:
        endpoint: Endpoint = request.app.state.endpoint
        try:
            async with endpoint.services.database.connection(HEALTH_DEADLINE) as conn:
                await conn.fetchval("SELECT 1")
        except DATABASE_ERRORS:
            return JSONResponse({"status": "unavailable"}, 503)
        return JSONResponse({"status": "ok"})

    async def metrics_page(request: Request) -> Response:
        if not core_metrics.allowed(transport.client_ip(request), metrics_allowed):
            raise HTTPException(404, "Not Found")
        return Response(core_metrics.exposition(metrics.registry), media_type=core_metrics.CONTENT_TYPE)

    rest = RestApi()
    starlette = Starlette(
        routes=[
            *rest_routes(rest),  # REST v1 under /api (issue 14)
            Route("/healthz", healthz, methods=["GET"]),
            Route(core_metrics.PATH, metrics_page, methods=["GET"]),
            Route("/", landing, methods=["GET"]),
            *web_routes(),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: error_page, **dict.fromkeys(DATABASE_ERRORS, error_page)},
    )
    # Devices never follow redirects: no trailing-slash redirects, ever (DESIGN.md §3).
    starlette.router.redirect_slashes = False

    async def answer(scope: Scope, receive: Receive) -> Response:
        request = Request(scope, receive)
        # HEAD (monitoring tools probe with it) is answered as GET, body left out by uvicorn, for the
        # actions that change nothing: a HEAD must never write.
        if scope["method"] in ("GET", "POST") or (
            scope["method"] == "HEAD" and changes_nothing(transport.query_fields(request).get("action"))
        ):
            endpoint: Endpoint = starlette.state.endpoint
            return await endpoint(request)
        # HEAD is allowed for the actions that change nothing, not for this one
        allowed = "GET, POST" if scope["method"] == "HEAD" else "GET, HEAD, POST"
        return Response(status_code=405, headers={"Allow": allowed})

    async def varipass(scope: Scope, receive: Receive, send: Send) -> None:
        response = await answer(scope, receive)
        await response(scope, receive, send)

    # Web pages call the API from their own origin (the spec's XMLHttpRequest client). Keys travel
    # in the request, never in cookies, so every origin may.
    protocol = CORSMiddleware(varipass, allow_origins=["*"], allow_methods=["GET", "HEAD", "POST"], allow_headers=["*"])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # The protocol endpoint skips Starlette's router and middleware: they cost a tenth of a
        # request's CPU on the hot path (tests/bench/write_path.py), and the endpoint handles its
        # own failures. Everything else (lifespan, /healthz, 404) is Starlette's.
        if scope["type"] == "http" and scope["path"] == "/" and not _wants_page(scope):
            if _has_origin(scope):
                await protocol(scope, receive, send)
            else:  # devices send no Origin: of CORS they get only its `Vary: Origin` (issue 13)
                response = await answer(scope, receive)
                _vary_origin(response.raw_headers)
                await response(scope, receive, send)
        elif scope["type"] == "http" and (scope["path"] == "/api" or scope["path"].startswith("/api/")):
            # REST answers its own failures too and skips Starlette's stack for the same reason
            # (tests/bench/rest_write.py); it finds the services in the app's state.
            scope["app"] = starlette
            await rest(scope, receive, send)
        else:
            await starlette(scope, receive, send)

    return app
