"""The service's NOTIFY after each committed change: who gets told, and who does not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import pytest

from service.core.changes import CHANNEL, MAX_PAYLOAD, Change, ChangeKind, decode, decode_timed, payloads
from tests.harness import scaled
from tests.support import Account, Api, Db, lift_cooldown, make_account


class Refreshes:
    """A LISTEN on the service's channel, read on demand from the test's thread."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._seen: list[int] = []
        self._conn: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(url))
        self._loop.run_until_complete(self._conn.add_listener(CHANNEL, self._on_notify))

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._seen.extend(change.account_id for change in decode(payload))

    def after(self, act: Callable[[], Any], *accounts: Account, settle: float = 0.3) -> set[int]:
        """Which of `accounts` were notified while `act` ran (or within `settle` seconds after)."""
        self._loop.run_until_complete(asyncio.sleep(scaled(0.05)))
        self._seen.clear()
        act()
        deadline = time.monotonic() + scaled(settle)
        while time.monotonic() < deadline:
            self._loop.run_until_complete(asyncio.sleep(0.02))
        wanted = {a.id for a in accounts}
        return wanted & set(self._seen)

    def close(self) -> None:
        self._loop.run_until_complete(self._conn.close())
        self._loop.close()


@pytest.fixture
def refreshes(db_url: str) -> Iterator[Refreshes]:
    listener = Refreshes(db_url)
    yield listener
    listener.close()


def test_every_committed_change_notifies_its_account(
    api: Api, db: Db, refreshes: Refreshes, alice: Account, bob: Account
) -> None:
    var: dict[str, str] = {}

    def create() -> None:
        var["f"] = api.create(alice.key)

    assert refreshes.after(create, alice, bob) == {alice.id}
    flag = api.create(alice.key, type="bool", expire=0)
    steps: list[Callable[[], Any]] = [
        lambda: api.call("edit", alice.key, id=var["f"], type="float", name="renamed"),
        lambda: api.call("write", alice.key, id=var["f"], value=1.5),
        lambda: (lift_cooldown(db, var["f"]), api.simple("swrite", alice.key, id=var["f"], value=2.5)),
        lambda: api.call("toggle", alice.key, id=flag),
        lambda: (lift_cooldown(db, flag), api.simple("stoggle", alice.key, id=flag)),
        lambda: api.call("ordprev", alice.key, id=flag),
        lambda: api.call("ordnext", alice.key, id=flag),
        lambda: api.call("delete", alice.key, id=flag),
    ]
    for step in steps:
        assert refreshes.after(step, alice, bob) == {alice.id}


def test_transfer_notifies_both_accounts(api: Api, db: Db, refreshes: Refreshes, alice: Account) -> None:
    target = make_account(db, transfers_enabled=True)
    var = api.create(alice.key)

    assert refreshes.after(lambda: api.call("transfer", alice.key, id=var, target=target.email), alice, target) == {
        alice.id,
        target.id,
    }


def test_refused_and_read_only_requests_notify_nobody(
    api: Api, db: Db, refreshes: Refreshes, alice: Account, bob: Account
) -> None:
    var = api.create(alice.key, type="int")
    api.call("write", alice.key, id=var, value=1)
    locked = make_account(db, locked=True)
    refused: list[Callable[[], Any]] = [
        lambda: api.call("write", alice.key, id=var, value=2),  # cooldown
        lambda: api.call("write", alice.key, id=var, value="x"),  # not an int
        lambda: api.call("toggle", alice.key, id=var),  # not a bool
        lambda: api.call("write", bob.key, id=var, value=3),  # not bob's
        lambda: api.call("ordprev", alice.key, id=var),  # already first
        lambda: api.call("create", locked.key, type="int", name="x"),  # locked
        lambda: api.call("transfer", alice.key, id=var, target="nobody@example.com"),
        lambda: api.call("transfer", alice.key, id=var, target=alice.email),  # to yourself: a no-op
        lambda: api.call("read", alice.key, id=var),
        lambda: api.call("all", alice.key),
    ]
    for step in refused:
        assert refreshes.after(step, alice, bob, locked) == set()


def test_payloads_split_under_the_notify_limit_and_decode_to_the_changes() -> None:
    changes = [
        Change(10**12 + n, f"id{n:05}", ChangeKind.WRITTEN, "é" * 40 + str(n), 1764781200 + n) for n in range(2000)
    ]
    chunks = list(payloads(changes))
    assert len(chunks) > 1
    assert all(len(chunk.encode()) < MAX_PAYLOAD for chunk in chunks)
    assert [change for chunk in chunks for change in decode(chunk)] == changes
    # With the commit time (the gateways' lag metric): first in every chunk, and the same changes.
    timed = [decode_timed(chunk) for chunk in payloads(changes, 1764781200.25)]
    assert all(len(chunk.encode()) < MAX_PAYLOAD for chunk in payloads(changes, 1764781200.25))
    assert {at for at, _ in timed} == {1764781200.25}
    assert [change for _, chunk in timed for change in chunk] == changes
    assert decode_timed(chunks[0])[0] is None
