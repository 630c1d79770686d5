"""API keys and passwords, and who a request acts as."""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from asyncpg import Record

from service.results import Result, VariPassError

KEY_LENGTH = 16
ID_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits
_hasher = PasswordHasher()


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_key() -> str:
    return random_token(KEY_LENGTH)


def new_variable_id() -> str:
    return random_token(ID_LENGTH)


def key_hash(key: str) -> bytes:
    """Only this SHA-256 of a key is stored; the key itself is shown once."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True, slots=True)
class Access:
    """The account a request with a valid key acts as."""

    account_id: int
    locked: bool
    transfers_enabled: bool


def check_access(row: Record, *, public: bool) -> Access | None:
    """Apply DESIGN.md §3 check 3 to a row shaped like db.accounts.ACCESS_SQL.

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
