"""Who a page request is: the session cookie, the CSRF checks of every form, and the throttles of
log-in, sign-up and reset.

The session cookie holds a random secret whose hash names a row of `sessions` (revocable, expiring,
listed on the account page). CSRF: every state-changing form carries a token the page was rendered
with (the session's, or for forms before log-in one kept in a cookie of its own, double-submit), and
a browser's Origin and Sec-Fetch-Site must say the form came from this site. The protocol endpoint
`/` is not under /app and never sees any of this: devices carry no cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from service.core.access import IPAddress
from service.core.ids import key_hash
from service.core.records import record
from service.core.settings import Settings
from service.db import accounts as db_accounts, sessions as db_sessions
from service.db.accounts import Account
from service.db.pool import Connection
from service.db.sessions import Session
from service.varipass.floods import Counters, Limit, ip_identity, limits_of

SESSION_COOKIE = "varistore_session"
CSRF_COOKIE = "varistore_csrf"  # for the forms shown before log-in
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"  # the pages' own fetch() calls
MAX_FORM_BYTES = 64 * 1024


@record
class SignedIn:
    account: Account
    session: Session


def is_https(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


async def signed_in(conn: Connection, request: Request, settings: Settings) -> SignedIn | None:
    return await signed_in_by(conn, request.cookies.get(SESSION_COOKIE, ""), settings)


async def signed_in_by(conn: Connection, token: str, settings: Settings) -> SignedIn | None:
    """The live session whose cookie holds `token`, and its account."""
    if not token or len(token) > 100:
        return None
    session = await db_sessions.select_session(conn, token, settings.session_days)
    if session is None:
        return None
    account = await db_accounts.select_account(conn, session.account_id)
    return SignedIn(account, session) if account is not None else None


def set_session_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        path="/app",
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/app", httponly=True, samesite="lax")


def anonymous_csrf(request: Request) -> str:
    """The token of the forms shown before log-in: the one in the browser's cookie, or a new one that
    `keep_anonymous_csrf` sets."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if 20 <= len(token) <= 100 else secrets.token_urlsafe(24)


def keep_anonymous_csrf(response: Response, request: Request, settings: Settings, token: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, path="/app", httponly=True, samesite="lax", secure=is_https(request, settings)
        )


def same_site(request: Request) -> bool:
    """What the browser says of where a form came from: refused when another site sent it."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        return urlsplit(origin).netloc == request.headers.get("host", "")
    return origin is None


def csrf_ok(request: Request, form: FormData | None, who: SignedIn | None) -> bool:
    """Whether a state-changing request carries its page's token and came from this site."""
    sent = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form is not None else None)
    expected = who.session.csrf_token if who is not None else request.cookies.get(CSRF_COOKIE)
    return (
        isinstance(sent, str)
        and expected is not None
        and secrets.compare_digest(sent.encode(), expected.encode())
        and same_site(request)
    )


class Throttles:
    """Log-in, sign-up and reset attempts per client address and per email (DESIGN.md §8): guessing
    passwords and mailing strangers cost the attacker time, not us."""

    def __init__(self, settings: Settings) -> None:
        self.per_ip = limits_of(settings.limit_per_ip_accounts)
        self.per_account = limits_of(settings.limit_per_account)
        self._counters = Counters(settings.limit_storage) if self.per_ip or self.per_account else None

    async def refused(self, ip: IPAddress | None, email: str | None) -> bool:
        if self._counters is None:
            return False
        checks: list[tuple[Sequence[Limit], tuple[str, str]]] = []
        if self.per_ip and ip is not None:
            checks.append((self.per_ip, ("web-ip", ip_identity(ip))))
        if self.per_account and email:
            checks.append((self.per_account, ("web-email", key_hash(email.strip().lower()).hex())))
        return await self._counters.refusal(checks) is not None
