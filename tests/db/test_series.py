"""select_reduced against the suite's PostgreSQL: raw and reduced ranges, the latest value, expiry, tenancy."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from service.db.series import EMPTY, RAW_PER_COLUMN, select_reduced
from service.db.variables import Variable, select_variable
from tests.support import Account

DAY = 86400
Conn = asyncpg.Connection


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[Conn]:
    connection = await asyncpg.connect(db_url)
    try:
        yield connection
    finally:
        await connection.close()


async def make_variable(
    conn: Conn, account: Account, *, type_: str = "float", expire: int = 31 * DAY, latest: Any = None, at: int = 0
) -> Variable:
    """A variable of `account`; `latest` written at `at` (Unix seconds) unless None."""
    var_id = uuid.uuid4().hex[:8]
    column = {"int": "value_int", "float": "value_float", "bool": "value_bool", "string": "value_text"}[type_]
    await conn.execute("INSERT INTO variable_ids (id, account_id) VALUES ($1, $2)", var_id, account.id)
    await conn.execute(
        f"""
        INSERT INTO variables (account_id, id, position, type, name, expire, cooldown, {column}, value_time, last_write)
        VALUES ($1, $2, 0, $3, 'T', $4, 1, $5, to_timestamp($6), CASE WHEN $7 THEN to_timestamp($6) END)
        """,
        account.id,
        var_id,
        type_,
        expire,
        latest,
        at or time.time(),
        latest is not None,
    )
    variable = await select_variable(conn, account.id, var_id)
    assert variable is not None
    return variable


async def add_history(conn: Conn, variable: Variable, points: list[tuple[float, Any]], account_id: int = 0) -> None:
    column = {"int": "value_int", "float": "value_float", "bool": "value_bool", "string": "value_text"}[variable.type]
    await conn.executemany(
        f"INSERT INTO history (account_id, variable_id, time, {column}) VALUES ($1, $2, to_timestamp($3), $4)",
        [(account_id or variable.account_id, variable.id, at, value) for at, value in points],
    )


@pytest.mark.anyio
async def test_select_reduced_few_points_come_raw_with_the_latest_value(conn: Conn, alice: Account) -> None:
    until = int(time.time())
    since = until - DAY
    variable = await make_variable(conn, alice, latest=9.5, at=until - 10)
    await add_history(conn, variable, [(until - 3600 * h, float(h)) for h in (5, 3, 1)])

    reduced = await select_reduced(conn, variable, since, until, 800)

    assert not reduced.reduced and reduced.buckets == []
    assert reduced.times == [until - 18000, until - 10800, until - 3600, until - 10]
    assert reduced.values == [5.0, 3.0, 1.0, 9.5]
    assert reduced.count == 4


@pytest.mark.anyio
async def test_select_reduced_range_is_since_exclusive_until_inclusive(conn: Conn, alice: Account) -> None:
    until = int(time.time()) - 100
    since = until - 3600
    variable = await make_variable(conn, alice, latest=0.0, at=until + 50)
    await add_history(conn, variable, [(since, 1.0), (since + 1, 2.0), (until, 3.0), (until + 1, 4.0)])

    reduced = await select_reduced(conn, variable, since, until, 800)

    assert reduced.values == [2.0, 3.0]  # and the latest value, after `until`, is left out


@pytest.mark.anyio
async def test_select_reduced_switches_to_columns_past_four_points_a_column(conn: Conn, alice: Account) -> None:
    until = int(time.time()) - 100
    since, columns = until - 1000, 10
    variable = await make_variable(conn, alice, latest=-1.0, at=until + 50)  # the latest is out of range
    limit = RAW_PER_COLUMN * columns
    await add_history(conn, variable, [(since + 1 + 25 * i, float(i)) for i in range(limit)])

    assert not (await select_reduced(conn, variable, since, until, columns)).reduced

    await add_history(conn, variable, [(until, 99.0)])
    reduced = await select_reduced(conn, variable, since, until, columns)
    assert reduced.reduced and len(reduced.buckets) == columns
    assert reduced.count == limit + 1


@pytest.mark.anyio
async def test_select_reduced_100k_points_keep_each_columns_min_max_and_spike(conn: Conn, alice: Account) -> None:
    until = int(time.time())
    since, columns = until - 30 * DAY, 800
    width = 30 * DAY / columns  # 3240 s
    spike = 54_321
    variable = await make_variable(conn, alice, latest=7.0, at=until)
    # 100,000 points, one every 25 s; the values are exact in float8, whatever their order.
    await conn.execute(
        """
        INSERT INTO history (account_id, variable_id, time, value_float)
        SELECT $1, $2, to_timestamp($3 + 1 + 25 * i), CASE WHEN i = $4 THEN 5000 ELSE (i * 7919) % 1000 END
        FROM generate_series(0, 99999) AS i
        """,
        alice.id,
        variable.id,
        since,
        spike,
    )
    expected: dict[int, list[float]] = {}
    points = [(since + 1 + 25 * i, 5000.0 if i == spike else float(i * 7919 % 1000)) for i in range(100_000)]
    for at, value in [*points, (until, 7.0)]:
        expected.setdefault(int((at - since - 1) // width), []).append(value)

    reduced = await select_reduced(conn, variable, since, until, columns)

    assert reduced.reduced and reduced.count == 100_001
    assert [round(b.start) for b in reduced.buckets] == [round(since + 1 + k * width) for k in sorted(expected)]
    assert [(b.low, b.high) for b in reduced.buckets] == [(min(v), max(v)) for _, v in sorted(expected.items())]
    assert max(b.high for b in reduced.buckets) == 5000.0
    # The line keeps the spike, starts at the first point and ends at the latest value.
    assert 5000.0 in reduced.values
    assert (reduced.times[0], reduced.values[0]) == points[0]
    assert (reduced.times[-1], reduced.values[-1]) == (until, 7.0)
    assert reduced.times == sorted(reduced.times)
    assert len(reduced.times) <= 4 * columns


@pytest.mark.anyio
async def test_select_reduced_leaves_out_expired_rows_but_never_the_latest(conn: Conn, alice: Account) -> None:
    until = int(time.time())
    variable = await make_variable(conn, alice, expire=3600, latest=3.0, at=until - 7000)
    await add_history(conn, variable, [(until - 9000, 1.0), (until - 8000, 2.0)])

    reduced = await select_reduced(conn, variable, until - DAY, until, 800)

    assert reduced.values == [3.0]


@pytest.mark.anyio
async def test_select_reduced_never_includes_another_accounts_rows(conn: Conn, alice: Account, bob: Account) -> None:
    until = int(time.time())
    variable = await make_variable(conn, alice, latest=1.0, at=until - 60)
    # Rows of bob's under the same variable id (as a moved variable's could be): never alice's.
    await add_history(conn, variable, [(until - 600, 666.0), (until - 500, 667.0)], account_id=bob.id)
    await add_history(conn, variable, [(until - 300, 2.0)])

    reduced = await select_reduced(conn, variable, until - 3600, until, 800)
    assert reduced.values == [2.0, 1.0]

    as_bob = await select_reduced(conn, Variable(**{**_fields(variable), "account_id": bob.id}), until - 3600, until, 8)
    assert 2.0 not in as_bob.values and 1.0 not in as_bob.values


@pytest.mark.anyio
async def test_select_reduced_bools_are_0_and_1_and_ints_floats(conn: Conn, alice: Account) -> None:
    until = int(time.time())
    switch = await make_variable(conn, alice, type_="bool", latest=True, at=until - 1)
    await add_history(conn, switch, [(until - 30, False), (until - 20, True), (until - 10, False)])
    count = await make_variable(conn, alice, type_="int", latest=2**53, at=until - 1)
    await add_history(conn, count, [(until - 30, -5)])

    assert (await select_reduced(conn, switch, until - 60, until, 800)).values == [0.0, 1.0, 0.0, 1.0]
    assert (await select_reduced(conn, count, until - 60, until, 800)).values == [-5.0, float(2**53)]


@pytest.mark.anyio
async def test_select_reduced_strings_and_unwritten_variables_give_nothing(conn: Conn, alice: Account) -> None:
    until = int(time.time())
    text = await make_variable(conn, alice, type_="string", latest="hello", at=until - 5)
    await add_history(conn, text, [(until - 30, "older")])
    unwritten = await make_variable(conn, alice)

    assert await select_reduced(conn, text, until - 60, until, 800) == EMPTY
    assert await select_reduced(conn, unwritten, until - 60, until, 800) == EMPTY


def _fields(variable: Variable) -> dict[str, Any]:
    return {name: getattr(variable, name) for name in Variable.__dataclass_fields__}
