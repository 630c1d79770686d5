"""API keys and variable ids (DESIGN.md §3 "Accounts and limits"): random, and keys stored hashed."""

from __future__ import annotations

import hashlib
import secrets
import string

KEY_LENGTH = 16
ID_LENGTH = 8
# Scoped keys and API tokens (issue 14) say what they are: an account's key never has an underscore.
SCOPED_KEY_PREFIX = "vk_"
TOKEN_PREFIX = "vt_"
SECRET_LENGTH = 32  # of a scoped key or a token, after its prefix
_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_key() -> str:
    return random_token(KEY_LENGTH)


def new_scoped_key() -> str:
    return SCOPED_KEY_PREFIX + random_token(SECRET_LENGTH)


def new_api_token() -> str:
    return TOKEN_PREFIX + random_token(SECRET_LENGTH)


def new_variable_id() -> str:
    return random_token(ID_LENGTH)


def key_hash(key: str) -> bytes:
    """Only this SHA-256 of a key is stored; the key itself is shown once."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
