"""`varistore serve` with its embedded PostgreSQL, as `make run` starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import free_port


def _postgres_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and any(str(data_dir) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


def test_serve_embedded_database_cli_shares_it_and_sigterm_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port, gateway_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"VARISTORE_DATA": str(data_dir), "VARISTORE_PORT": str(port), "VARISTORE_GATEWAY_PORT": str(gateway_port)}
    with subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as serve:
        _drive(serve, data_dir, port, gateway_port, env)
        assert serve.stdout is not None
        output = serve.stdout.read()
        assert f"http://127.0.0.1:{port}/" in output
        assert f"ws://127.0.0.1:{gateway_port}/ws" in output
    deadline = time.monotonic() + 10
    while _postgres_of(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _postgres_of(data_dir)


def _drive(serve: subprocess.Popen[str], data_dir: Path, port: int, gateway_port: int, env: dict[str, str]) -> None:
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, serve)
        _wait_healthy(f"http://127.0.0.1:{gateway_port}", serve)
        assert _postgres_of(data_dir)

        # The command line joins the running server rather than starting a second one.
        created = subprocess.run(
            [sys.executable, "-m", "service", "account", "create", "--email", "m@example.com", "--confirmed"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        key = created.stdout.splitlines()[-1]
        answer = httpx.get(base, params={"key": key, "action": "create", "type": "float", "name": "T"}).json()
        assert answer["result"] == "success"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{gateway_port}/healthz", timeout=1)
    finally:
        if serve.poll() is None:
            serve.kill()
