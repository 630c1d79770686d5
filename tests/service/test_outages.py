"""Breaking things for real (issue 8): the API killed in the middle of writes, PostgreSQL stopped and
frozen under load. Each test has a PostgreSQL of its own, which it may stop, start, freeze and thaw
(never the session's), and real `varistore api` and `varistore gateway` processes on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from service.app import HEALTH_DEADLINE
from tests.harness import (
    ClientThreads,
    Postgres,
    Running,
    eventually,
    eventually_async,
    http_client,
    private_postgres,
    running_api,
    running_gateway,
    scaled,
)
from tests.support import Account, Api, account_on
from tests.ws_gateway.support import client, closed_with, next_message

pytestmark = pytest.mark.slow

# No flood limit: the load comes from one address and one key.
NO_LIMITS = {"limit_per_key": "", "limit_per_ip": ""}
DEADLINE = 1.0  # the frozen test's db_deadline (scaled), short so that the test is; the default is 5 s
SLACK = 0.5  # what an answer may take past a deadline (scaled): the deadline watcher's tick, HTTP


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    with private_postgres("varistore-outage-") as postgres:
        yield postgres


@pytest.fixture
def account(own_postgres: Postgres) -> Account:
    return account_on(own_postgres.url)


@dataclass(frozen=True)
class Answer:
    params: dict[str, str]
    sent: float  # time.monotonic()
    took: float
    status: int | None  # None: no HTTP answer at all
    text: str


class Load(ClientThreads):
    """Clients sending requests one after another from threads; every answer is kept with its timing."""

    def __init__(self, base: str, params: Callable[[int, int], dict[str, str]], clients: int = 4) -> None:
        super().__init__(clients)
        self.answers: list[Answer] = []
        self._base = base
        self._params = params

    def _run(self, client: int) -> None:
        with http_client(self._base) as http:
            number = 0
            while not self._stop.is_set():
                params, sent = self._params(client, number), time.monotonic()
                try:
                    response = http.get("/", params=params)
                    status, text = response.status_code, response.text
                except httpx.TransportError:
                    status, text = None, ""
                    time.sleep(0.01)
                self.answers.append(Answer(params, sent, time.monotonic() - sent, status, text))
                number += 1

    def since(self, moment: float) -> list[Answer]:
        return [answer for answer in list(self.answers) if answer.sent >= moment]

    def answered(self, check: Callable[[Answer], bool], since: float) -> bool:
        return any(check(answer) for answer in self.since(since))


def succeeded(answer: Answer) -> bool:
    return answer.status == 200 and '"result":"success"' in answer.text


def error_db(answer: Answer) -> bool:
    return (answer.status, answer.text) == (503, '{"result":"error_db"}')


def healthz(base: str) -> tuple[int, float]:
    """/healthz's status, and how long it took to answer."""
    started = time.monotonic()
    status = httpx.get(f"{base}/healthz", timeout=scaled(30)).status_code
    return status, time.monotonic() - started


def test_api_killed_mid_writes_loses_no_acknowledged_write(own_postgres: Postgres, account: Account) -> None:
    settings: dict[str, object] = {**NO_LIMITS, "plan_min_cooldown": 1}  # expire 1440 s: a 1 s cooldown
    with running_api(own_postgres.url, **settings) as (api_process, base):
        api = Api(base)
        variables = [api.create(account.key, type="int", expire=1440) for _ in range(40)]

        def write(client: int, number: int) -> dict[str, str]:
            # Each client writes its own variables, and each write its own value.
            var = variables[client * 10 + number % 10]
            return {"key": account.key, "action": "write", "id": var, "value": str(client * 1_000_000 + number)}

        with Load(base, write) as load:
            eventually(lambda: sum(map(succeeded, load.answers)) >= 50, 30, "50 writes acknowledged")
            api_process.process.kill()
            api_process.process.wait(scaled(10))
            killed_at = time.monotonic()
            eventually(lambda: load.answered(lambda a: a.status is None, killed_at), 5, "the clients losing the API")
        api.http.close()
    acknowledged = [(answer.params["id"], int(answer.params["value"])) for answer in load.answers if succeeded(answer)]

    with running_api(own_postgres.url, **settings) as (_, base):
        api = Api(base)
        histories = {var: set(api.history_values(account.key, var)) for var in variables}
        api.http.close()
    lost = [(var, value) for var, value in acknowledged if value not in histories[var]]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged writes lost"


def _reads(account: Account, var: str) -> Callable[[int, int], dict[str, str]]:
    def read(client: int, number: int) -> dict[str, str]:
        return {"key": account.key, "action": "read", "id": var}

    return read


def _no_traceback_per_request(api: Running) -> None:
    """An outage logs one line per failed request, never a traceback from the endpoint."""
    output = api.output()
    assert "database unavailable, answered error_db" in output
    assert "database failure" not in output and "unexpected failure" not in output, output[-3000:]


@pytest.mark.anyio
async def test_postgres_stopped_under_load_error_db_then_recovers_sockets_refreshed(
    own_postgres: Postgres, account: Account
) -> None:
    with (
        running_api(own_postgres.url, **NO_LIMITS) as (api_process, base),
        running_gateway(own_postgres.url) as (gateway_process, ws_url),
    ):
        api = Api(base)
        var = await asyncio.to_thread(api.create, account.key)
        async with client(ws_url, account.key) as ws:
            with Load(base, _reads(account, var)) as load:
                await eventually_async(lambda: load.answered(succeeded, 0), 10, "reads answered")

                stopping_at = time.monotonic()
                await asyncio.to_thread(own_postgres.stop)
                stopped_at = time.monotonic()
                await eventually_async(lambda: load.answered(error_db, stopping_at), 1, "error_db (503)")
                await asyncio.sleep(scaled(1))
                assert (await asyncio.to_thread(healthz, base))[0] == 503

                started_at = time.monotonic()
                await asyncio.to_thread(own_postgres.start)
                # The same processes: the pool, the notifier and the gateway's listener reconnect.
                await eventually_async(lambda: load.answered(succeeded, started_at), 10, "reads answered again")
                assert (await asyncio.to_thread(healthz, base))[0] == 200
            during = load.since(stopping_at)
            odd = {(a.status, a.text) for a in during if not (succeeded(a) or error_db(a))}
            assert not odd, f"{odd}\n{api_process.output()}"
            down = [answer for answer in load.since(stopped_at) if answer.sent < started_at]
            assert down and all(map(error_db, down)), {(a.status, a.text) for a in down}
            assert max(answer.took for answer in down) < scaled(1)
            # The socket stayed open, and is told that it may have missed changes.
            assert await next_message(ws, 15) == "refresh"
            assert set(await _pong_after(ws)) <= {"refresh"}
            # And changes are announced again.
            data = await asyncio.to_thread(_write_until_success, api, account.key, var)
            assert data["result"] == "success"
            assert await next_message(ws, 2) == "refresh"
        api.http.close()
        api_process.check_alive()
        gateway_process.check_alive()
        _no_traceback_per_request(api_process)


def _write_until_success(api: Api, key: str, var: str) -> dict[str, Any]:
    # The first write after a recovery may still meet a connection that died unseen (error_db).
    deadline = time.monotonic() + scaled(10)
    while True:
        data: dict[str, Any] = api.request(action="write", key=key, id=var, value=1.5).json()
        if data["result"] != "error_db" or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


async def _pong_after(ws: Any) -> list[Any]:
    """Send `ping`, and return what arrived before its `pong`."""
    await ws.send("ping")
    before = []
    while (message := await next_message(ws, 5)) != "pong":
        assert message is not None, "no pong"
        before.append(message)
    return before


@pytest.mark.anyio
async def test_postgres_frozen_error_db_within_deadline_then_recovers(own_postgres: Postgres, account: Account) -> None:
    deadline, slack = scaled(DEADLINE), scaled(SLACK)
    with (
        running_api(own_postgres.url, db_deadline=deadline, **NO_LIMITS) as (api_process, base),
        running_gateway(own_postgres.url, db_deadline=deadline) as (gateway_process, ws_url),
    ):
        api = Api(base)
        var = await asyncio.to_thread(api.create, account.key)
        async with client(ws_url, account.key) as ws:
            with Load(base, _reads(account, var)) as load:
                await eventually_async(lambda: load.answered(succeeded, 0), 10, "reads answered")

                await asyncio.to_thread(own_postgres.freeze)
                frozen_at = time.monotonic()
                status, took = await asyncio.to_thread(healthz, base)
                assert status == 503 and took < HEALTH_DEADLINE + slack, (status, took)
                # The gateway's key check is bounded too: a new socket is told error_db and closed.
                async with client(ws_url) as newcomer:
                    await newcomer.send(f"key {account.key}")
                    code, _, before = await closed_with(newcomer, DEADLINE + SLACK)
                    assert (code, before) == (1011, ["error_db"])
                # Frozen long enough for every client to meet the freeze with a request of its own.
                # (New connections to a frozen postmaster may also fail at once, when its queue is full.)
                await asyncio.sleep(max(0.0, frozen_at + 3 * deadline + slack - time.monotonic()))

                await asyncio.to_thread(own_postgres.thaw)
                thawed_at = time.monotonic()
                await eventually_async(lambda: load.answered(succeeded, thawed_at), 10, "reads answered again")
                assert (await asyncio.to_thread(healthz, base))[0] == 200
            frozen = [answer for answer in load.since(frozen_at) if answer.sent < thawed_at - deadline - slack]
            assert frozen and all(map(error_db, frozen)), {(a.status, a.text) for a in frozen}
            # Every request, even one that met the freeze in the middle, was answered in time.
            late = [answer.took for answer in load.answers if answer.took >= deadline + slack]
            assert not late, late
            # The socket stayed open (told `refresh` if the listener met the freeze), and changes
            # are announced again.
            assert set(await _pong_after(ws)) <= {"refresh"}
            data = await asyncio.to_thread(_write_until_success, api, account.key, var)
            assert data["result"] == "success"
            assert await next_message(ws, 2) == "refresh"
        async with client(ws_url, account.key):
            pass  # keys are checked again
        api.http.close()
        api_process.check_alive()
        gateway_process.check_alive()
        _no_traceback_per_request(api_process)
