"""Sign-up, confirmation, log-in and out, password reset, and the account page with its forms.

No answer tells whether an email has an account: sign-up and reset answer the same either way, and
take about the same time (the password is hashed either way; emails go out in the background), and a
log-in with an unknown email verifies a dummy hash (service/actions/accounts.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.actions import accounts
from service.core.emails import InvalidEmail, checked_email
from service.db import accounts as db_accounts, sessions as db_sessions
from service.db.accounts import Account
from service.db.pool import Connection
from service.db.sessions import Purpose
from service.mail import MailError, Message
from service.varipass.transport import client_ip
from service.web import auth, emails
from service.web.app import Web, anonymous_form, page, redirect, signed, signed_form, web_of
from service.web.auth import SignedIn

log = logging.getLogger(__name__)

_background: set[asyncio.Task[None]] = set()


def _send_later(web: Web, message: Message) -> None:
    """Send an email without the page waiting for it: the answer must not depend on whether it went."""

    async def send() -> None:
        try:
            await web.mailer.send(message)
        except MailError:
            pass  # logged by the mailer; the person can ask again

    task = asyncio.create_task(send())
    _background.add(task)
    task.add_done_callback(_background.discard)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _safe_next(target: str) -> str:
    # Only our own pages: never an open redirect to another site.
    return target if target.startswith("/app/") and not target.startswith("//") else "/app/variables"


async def _start_session(web: Web, conn: Connection, request: Request, account: Account) -> str:
    """A session for the browser making `request`: the cookie's secret."""
    user_agent, ip = request.headers.get("user-agent", ""), client_ip(request)
    return await accounts.start_session(conn, account, web.settings.session_days, user_agent, ip)


async def _throttled(web: Web, request: Request, email: str | None) -> bool:
    return await web.throttles.refused(client_ip(request), email)


TOO_MANY = "Too many attempts: wait a minute and try again."


# -- Sign-up and confirmation -------------------------------------------------------------------------


async def signup_page(request: Request) -> Response:
    return page(request, "signup.html", {"email": ""})


async def signup(request: Request, form: FormData) -> Response:
    web = web_of(request)
    raw_email, password = _text(form, "email"), _text(form, "password")
    if await _throttled(web, request, None):
        return page(request, "signup.html", {"email": raw_email, "error": TOO_MANY}, status=429)
    try:
        email = checked_email(raw_email)
        accounts.check_password(password)
    except (InvalidEmail, accounts.AccountError) as exc:
        message = "Enter a valid email address." if isinstance(exc, InvalidEmail) else str(exc)
        return page(request, "signup.html", {"email": raw_email, "error": message}, status=422)
    base = web.public_url(request)
    async with web.connection() as conn:
        try:
            made = await accounts.create(
                conn, email, password, confirmed=False, max_variables=web.settings.plan.max_variables
            )
        except accounts.EmailTaken:
            _send_later(web, emails.already_registered(email, base))
        else:
            token = await accounts.email_link(conn, made.account.id, Purpose.CONFIRM, email, web.settings.token_minutes)
            _send_later(web, emails.confirm(email, f"{base}/app/confirm?token={token}", web.settings.token_minutes))
    return page(request, "check_email.html", {"email": email, "purpose": "confirm"})


async def _link_page(request: Request, purpose: Purpose, template: str) -> Response:
    """The page an emailed link opens: a button that uses the link (404 when it is unknown, used or
    expired). A button rather than acting on GET: mail scanners open links, and must not use them up."""
    token = request.query_params.get("token", "")
    async with web_of(request).connection() as conn:
        live = bool(token) and await db_sessions.peek_email_token(conn, purpose, token)
    return page(request, template, {"token": token, "live": live}, status=200 if live else 404)


async def confirm_page(request: Request) -> Response:
    return await _link_page(request, Purpose.CONFIRM, "confirm.html")


async def confirm(request: Request, form: FormData) -> Response:
    web = web_of(request)
    async with web.connection() as conn:
        made = await accounts.confirm(conn, _text(form, "token"))
        if made is None:
            return page(request, "confirm.html", {"token": "", "live": False}, status=404)
        cookie = await _start_session(web, conn, request, made.account)
        who = await auth.signed_in_by(conn, cookie, web.settings)
    response = page(request, "key.html", {"key": made.key, "first": True}, who=who)
    auth.set_session_cookie(response, request, web.settings, cookie)
    return response


# -- Log-in and out -----------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    return page(request, "login.html", {"email": "", "next": _safe_next(request.query_params.get("next", ""))})


async def login(request: Request, form: FormData) -> Response:
    web = web_of(request)
    email, password, target = _text(form, "email").strip(), _text(form, "password"), _safe_next(_text(form, "next"))
    context = {"email": email, "next": target}
    if await _throttled(web, request, email):
        return page(request, "login.html", {**context, "error": TOO_MANY}, status=429)
    async with web.connection() as conn:
        account = await db_accounts.select_by_email(conn, email) if email else None
        if not await accounts.password_matches(account, password) or account is None or account.banned:
            return page(request, "login.html", {**context, "error": "The email or the password is wrong."}, status=401)
        cookie = await _start_session(web, conn, request, account)
    response = redirect(target)
    auth.set_session_cookie(response, request, web.settings, cookie)
    return response


async def logout(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    await accounts.end_session(conn, who.account.id, who.session.id)
    response = redirect("/app/login")
    auth.clear_session_cookie(response)
    return response


# -- Password reset -----------------------------------------------------------------------------------


async def reset_page(request: Request) -> Response:
    return page(request, "reset.html", {"email": ""})


async def reset(request: Request, form: FormData) -> Response:
    web = web_of(request)
    email = _text(form, "email").strip()
    if await _throttled(web, request, email):
        return page(request, "reset.html", {"email": email, "error": TOO_MANY}, status=429)
    async with web.connection() as conn:
        account = await db_accounts.select_by_email(conn, email) if email else None
        if account is not None and not account.banned:
            token = await accounts.email_link(
                conn, account.id, Purpose.RESET, account.email, web.settings.token_minutes
            )
            link = f"{web.public_url(request)}/app/reset/new?token={token}"
            _send_later(web, emails.reset(account.email, link, web.settings.token_minutes))
    return page(request, "check_email.html", {"email": email, "purpose": "reset"})


async def new_password_page(request: Request) -> Response:
    return await _link_page(request, Purpose.RESET, "new_password.html")


async def new_password(request: Request, form: FormData) -> Response:
    web = web_of(request)
    token, password = _text(form, "token"), _text(form, "password")
    try:
        accounts.check_password(password)
    except accounts.AccountError as exc:
        return page(request, "new_password.html", {"token": token, "live": True, "error": str(exc)}, status=422)
    async with web.connection() as conn:
        if not await accounts.reset_password(conn, token, password):
            return page(request, "new_password.html", {"token": "", "live": False}, status=404)
    return redirect("/app/login?done=password")


# -- The account page ---------------------------------------------------------------------------------


async def _account_page(
    request: Request, conn: Connection, who: SignedIn, *, status: int = 200, **context: Any
) -> Response:
    sessions = await db_sessions.select_sessions(conn, who.account.id)
    return page(request, "account.html", {"sessions": sessions, **context}, who=who, status=status)


async def account_page(request: Request, conn: Connection, who: SignedIn) -> Response:
    return await _account_page(request, conn, who, done=request.query_params.get("done"))


async def regenerate_key(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    made = await accounts.regenerate_key(conn, who.account)
    return page(request, "key.html", {"key": made.key, "first": False}, who=SignedIn(made.account, who.session))


async def settings(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    await db_accounts.update_flags(
        conn, who.account.email, locked=form.get("locked") == "on", transfers_enabled=form.get("transfers") == "on"
    )
    return redirect("/app/account?done=settings")


async def _password_ok(who: SignedIn, form: FormData) -> bool:
    return await accounts.password_matches(who.account, _text(form, "password"))


async def change_password(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    if not await _password_ok(who, form):
        return await _account_page(request, conn, who, status=401, password_error="Your current password is wrong.")
    try:
        await accounts.set_password(conn, who.account.id, _text(form, "new_password"), keep_session=who.session.id)
    except accounts.AccountError as exc:
        return await _account_page(request, conn, who, status=422, password_error=str(exc))
    return redirect("/app/account?done=password")


async def change_email(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    web = web_of(request)
    if not await _password_ok(who, form):
        return await _account_page(request, conn, who, status=401, email_error="Your password is wrong.")
    try:
        email = checked_email(_text(form, "email"))
    except InvalidEmail:
        return await _account_page(request, conn, who, status=422, email_error="Enter a valid email address.")
    token = await accounts.email_link(conn, who.account.id, Purpose.EMAIL, email, web.settings.token_minutes)
    link = f"{web.public_url(request)}/app/email?token={token}"
    _send_later(web, emails.change_email(email, link, web.settings.token_minutes))
    return redirect("/app/account?done=email")


async def email_page(request: Request) -> Response:
    return await _link_page(request, Purpose.EMAIL, "email_confirm.html")


async def confirm_email(request: Request, form: FormData) -> Response:
    async with web_of(request).connection() as conn:
        try:
            account = await accounts.change_email(conn, _text(form, "token"))
        except accounts.EmailTaken as exc:
            return page(request, "email_confirm.html", {"token": "", "live": False, "error": str(exc)}, status=409)
    if account is None:
        return page(request, "email_confirm.html", {"token": "", "live": False}, status=404)
    return page(request, "email_confirm.html", {"token": "", "live": False, "changed": account.email})


async def end_session(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    target = _text(form, "session")
    if target == "others":
        await accounts.end_sessions(conn, who.account.id, keep=who.session.id)
    elif target.isdigit():
        await accounts.end_session(conn, who.account.id, int(target))
    if target == str(who.session.id):
        response = redirect("/app/login")
        auth.clear_session_cookie(response)
        return response
    return redirect("/app/account?done=sessions")


async def delete_account(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    if not await _password_ok(who, form):
        return await _account_page(request, conn, who, status=401, delete_error="Your password is wrong.")
    await accounts.delete(conn, who.account.id)
    response = page(request, "deleted.html", {"email": who.account.email})
    auth.clear_session_cookie(response)
    return response


async def socket_token(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    """A fresh token for the page's WebSocket (the page asks again after each disconnect)."""
    token = await accounts.socket_token(conn, who.session)
    return JSONResponse(
        {"token": token, "url": web_of(request).gateway_url(request)}, headers={"Cache-Control": "no-store"}
    )


ROUTES = [
    Route("/app/signup", signup_page, methods=["GET"]),
    Route("/app/signup", anonymous_form(signup), methods=["POST"]),
    Route("/app/confirm", confirm_page, methods=["GET"]),
    Route("/app/confirm", anonymous_form(confirm), methods=["POST"]),
    Route("/app/login", login_page, methods=["GET"]),
    Route("/app/login", anonymous_form(login), methods=["POST"]),
    Route("/app/logout", signed_form(logout), methods=["POST"]),
    Route("/app/reset", reset_page, methods=["GET"]),
    Route("/app/reset", anonymous_form(reset), methods=["POST"]),
    Route("/app/reset/new", new_password_page, methods=["GET"]),
    Route("/app/reset/new", anonymous_form(new_password), methods=["POST"]),
    Route("/app/email", email_page, methods=["GET"]),
    Route("/app/email", anonymous_form(confirm_email), methods=["POST"]),
    Route("/app/account", signed(account_page), methods=["GET"]),
    Route("/app/account/key", signed_form(regenerate_key), methods=["POST"]),
    Route("/app/account/settings", signed_form(settings), methods=["POST"]),
    Route("/app/account/password", signed_form(change_password), methods=["POST"]),
    Route("/app/account/email", signed_form(change_email), methods=["POST"]),
    Route("/app/account/sessions", signed_form(end_session), methods=["POST"]),
    Route("/app/account/delete", signed_form(delete_account), methods=["POST"]),
    Route("/app/socket-token", signed_form(socket_token), methods=["POST"]),
]
