"""firmware_examples/python/varistore_client.py against a live Varistore: every command as a subprocess,
and the module as a library (loaded from its file, as a user who copied it would)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import threading
from types import ModuleType
from urllib.parse import urlsplit

import pytest

from tests.firmware.conftest import Live
from tests.harness import ROOT, Running, free_port, running_gateway, scaled
from tests.support import Account

CLIENT = ROOT / "firmware_examples" / "python" / "varistore_client.py"


@pytest.fixture(scope="module")
def client() -> ModuleType:
    spec = importlib.util.spec_from_file_location("varistore_client", CLIENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args], env=env, capture_output=True, text=True, timeout=scaled(30)
    )


def test_commands(live: Live, maker: Account) -> None:
    env = live.env(maker.key)
    var = live.api.create(maker.key)
    text = live.api.create(maker.key, type="string")

    assert (run(env, "write", var, "21.5").stdout, run(env, "write", text, "a|b & c").stdout) == ("success\n",) * 2
    assert run(env, "read", var).stdout == "21.5\n"
    assert run(env, "read", text).stdout == "a|b & c\n"
    [(when, value)] = [line.split("\t") for line in run(env, "history", var).stdout.splitlines()]
    assert value == "21.5" and re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", when)
    latest = [line.split("\t")[:2] for line in run(env, "latest").stdout.splitlines()]
    assert latest == [[var, "21.5"], [text, "a|b & c"]]

    again = run(env, "write", var, "22")
    assert (again.returncode, again.stdout) == (4, "")
    assert again.stderr.startswith("varistore_client: error_cooldown: written too soon: wait the variable's cooldown")


@pytest.mark.parametrize(
    ("change", "args", "status", "says"),
    [
        ({"VARISTORE_KEY": "A" * 16}, ("latest",), 5, "error_invalid_key: the API key is wrong"),
        ({}, ("read", "AAAAAAAA"), 6, "error_invalid_id: no such variable"),
        ({}, ("write", "VAR", "warm"), 7, "error_invalid_parameters: the value does not fit"),
        ({"VARISTORE_KEY": ""}, ("latest",), 2, "set VARISTORE_HOST and VARISTORE_KEY"),
        ({"VARISTORE_PORT": "http"}, ("latest",), 2, "VARISTORE_PORT is not a port number: 'http'"),
        ({}, ("read",), 2, "the following arguments are required: id"),
        ({"VARISTORE_PORT": "FREE"}, ("latest",), 3, "cannot reach http://127.0.0.1:"),
        ({"VARISTORE_PORT": "GATEWAY"}, ("latest",), 3, "cannot reach http://127.0.0.1:"),
        ({"VARISTORE_KEY": "A" * 16}, ("watch",), 5, "error_invalid_key: the API key is wrong"),
    ],
)
def test_failures(
    live: Live, maker: Account, change: dict[str, str], args: tuple[str, ...], status: int, says: str
) -> None:
    ports = {"FREE": str(free_port()), "GATEWAY": str(live.gateway_port)}
    env = {**live.env(maker.key), **{name: ports.get(value, value) for name, value in change.items()}}
    args = tuple(live.api.create(maker.key) if arg == "VAR" else arg for arg in args)
    failed = run(env, *args)
    assert (failed.returncode, failed.stdout) == (status, ""), failed.stderr
    assert says in failed.stderr


def test_watch_prints_each_refresh(live: Live, maker: Account) -> None:
    var = live.api.create(maker.key)
    watch = Running([sys.executable, str(CLIENT), "watch"], live.env(maker.key), name="varistore_client.py watch")
    try:
        watch.line_starting("varistore_client: connected to ws://127.0.0.1:", within=30)
        assert live.api.simple("swrite", maker.key, id=var, value=1) == "success"
        watch.line_starting("refresh", within=30)
        assert live.api.simple("swrite", maker.key, id=live.api.create(maker.key), value=2) == "success"
        watch.wait_until(lambda: watch.output().count("refresh\n") >= 2, 30, "a second refresh")
    finally:
        watch.stop()


def test_library(live: Live, maker: Account, client: ModuleType) -> None:
    var = live.api.create(maker.key, type="int")
    vs = client.Varistore(live.host, maker.key, live.port, live.gateway_port, timeout=scaled(10))

    assert vs.write(var, 7) is None
    reading = vs.read(var)
    assert reading.value == 7 and isinstance(reading.value, int) and reading.time > 0
    assert vs.history(var) == [reading]
    assert vs.latest() == {var: reading}
    with pytest.raises(client.VaristoreError) as refused:
        vs.write(var, 8)
    assert refused.value.result == "error_cooldown"


def test_library_watch_pings(live: Live, maker: Account, client: ModuleType, db_url: str) -> None:
    """On a gateway that closes sockets silent for 1 s, one connection for 3 s shows the pings sent; with a
    1 s timeout, that a `pong` answers each (one left unanswered counts as a lost connection)."""
    other = live.api.create(maker.key)
    written = threading.Event()

    def write() -> None:
        live.api.simple("swrite", maker.key, id=other, value=1)
        written.set()

    with running_gateway(db_url, ws_idle_timeout=scaled(1)) as (_, url):
        vs = client.Varistore(live.host, maker.key, live.port, urlsplit(url).port, timeout=scaled(1))
        vs.ping_every = scaled(0.3)
        statuses: list[str] = []
        timer = threading.Timer(scaled(3), write)

        def on_status(status: str) -> None:
            statuses.append(status)
            timer.start()  # a second time (a reconnection): RuntimeError

        refreshes = vs.watch(on_status)
        try:
            while not written.is_set():  # an earlier change's refresh may come first
                assert next(refreshes) == "refresh"
        finally:
            refreshes.close()
            timer.cancel()
    assert len(statuses) == 1 and statuses[0].startswith("connected to ws://"), statuses


class Enough(Exception):
    pass


def test_library_watch_backs_off(client: ModuleType) -> None:
    vs = client.Varistore("127.0.0.1", "A" * 16, 80, free_port(), timeout=scaled(2))
    statuses: list[str] = []

    def on_status(message: str) -> None:
        statuses.append(message)
        if len(statuses) == 5:
            raise Enough

    with pytest.raises(Enough):
        next(vs.watch(on_status, first_delay=0.01, max_delay=0.04))
    assert [status.rsplit(" in ", 1)[1] for status in statuses] == ["0.01 s", "0.02 s", "0.04 s", "0.04 s", "0.04 s"]
    assert statuses[0].startswith("connection lost ([Errno 111] Connection refused)"), statuses
