"""Flood limits (DESIGN.md §8, issue 8): per API key and per client address, 429 with Retry-After and
the protocol's body, checked before any database work.

The suite's servers run without limits (tests/harness.py settings_env); these tests turn them on.
Limits per hour make most of them exact whatever the machine's speed: the n+1st request is refused.
The flood test runs the shipped defaults in a real process, its two clients told apart by the
X-Forwarded-For that uvicorn believes from 127.0.0.1 (settings.forwarded_allow_ips).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from limits.storage import MemoryStorage

from service.app import create_app
from service.core.ids import key_hash
from service.core.results import Result, VariPassError
from service.core.settings import Settings
from service.varipass.dispatch import ACTIONS
from service.varipass.floods import FloodLimits, LocalCounters, ip_identity
from service.varipass.presenter import Answer
from tests.harness import free_port, http_client, running_api, scaled
from tests.support import Account, Api, Db, lift_cooldown, snapshot

DEFAULTS = Settings.model_fields


def ip(text: str) -> Any:
    return ipaddress.ip_address(text)


async def refused(floods: FloodLimits, key: str | None, client: str) -> int | None:
    """The Retry-After of a refusal, or None when the request is let through."""
    try:
        await floods.check(None if key is None else key_hash(key), ip(client))
    except VariPassError as exc:
        assert (exc.result, exc.status) == (Result.ERROR_COOLDOWN, 429)
        return int(exc.headers["Retry-After"])
    return None


# -- FloodLimits alone ------------------------------------------------------------------------------


def unheld(per_key: str, per_ip: str) -> FloodLimits:
    """Limits in memory that refuse at once."""
    return FloodLimits(per_key, per_ip, "memory://", hold=0)


@pytest.mark.anyio
async def test_key_limit_spent_refuses_that_key_from_any_address_with_retry_after() -> None:
    floods = unheld("3/hour", "")

    first = [await refused(floods, "KeyA", "192.0.2.1") for _ in range(3)]
    wait = await refused(floods, "KeyA", "192.0.2.1")

    assert first == [None, None, None]
    assert wait is not None and 1 <= wait <= 3600
    assert await refused(floods, "KeyA", "192.0.2.2") is not None
    assert await refused(floods, "KeyB", "192.0.2.1") is None
    assert await refused(floods, None, "192.0.2.1") is None  # a public request has no key to count


@pytest.mark.anyio
async def test_ip_limit_spent_refuses_every_key_and_public_requests_from_that_address() -> None:
    floods = unheld("", "3/hour")

    first = [await refused(floods, key, "192.0.2.1") for key in ("KeyA", "KeyB", None)]

    assert first == [None, None, None]
    assert await refused(floods, "KeyC", "192.0.2.1") is not None
    assert await refused(floods, None, "192.0.2.1") is not None
    assert await refused(floods, "KeyC", "192.0.2.2") is None


@pytest.mark.anyio
async def test_ip_limit_counts_an_ipv6_client_by_its_64_and_a_mapped_ipv4_as_ipv4() -> None:
    floods = unheld("", "2/hour")

    assert await refused(floods, None, "2001:db8:1:2::1") is None
    assert await refused(floods, None, "2001:db8:1:2:ffff::9") is None
    assert await refused(floods, None, "2001:db8:1:2:abcd::5") is not None  # the same /64
    assert await refused(floods, None, "2001:db8:1:3::1") is None  # the next /64
    assert ip_identity(ip("::ffff:192.0.2.7")) == "192.0.2.7"


@pytest.mark.anyio
async def test_address_refused_does_not_spend_the_keys_allowance() -> None:
    floods = unheld("2/hour", "1/hour")

    assert await refused(floods, "KeyA", "192.0.2.1") is None
    for _ in range(5):
        assert await refused(floods, "KeyA", "192.0.2.1") is not None  # the address's limit

    assert await refused(floods, "KeyA", "192.0.2.2") is None  # the key's second request


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("per_key", "per_ip", "key", "client"),
    [
        pytest.param("", "", lambda n: "KeyA", lambda n: "192.0.2.1", id="both-off"),
        pytest.param("", "3/hour", lambda n: "KeyA", lambda n: f"192.0.2.{n}", id="key-off"),
        pytest.param("3/hour", "", lambda n: f"Key{n}", lambda n: "192.0.2.1", id="ip-off"),
        pytest.param("  ", "", lambda n: "KeyA", lambda n: "192.0.2.1", id="blank-is-off"),
    ],
)
async def test_limit_turned_off_refuses_nothing(per_key: str, per_ip: str, key: Any, client: Any) -> None:
    floods = unheld(per_key, per_ip)

    answers = [await refused(floods, key(n), client(n)) for n in range(1, 201)]

    assert answers == [None] * 200


@pytest.mark.anyio
async def test_refusal_is_held_before_it_is_answered() -> None:
    floods = FloodLimits("1/hour", "", "memory://", hold=60)
    assert await refused(floods, "KeyA", "192.0.2.1") is None

    held = asyncio.create_task(refused(floods, "KeyA", "192.0.2.1"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not held.done()  # it sleeps for 30 to 90 s
    held.cancel()

    floods.hold = 0.01
    assert await refused(floods, "KeyA", "192.0.2.1") is not None


def test_local_counters_start_over_after_their_window_and_are_swept_when_doubled() -> None:
    counters = LocalCounters()
    # A window of 0 s is over at once: every use starts a new one.
    assert [counters.incr("k", 0), counters.incr("k", 0)] == [1, 1]
    assert [counters.incr("w", 3600), counters.incr("w", 3600), counters.get("w")] == [1, 2, 2]
    for n in range(1100):
        counters.incr(f"old{n}", 0)

    counters.incr("new", 3600)

    assert counters.reset() < 1100  # the ended ones were swept
    assert counters.get("w") == 0


def test_malformed_limit_fails_at_startup() -> None:
    with pytest.raises(ValueError):
        create_app(Settings(limit_per_key="25 a second"), "postgresql://unused")


class _Failing(MemoryStorage):
    """limits' memory storage that fails like an unreachable redis while `down` is set."""

    STORAGE_SCHEME = ["varistore-test-failing"]
    down = True
    calls = 0

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        type(self).calls += 1
        if self.down:
            raise ValueError("storage unreachable")  # MemoryStorage.base_exceptions
        return super().incr(key, expiry, amount)


@pytest.mark.anyio
@pytest.mark.parametrize("offload", [False, True], ids=["inline", "on-a-thread"])
async def test_storage_failing_lets_requests_through_and_is_retried_after_a_pause(
    offload: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_Failing, "down", True)
    monkeypatch.setattr(_Failing, "calls", 0)
    floods = FloodLimits("1/hour", "", "varistore-test-failing://", hold=0, offload=offload)

    with caplog.at_level(logging.WARNING, "service.varipass.floods"):
        answers = [await refused(floods, "KeyA", "192.0.2.1") for _ in range(10)]

    assert answers == [None] * 10
    assert _Failing.calls == 1  # not asked again before the pause is over
    assert [r.message for r in caplog.records] == [
        "flood limits unchecked while their storage fails: ValueError('storage unreachable')"
    ]

    monkeypatch.setattr(_Failing, "down", False)
    monkeypatch.setattr(floods._counters, "_retry_at", time.monotonic() - 1)  # the pause is over
    assert await refused(floods, "KeyA", "192.0.2.1") is None
    assert await refused(floods, "KeyA", "192.0.2.1") is not None


# -- In the app: what a refused request answers, and what it does not do ------------------------------


@contextlib.asynccontextmanager
async def app_with(db_url: str, **limits: str) -> AsyncIterator[Any]:
    """The app with these limits (both off unless told), its lifespan run, refusing at once."""
    # No hold: the flood test's server, a process of its own, holds refusals as deployed.
    limits = {"limit_per_key": "", "limit_per_ip": "", **limits}
    settings = Settings(pool_min_size=0, pool_max_size=2, limit_hold=0, **limits)  # type: ignore[arg-type]
    async with LifespanManager(create_app(settings, db_url)) as manager:
        yield manager.app


def client(app: Any, address: str) -> httpx.AsyncClient:
    """A client of the in-process app whose requests come from `address`."""
    transport = httpx.ASGITransport(app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://varistore.test", timeout=scaled(30))


def answer_text(response: httpx.Response) -> str:
    return str(response.json()["result"]) if response.headers["content-type"] == "application/json" else response.text


@pytest.mark.anyio
async def test_every_action_refused_answers_429_retry_after_and_its_own_error_style(db_url: str) -> None:
    async with app_with(db_url, limit_per_ip="1/hour") as app:
        for n, (action, spec) in enumerate(ACTIONS.items(), start=1):
            async with client(app, f"198.51.100.{n}") as http:
                await http.get("/", params={"action": "list"})
                response = await http.get("/", params={"action": action, "key": "KeyOfNobody1234", "id": "x"})

            assert response.status_code == 429, action
            assert int(response.headers["Retry-After"]) >= 1
            if spec.answer is Answer.SIMPLE:
                assert (response.headers["content-type"], response.text) == (
                    "text/plain; charset=utf-8",
                    "error_cooldown",
                )
            else:
                assert response.json() == {"result": "error_cooldown"}
                assert response.content == b'{"result":"error_cooldown"}'


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["get", "json", "form"])
async def test_swrite_refused_answers_the_bare_string_over_every_transport(db_url: str, transport: str) -> None:
    fields = {"action": "swrite", "key": "KeyOfNobody1234", "id": "x", "value": "1"}
    async with app_with(db_url, limit_per_ip="1/hour") as app, client(app, "198.51.100.1") as http:
        await http.get("/", params={"action": "list"})
        if transport == "get":
            response = await http.get("/", params=fields)
        elif transport == "json":
            response = await http.post("/", json=fields)
        else:
            response = await http.post("/", data=fields)

    assert (response.status_code, response.text) == (429, "error_cooldown")


@pytest.mark.anyio
async def test_healthz_is_never_limited_nor_counted(db_url: str, alice: Account) -> None:
    async with (
        app_with(db_url, limit_per_ip="1/hour", limit_per_key="1/hour") as app,
        client(app, "198.51.100.1") as http,
    ):
        health = [(await http.get("/healthz")).status_code for _ in range(20)]
        first = await http.get("/", params={"action": "list", "key": alice.key})
        second = await http.get("/", params={"action": "list", "key": alice.key})
        health_after = [(await http.get("/healthz")).status_code for _ in range(5)]

    assert health == [200] * 20 and health_after == [200] * 5
    assert (first.status_code, first.json()["result"]) == (200, "success")
    assert second.status_code == 429


@pytest.fixture
def written(api: Api, db: Db, alice: Account) -> str:
    """Alice's float variable, written once (made on the suite's server, which has no limits) and
    out of its cooldown: a write would now succeed."""
    var = api.create(alice.key)
    assert api.call("write", alice.key, id=var, value=1)["result"] == "success"
    lift_cooldown(db, var)
    return var


@pytest.mark.anyio
@pytest.mark.parametrize("action", ["write", "swrite", "create", "delete"])
async def test_change_refused_by_the_key_limit_changes_nothing(
    db_url: str, db: Db, alice: Account, written: str, action: str
) -> None:
    fields = {"action": action, "key": alice.key, "id": written, "value": "2", "type": "float", "name": "N"}
    async with app_with(db_url, limit_per_key="1/hour") as app, client(app, "198.51.100.1") as http:
        assert (await http.get("/", params={"action": "list", "key": alice.key})).json()["result"] == "success"
        before = await asyncio.to_thread(snapshot, db, alice)
        response = await http.get("/", params=fields)
        after = await asyncio.to_thread(snapshot, db, alice)

    assert after == before
    assert response.status_code == 429
    assert answer_text(response) == "error_cooldown"


@pytest.mark.anyio
async def test_refused_request_does_no_database_work() -> None:
    # Nothing listens on this port: a request that reaches the database answers error_db (503).
    nowhere = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    async with app_with(nowhere, limit_per_ip="2/hour") as app, client(app, "198.51.100.1") as http:
        reached = await http.get("/", params={"action": "list", "key": "KeyOfNobody1234"})
        also = await http.get("/", params={"action": "read", "id": "abcdefgh"})  # public: the address counts
        refused_answers = [await http.get("/", params={"action": "list", "key": "KeyOfNobody1234"}) for _ in range(5)]

    assert (reached.status_code, also.status_code) == (503, 503)
    assert [r.status_code for r in refused_answers] == [429] * 5


# -- A flood, in a real process with the shipped defaults ----------------------------------------------


@pytest.fixture
def flooded_api(db_url: str) -> Iterator[str]:
    limits = {name: DEFAULTS[name].default for name in ("limit_per_key", "limit_per_ip", "limit_storage")}
    with running_api(db_url, **limits) as (_, base):
        yield base


async def _flood(base: str, key: str, var: str, address: str, stop: Any, report: Any) -> None:
    """One key's `read` from one address on 64 keep-alive connections at once, until `stop` is set;
    `report` gets "flooding" once every connection is open, then a count of each (status, Retry-After
    given, body).

    Raw HTTP/1.1 over asyncio streams, in a process of its own: httpx sent ~130 requests a second
    here, and on the test's own thread it held back the other client."""
    host, port = base.removeprefix("http://").split(":")
    head = f"GET /?action=read&key={key}&id={var} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-For: {address}\r\n\r\n"
    answers: Counter[tuple[int, bool, bytes]] = Counter()
    streams = [await asyncio.open_connection(host, int(port)) for _ in range(64)]
    report.put("flooding")

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not stop.is_set():
            writer.write(head.encode())
            lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
            body = await reader.readexactly(int(headers["content-length"]))
            retry_after = int(headers.get("retry-after", "0")) >= 1
            # A success carries the value's time: keep only its result.
            answers[int(lines[0].split()[1]), retry_after, body if b"error" in body else body[:20]] += 1
        writer.close()

    await asyncio.gather(*(connection(*stream) for stream in streams))
    report.put(dict(answers))


def _flood_process(*args: Any) -> None:
    asyncio.run(_flood(*args))


def _steady(base: str, key: str, var: str, address: str, count: int) -> list[httpx.Response]:
    """Another key's `read` at 20 requests a second at most: one at a time, 50 ms apart."""
    answers = []
    with http_client(base) as http:
        for _ in range(count):
            params = {"action": "read", "key": key, "id": var}
            answers.append(http.get("/", params=params, headers={"X-Forwarded-For": address}))
            time.sleep(0.05)
    return answers


def test_flood_of_one_key_on_64_connections_gets_429_while_another_key_at_20_per_second_succeeds(
    flooded_api: str, api: Api, alice: Account, bob: Account
) -> None:
    flood_var, steady_var = api.create(alice.key), api.create(bob.key)
    spawn = multiprocessing.get_context("spawn")
    stop, report = spawn.Event(), spawn.Queue()
    flood = spawn.Process(target=_flood_process, args=(flooded_api, alice.key, flood_var, "203.0.113.1", stop, report))
    flood.start()
    try:
        assert report.get(timeout=scaled(60)) == "flooding"
        started = time.monotonic()
        steady = _steady(flooded_api, bob.key, steady_var, "203.0.113.2", 40)
        stop.set()
        flooded: dict[tuple[int, bool, bytes], int] = report.get(timeout=scaled(60))
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        flood.join(scaled(10))
        if flood.is_alive():
            flood.kill()

    assert [(r.status_code, r.json()["result"]) for r in steady] == [(200, "success")] * 40
    refused, admitted = (
        flooded.pop((429, True, b'{"result":"error_cooldown"}'), 0),
        flooded.pop((200, False, b'{"result":"success",'), 0),
    )
    assert refused > 0, "the flood was never refused"
    assert flooded == {}, "answers other than success, or a 429 without Retry-After"
    # A fixed window of 1 s admits at most 25 per window: over `elapsed` seconds, at most this many.
    per_key = int(DEFAULTS["limit_per_key"].default.split("/")[0])
    assert admitted <= per_key * (elapsed + 2)
