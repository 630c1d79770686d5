"""Passwords, hashed with argon2id (kept out of service.core: the gateway never needs them)."""

from __future__ import annotations

from argon2 import PasswordHasher

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Raises argon2.exceptions.VerificationError (a wrong password) or InvalidHashError."""
    return _hasher.verify(stored, password)
