"""write_at (issue 14): back-filled points, measured at a time and sent later, against the clock,
the expire window and the cooldown on their own timeline (service/actions/backfill.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.values import Written
from service.core.access import Actor
from service.core.changes import Change, ChangeKind
from service.core.ids import key_hash
from service.core.results import Result, VariPassError
from tests.support import Account, Api

pytestmark = pytest.mark.anyio

CONCURRENT = 8


def by_key(account: Account) -> Actor:
    return Actor.by_key(key_hash(account.key), None)


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def create(services: Services, account: Account, type_: str = "float", expire: int = 86400) -> str:
    fields = {"type": type_, "name": "T", "expire": expire}
    return str((await USE_CASES["create"].perform_fields(services, by_key(account), fields)).value)


async def write_at(services: Services, actor: Actor, var: str, value: Any, at: Any) -> Result:
    """The answer to a write_at, as a result code."""
    try:
        await USE_CASES["write_at"].perform_fields(services, actor, {"id": var, "value": value, "time": at})
    except VariPassError as error:
        return error.result
    return Result.SUCCESS


async def live_write(services: Services, account: Account, var: str, value: Any) -> Result:
    try:
        await USE_CASES["write"].perform_fields(services, by_key(account), {"id": var, "value": value})
    except VariPassError as error:
        return error.result
    return Result.SUCCESS


async def history(services: Services, var: str) -> list[tuple[float, Any]]:
    """Every history row of the variable, oldest first: (Unix seconds, value)."""
    async with services.database.connection() as conn:
        rows = await conn.fetch(
            "SELECT time, coalesce(value_float::text, value_int::text, value_bool::text, value_text) AS v"
            " FROM history WHERE variable_id = $1 ORDER BY time",
            var,
        )
    return [(row["time"].timestamp(), row["v"]) for row in rows]


async def latest(services: Services, var: str) -> tuple[Any, float, float | None]:
    """The variable's latest value, its time and its last write (Unix seconds)."""
    async with services.database.connection() as conn:
        row = await conn.fetchrow(
            "SELECT coalesce(value_float::text, value_int::text, value_bool::text, value_text) AS v, value_time,"
            " last_write FROM variables WHERE id = $1",
            var,
        )
    assert row is not None
    return row["v"], row["value_time"].timestamp(), row["last_write"] and row["last_write"].timestamp()


async def snapshot(services: Services, account: Account) -> list[tuple[Any, ...]]:
    async with services.database.connection() as conn:
        variables = await conn.fetch("SELECT * FROM variables WHERE account_id = $1 ORDER BY id", account.id)
        rows = await conn.fetch("SELECT * FROM history WHERE account_id = $1 ORDER BY variable_id, time", account.id)
    return [tuple(r.values()) for r in [*variables, *rows]]


async def assert_refused(
    services: Services, account: Account, actor: Actor, var: str, value: Any, at: Any, result: Result
) -> None:
    """write_at answers `result` and leaves everything of `account` as it was."""
    before = await snapshot(services, account)
    assert await write_at(services, actor, var, value, at) is result
    assert await snapshot(services, account) == before


def gaps(points: list[tuple[float, Any]]) -> list[float]:
    times = [t for t, _ in points]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


# -- Where a point goes ---------------------------------------------------------------------------


async def test_write_at_past_point_lands_in_history_not_latest(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    assert await live_write(services, alice, var, 1.5) is Result.SUCCESS
    before = await latest(services, var)
    at = time.time() - 600.25

    outcome = await USE_CASES["write_at"].perform_fields(
        services, by_key(alice), {"id": var, "value": "2.5", "time": at}
    )

    assert outcome.value == Written(2.5, int(at)) and outcome.changes == ()
    assert await latest(services, var) == before
    points = await history(services, var)
    assert [v for _, v in points] == ["2.5", "1.5"] and points[0][0] == pytest.approx(at, abs=1e-6)
    # The history the protocol answers holds it, in its place.
    shown = await USE_CASES["history_query"].perform_fields(services, by_key(alice), {"id": var})
    assert [p.value for p in shown.value.points] == [1.5, 2.5]


async def test_write_at_newer_point_becomes_latest_with_a_change(services: Services, alice: Account) -> None:
    var = await create(services, alice, "int")
    first = time.time() - 900.5
    second = first + 300

    for at, value in ((first, 7), (second, 8)):
        outcome = await USE_CASES["write_at"].perform_fields(
            services, by_key(alice), {"id": var, "value": str(value), "time": f"{at:.6f}"}
        )
        assert outcome.value == Written(value, int(at))
        assert outcome.changes == (Change(alice.id, var, ChangeKind.WRITTEN, value, int(at)),)
        stored, value_time, last_write = await latest(services, var)
        assert (stored, value_time, last_write) == (
            str(value),
            pytest.approx(at, abs=1e-6),
            pytest.approx(at, abs=1e-6),
        )
    assert [v for _, v in await history(services, var)] == ["7", "8"]


async def test_write_at_iso_time_kept_to_the_microsecond(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    at = moment(int(time.time()) - 300 + 0.123456)

    assert await write_at(services, by_key(alice), var, 1.0, at.isoformat().replace("+00:00", "Z")) is Result.SUCCESS

    async with services.database.connection() as conn:
        assert await conn.fetchval("SELECT time FROM history WHERE variable_id = $1", var) == at


async def test_write_at_expire_zero_latest_only(services: Services, alice: Account) -> None:
    var = await create(services, alice, expire=0)
    now = time.time()

    assert await write_at(services, by_key(alice), var, 1.0, now - 30) is Result.SUCCESS
    assert await write_at(services, by_key(alice), var, 2.0, now + 30) is Result.SUCCESS

    assert await history(services, var) == []
    assert (await latest(services, var))[0] == "2"  # float8 as PostgreSQL prints it
    # Older than the latest value: no history to hold it; beyond the clock's drift: refused.
    for at in (now - 10, now - 120):
        await assert_refused(services, alice, by_key(alice), var, 3.0, at, Result.ERROR_INVALID_PARAMETERS)


# -- Which times --------------------------------------------------------------------------------


async def test_write_at_future_beyond_drift_refused(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await assert_refused(services, alice, by_key(alice), var, 1.0, time.time() + 120, Result.ERROR_INVALID_PARAMETERS)
    # Within the drift a first point is taken.
    assert await write_at(services, by_key(alice), var, 1.0, time.time() + 30) is Result.SUCCESS


async def test_write_at_older_than_expire_refused(services: Services, alice: Account) -> None:
    var = await create(services, alice, expire=3600)
    await assert_refused(services, alice, by_key(alice), var, 1.0, time.time() - 3700, Result.ERROR_INVALID_PARAMETERS)
    assert await write_at(services, by_key(alice), var, 1.0, time.time() - 3500) is Result.SUCCESS


@pytest.mark.parametrize(
    ("type_", "bad"), [("int", "abc"), ("int", 1.5), ("int", True), ("float", "nan"), ("bool", "yes"), ("int", "")]
)
async def test_write_at_value_not_of_its_type_refused(services: Services, alice: Account, type_: str, bad: Any) -> None:
    var = await create(services, alice, type_)
    await assert_refused(services, alice, by_key(alice), var, bad, time.time() - 60, Result.ERROR_INVALID_PARAMETERS)


@pytest.mark.parametrize(
    "fields",
    [
        {"time": None},
        {"time": "yesterday"},
        {"time": "2026-12-01T10:00:00"},  # no offset
        {"time": True},
        {"time": "1e999999999"},
        {"value": None},
        {"value": [1]},
        {"id": None},
    ],
    ids=repr,
)
async def test_write_at_malformed_invalid_parameters(
    services: Services, alice: Account, bob: Account, fields: dict[str, Any]
) -> None:
    var = await create(services, alice)
    given = {"id": var, "value": 1.0, "time": time.time() - 60, **fields}
    before = await snapshot(services, alice)
    for actor in (by_key(alice), by_key(bob)):
        with pytest.raises(VariPassError) as error:
            await USE_CASES["write_at"].perform_fields(services, actor, given)
        assert error.value.result is Result.ERROR_INVALID_PARAMETERS
    assert await snapshot(services, alice) == before


# -- Who may write --------------------------------------------------------------------------------


async def test_write_at_other_account_invalid_id(services: Services, alice: Account, bob: Account) -> None:
    var = await create(services, alice)
    await assert_refused(services, alice, by_key(bob), var, 1.0, time.time() - 60, Result.ERROR_INVALID_ID)
    await assert_refused(services, alice, by_key(alice), "nOsUcH00", 1.0, time.time() - 60, Result.ERROR_INVALID_ID)


async def test_write_at_without_key_invalid_key(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await assert_refused(services, alice, Actor.public(None), var, 1.0, time.time() - 60, Result.ERROR_INVALID_KEY)


# -- Cooldown on the points' timeline --------------------------------------------------------------


async def test_write_at_neighbours_within_cooldown_refused_both_sides(services: Services, alice: Account) -> None:
    var = await create(services, alice)  # expire a day: cooldown 60 s
    point = float(int(time.time()) - 3000)  # whole seconds: the gaps below are exact
    assert await write_at(services, by_key(alice), var, 1.0, point) is Result.SUCCESS  # the latest value
    assert await write_at(services, by_key(alice), var, 2.0, point - 600) is Result.SUCCESS  # a point in history

    for near in (point - 600 - 59.9, point - 600 + 30, point - 30, point + 59.999, point, point - 600):
        await assert_refused(services, alice, by_key(alice), var, 3.0, near, Result.ERROR_COOLDOWN)
    # A cooldown away on either side, between them or after the latest, it fits.
    for fits in (point - 660, point - 540, point - 60, point + 60):
        assert await write_at(services, by_key(alice), var, 4.0, fits) is Result.SUCCESS
    assert min(gaps(await history(services, var))) >= 60


@pytest.mark.parametrize("newest_first", [False, True])
async def test_write_at_burst_closer_than_cooldown_keeps_cooldown_spaced(
    services: Services, alice: Account, newest_first: bool
) -> None:
    var = await create(services, alice)
    start = int(time.time()) - 1800
    burst = list(enumerate(start + 20 * i for i in range(31)))  # ten minutes, a point every 20 s; cooldown 60 s

    sent = reversed(burst) if newest_first else burst
    answers = dict([(i, await write_at(services, by_key(alice), var, float(i), at)) for i, at in sent])

    # What live writes could have put in those ten minutes: one a minute, every third point.
    assert [answers[i] for i in range(31)] == [
        Result.SUCCESS if i % 3 == 0 else Result.ERROR_COOLDOWN for i in range(31)
    ]
    points = await history(services, var)
    assert len(points) == 11 and min(gaps(points)) >= 60


async def test_write_at_buffer_flushed_oldest_first_all_taken_then_live_write(
    services: Services, alice: Account
) -> None:
    var = await create(services, alice)
    assert await live_write(services, alice, var, 0.0) is Result.SUCCESS
    # Offline for an hour, a reading a minute: the next one after the live write's cooldown.
    async with services.database.connection() as conn:
        await conn.execute(
            "UPDATE variables SET value_time = value_time - interval '1 hour',"
            " last_write = last_write - interval '1 hour' WHERE id = $1",
            var,
        )
        await conn.execute("UPDATE history SET time = time - interval '1 hour' WHERE variable_id = $1", var)
    _, went_offline, _ = await latest(services, var)
    buffered = [int(went_offline) + 1 + 60 * i for i in range(1, 59)]  # whole seconds: exact gaps

    answers = [await write_at(services, by_key(alice), var, float(i), at) for i, at in enumerate(buffered)]

    assert answers == [Result.SUCCESS] * len(buffered)
    assert (await latest(services, var))[1] == pytest.approx(buffered[-1], abs=1e-6)
    # The flush does not push back the device's next live write: its reading a minute after the last.
    assert await live_write(services, alice, var, 99.0) is Result.SUCCESS
    points = await history(services, var)
    assert len(points) == 60 and min(gaps(points)) >= 60


async def test_write_at_future_time_no_way_round_the_live_cooldown(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    assert await live_write(services, alice, var, 1.0) is Result.SUCCESS
    now = time.time()

    for at in (now + 59, now + 60):
        await assert_refused(services, alice, by_key(alice), var, 2.0, at, Result.ERROR_COOLDOWN)
    with pytest.raises(VariPassError) as error:
        await USE_CASES["write_at"].perform_fields(services, by_key(alice), {"id": var, "value": 2.0, "time": now + 60})
    assert error.value.retry_after is not None and 0 < error.value.retry_after <= 60


async def test_write_at_future_point_holds_off_live_writes(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    assert await write_at(services, by_key(alice), var, 1.0, time.time() + 50) is Result.SUCCESS

    before = await snapshot(services, alice)
    assert await live_write(services, alice, var, 2.0) is Result.ERROR_COOLDOWN
    assert await snapshot(services, alice) == before


async def test_write_at_concurrent_same_time_exactly_one(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await write_at(services, by_key(alice), var, 0.0, time.time() - 3000)  # so that the others are older or newer
    at = time.time() - 1500

    answers = await asyncio.gather(*(write_at(services, by_key(alice), var, float(i), at) for i in range(CONCURRENT)))

    assert sorted(answers) == sorted([Result.SUCCESS] + [Result.ERROR_COOLDOWN] * (CONCURRENT - 1))
    assert len(await history(services, var)) == 2


@pytest.mark.parametrize("older", [False, True])
async def test_write_at_concurrent_within_one_cooldown_exactly_one(
    services: Services, alice: Account, older: bool
) -> None:
    var = await create(services, alice)
    latest_at = time.time() - (60 if older else 3000)
    assert await write_at(services, by_key(alice), var, 0.0, latest_at) is Result.SUCCESS
    start = time.time() - 1500
    times = [start + 7 * i for i in range(CONCURRENT)]  # all inside 60 s

    answers = await asyncio.gather(
        *(write_at(services, by_key(alice), var, float(i), at) for i, at in enumerate(times))
    )

    assert answers.count(Result.SUCCESS) == 1
    assert answers.count(Result.ERROR_COOLDOWN) == CONCURRENT - 1
    points = await history(services, var)
    assert len(points) == 2 and min(gaps(points)) >= 60


async def test_write_at_and_live_write_concurrent_never_closer_than_cooldown(
    services: Services, alice: Account
) -> None:
    var = await create(services, alice)
    now = time.time()

    answers = await asyncio.gather(
        live_write(services, alice, var, 1.0),
        *(write_at(services, by_key(alice), var, 2.0, now - 20 + 5 * i) for i in range(CONCURRENT - 1)),
    )

    assert answers.count(Result.SUCCESS) == 1
    assert len(await history(services, var)) == 1


async def test_write_at_an_older_point_changes_the_graphs_etag(services: Services, api: Api, alice: Account) -> None:
    # The graph's ETag is known before its points are read: a point back-filled between two others
    # moves neither end of the history, so the count of its points is part of it (service/rendering.py).
    var = await create(services, alice)
    now = time.time()
    for at in (now - 3 * 3600, now - 3600):
        assert await write_at(services, by_key(alice), var, 1.5, at) is Result.SUCCESS

    def etag() -> str:
        return api.request(action="graph", key=alice.key, id=var).headers["etag"]

    before = await asyncio.to_thread(etag)
    assert await write_at(services, by_key(alice), var, 2.5, now - 2 * 3600) is Result.SUCCESS

    assert await asyncio.to_thread(etag) != before
