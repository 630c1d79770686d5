"""History expiry: what reads leave out and what the background job deletes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from service.db.history import prune_expired
from tests.harness import eventually, running_api
from tests.support import Account, Api, Db, history_rows


def _age(db: Db, var_id: str, seconds: int) -> None:
    db.execute("UPDATE history SET time = time - make_interval(secs => $2) WHERE variable_id = $1", var_id, seconds)


async def _prune(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        total = 0
        while removed := await prune_expired(conn, batch=2):
            total += removed
        return total
    finally:
        await conn.close()


@pytest.mark.anyio
async def test_prune_expired_deletes_only_rows_past_expire(api: Api, db: Db, db_url: str, alice: Account) -> None:
    short = api.create(alice.key, expire=3600)
    long = api.create(alice.key, expire=86400)
    for var in (short, long):
        api.call("write", alice.key, id=var, value=1.0)
        await asyncio.to_thread(_age, db, var, 7200)

    assert await _prune(db_url) >= 1

    assert await asyncio.to_thread(history_rows, db, short) == 0
    assert await asyncio.to_thread(history_rows, db, long) == 1
    # The latest value never expires: read still has it.
    assert api.call("read", alice.key, id=short)["value"] == 1.0
    assert api.call("history", alice.key, id=short)["history"][0]["value"] == 1.0


@pytest.fixture
def fast_pruning_service(db_url: str) -> Iterator[Api]:
    with running_api(db_url, prune_interval=0.2) as (_, base):
        client = Api(base)
        yield client
        client.http.close()


def test_background_job_prunes_expired_history(fast_pruning_service: Api, db: Db, alice: Account) -> None:
    api = fast_pruning_service
    var = api.create(alice.key, expire=3600)
    api.call("write", alice.key, id=var, value=1.0)
    _age(db, var, 7200)

    eventually(lambda: history_rows(db, var) == 0, 5, "the background job deleting expired history")
