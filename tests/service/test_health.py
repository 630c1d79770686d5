"""/healthz, and what clients get while the database is away."""

from __future__ import annotations

import httpx

from tests.harness import Running, free_port, scaled, settings_env, varistore, with_database
from tests.support import Api


def test_healthz_ok(api: Api) -> None:
    response = api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_database_away_healthz_503_and_requests_error_db(admin_url: str) -> None:
    port = free_port()
    env = {"DATABASE_URL": with_database(admin_url, "varistore_does_not_exist")}
    process = Running(
        varistore("api", "--port", str(port)), {**env, **settings_env(pool_min_size=0, log_level="critical")}
    )
    try:
        base = f"http://127.0.0.1:{port}"
        answered: list[httpx.Response] = []

        def health_answered() -> bool:
            try:
                answered.append(httpx.get(f"{base}/healthz", timeout=scaled(5)))
            except httpx.TransportError:
                return False
            return True

        process.wait_until(health_answered, 30, "/healthz answering")
        assert answered[-1].status_code == 503

        json_answer = httpx.get(base, params={"action": "list", "key": "k"})
        assert json_answer.status_code == 503
        assert json_answer.json() == {"result": "error_db"}

        simple_answer = httpx.get(base, params={"action": "sread", "key": "k", "id": "x"})
        assert (simple_answer.status_code, simple_answer.text) == (503, "error_db")
    finally:
        process.stop()
