"""Who a REST request acts as: its credentials, read from wherever clients put them, and the Actor
they name (the same actors as the protocol's, service/core/access.py; the access rule is the use
case's, never this module's).

Where a secret (an account's key, a scoped key `vk_…` or a token `vt_…`) may come from, first found wins:
`Authorization: Bearer <secret>`, `Authorization: Token <secret>` (InfluxDB 2 clients),
`Authorization: Basic <email:password>` (a person: the password is checked here), the `X-API-Key`
header, and the `api_key` query parameter (Mycodo's conventions; logs redact it, service/core/logs.py).
No credentials at all: a public request, which only reads of public variables get past.

HTTP Basic costs an argon2 verification (about 50 ms of CPU), so it must not be a lever on the CPU:
a verification is counted against the dashboard's log-in throttles (per address and per email), and
a password that matched is remembered for as long as the account's password hash stays the same
(an HMAC of email and password under a secret of the process, never the password), so that a
script sending Basic on every request costs one lookup per request, not one argon2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections import OrderedDict

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request

from service.actions import accounts
from service.actions.context import Services
from service.actions.params import Email
from service.core.access import Actor, IPAddress
from service.core.ids import key_hash
from service.core.records import record
from service.core.results import Result, VariPassError
from service.db import accounts as db_accounts
from service.web.auth import Throttles

MAX_SECRET = 256  # characters: no key or token is longer, and nothing longer is hashed
THROTTLE_RETRY_AFTER = 60  # seconds a refused password check is told to wait (the throttles count per minute)
REMEMBERED = 1024  # passwords that matched, per process
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)  # as an email parameter of the use cases is read


@record
class Credentials:
    """What a request presents: a secret, or an email and password (Basic), or nothing."""

    secret: str | None = None
    email: str | None = None
    password: str | None = None

    @property
    def flood_identity(self) -> bytes | None:
        """What the per-key flood limit counts: the hash of the secret, or of the email a password comes with."""
        identity = self.secret if self.secret is not None else self.email
        return None if identity is None else key_hash(identity)

    @property
    def anonymous(self) -> bool:
        return self.secret is None and self.email is None


NOBODY = Credentials()


def invalid() -> VariPassError:
    return VariPassError(Result.ERROR_INVALID_KEY)


def _secret(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_SECRET:
        raise invalid()
    return text


def basic(value: str) -> tuple[str, str]:
    """The email and password of a Basic `value` (after the scheme).

    Raises:
        VariPassError: error_invalid_key, for a value that is not base64 of `email:password`.
    """
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid() from None
    email, colon, password = decoded.partition(":")
    if not colon or not email.strip() or len(decoded) > accounts.MAX_PASSWORD + 300:
        raise invalid()
    return email.strip(), password


def credentials(request: Request) -> Credentials:
    """The request's credentials.

    Raises:
        VariPassError: error_invalid_key for an Authorization header of an unknown scheme, or malformed.
    """
    authorization = key = None
    for name, value in request.scope["headers"]:  # one pass over the raw headers, the first of each
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"x-api-key" and key is None:
            key = value.decode("latin-1")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme in ("bearer", "token"):
            return Credentials(secret=_secret(value))
        if scheme == "basic":
            email, password = basic(value)
            return Credentials(email=email, password=password)
        raise invalid()
    if key is None and request.scope["query_string"]:
        key = request.query_params.get("api_key")
    return NOBODY if key is None else Credentials(secret=_secret(key))


class Passwords:
    """Password checks for Basic and POST /api/v1/auth: throttled, and remembered once they matched."""

    def __init__(self, services: Services, throttles: Throttles) -> None:
        self._services = services
        self._throttles = throttles
        self._pepper = secrets.token_bytes(32)
        self._matched: OrderedDict[bytes, str] = OrderedDict()  # HMAC(email, password) -> the hash it matched

    def _digest(self, email: str, password: str) -> bytes:
        text = f"{email.lower()}\0{password}".encode("utf-8", "surrogatepass")
        return hmac.new(self._pepper, text, hashlib.sha256).digest()

    async def check(self, email: str, password: str, client_ip: IPAddress | None, *, remember: bool) -> Actor:
        """The account whose email and password these are, as an actor (the access rule comes later,
        in the use case: a banned account still answers error_banned).

        Raises:
            VariPassError: error_invalid_key for a wrong email or password; error_cooldown with 429
                when the address or the email has spent its attempts.
        """
        try:
            email = _EMAIL.validate_python(email)
        except ValidationError:  # NUL, a lone surrogate, past 254 characters: no account has it
            raise invalid() from None
        async with self._services.database.connection() as conn:
            account = await db_accounts.select_by_email(conn, email)
        digest = self._digest(email, password)
        if remember and account is not None and account.password_hash is not None:
            if self._matched.get(digest) == account.password_hash:
                self._matched.move_to_end(digest)
                return Actor.by_account(account.id, client_ip)
        if await self._throttles.refused(client_ip, email):
            retry = {"Retry-After": str(THROTTLE_RETRY_AFTER)}
            raise VariPassError(Result.ERROR_COOLDOWN, status=429, headers=retry)
        if not await accounts.password_matches(account, password) or account is None:
            raise invalid()
        assert account.password_hash is not None
        if remember:
            self._matched[digest] = account.password_hash
            if len(self._matched) > REMEMBERED:
                self._matched.popitem(last=False)
        return Actor.by_account(account.id, client_ip)


async def actor_of(passwords: Passwords, found: Credentials, client_ip: IPAddress | None) -> Actor:
    """The actor the credentials name; a public one for none."""
    if found.secret is not None:
        return Actor.of_secret(found.secret, client_ip)
    if found.email is not None and found.password is not None:
        return await passwords.check(found.email, found.password, client_ip, remember=True)
    return Actor.public(client_ip)
