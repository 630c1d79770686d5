"""Who a request acts as, and the access rule (DESIGN.md §3, check 3), written once.

A front door names the acting party as an `Actor`: by API key (a device), by account (a user
signed in to the dashboard), or nobody (a public request). The rule is then the same for all:

    a request from a banned IP address is refused (error_invalid_key); otherwise a public
    request goes on as nobody; otherwise the account must exist (error_invalid_key), not be
    banned (error_banned) and be confirmed (error_unconfirmed).

In SQL, `USABLE` is that rule as a condition on the joined account row `a` (the write statement
filters with it, so that a refused request writes nothing), and `access_columns(who)` are what
`check_access` reads to name the failure. Both take the actor's credential as $1 and its client
address as $2.

A scoped key (issue 14) acts as its account within limits: the variables it names (all, when it
names none) and whether it may read, write or both. Its limits come with the access columns
(`scope_*`, NULL for every other actor); a variable outside them is as if it did not exist
(error_invalid_id), and what the key may not do at all is `Forbidden`.
"""

from __future__ import annotations

import ipaddress

from asyncpg import Record

from service.core.ids import SCOPED_KEY_PREFIX, TOKEN_PREFIX, key_hash
from service.core.records import record
from service.core.results import Forbidden, Result, VariPassError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Which account row acts, as the join condition on accounts `a`.
BY_KEY = "a.key_hash = $1::bytea"
BY_SCOPED_KEY = "a.id = (SELECT k.account_id FROM scoped_keys k WHERE k.key_hash = $1::bytea)"
# A token from POST /api/v1/auth acts as the account that signed in with its password, until it expires.
BY_TOKEN = (
    "a.id = (SELECT t.account_id FROM api_tokens t WHERE t.token_hash = $1::bytea"
    " AND t.expires_at > statement_timestamp())"
)
BY_ACCOUNT = "a.id = $1::bigint"
WHO = (BY_KEY, BY_SCOPED_KEY, BY_TOKEN, BY_ACCOUNT)

IP_BANNED = "EXISTS (SELECT 1 FROM banned_ips b WHERE b.ip = $2::inet)"
USABLE = f"a.confirmed AND NOT a.banned AND NOT {IP_BANNED}"
_SCOPE = ("id", "can_read", "can_write", "variable_ids")
_NO_SCOPE = ("NULL::bigint", "NULL::bool", "NULL::bool", "NULL::text[]")


def access_columns(who: str) -> str:
    """The columns check_access reads, for the actor kind `who`."""
    if who == BY_SCOPED_KEY:
        scope = [f"(SELECT k.{c} FROM scoped_keys k WHERE k.key_hash = $1::bytea)" for c in _SCOPE]
    else:
        scope = list(_NO_SCOPE)
    named = ", ".join(f"{sql} AS scope_{c}" for sql, c in zip(scope, _SCOPE, strict=True))
    account = "a.id AS account_id, a.banned, a.confirmed, a.locked, a.transfers_enabled"
    return f"{account}, {IP_BANNED} AS ip_banned, {named}"


def may_write(who: str) -> str:
    """The condition on variable `v` that the actor may write it (its scope, for a scoped key)."""
    if who != BY_SCOPED_KEY:
        return "true"
    return (
        "EXISTS (SELECT FROM scoped_keys k WHERE k.key_hash = $1::bytea AND k.can_write"
        " AND (k.variable_ids IS NULL OR v.id = ANY (k.variable_ids)))"
    )


@record
class Actor:
    """The party a request claims to act as, before the access rule has judged it."""

    key_hash: bytes | None = None
    account_id: int | None = None
    client_ip: IPAddress | None = None
    who: str = BY_KEY  # the SQL condition that finds the actor's account row (BY_KEY matches none for public)

    @classmethod
    def by_key(cls, key_hash: bytes, client_ip: IPAddress | None) -> Actor:
        return cls(key_hash=key_hash, client_ip=client_ip)

    @classmethod
    def of_secret(cls, secret: str, client_ip: IPAddress | None) -> Actor:
        """The actor a presented secret names: an account's key, a scoped key or an API token,
        told apart by their form (service/core/ids.py)."""
        if secret.startswith(SCOPED_KEY_PREFIX):
            who = BY_SCOPED_KEY
        elif secret.startswith(TOKEN_PREFIX):
            who = BY_TOKEN
        else:
            who = BY_KEY
        return cls(key_hash=key_hash(secret), client_ip=client_ip, who=who)

    @classmethod
    def by_account(cls, account_id: int, client_ip: IPAddress | None) -> Actor:
        return cls(account_id=account_id, client_ip=client_ip, who=BY_ACCOUNT)

    @classmethod
    def public(cls, client_ip: IPAddress | None) -> Actor:
        return cls(client_ip=client_ip)

    @property
    def is_public(self) -> bool:
        return self.key_hash is None and self.account_id is None

    @property
    def credential(self) -> bytes | int | None:
        """The value of $1 in `who`."""
        return self.account_id if self.account_id is not None else self.key_hash

    @property
    def address(self) -> bytes | None:
        """The value of $2 in `who` (inet): the packed address. asyncpg's inet encoder makes an
        address of what it is given: of an address object, through its text (~7 µs); of its
        packed bytes, at once (0.25 µs)."""
        return None if self.client_ip is None else self.client_ip.packed


@record
class Scope:
    """A scoped key's limits."""

    key_id: int
    read: bool
    write: bool
    variables: frozenset[str] | None  # None: every variable of the account, those made later too

    def covers(self, var_id: str) -> bool:
        return self.variables is None or var_id in self.variables


@record
class Access:
    """The account a request acts as, once the access rule let it in."""

    account_id: int
    locked: bool
    transfers_enabled: bool
    scope: Scope | None = None  # a scoped key's limits; None: the whole account

    def require(self, *, read: bool = False, write: bool = False, var_id: str | None = None) -> None:
        """What a use case needs of the key: to read, to write, the variable `var_id`; with neither
        read nor write, the whole account (creating, editing, keys).

        Raises:
            Forbidden: a scoped key that may not read, or write, or do this at all.
            VariPassError: error_invalid_id, a variable outside the key's list.
        """
        scope = self.scope
        if scope is None:
            return
        if not (read or write) or (read and not scope.read) or (write and not scope.write):
            raise Forbidden()
        if var_id is not None and not scope.covers(var_id):
            raise VariPassError(Result.ERROR_INVALID_ID)


def check_access(row: Record, *, public: bool) -> Access | None:
    """Apply the rule to a row holding access_columns(who).

    Returns None for a public request (no key on a public-capable action).

    Raises:
        VariPassError: error_invalid_key (unknown key, or a banned IP), error_banned,
            error_unconfirmed.
    """
    if row["ip_banned"]:
        raise VariPassError(Result.ERROR_INVALID_KEY)
    if public:
        return None
    if row["account_id"] is None:
        raise VariPassError(Result.ERROR_INVALID_KEY)
    if row["banned"]:
        raise VariPassError(Result.ERROR_BANNED)
    if not row["confirmed"]:
        raise VariPassError(Result.ERROR_UNCONFIRMED)
    scope = None
    if row["scope_id"] is not None:
        ids = row["scope_variable_ids"]
        variables = None if ids is None else frozenset(ids)
        scope = Scope(row["scope_id"], row["scope_can_read"], row["scope_can_write"], variables)
    return Access(row["account_id"], row["locked"], row["transfers_enabled"], scope)
