"""The suite's PostgreSQL, database and running service, in two tiers.

DATABASE_URL (a server where we may create databases) is used when set; otherwise the suite
starts its own throwaway PostgreSQL (tests/harness.py). One database, migrated once, serves the
whole session: every test makes its own accounts with random emails, so tests never see each
other's data, and everything they do really commits, as in production.

- The real-process tier: `api` talks to one `varistore api` process over real sockets, for
  everything that checks bytes on the wire.
- The in-process tier: `app_client` is an httpx client calling the ASGI app in the test's own
  event loop (async tests, `pytest.mark.anyio`), for pages, cookies and mail to come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis.configuration import set_hypothesis_home_dir

from service.actions.context import Services
from service.app import create_app
from service.core.settings import Plan, Settings
from service.db.pool import create_database
from service.db.read_batch import ReadBatcher
from service.db.write_batch import WriteBatcher
from service.rendering import Renderer
from tests.harness import Running, postgres_server, running_api, throwaway_database
from tests.support import Account, Api, Db, make_account

pytest_plugins = ["tests.mailbox"]  # the `mailbox` fixture: a real SMTP server per test module


@pytest.fixture(scope="session", autouse=True)
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis's caches (its own and schemathesis's) in a temporary directory, not `.hypothesis/`
    in the checkout."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """A URL to a server where the suite may create and drop databases."""
    with postgres_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def db_url(admin_url: str) -> Iterator[str]:
    """The session's database, migrated to head."""
    with throwaway_database(admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def db(db_url: str) -> Iterator[Db]:
    handle = Db(db_url)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def service_url(db_url: str) -> Iterator[str]:
    with running_api(db_url) as (_, base):
        yield base


@dataclass(frozen=True)
class Server:
    """A `varistore api` of a test module's own: what it logs is the module's to read."""

    process: Running
    api: Api

    def output(self) -> str:
        return self.process.output()


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[Server]:
    with running_api(db_url) as (process, base):
        client = Api(base)
        try:
            yield Server(process, client)
        finally:
            client.http.close()


@pytest.fixture(scope="session")
def api(service_url: str) -> Iterator[Api]:
    client = Api(service_url)
    yield client
    client.http.close()


@pytest.fixture
async def app_client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this test's event loop, its lifespan run, behind an httpx client."""
    app = create_app(Settings(pool_min_size=1, pool_max_size=4, limit_per_key="", limit_per_ip=""), db_url)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(manager.app), base_url="http://varistore.test") as client,
    ):
        yield client


@pytest.fixture
async def services(db_url: str) -> AsyncIterator[Services]:
    """What the use cases run with, in this test's event loop: for tests that call them directly."""
    # Room for the concurrent use cases of one test (tests/service/actions/test_write_at.py).
    database = await create_database(db_url, min_size=1, max_size=8)
    services = Services(
        database, WriteBatcher(database, max_size=64), Plan(), Renderer(workers=1, cache_bytes=0), ReadBatcher(database)
    )
    yield services
    await services.close()
    await database.close()


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
