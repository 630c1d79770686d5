"""Helpers the tests share: a synchronous handle on the test database and an API client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from service.core.ids import key_hash, new_key
from tests.harness import http_client, scaled

T = TypeVar("T")
TRANSPORTS = ("get", "json", "form")


def random_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@Example.com"


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


def account_on(url: str, **options: Any) -> Account:
    """An account made in the database at `url` (a PostgreSQL of a test's own); `options` as make_account's."""
    db = Db(url)
    try:
        return make_account(db, **options)
    finally:
        db.close()


class Api:
    """Calls the running service the three ways the protocol allows."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = http_client(base_url)

    def request(self, transport: str = "get", headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        """Send `params` (None values left out) as a GET query, a JSON body or a form body."""
        params = {k: v for k, v in params.items() if v is not None}
        if transport == "get":
            return self.http.get("/", params={k: _text(v) for k, v in params.items()}, headers=headers)
        if transport == "json":
            # json.dumps, not httpx's json=: tests send NaN and infinities, which httpx refuses.
            body = json.dumps(params)
            return self.http.post("/", content=body, headers={"Content-Type": "application/json", **(headers or {})})
        if transport == "form":
            return self.http.post("/", data={k: _text(v) for k, v in params.items()}, headers=headers)
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

    def listed(self, key: str) -> list[str]:
        """The ids of the key's variables, in its list order."""
        data = self.call("list", key)
        assert data["result"] == "success", data
        return list(data["list"])

    def history_values(self, key: str | None, var: str) -> list[Any]:
        """The values in a variable's history, newest first."""
        data = self.call("history", key, id=var)
        assert data["result"] == "success", data
        return [point["value"] for point in data["history"]]


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


@contextmanager
def unchanged(db: Db, *accounts: Account) -> Iterator[None]:
    """Assert that what runs inside the block leaves everything stored for `accounts` as it was."""
    before = [snapshot(db, account) for account in accounts]
    yield
    assert [snapshot(db, account) for account in accounts] == before


def lock(db: Db, account: Account) -> None:
    db.execute("UPDATE accounts SET locked = true WHERE id = $1", account.id)


# Who calls, in the parameter tables of the action tests.
WRONG_KEY = "WrongKey12345678"  # well formed, but no account has it
UNKNOWN_ID = "nOsUcH00"  # well formed, but no variable has it
NO_ACCOUNT_KEYS = [None, "", WRONG_KEY]  # keys that name no account


def persona_key(db: Db, who: str, owner: Account) -> str | None:
    """The key `who` sends: "alice" the owner's own, "anonymous" none, "wrong" one no account has,
    "banned" and "unconfirmed" the key of a new account in that state."""
    match who:
        case "alice":
            return owner.key
        case "anonymous":
            return None
        case "wrong":
            return WRONG_KEY
        case "banned":
            return make_account(db, banned=True).key
        case "unconfirmed":
            return make_account(db, confirmed=False).key
    raise ValueError(who)


# Personas refused by every action that needs a key, whatever else they send.
UNUSABLE_KEYS = [
    ("anonymous", "error_invalid_key"),
    ("wrong", "error_invalid_key"),
    ("banned", "error_banned"),
    ("unconfirmed", "error_unconfirmed"),
]

# Account flags that refuse every action, and the answer each gets.
ACCOUNT_STATES = [({"banned": True}, "error_banned"), ({"confirmed": False}, "error_unconfirmed")]


# Variables as the spec describes them.
# The spec's edit example; its info example answers exactly these fields (and cooldown 60), in this order.
HUMIDITY = {
    "type": "int",
    "name": "Humidity",
    "description": "Humidity measured by the sensor.",
    "unit": "%",
    "graph": True,
    "perc": False,
    "min": 0,
    "max": 10,
    "expire": 86400,
    "public": False,
}

# What a variable created with only a type and a name holds.
VARIABLE_DEFAULTS = {
    "description": "",
    "unit": "",
    "graph": True,
    "perc": False,
    "min": 0,
    "max": 0,
    "expire": 86400,
    "cooldown": 60,
    "public": False,
}


def _ids(table: dict[str, Any]) -> list[Any]:
    """A parameter table, each value under its own test id."""
    return [pytest.param(value, id=name) for name, value in table.items()]


# Parameters create and edit refuse with error_invalid_parameters (beside a valid type and name).
MALFORMED_VARIABLE_PARAMETERS = _ids(
    {
        "no-type": {"type": None},
        "no-name": {"name": None},
        "empty-name": {"name": ""},
        "expire-negative": {"expire": -1},
        "expire-over-a-year": {"expire": 31536001},
        "expire-fraction": {"expire": "1.5"},
        "expire-text": {"expire": "soon"},
        "graph-yes": {"graph": "yes"},
        "perc-on": {"perc": "on"},
        "perc-no": {"perc": "no"},
        "public-2": {"public": "2"},
        "min-nan-text": {"min": "nan"},
        "max-nan-text": {"max": "NaN"},
        "min-nan": {"min": float("nan")},
        "max-inf": {"max": float("inf")},
        "max-minus-inf": {"max": float("-inf")},
        "min-infinity-text": {"min": "-Infinity"},
        "min-text": {"min": "ten"},
        "max-text": {"max": "ten"},
    }
)

# JSON members (raw text, so that JSON can carry what Python would not send) create and edit refuse.
MALFORMED_JSON_VARIABLE_MEMBERS = _ids(
    {
        "nan": '"min":NaN',
        "infinity": '"max":Infinity',
        "minus-infinity": '"max":-Infinity',
        "overflow": '"min":1e999',
        "max-overflow": '"max":1e999',
        "graph-yes": '"graph":"yes"',
        "graph-2": '"graph":2',
        "perc-2": '"perc":2',
        "public-yes": '"public":"yes"',
        "expire-fraction": '"expire":1.5',
        "expire-bool": '"expire":true',
        "min-bool": '"min":true',
    }
)


@dataclass(frozen=True)
class Sample:
    """A value of one type: as a write sends it, as read answers it, as compact JSON and as simple text."""

    type: str
    sent: object
    value: object
    json: str
    text: str

    def __str__(self) -> str:
        return f"{self.type}-{self.sent!r}"


# Values each type accepts, and how every reading action shows them.
SAMPLES = [
    Sample("int", 48, 48, "48", "48"),
    Sample("int", "-17", -17, "-17", "-17"),
    Sample("int", str(2**63 - 1), 2**63 - 1, str(2**63 - 1), str(2**63 - 1)),
    Sample("int", -(2**63), -(2**63), str(-(2**63)), str(-(2**63))),
    Sample("float", 25.3, 25.3, "25.3", "25.3"),
    Sample("float", 20, 20.0, "20.0", "20.0"),
    Sample("float", "20", 20.0, "20.0", "20.0"),
    Sample("float", "0.1234", 0.1234, "0.1234", "0.1234"),
    Sample("float", "0.30000000000000004", 0.30000000000000004, "0.30000000000000004", "0.30000000000000004"),
    Sample("float", "1e3", 1000.0, "1000.0", "1000.0"),
    Sample("bool", True, True, "true", "true"),
    Sample("bool", False, False, "false", "false"),
    Sample("bool", "true", True, "true", "true"),
    Sample("bool", "FALSE", False, "false", "false"),
    Sample("bool", "1", True, "true", "true"),
    Sample("bool", "0", False, "false", "false"),
    Sample("string", "VariPass is awesome!", "VariPass is awesome!", '"VariPass is awesome!"', "VariPass is awesome!"),
    Sample("string", "°C ünïcode ✓", "°C ünïcode ✓", '"°C ünïcode ✓"', "°C ünïcode ✓"),
    Sample("string", 'say "hi"', 'say "hi"', '"say \\"hi\\""', 'say "hi"'),
    Sample("string", "", "", '""', ""),
]

# What a variable of each type holds before its first write.
ZEROS = [
    Sample("int", 0, 0, "0", "0"),
    Sample("float", 0.0, 0.0, "0.0", "0.0"),
    Sample("bool", False, False, "false", "false"),
    Sample("string", "", "", '""', ""),
]

# Values (as text) that a variable of the type refuses with error_invalid_parameters.
NOT_OF_ITS_TYPE = [
    ("int", "12.5"),
    ("int", "abc"),
    ("int", str(2**63)),
    ("int", "1_000"),
    ("float", "nan"),
    ("float", "inf"),
    ("float", "-Infinity"),
    ("float", "1e999"),
    ("float", "12,5"),
    ("bool", "yes"),
    ("bool", "2"),
    ("string", "x" * 1025),
]


# -- GET /metrics ---------------------------------------------------------------------------------

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(base: str) -> Samples:
    """Every sample of `base`/metrics by (name, labels), after checking the answer parses."""
    answer = httpx.get(f"{base}/metrics", timeout=scaled(5))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, action: str, result: str) -> float:
    """How much varistore_requests_total{action, result} grew."""
    key = ("varistore_requests_total", (("action", action), ("result", result)))
    return after.get(key, 0.0) - before.get(key, 0.0)


# -- A whole service ------------------------------------------------------------------------------


def check_serves(base: str, ws: str, key: str) -> None:
    """The API at `base` and the gateway at `ws` serve a browser and a device: the landing page and a
    static file, a variable created and written with its `refresh` on a socket, its PNG and e-ink graphs."""
    with httpx.Client(base_url=base, timeout=scaled(30)) as http:
        page = http.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert http.get("/app/static/app.css").status_code == 200
        var = http.get("/", params={"key": key, "action": "create", "type": "float", "name": "T"}).json()["id"]
        with connect(ws, open_timeout=scaled(10)) as socket:
            socket.send(f"key {key}")
            assert socket.recv(timeout=scaled(10)) == "ok"
            wrote = http.get("/", params={"key": key, "action": "write", "id": var, "value": "1.5"})
            assert wrote.json() == {"result": "success"}
            assert socket.recv(timeout=scaled(10)) == "refresh"
        graph = http.get("/", params={"key": key, "action": "graph", "id": var})
        assert graph.content.startswith(b"\x89PNG"), graph.text
        eink = http.get("/", params={"key": key, "action": "sgraph", "id": var, "eink": "true"})
        assert eink.content.startswith(b"BM"), eink.text
