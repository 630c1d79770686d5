"""REST v1 against a real `varistore api` process on the session's database.

The log-in throttles are off in the shared server (the tests make many accounts from one address);
tests/rest/test_auth.py runs a server of its own with them on.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from service.passwords import hash_password
from tests.harness import http_client, running_api
from tests.support import Account, Db, make_account

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)  # once: argon2 is slow on purpose
NO_THROTTLES = {"limit_per_ip_accounts": "", "limit_per_account": ""}


@pytest.fixture(scope="session")
def rest_base(db_url: str) -> Iterator[str]:
    with running_api(db_url, **NO_THROTTLES) as (_, base):
        yield base


@pytest.fixture
def http(rest_base: str) -> Iterator[httpx.Client]:
    with http_client(rest_base) as client:
        yield client


def with_password(db: Db, account: Account) -> Account:
    """The account, with PASSWORD as its password."""
    db.execute("UPDATE accounts SET password_hash = $1 WHERE id = $2", _HASH, account.id)
    return account


def basic(account: Account, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{account.email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def key_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Rest:
    """A REST client for one test, and the database."""

    http: httpx.Client
    db: Db

    def owner(self, **options: Any) -> Account:
        return with_password(self.db, make_account(self.db, **options))

    def create(self, key: str, **fields: Any) -> str:
        body = {"type": "float", "name": "T", **fields}
        answer = self.http.post("/api/v1/variables", json=body, headers=key_header(key))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def scoped(self, key: str, **fields: Any) -> str:
        answer = self.http.post("/api/v1/keys", json=fields, headers=key_header(key))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["key"])

    def token(self, account: Account) -> str:
        answer = self.http.post("/api/v1/auth", json={"email": account.email, "password": PASSWORD})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])


@pytest.fixture
def rest(http: httpx.Client, db: Db) -> Rest:
    return Rest(http, db)


def error_of(answer: httpx.Response) -> str:
    """The result code of an error answer, after checking the body is exactly the error shape."""
    assert answer.headers["content-type"] == "application/json", answer.text
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["code"])
