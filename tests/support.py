"""Helpers the tests share: a synchronous handle on the test database and an API client."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx

from service.auth import key_hash, new_key

T = TypeVar("T")
TRANSPORTS = ("get", "json", "form")


def random_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@Example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Db:
    """A connection to the test database, driven synchronously from tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self.run(asyncpg.connect(url))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coro)

    def execute(self, sql: str, *args: Any) -> str:
        return self.run(self._conn.execute(sql, *args))

    def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return self.run(self._conn.fetch(sql, *args))

    def fetchval(self, sql: str, *args: Any) -> Any:
        return self.run(self._conn.fetchval(sql, *args))

    def close(self) -> None:
        self.run(self._conn.close())
        self._loop.close()


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    key: str


def make_account(
    db: Db,
    *,
    confirmed: bool = True,
    banned: bool = False,
    locked: bool = False,
    transfers_enabled: bool = False,
    max_variables: int = 100,
) -> Account:
    email, key = random_email(), new_key()
    account_id = db.fetchval(
        """
        INSERT INTO accounts (email, key_hash, confirmed, banned, locked, transfers_enabled, max_variables)
        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
        """,
        email,
        key_hash(key),
        confirmed,
        banned,
        locked,
        transfers_enabled,
        max_variables,
    )
    return Account(account_id, email, key)


class Api:
    """Calls the running service the three ways the protocol allows."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def request(self, transport: str = "get", **params: Any) -> httpx.Response:
        """Send `params` (None values left out) as a GET query, a JSON body or a form body."""
        params = {k: v for k, v in params.items() if v is not None}
        if transport == "get":
            return self.http.get("/", params={k: _text(v) for k, v in params.items()})
        if transport == "json":
            return self.http.post("/", content=json.dumps(params), headers={"Content-Type": "application/json"})
        if transport == "form":
            return self.http.post("/", data={k: _text(v) for k, v in params.items()})
        raise ValueError(transport)

    def call(self, action: str, key: str | None = None, transport: str = "get", **params: Any) -> dict[str, Any]:
        """A JSON action's answer, decoded."""
        response = self.request(transport, action=action, key=key, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        data: dict[str, Any] = response.json()
        return data

    def simple(self, action: str, key: str | None = None, transport: str = "get", **params: Any) -> str:
        """A simple action's answer, as its exact text."""
        response = self.request(transport, action=action, key=key, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        return response.text

    def create(self, key: str, **params: Any) -> str:
        """Create a variable (a float named T unless told otherwise) and return its id."""
        params = {"type": "float", "name": "T", **params}
        data = self.call("create", key, **params)
        assert data["result"] == "success", data
        return str(data["id"])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lift_cooldown(db: Db, var_id: str, seconds: int = 22_000) -> None:
    """Move a variable's last write (and its history) back, as if time had passed.

    The default is longer than any cooldown (a year of history cools down 21,900 s) and
    shorter than the default expire of a day.
    """
    back = f"make_interval(secs => {seconds})"
    db.execute(
        f"UPDATE variables SET last_write = last_write - {back}, value_time = value_time - {back} WHERE id = $1",
        var_id,
    )
    db.execute(f"UPDATE history SET time = time - {back} WHERE variable_id = $1", var_id)


def history_rows(db: Db, var_id: str) -> int:
    return int(db.fetchval("SELECT count(*) FROM history WHERE variable_id = $1", var_id))


def snapshot(db: Db, account: Account) -> list[tuple[Any, ...]]:
    """Everything stored for an account, to assert that a refused request changed nothing."""
    variables = db.fetch("SELECT * FROM variables WHERE account_id = $1 ORDER BY id", account.id)
    history = db.fetch("SELECT * FROM history WHERE account_id = $1 ORDER BY variable_id, time", account.id)
    flags = db.fetch("SELECT * FROM accounts WHERE id = $1", account.id)
    return [tuple(r.values()) for r in [*flags, *variables, *history]]
