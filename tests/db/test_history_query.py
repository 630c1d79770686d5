"""The history query statements (service/db/history_query.py): which points, in what order, where
a page resumes, and buckets, on the database itself."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from service.core.ids import new_variable_id
from service.db.history_query import Stamped, micros_of, select_buckets, select_points
from service.db.variables import Variable, select_variable
from tests.support import Account

pytestmark = pytest.mark.anyio

NOW = time.time()
BASE = (int(NOW) // 86400 - 3) * 86400
COLUMN = {"int": "value_int", "float": "value_float", "bool": "value_bool", "string": "value_text"}


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(db_url)
    yield connection
    await connection.close()


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def variable(
    conn: asyncpg.Connection,
    account: Account,
    type_: str,
    history: list[tuple[float, Any]],
    latest: tuple[float, Any] | None,
    *,
    expire: int = 31_536_000,
) -> Variable:
    """A variable holding `history` rows and, unless None, `latest` as its latest value."""
    var_id = new_variable_id()
    column = COLUMN[type_]
    await conn.execute("INSERT INTO variable_ids (id, account_id) VALUES ($1, $2)", var_id, account.id)
    await conn.execute(
        f"""
        INSERT INTO variables (account_id, id, position, type, name, expire, cooldown, value_time, last_write, {column})
        VALUES ($1, $2, 0, $3, 'v', $4, 60, $5, $6, $7)
        """,
        account.id,
        var_id,
        type_,
        expire,
        moment(latest[0] if latest else NOW),
        moment(latest[0]) if latest else None,
        latest[1] if latest else None,
    )
    rows = [*history, *([latest] if latest and expire else [])]
    await conn.executemany(
        f"INSERT INTO history (account_id, variable_id, time, {column}) VALUES ($1, $2, $3, $4)",
        [(account.id, var_id, moment(t), value) for t, value in rows],
    )
    found = await select_variable(conn, account.id, var_id)
    assert found is not None
    return found


def stamped(seconds: float, value: Any, nth: int = 1) -> Stamped:
    return Stamped(micros_of(moment(seconds)), value, nth)


async def test_points_ties_ordered_by_value_and_numbered(conn: asyncpg.Connection, alice: Account) -> None:
    var = await variable(conn, alice, "int", [(BASE, 3), (BASE, 1), (BASE, 2), (BASE + 60, 5)], (BASE + 120, 9))

    asc = await select_points(conn, var, None, None, descending=False, after=None, limit=10)
    desc = await select_points(conn, var, None, None, descending=True, after=None, limit=10)

    assert asc == [
        stamped(BASE, 1, 1),
        stamped(BASE, 2, 2),
        stamped(BASE, 3, 3),
        stamped(BASE + 60, 5),
        stamped(BASE + 120, 9),
    ]
    assert desc == [
        stamped(BASE + 120, 9),
        stamped(BASE + 60, 5),
        stamped(BASE, 3, 1),
        stamped(BASE, 2, 2),
        stamped(BASE, 1, 3),
    ]


@pytest.mark.parametrize("descending", [False, True])
async def test_points_resume_inside_a_time(conn: asyncpg.Connection, alice: Account, descending: bool) -> None:
    var = await variable(conn, alice, "int", [(BASE, 3), (BASE, 1), (BASE, 2), (BASE + 60, 5)], (BASE + 120, 9))
    every = await select_points(conn, var, None, None, descending=descending, after=None, limit=10)

    for cut in range(len(every)):
        last = every[cut]
        rest = await select_points(
            conn, var, None, None, descending=descending, after=(last.micros, last.nth), limit=10
        )
        assert rest == every[cut + 1 :]


async def test_points_expired_rows_left_out_latest_kept(conn: asyncpg.Connection, alice: Account) -> None:
    # Expired rows not yet pruned, one still inside the window; the latest value, older than the
    # window, never expires.
    history = [(NOW - 7300, 1.0), (NOW - 7200, 2.0), (NOW - 1800, 3.0)]
    var = await variable(conn, alice, "float", history, (NOW - 600, 4.0), expire=3600)

    got = await select_points(conn, var, None, None, descending=False, after=None, limit=10)

    assert [row.value for row in got] == [3.0, 4.0]


async def test_points_expire_zero_only_the_latest_value(conn: asyncpg.Connection, alice: Account) -> None:
    var = await variable(conn, alice, "bool", [], (NOW - 5, True), expire=0)
    got = await select_points(conn, var, None, None, descending=True, after=None, limit=10)
    assert [row.value for row in got] == [True]


async def test_points_never_written_none(conn: asyncpg.Connection, alice: Account) -> None:
    var = await variable(conn, alice, "int", [], None)
    assert await select_points(conn, var, None, None, descending=True, after=None, limit=10) == []
    assert (
        await select_buckets(conn, var, None, None, interval=60, agg="count", descending=True, after=None, limit=10)
        == []
    )


async def test_points_range_bounds_apply_to_the_latest_value_too(conn: asyncpg.Connection, alice: Account) -> None:
    var = await variable(conn, alice, "int", [(BASE, 1)], (BASE + 60, 2))
    assert [
        r.value
        for r in await select_points(conn, var, moment(BASE), moment(BASE + 60), descending=False, after=None, limit=9)
    ] == [1]
    assert [
        r.value for r in await select_points(conn, var, moment(BASE + 60), None, descending=False, after=None, limit=9)
    ] == [2]


async def test_buckets_aligned_to_the_epoch(conn: asyncpg.Connection, alice: Account) -> None:
    var = await variable(conn, alice, "int", [(BASE + k, k) for k in range(20)], (BASE + 20, 20))

    got = await select_buckets(conn, var, None, None, interval=7, agg="count", descending=False, after=None, limit=9)

    starts = sorted({(BASE + k) // 7 * 7 for k in range(21)})
    counts = [sum(1 for k in range(21) if (BASE + k) // 7 * 7 == start) for start in starts]
    assert got == [Stamped(start * 1_000_000, n, 1) for start, n in zip(starts, counts, strict=True)]


async def test_buckets_avg_of_huge_floats_does_not_overflow(conn: asyncpg.Connection, alice: Account) -> None:
    huge = [(BASE, 1.5e308), (BASE + 1, 1.5e308), (BASE + 1.5, 1e200)]
    var = await variable(conn, alice, "float", huge, (BASE + 2, -1e308))

    got = await select_buckets(conn, var, None, None, interval=60, agg="avg", descending=False, after=None, limit=9)

    assert got == [Stamped(BASE * 1_000_000, pytest.approx(1.5e308 / 4 * 2 - 1e308 / 4 + 1e200 / 4), 1)]


async def test_buckets_resume_after_a_bucket(conn: asyncpg.Connection, alice: Account) -> None:
    var = await variable(conn, alice, "int", [(BASE + 30 * k, k) for k in range(10)], (BASE + 300, 10))

    for descending in (False, True):
        every = await select_buckets(
            conn, var, None, None, interval=60, agg="max", descending=descending, after=None, limit=99
        )
        assert len(every) == 6
        for cut in range(len(every)):
            rest = await select_buckets(
                conn, var, None, None, interval=60, agg="max", descending=descending, after=every[cut].micros, limit=99
            )
            assert rest == every[cut + 1 :]
