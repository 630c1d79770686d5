"""The accounts and variables the persona matrix (test_personas.py) asks about, and how it asks.

A `World` makes what a cell of the matrix needs the first time the cell asks for it: the owner
alice, another tenant bob, an account in each refused state, a target accepting transfers, and an
address in `banned_ips`. Every account holds its variables in the same layout, each written once
with its cooldown passed, so that a read has a value and a point of history and a write succeeds.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import httpx

from tests.support import Account, Api, Db, lift_cooldown, make_account, snapshot

# The value written into each variable, by type.
WRITTEN = {"float": 2.5, "bool": True}
# The SQL that puts an account in each refused state, once its variables exist.
STATES = {"banned": "banned = true", "unconfirmed": "confirmed = false", "locked": "locked = true"}


@dataclass(frozen=True)
class Variable:
    """A variable as stored: what info, read, history and latest answer about it."""

    id: str
    type: str
    name: str
    public: bool
    value: object
    time: int
    history: list[dict[str, object]]


@dataclass(frozen=True)
class Holder:
    """An account and its variables, in its order."""

    account: Account
    variables: list[Variable]

    def asked(self, type_: str) -> dict[str, Variable]:
        """The private and the public variable of a type."""
        asked = {"public" if v.public else "private": v for v in self.variables if v.name.endswith(f" {type_}")}
        assert list(asked) == ["private", "public"], asked
        return asked


def make_variable(api: Api, db: Db, account: Account, type_: str, name: str, *, public: bool = False) -> Variable:
    var = api.create(account.key, type=type_, name=name, public=public)
    value = WRITTEN[type_]
    assert api.call("write", account.key, id=var, value=value) == {"result": "success"}
    lift_cooldown(db, var)
    at = int(db.fetchval("SELECT floor(extract(epoch FROM value_time)) FROM variables WHERE id = $1", var))
    return Variable(var, type_, name, public, value, at, [{"value": value, "time": at}])


def make_holder(api: Api, db: Db, types: tuple[str, ...], state: str | None = None, *, padded: bool = True) -> Holder:
    """A new account with a private and a public variable of each type, `padded` between a first
    and a last one (so that ordprev and ordnext can move them), then put in `state`."""
    account = make_account(db)
    layout = [(t, f"{'Public' if public else 'Private'} {t}", public) for t in types for public in (False, True)]
    if padded:
        layout = [(types[0], "First", False), *layout, (types[0], "Last", False)]
    variables = [make_variable(api, db, account, t, name, public=public) for t, name, public in layout]
    if state is not None:
        db.execute(f"UPDATE accounts SET {STATES[state]} WHERE id = $1", account.id)
    return Holder(account, variables)


class World:
    """Accounts made on first use: share one World among requests that change nothing, and make
    a new one for a request that changes something."""

    def __init__(self, api: Api, db: Db, banned_ip: str, types: tuple[str, ...], *, padded: bool = True) -> None:
        self.api, self.db, self.banned_ip, self.types, self.padded = api, db, banned_ip, types, padded
        self._states: dict[str, Holder] = {}

    @cached_property
    def alice(self) -> Holder:
        return make_holder(self.api, self.db, self.types, padded=self.padded)

    @cached_property
    def bob(self) -> Holder:
        """Another tenant, with a variable of his own."""
        account = make_account(self.db)
        return Holder(account, [make_variable(self.api, self.db, account, "float", "Bob's")])

    @cached_property
    def target(self) -> Account:
        """An account that accepts transfers."""
        return make_account(self.db, transfers_enabled=True)

    def in_state(self, state: str) -> Holder:
        if state not in self._states:
            self._states[state] = make_holder(self.api, self.db, self.types, state, padded=self.padded)
        return self._states[state]


@contextmanager
def banned_address(db: Db) -> Iterator[str]:
    """A random address of 198.51.100.0/24 (documentation), banned while the block runs."""
    ip = str(ipaddress.IPv4Address(0xC6336400 + random.randrange(256)))
    db.execute("INSERT INTO banned_ips (ip) VALUES ($1::inet) ON CONFLICT DO NOTHING", ip)
    try:
        yield ip
    finally:
        db.execute("DELETE FROM banned_ips WHERE ip = $1::inet", ip)


def stored(db: Db, accounts: list[Account]) -> list[object]:
    """What is stored for each account, and how many variables there are in all (so that a refused
    `create` lands in no account)."""
    return [db.fetchval("SELECT count(*) FROM variables"), *(snapshot(db, account) for account in accounts)]


class Between:
    """Equal to an integer time from `low` to `high`: a moment a test can only bracket."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = int(low), high

    def __eq__(self, other: object) -> bool:
        return type(other) is int and self.low <= other <= self.high

    def __repr__(self) -> str:
        return f"<an int time in [{self.low}, {self.high:.0f}]>"


class AnyId:
    """Equal to a variable id the test did not choose."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(r"[A-Za-z0-9]{8}", other) is not None

    def __repr__(self) -> str:
        return "<a new variable id>"


def resolved(want: object, got: object) -> object:
    """`want` with each matcher replaced by the value it matched in `got`."""
    if isinstance(want, dict) and isinstance(got, dict):
        return {name: resolved(value, got.get(name)) for name, value in want.items()}
    if isinstance(want, list) and isinstance(got, list):
        return [resolved(w, g) for w, g in zip(want, got, strict=False)]
    return got if isinstance(want, Between | AnyId) else want


IMAGE = "a PNG of the default size, 256x280"


def assert_answer(response: httpx.Response, simple: bool, want: object, where: str) -> None:
    """The response is `want`: IMAGE, the exact text of a simple answer, or a JSON answer's exact
    compact bytes."""
    assert response.status_code == 200, f"{where}: {response.status_code} {response.text}"
    media_type = response.headers["content-type"]
    if want == IMAGE:
        assert media_type == "image/png", f"{where}: {response.text}"
        assert response.content[:8] == b"\x89PNG\r\n\x1a\n" and response.content[12:16] == b"IHDR", where
        assert struct.unpack(">II", response.content[16:24]) == (256, 280), where
        assert int(response.headers["content-length"]) == len(response.content), where
    elif simple:
        assert (media_type, response.text) == ("text/plain; charset=utf-8", want), where
    else:
        assert media_type == "application/json", where
        got = response.json()
        assert got == want, where
        assert response.text == json.dumps(resolved(want, got), separators=(",", ":"), ensure_ascii=False), where
