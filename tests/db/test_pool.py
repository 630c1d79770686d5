"""The deadline on each piece of database work (service/db/pool.py), on a live server: what it cuts,
what it leaves alone, and that the pool serves on afterwards. A frozen server is
tests/service/test_outages.py's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from service.db.pool import TICK, Database, create_database
from tests.harness import scaled

pytestmark = pytest.mark.anyio

DEADLINE = 0.3


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    database = await create_database(db_url, min_size=1, max_size=1, deadline=scaled(DEADLINE))
    yield database
    await database.close()


async def _select_one(database: Database) -> int:
    async with database.connection() as conn:
        return int(await conn.fetchval("SELECT 1"))


async def test_work_past_its_deadline_raises_timeout_and_the_pool_serves_on(database: Database) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with database.connection() as conn, conn.transaction():
            await conn.execute("SET LOCAL statement_timeout = 0")  # the deadline alone, not the server's
            await conn.execute("SELECT pg_sleep(30)")
    assert time.monotonic() - started < scaled(DEADLINE + TICK + 0.5)
    assert await _select_one(database) == 1


async def test_waiting_for_a_connection_counts_against_the_deadline(database: Database) -> None:
    held, done = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with database.connection(scaled(10)):
            held.set()
            await done.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await _select_one(database)  # the pool has one connection, and it is taken
    assert time.monotonic() - started < scaled(DEADLINE + TICK + 0.5)
    done.set()
    await holder
    assert await _select_one(database) == 1


async def test_a_longer_deadline_is_kept(database: Database) -> None:
    async with database.connection(scaled(10)) as conn:
        await asyncio.sleep(scaled(DEADLINE * 2))
        assert await conn.fetchval("SELECT 1") == 1


async def test_cancelled_from_outside_stays_a_cancellation(database: Database) -> None:
    async def work() -> None:
        async with database.connection(scaled(10)) as conn:
            await conn.execute("SELECT pg_sleep(0.2)")

    task = asyncio.create_task(work())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _select_one(database) == 1


async def test_a_statement_past_the_deadline_is_stopped_by_the_server_too(database: Database) -> None:
    async with database.connection() as conn:
        timeout = await conn.fetchval("SELECT current_setting('statement_timeout')")
    assert timeout == f"{round(scaled(DEADLINE) * 1000)}ms"
