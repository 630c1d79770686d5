"""infra/pgbouncer/ run for real: the committed configuration, with its ports, paths and client
authentication replaced by a test's own, in front of the suite's PostgreSQL, with an API behind it in
transaction pooling mode and a gateway connected directly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import pytest

from service.core.settings import Settings
from tests.harness import (
    ROOT,
    ProcessExited,
    Running,
    accepts,
    debian_package,
    free_port,
    running_api,
    running_gateway,
    throwaway_database,
)
from tests.support import Api, Db, lift_cooldown, make_account
from tests.ws_gateway.support import client, next_message

pytestmark = pytest.mark.slow

CONFIG = ROOT / "infra" / "pgbouncer" / "pgbouncer.ini"
DATABASE = "varistore"  # the committed [databases] entry the API connects to
SERVER_CONNECTIONS = 2  # fewer than the API's pool: its client connections share them
API_POOL = 6
CLIENTS = 8  # devices at once, more than the server connections
# application_name of the direct connections, to tell them from the pooler's
DIRECT = ("varistore-gateway", "varistore-test")


def _set(config: str, key: str, value: str) -> str:
    """`config` with `key = value` in the [pgbouncer] section, replacing the committed line if any."""
    line = f"{key} = {value}"
    if re.search(rf"^{key}\s*=.*$", config, re.M):
        return re.sub(rf"^{key}\s*=.*$", lambda _: line, config, count=1, flags=re.M)
    return config.replace("[pgbouncer]\n", f"[pgbouncer]\n{line}\n", 1)


def _pairs(text: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=('(?:[^']|'')*'|\S+)", text))


def _database_entry(config: str, **values: str) -> str:
    """`config` with these values in the committed `varistore = ...` entry, its other values kept."""
    entry = re.search(rf"^{DATABASE}\s*=\s*(.*)$", config, re.M)
    assert entry is not None, f"no [databases] entry {DATABASE} in {CONFIG}"
    pairs = {**_pairs(entry.group(1)), **values}
    return config.replace(entry.group(0), f"{DATABASE} = " + " ".join(f"{k}={v}" for k, v in pairs.items()))


@contextlib.contextmanager
def pgbouncer(server_url: str) -> Iterator[str]:
    """PgBouncer with the committed configuration in front of `server_url`'s database, on a free port
    of the loopback: the URL of the committed database entry through it."""
    program = debian_package("pgbouncer", "pgbouncer")
    parts = urlsplit(server_url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    host = query.get("host") or parts.hostname or "localhost"
    server_port = query.get("port") or str(parts.port or 5432)
    user, password = unquote(parts.username or "postgres"), unquote(parts.password or "")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="varistore-pgbouncer-") as tmp:
        config = _database_entry(CONFIG.read_text(), host=host, port=server_port, dbname=parts.path.lstrip("/"))
        mine = {
            "default_pool_size": str(SERVER_CONNECTIONS),
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",
            "logfile": f"{tmp}/pgbouncer.log",
            "pidfile": f"{tmp}/pgbouncer.pid",
            # The suite's server trusts its local users: clients are trusted here too; the password, if
            # DATABASE_URL's server wants one, is PgBouncer's to log in with.
            "auth_type": "trust",
            "auth_file": f"{tmp}/userlist.txt",
        }
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root. The embedded server's socket is in its data directory,
            # which only its own OS user may enter: run as that user, else as nobody.
            owner = os.stat(host).st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
            mine["user"] = pwd.getpwuid(owner).pw_name
            os.chown(tmp, owner, -1)
        for key, value in mine.items():
            config = _set(config, key, value)
        Path(tmp, "userlist.txt").write_text(f'"{user}" "{password}"\n')
        Path(tmp, "pgbouncer.ini").write_text(config)
        bouncer = Running([program, f"{tmp}/pgbouncer.ini"], name="pgbouncer")
        try:
            bouncer.wait_until(lambda: accepts(port), 10, f"pgbouncer listening on port {port}")
            yield f"postgresql://{user}@127.0.0.1:{port}/{DATABASE}"
        finally:
            bouncer.stop()


async def _each_server_connection(url: str, count: int) -> list[dict[str, str]]:
    """Settings seen in `count` transactions at once through the pooler: one on each server connection."""
    connections = [await asyncpg.connect(url, statement_cache_size=0) for _ in range(count)]
    try:
        everyone = asyncio.Barrier(count)

        async def look(conn: asyncpg.Connection) -> dict[str, str]:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "SELECT pg_backend_pid()::text AS pid, current_setting('statement_timeout') AS statement_timeout,"
                    " current_setting('synchronous_commit') AS synchronous_commit"
                )
                await everyone.wait()  # each holds its server connection until all have one
                return dict(row)

        return await asyncio.gather(*map(look, connections))
    finally:
        for conn in connections:
            await conn.close()


def _named(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


async def _server_connections(url: str) -> int:
    """Connections PostgreSQL has to `url`'s database but the direct ones: the pooler's."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND application_name <> ALL($1::text[])",
                DIRECT,
            )
        )
    finally:
        await conn.close()


def _device(api: Api, key: str, round_: int, var: str | None) -> tuple[str, float]:
    """One device's protocol round through the pooler: create (the first time), write, read it back."""
    if var is None:
        var = api.create(key)
    value = round_ + 0.5
    assert api.call("write", key, id=var, value=value)["result"] == "success"
    read = api.call("read", key, id=var)
    assert (read["result"], read["value"]) == ("success", value), read
    return var, value


@pytest.fixture
def pooled_db(admin_url: str) -> Iterator[str]:
    """A database of this test's own: the pooler's server connections are the only others on it."""
    with throwaway_database(admin_url) as url:
        yield url


def test_the_api_serves_through_pgbouncer_in_transaction_mode(pooled_db: str) -> None:
    text = CONFIG.read_text()
    assert re.search(r"^pool_mode = transaction$", text, re.M)
    # connect_query sets the server-side timeout the API's default deadline would have.
    deadline = Settings.model_fields["db_deadline"].default
    assert re.search(rf"^{DATABASE} = .*connect_query='SET statement_timeout = {round(deadline * 1000)}'", text, re.M)
    db = Db(_named(pooled_db, DIRECT[1]))
    try:
        with (
            contextlib.ExitStack() as stack,
            pgbouncer(pooled_db) as pooled,
            running_api(pooled, db_pooler="transaction", pool_min_size=API_POOL, pool_max_size=API_POOL) as (_, base),
            running_gateway(_named(pooled_db, DIRECT[0])) as (_, ws_url),
        ):
            accounts = [make_account(db) for _ in range(CLIENTS)]
            apis = [Api(base) for _ in accounts]
            for api in apis:
                stack.callback(api.http.close)
            variables: list[str | None] = [None] * CLIENTS
            written: list[list[float]] = [[] for _ in accounts]
            with ThreadPoolExecutor(CLIENTS) as pool:
                for round_ in range(3):
                    rounds = pool.map(_device, apis, [a.key for a in accounts], [round_] * CLIENTS, variables)
                    for i, (var, value) in enumerate(rounds):
                        variables[i] = var
                        written[i].insert(0, value)
                        lift_cooldown(db, var)
            for api, account, var, values in zip(apis, accounts, variables, written, strict=True):
                assert var is not None
                assert api.history_values(account.key, var) == values
                latest = api.simple("slatest", account.key)
                assert f"|{var}|{values[0]}|" in latest, latest

            # The API's client connections (API_POOL, and the notifier's) shared SERVER_CONNECTIONS.
            assert asyncio.run(_server_connections(pooled_db)) <= SERVER_CONNECTIONS
            # Every server connection has the statement timeout, and none kept the notifier's setting.
            seen = asyncio.run(_each_server_connection(pooled, SERVER_CONNECTIONS))
            assert len({s["pid"] for s in seen}) == SERVER_CONNECTIONS
            expected = (f"{deadline:g}s", "on")
            assert [(s["statement_timeout"], s["synchronous_commit"]) for s in seen] == [expected] * SERVER_CONNECTIONS

            # A write through the pooler is announced to the gateway, which LISTENs on PostgreSQL itself.
            async def refreshed() -> None:
                account, var = accounts[0], variables[0]
                async with client(ws_url, account.key) as ws:
                    data = await asyncio.to_thread(apis[0].call, "write", account.key, id=var, value=9.5)
                    assert data["result"] == "success", data
                    assert await next_message(ws, 2.0) == "refresh"

            asyncio.run(refreshed())

            # Without the setting, the API is refused at once rather than left without its statement timeout.
            with pytest.raises(ProcessExited, match="unsupported startup parameter: statement_timeout"):
                with running_api(pooled):
                    pass
    finally:
        db.close()
