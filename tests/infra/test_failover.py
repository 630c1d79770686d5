"""Failing over to a hot standby under write load (issue 11): no acknowledged write is lost, and the
same API and gateway processes find the promoted server by themselves through a multi-host URL.

Run with `pytest -s` to see how long the service answered nothing but error_db.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from migrations import upgrade
from tests.harness import (
    ClientThreads,
    Running,
    eventually_async,
    execute,
    fetchval,
    running_api,
    running_gateway,
    scaled,
)
from tests.infra.replication import Replicated, replicated_postgres
from tests.support import Api, account_on
from tests.ws_gateway.support import Gateway, client, closed_with

pytestmark = pytest.mark.slow

CLIENTS = 4
# Variables each client writes in turn, enough that it never waits for a cooldown: a write to each one at
# most every PACE seconds. A variable keeping 1440 s of history cools down 1 s with plan_min_cooldown=1.
PER_CLIENT = 150
PACE = 1.2
SETTINGS: dict[str, object] = {"plan_min_cooldown": 1}
READ_ONLY = "SELECT current_setting('default_transaction_read_only')"


@pytest.fixture
def pair() -> Iterator[Replicated]:
    with replicated_postgres("varistore-failover-") as pair:
        upgrade(pair.primary.url)
        yield pair


@dataclass(frozen=True)
class Write:
    var: str
    value: int
    sent: float  # time.monotonic()
    answered: float
    status: int | None  # None: no HTTP answer at all
    result: str


class Writers(ClientThreads):
    """Clients writing from threads, each to variables of its own and each write a new value; every
    answer is kept."""

    def __init__(self, base: str, key: str) -> None:
        super().__init__(CLIENTS)
        self.writes: list[Write] = []
        self.waits = 0  # times a client waited for one of its variables to cool down
        self._base = base
        self._key = key

    def _run(self, number: int) -> None:
        api = Api(self._base)
        try:
            # when each variable may be written again
            ready = {api.create(self._key, type="int", expire=1440): 0.0 for _ in range(PER_CLIENT)}
            self._write(api.http, number, ready)
        finally:
            api.http.close()

    def _write(self, http: httpx.Client, number: int, ready: dict[str, float]) -> None:
        value = number * 1_000_000
        while not self._stop.is_set():
            var = min(ready, key=ready.__getitem__)
            if ready[var] > time.monotonic():
                self.waits += 1
                self._stop.wait(ready[var] - time.monotonic())
            value += 1
            sent = time.monotonic()
            try:
                response = http.get("/", params={"key": self._key, "action": "write", "id": var, "value": str(value)})
                status, result = response.status_code, str(response.json()["result"])
            except httpx.TransportError as exc:
                status, result = None, type(exc).__name__
            answered = time.monotonic()
            self.writes.append(Write(var, value, sent, answered, status, result))
            if result == "success":
                ready[var] = answered + PACE
            else:
                self._stop.wait(0.01)  # an outage: try again soon, not in a tight loop

    def count(self, check: Callable[[Write], bool]) -> int:
        return sum(1 for write in list(self.writes) if check(write))

    def first(self, check: Callable[[Write], bool]) -> Write | None:
        return min((write for write in list(self.writes) if check(write)), key=lambda w: w.answered, default=None)


class Heard:
    """Everything a socket receives, with when, read in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.messages: list[tuple[float, str | bytes]] = []
        self.closed = False
        self._task = asyncio.create_task(self._read(ws))

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                self.messages.append((time.monotonic(), message))
        self.closed = True

    def since(self, moment: float, message: str) -> bool:
        return any(at >= moment and text == message for at, text in self.messages)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _no_traceback(process: Running) -> None:
    """The outage cost one line per failed request: nothing the service took for a bug of its own.
    (asyncpg's pool logs its own traceback each time it fails to reopen its min_size connections.)"""
    output = process.output()
    assert "database unavailable, answered error_db" in output
    for sign in ("database failure", "unexpected failure"):
        assert sign not in output, output[-4000:]


@pytest.mark.anyio
async def test_primary_killed_under_writes_standby_promoted_no_acknowledged_write_lost(pair: Replicated) -> None:
    account = await asyncio.to_thread(account_on, pair.primary.url, max_variables=CLIENTS * PER_CLIENT)
    with (
        running_api(pair.url, **SETTINGS) as (api_process, base),
        running_gateway(pair.url) as (gateway_process, ws_url),
    ):
        gateway = Gateway(gateway_process, ws_url)
        async with client(ws_url, account.key) as ws:
            heard = Heard(ws)
            with Writers(base, account.key) as writers:
                await eventually_async(lambda: writers.count(succeeded) >= 200, 30, "200 writes acknowledged")

                # The primary's machine is lost, and a standby promoted at once, as a failover manager does.
                killing_at = time.monotonic()
                await asyncio.to_thread(pair.primary.kill)
                killed_at = time.monotonic()
                await asyncio.to_thread(pair.standby.promote)
                promoted_at = time.monotonic()

                def after_kill(write: Write) -> bool:
                    return write.sent >= killed_at and succeeded(write)

                await eventually_async(lambda: writers.first(after_kill) is not None, 15, "a write acknowledged again")
                first = writers.first(after_kill)
                assert first is not None
                # Writes go on being acknowledged, by the same process.
                await eventually_async(
                    lambda: writers.count(lambda w: w.sent >= first.answered and succeeded(w)) >= 200,
                    30,
                    "200 more writes acknowledged",
                )

                # The gateway listens again, on the promoted server, and announces changes again.
                await gateway.wait_health(200, 15, "the gateway listening again")
                listening_at = time.monotonic()
                await ws.send("ping")
                await eventually_async(lambda: heard.since(listening_at, "pong"), 5, "pong")
                ponged_at = min(at for at, text in heard.messages if at >= listening_at and text == "pong")
                await eventually_async(lambda: heard.since(ponged_at, "refresh"), 5, "refresh after the failover")
                async with client(ws_url, account.key):
                    pass  # and keys are checked on the new primary
            assert not heard.closed
            await heard.stop()
        api_process.check_alive()
        gateway_process.check_alive()
        _no_traceback(api_process)

    writes = writers.writes
    odd = {(w.status, w.result) for w in writes} - {(200, "success"), (503, "error_db"), (200, "error_cooldown")}
    assert not odd, odd
    # The service told its clients it could not write, for a moment.
    down = [w for w in writes if w.result == "error_db"]
    assert down and all(w.answered >= killing_at and w.sent <= first.answered for w in down)
    # Every acknowledged write, before, during and after, is in the new primary's history.
    conn = await asyncpg.connect(pair.standby.url)
    try:
        rows = await conn.fetch("SELECT variable_id, value_int FROM history WHERE account_id = $1", account.id)
    finally:
        await conn.close()
    kept = {(row["variable_id"], row["value_int"]) for row in rows}
    acknowledged = [(w.var, w.value) for w in writes if succeeded(w)]
    lost = [write for write in acknowledged if write not in kept]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged writes lost: {lost[:10]}"

    before = sum(1 for w in writes if succeeded(w) and w.answered < killing_at)
    print(
        f"\nfailover: kill -> first acknowledged write {first.answered - killed_at:.3f} s"
        f" (promote took {promoted_at - killed_at:.3f} s,"
        f" promoted -> acknowledged {first.answered - promoted_at:.3f} s);"
        f" gateway listening again {listening_at - killed_at:.3f} s after the kill (polled);"
        f" {len(acknowledged)} writes acknowledged ({before} before the kill), {len(down)} answered error_db,"
        f" {writers.waits} waits for a cooldown"
    )


def succeeded(write: Write) -> bool:
    return write.status == 200 and write.result == "success"


def _write_until_success(api: Api, key: str, var: str) -> None:
    deadline = time.monotonic() + scaled(10)
    while (data := api.call("write", key, id=var, value=7))["result"] != "success":
        assert data["result"] == "error_db" and time.monotonic() < deadline, data
        time.sleep(0.1)


@pytest.mark.anyio
async def test_no_server_accepting_writes_error_db_until_one_does(pair: Replicated) -> None:
    # Both servers up and neither writable: a cluster manager demoting the primary (Patroni does when
    # it loses its lock) before it promotes anyone. asyncpg then fails with TargetServerAttributeNotMatched,
    # not the OSError of a host that is down.
    account = await asyncio.to_thread(account_on, pair.primary.url, max_variables=CLIENTS * PER_CLIENT)
    with (
        running_api(pair.url, **SETTINGS) as (api_process, base),
        running_gateway(pair.url) as (gateway_process, ws_url),
    ):
        gateway = Gateway(gateway_process, ws_url)
        api = Api(base)
        var = await asyncio.to_thread(api.create, account.key, type="int", expire=0)
        async with client(ws_url, account.key) as ws:
            heard = Heard(ws)
            await execute(
                pair.primary.url, "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()"
            )
            deadline = time.monotonic() + scaled(10)
            while await fetchval(pair.primary.url, READ_ONLY) != "on":
                assert time.monotonic() < deadline, "the primary never became read-only"
                await asyncio.sleep(0.05)
            # Every session of the service is cut: each must find a writable server anew.
            await execute(
                pair.primary.url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
            await gateway.wait_health(503, 5, "the gateway without a LISTEN connection")
            # The listener keeps trying (it once died of the unexpected exception, never to listen again).
            await asyncio.to_thread(
                gateway_process.line_starting, "WARNING ws_gateway.listener: no LISTEN connection to PostgreSQL", 10
            )
            async with client(ws_url) as newcomer:  # a key cannot be checked: said so, and closed
                await newcomer.send(f"key {account.key}")
                assert (await closed_with(newcomer, 5))[::2] == (1011, ["error_db"])
            for value in range(5):
                response = await asyncio.to_thread(api.request, action="write", key=account.key, id=var, value=value)
                assert (response.status_code, response.text) == (503, '{"result":"error_db"}')

            await execute(
                pair.primary.url, "ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()"
            )
            await gateway.wait_health(200, 15, "the gateway listening again")
            listening_at = time.monotonic()
            await ws.send("ping")
            await eventually_async(lambda: heard.since(listening_at, "pong"), 5, "pong")
            ponged_at = min(at for at, text in heard.messages if at >= listening_at and text == "pong")
            await asyncio.to_thread(_write_until_success, api, account.key, var)
            await eventually_async(lambda: heard.since(ponged_at, "refresh"), 5, "refresh once writable again")
            assert not heard.closed
            await heard.stop()
        api.http.close()
        api_process.check_alive()
        gateway_process.check_alive()
        _no_traceback(api_process)
