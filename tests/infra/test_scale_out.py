"""Scale-out behind infra/nginx/ (issue 11): nginx in front of two API processes and two gateways on
one PostgreSQL, on loopback. Writes through nginx reach both replicas and every socket gets its
refresh; a replica killed mid-load loses no acknowledged write; the client's own address reaches the
service through the proxy (an IP ban holds, whatever X-Forwarded-For the client sends)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from tests.harness import Running, eventually_async, running_api, running_gateway, scaled, throwaway_database
from tests.infra.nginx import Edge, running_nginx
from tests.support import Account, Db, make_account, moved, samples
from tests.ws_gateway.support import client, next_message

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SETTINGS = {
    # A write a second per variable (cooldown = expire / points), so that a steady load needs few variables.
    "plan_min_cooldown": 1,
    "plan_max_history_points": 100_000,
}


@dataclass
class Cluster:
    db: Db
    apis: list[tuple[Running, str]]  # each replica and its own base URL
    gateways: list[tuple[Running, str]]  # each gateway and its own ws:// URL
    edge: Edge


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


@contextlib.contextmanager
def cluster(admin_url: str) -> Iterator[Cluster]:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(throwaway_database(admin_url))
        db = Db(url)
        stack.callback(db.close)
        apis = [stack.enter_context(running_api(url, **SETTINGS)) for _ in range(2)]
        gateways = [stack.enter_context(running_gateway(url)) for _ in range(2)]
        edge = stack.enter_context(running_nginx([_port(b) for _, b in apis], [_port(u) for _, u in gateways]))
        yield Cluster(db, apis, gateways, edge)


@pytest.fixture(scope="module")
def shared(admin_url: str) -> Iterator[Cluster]:
    with cluster(admin_url) as running:
        yield running


@pytest.fixture
def account(shared: Cluster) -> Account:
    return make_account(shared.db)


def edge_client(base: str, *, source: str = "127.0.0.1", verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """A client of the edge from loopback address `source` (any 127.x.y.z is this machine)."""
    transport = httpx.AsyncHTTPTransport(local_address=source, verify=verify)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=scaled(30))


async def call(http: httpx.AsyncClient, **params: str) -> dict[str, object]:
    answer = await http.get("/", params=params)
    data: dict[str, object] = answer.json()
    return data


async def test_writes_through_nginx_reach_both_replicas_and_every_socket_is_refreshed(
    shared: Cluster, account: Account
) -> None:
    tls = ssl.create_default_context(cafile=str(shared.edge.certificate))
    before = [samples(base) for _, base in shared.apis]
    async with (
        edge_client(shared.edge.http) as http,
        edge_client(shared.edge.https, verify=tls) as https,
        client(shared.gateways[0][1], account.key) as on_first,
        client(shared.gateways[1][1], account.key) as on_second,
        client(shared.edge.ws, account.key) as through_nginx,
        client(shared.edge.ws.replace("ws://", "wss://").replace(shared.edge.http[7:], shared.edge.https[8:]),
               account.key, ssl=tls) as through_tls,
    ):  # fmt: skip
        sockets = (on_first, on_second, through_nginx, through_tls)
        created = await call(http, key=account.key, action="create", type="int", name="n")
        assert created["result"] == "success", created
        var = str(created["id"])
        for ws in sockets:
            assert await next_message(ws, 5) == "refresh"
        # Plain HTTP and HTTPS: the same service. nginx spreads requests over both replicas (round robin).
        for i in range(20):
            answer = await call(https if i % 2 else http, key=account.key, action="read", id=var)
            assert answer["result"] == "success", answer
        for ws in sockets:
            assert await next_message(ws, 0.2) is None  # reads change nothing
    after = [samples(base) for _, base in shared.apis]
    served = [moved(b, a, "read", "success") for b, a in zip(before, after, strict=True)]
    assert sum(served) == 20 and min(served) > 0, served


async def test_the_edge_answers_as_the_service_and_keeps_the_dashboard_on_https(shared: Cluster) -> None:
    async with edge_client(shared.edge.http) as http:
        device = await http.get("/", params={"action": "sread", "key": "no-such-key", "id": "x"})
        assert (device.status_code, device.text) == (200, "error_invalid_key")  # no redirect for devices
        dashboard = await http.get("/app/login")
        assert dashboard.status_code == 301
        assert dashboard.headers["location"] == f"https://{urlsplit(shared.edge.http).hostname}/app/login"
        assert (await http.get("/metrics")).status_code == 404  # the replicas' metrics stay private
        too_large = await http.post("/", content=b"action=read&" + b"x" * 70_000)
        assert (too_large.status_code, too_large.json()) == (413, {"result": "error_invalid_parameters"})


async def test_the_clients_own_address_reaches_the_service_through_nginx(shared: Cluster, account: Account) -> None:
    async with edge_client(shared.edge.http) as http:
        var = await _create(http, account)
    await asyncio.to_thread(shared.db.execute, "INSERT INTO banned_ips (ip) VALUES ('127.0.0.77')")
    try:
        async with edge_client(shared.edge.http, source="127.0.0.77") as banned, edge_client(shared.edge.http) as ok:
            for _ in range(4):  # on both replicas
                assert (await call(banned, key=account.key, action="read", id=var))["result"] == "error_invalid_key"
                assert (await call(ok, key=account.key, action="read", id=var))["result"] == "success"
            # A header the client makes up is replaced at the edge, never believed.
            forged = await banned.get(
                "/", params={"key": account.key, "action": "read", "id": var}, headers={"X-Forwarded-For": "10.1.2.3"}
            )
            assert forged.json()["result"] == "error_invalid_key"
            # The gateway sees the same address through the proxy.
            async with client(shared.edge.ws, local_addr=("127.0.0.77", 0)) as ws:
                await ws.send(f"key {account.key}")
                assert await next_message(ws, 5) == "error_invalid_key"
            async with client(shared.edge.ws, account.key):
                pass  # `ok` from 127.0.0.1
    finally:
        await asyncio.to_thread(shared.db.execute, "DELETE FROM banned_ips WHERE ip = '127.0.0.77'")


@pytest.fixture
def own(admin_url: str) -> Iterator[Cluster]:
    """A cluster of the test's own, which it breaks."""
    with cluster(admin_url) as running:
        yield running


WRITERS = 16  # devices, each from an address of its own
VARIABLES = 8  # each writes its own, once a second (the cooldown)


async def test_a_replica_killed_mid_load_loses_no_acknowledged_write(own: Cluster) -> None:
    account = await asyncio.to_thread(make_account, own.db, max_variables=WRITERS * VARIABLES)
    acknowledged: set[tuple[str, int]] = set()
    answers: Counter[str] = Counter()
    after_kill: Counter[str] = Counter()
    served_after_kill: set[int] = set()  # devices that got a success from the replica left
    killed = asyncio.Event()
    stop = asyncio.Event()

    async def device(number: int) -> None:
        async with edge_client(own.edge.http, source=f"127.0.1.{number + 1}") as http:
            ids = [await _create(http, account) for _ in range(VARIABLES)]
            value = 0
            while not stop.is_set():
                started = time.monotonic()
                for var in ids:
                    value += 1
                    result = await _write(http, account, var, value)
                    answers[result] += 1
                    if killed.is_set():
                        after_kill[result] += 1
                    if result == "success":
                        acknowledged.add((var, value))
                        if killed.is_set():
                            served_after_kill.add(number)
                await asyncio.sleep(max(0.0, 1.05 - (time.monotonic() - started)))

    devices = asyncio.gather(*(device(n) for n in range(WRITERS)))
    await asyncio.sleep(scaled(2))
    own.apis[0][0].process.kill()  # SIGKILL: no goodbye, requests in flight cut
    killed.set()
    await asyncio.sleep(scaled(1))
    # nginx keeps serving from the other replica: every device gets on with its writes.
    await eventually_async(lambda: len(served_after_kill) == WRITERS, 30, "every device served after the kill")
    stop.set()
    await devices

    stored = await asyncio.to_thread(
        own.db.fetch, "SELECT variable_id, value_int FROM history WHERE account_id = $1", account.id
    )
    history = [(row["variable_id"], row["value_int"]) for row in stored]
    assert acknowledged <= set(history), f"acknowledged but lost: {sorted(acknowledged - set(history))[:10]}"
    assert len(history) == len(set(history)), "a write stored twice"
    # No device saw an error, a refused connection or a 5xx.
    # A write cut on the killed replica is sent again to the other: refused (error_cooldown) if it had committed.
    assert set(answers) <= {"success", "error_cooldown"}, answers
    print(f"answers: {dict(answers)}; after the kill: {dict(after_kill)}")


async def _create(http: httpx.AsyncClient, account: Account) -> str:
    created = await call(http, key=account.key, action="create", type="int", name="n")
    assert created["result"] == "success", created
    return str(created["id"])


async def _write(http: httpx.AsyncClient, account: Account, var: str, value: int) -> str:
    """The write's result, or the name of what went wrong: a transport error, a body not the protocol's."""
    try:
        return str((await call(http, key=account.key, action="write", id=var, value=str(value)))["result"])
    except (httpx.HTTPError, ValueError) as exc:
        return type(exc).__name__


async def test_a_gateway_stopped_for_a_restart_sends_its_sockets_to_the_other(own: Cluster) -> None:
    account = await asyncio.to_thread(make_account, own.db)
    async with contextlib.AsyncExitStack() as stack:
        # Through nginx (least_conn): two sockets on each gateway.
        sockets = [await stack.enter_async_context(client(own.edge.ws, account.key)) for _ in range(4)]
        assert await asyncio.to_thread(own.gateways[0][0].stop) == 0
        gone = [ws for ws in sockets if ws.protocol.close_rcvd is not None]
        assert [ws.protocol.close_rcvd.code for ws in gone if ws.protocol.close_rcvd] == [1001, 1001]
        # They come back through the same address, to the gateway still running.
        sockets = [ws for ws in sockets if ws not in gone]
        sockets += [await stack.enter_async_context(client(own.edge.ws, account.key)) for _ in gone]
        async with edge_client(own.edge.http) as http:
            await _create(http, account)
        for ws in sockets:
            assert await next_message(ws, 5) == "refresh"
