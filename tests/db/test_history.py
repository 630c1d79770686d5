"""History expiry: what reads leave out and what the background job deletes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from service.db.history import prune_expired
from tests.conftest import start_service
from tests.support import Account, Api, Db, history_rows, stop_process


def _age(db: Db, var_id: str, seconds: int) -> None:
    db.execute("UPDATE history SET time = time - make_interval(secs => $2) WHERE variable_id = $1", var_id, seconds)


def _prune(db_url: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(db_url)
        try:
            total = 0
            while removed := await prune_expired(conn, batch=2):
                total += removed
            return total
        finally:
            await conn.close()

    return asyncio.run(run())


def test_prune_expired_deletes_only_rows_past_expire(api: Api, db: Db, db_url: str, alice: Account) -> None:
    short = api.create(alice.key, expire=3600)
    long = api.create(alice.key, expire=86400)
    for var in (short, long):
        api.call("write", alice.key, id=var, value=1.0)
        _age(db, var, 7200)

    assert _prune(db_url) >= 1

    assert history_rows(db, short) == 0
    assert history_rows(db, long) == 1
    # The latest value never expires: read still has it.
    assert api.call("read", alice.key, id=short)["value"] == 1.0
    assert api.call("history", alice.key, id=short)["history"][0]["value"] == 1.0


@pytest.fixture
def fast_pruning_service(db_url: str) -> Iterator[Api]:
    process, base = start_service(db_url, env={"VARISTORE_PRUNE_INTERVAL": "0.2"})
    client = Api(base)
    yield client
    client.http.close()
    stop_process(process)


def test_background_job_prunes_expired_history(fast_pruning_service: Api, db: Db, alice: Account) -> None:
    api = fast_pruning_service
    var = api.create(alice.key, expire=3600)
    api.call("write", alice.key, id=var, value=1.0)
    _age(db, var, 7200)

    for _ in range(50):
        if history_rows(db, var) == 0:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert history_rows(db, var) == 0
