"""Who a request acts as, and the access rule (DESIGN.md §3, check 3), written once.

A front door names the acting party as an `Actor`: by API key (a device), by account (a user
signed in to the dashboard), or nobody (a public request). The rule is then the same for all:

    a request from a banned IP address is refused (error_invalid_key); otherwise a public
    request goes on as nobody; otherwise the account must exist (error_invalid_key), not be
    banned (error_banned) and be confirmed (error_unconfirmed).

In SQL, `USABLE` is that rule as a condition on the joined account row `a` (the write statement
filters with it, so that a refused request writes nothing), and `ACCESS_COLUMNS` are what
`check_access` reads to name the failure. Both take the actor's credential as $1 and its client
address as $2.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from asyncpg import Record

from service.core.results import Result, VariPassError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Which account row acts, as the join condition on accounts `a`.
BY_KEY = "a.key_hash = $1::bytea"
BY_ACCOUNT = "a.id = $1::bigint"

IP_BANNED = "EXISTS (SELECT 1 FROM banned_ips b WHERE b.ip = $2::inet)"
USABLE = f"a.confirmed AND NOT a.banned AND NOT {IP_BANNED}"
ACCESS_COLUMNS = f"a.id AS account_id, a.banned, a.confirmed, a.locked, a.transfers_enabled, {IP_BANNED} AS ip_banned"


@dataclass(frozen=True, slots=True)
class Actor:
    """The party a request claims to act as, before the access rule has judged it."""

    key_hash: bytes | None = None
    account_id: int | None = None
    client_ip: IPAddress | None = None

    @classmethod
    def by_key(cls, key_hash: bytes, client_ip: IPAddress | None) -> Actor:
        return cls(key_hash=key_hash, client_ip=client_ip)

    @classmethod
    def by_account(cls, account_id: int, client_ip: IPAddress | None) -> Actor:
        return cls(account_id=account_id, client_ip=client_ip)

    @classmethod
    def public(cls, client_ip: IPAddress | None) -> Actor:
        return cls(client_ip=client_ip)

    @property
    def is_public(self) -> bool:
        return self.key_hash is None and self.account_id is None

    @property
    def who(self) -> str:
        """The SQL condition that finds the actor's account row (BY_KEY for a public actor: it matches none)."""
        return BY_ACCOUNT if self.account_id is not None else BY_KEY

    @property
    def credential(self) -> bytes | int | None:
        """The value of $1 in `who`."""
        return self.account_id if self.account_id is not None else self.key_hash


@dataclass(frozen=True, slots=True)
class Access:
    """The account a request acts as, once the access rule let it in."""

    account_id: int
    locked: bool
    transfers_enabled: bool


def check_access(row: Record, *, public: bool) -> Access | None:
    """Apply the rule to a row holding ACCESS_COLUMNS.

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
    return Access(row["account_id"], row["locked"], row["transfers_enabled"])
