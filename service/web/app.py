"""The dashboard's routes under /app, what every page shares, and the one place its failures become pages.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript; the one script
(static/app.js, no build step) only keeps values and ages live. Every change a page asks for runs the
same use cases as the protocol, as the signed-in account (service/actions/catalog.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from service.actions.context import Services
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.settings import Settings
from service.db.notify import Notifier
from service.db.pool import DATABASE_ERRORS, Connection
from service.mail import Mailer
from service.web import auth
from service.web.auth import SignedIn, Throttles

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_DEADLINE = 10.0  # seconds of database work for one page (a chart of a long range included)


@record
class Web:
    """What the dashboard's handlers share in one process."""

    settings: Settings
    services: Services
    notifier: Notifier
    mailer: Mailer
    throttles: Throttles
    templates: Environment

    def connection(self) -> Any:
        return self.services.database.connection(PAGE_DEADLINE)

    def public_url(self, request: Request) -> str:
        """The base URL links in emails and pages start with (no trailing slash)."""
        return (self.settings.public_url or str(request.base_url)).rstrip("/")

    def gateway_url(self, request: Request) -> str:
        if self.settings.gateway_url:
            return self.settings.gateway_url
        scheme = "wss" if request.url.scheme == "https" else "ws"
        return f"{scheme}://{request.url.hostname}:{self.settings.gateway_port}/ws"


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def age(seconds: int) -> str:
    """How long ago, as the pages (and static/app.js, which keeps it ticking) say it."""
    seconds = max(0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def duration(seconds: int) -> str:
    if seconds == 0:
        return "only the latest value"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} s"


# What a session's User-Agent says, first match wins (Edge and Opera say Chrome too, Chrome says Safari).
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrom", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser_of(user_agent: str) -> str:
    """A session's browser as a person names it ("Firefox on Windows"), or the start of its User-Agent."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return user_agent[:60] or "Unknown browser"


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["age"] = age
    env.filters["duration"] = duration
    env.filters["browser"] = browser_of
    env.filters["iso"] = lambda t: datetime.fromtimestamp(t, UTC).isoformat()
    return env


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    who: SignedIn | None = None,
    status: int = 200,
    csrf: str | None = None,
) -> HTMLResponse:
    """A page rendered with what every page needs: who is signed in, and the forms' CSRF token."""
    web = web_of(request)
    token = who.session.csrf_token if who is not None else (csrf or auth.anonymous_csrf(request))
    html = web.templates.get_template(name).render(who=who, csrf=token, request=request, **context)
    response = HTMLResponse(html, status, headers=SECURITY_HEADERS)
    if who is None:
        auth.keep_anonymous_csrf(response, request, web.settings, token)
    return response


# No page may be framed, sniffed or load anything from elsewhere: everything it needs is ours.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def to_login(request: Request) -> RedirectResponse:
    return redirect(f"/app/login?next={quote(request.url.path)}")


async def form_of(request: Request) -> FormData:
    """The request's form, bounded (a page's forms are small)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > auth.MAX_FORM_BYTES):
        raise HTTPException(413, "This form is too large.")
    return await request.form(max_files=0, max_fields=100, max_part_size=auth.MAX_FORM_BYTES)


FORM_REFUSED = "This form has expired or came from another site: reload the page and try again."

Handler = Callable[[Request, Connection, SignedIn], Awaitable[Response]]
FormHandler = Callable[[Request, Connection, SignedIn, FormData], Awaitable[Response]]


def signed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for signed-in people only: others are sent to log in."""

    async def endpoint(request: Request) -> Response:
        async with web_of(request).connection() as conn:
            who = await auth.signed_in(conn, request, web_of(request).settings)
            if who is None:
                return to_login(request)
            return await handler(request, conn, who)

    return endpoint


def signed_form(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """A state-changing form of a signed-in person: its CSRF token and origin are checked first."""

    async def endpoint(request: Request) -> Response:
        form = await form_of(request)
        async with web_of(request).connection() as conn:
            who = await auth.signed_in(conn, request, web_of(request).settings)
            if who is None:
                return to_login(request)
            if not auth.csrf_ok(request, form, who):
                raise HTTPException(403, FORM_REFUSED)
            return await handler(request, conn, who, form)

    return endpoint


AnonymousHandler = Callable[[Request, FormData], Awaitable[Response]]


def anonymous_form(handler: AnonymousHandler) -> Callable[[Request], Awaitable[Response]]:
    """A state-changing form shown before log-in: its CSRF token (the cookie's) and origin are checked first."""

    async def endpoint(request: Request) -> Response:
        form = await form_of(request)
        if not auth.csrf_ok(request, form, None):
            raise HTTPException(403, FORM_REFUSED)
        return await handler(request, form)

    return endpoint


async def error_page(request: Request, exc: Exception) -> Response:
    """The dashboard's one failure handler: HTTP errors as pages, a lost database as 503, a bug as 500."""
    if isinstance(exc, HTTPException) and not request.url.path.startswith("/app"):
        return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)  # not a page: /healthz, /favicon.ico
    if isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
    elif isinstance(exc, DATABASE_ERRORS):
        log.warning("database unavailable for a page: %s: %s", type(exc).__name__, exc)
        status, message = 503, "The database is not answering right now. Try again in a moment."
    else:
        log.exception("unexpected failure on a page")
        status, message = 500, "Something went wrong on our side. Try again; if it persists, tell the operator."
    try:
        return page(request, "error.html", {"status": status, "message": message}, status=status)
    except Exception:  # the templates themselves may be what failed
        return HTMLResponse(f"<!doctype html><title>{status}</title><p>{status}</p>", status)


def routes() -> list[BaseRoute]:
    from service.web import account_pages, docs_page, key_pages, variable_pages

    return [
        Mount("/app/static", StaticFiles(directory=HERE / "static"), name="static"),
        *account_pages.ROUTES,
        *variable_pages.ROUTES,
        *key_pages.ROUTES,
        Route("/app/docs", signed(docs_page.docs), methods=["GET"]),
        Route("/app", lambda request: redirect("/app/variables"), methods=["GET"]),
        Route("/app/", lambda request: redirect("/app/variables"), methods=["GET"]),
    ]


async def landing(request: Request) -> Response:
    """`/` opened by a browser: a small page that leads to the dashboard (devices never see it)."""
    return page(request, "landing.html", {})


def result_message(exc: VariPassError, cooldown: int | None = None) -> str:
    """What a protocol result means to a person on a page."""
    if exc.result is Result.ERROR_COOLDOWN and cooldown is not None:
        return f"Too soon: this variable takes one write every {cooldown} s."
    return MESSAGES.get(exc.result, exc.result.value)


MESSAGES = {
    Result.ERROR_INVALID_ID: "There is no such variable.",
    Result.ERROR_INVALID_PARAMETERS: "Some fields are missing or not valid: check them and try again.",
    Result.ERROR_INVALID_TYPE: "Choose a type: int, float, bool or string.",
    Result.ERROR_NOT_BOOL: "Only a bool variable can be toggled.",
    Result.ERROR_ORDER_FIRST: "This variable is already the first.",
    Result.ERROR_ORDER_LAST: "This variable is already the last.",
    Result.ERROR_LOCKED: "Your variables are locked: unlock them on the Account page to change them.",
    Result.ERROR_COOLDOWN: "Too soon: wait for the variable's cooldown.",
    Result.ERROR_MAX_VARIABLES: "You have as many variables as your plan allows.",
    Result.ERROR_USER_NOT_FOUND: "No account with that email accepts transfers.",
    Result.ERROR_TRANSFER_DISABLED: "That account does not accept transfers.",
    Result.ERROR_INVALID_FORMAT: "That picture size or colour is not valid.",
    Result.ERROR_UNCONFIRMED: "Confirm your email first: follow the link we sent you.",
    Result.ERROR_BANNED: "This account is banned.",
    Result.ERROR_INVALID_KEY: "You are not allowed to do that.",
    Result.ERROR_DB: "The database is not answering right now. Try again in a moment.",
}
