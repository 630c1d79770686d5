"""/healthz, and what clients get while the database is away."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.support import Api, free_port, stop_process, with_database


def test_healthz_ok(api: Api) -> None:
    response = api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_database_away_healthz_503_and_requests_error_db(admin_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": with_database(admin_url, "varistore_does_not_exist"),
        "VARISTORE_POOL_MIN_SIZE": "0",
        "VARISTORE_LOG_LEVEL": "critical",
    }
    process = subprocess.Popen([sys.executable, "-m", "service", "api", "--port", str(port)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert health.status_code == 503

        json_answer = httpx.get(base, params={"action": "list", "key": "k"})
        assert json_answer.status_code == 503
        assert json_answer.json() == {"result": "error_db"}

        simple_answer = httpx.get(base, params={"action": "sread", "key": "k", "id": "x"})
        assert (simple_answer.status_code, simple_answer.text) == (503, "error_db")
    finally:
        stop_process(process)
