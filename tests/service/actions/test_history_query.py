"""history_query (issue 14): ranges, both orders, pages, buckets and their aggregates, as the use case
answers them to every front door (REST v1 presents them)."""

from __future__ import annotations

import math
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.history_query import HistoryPage
from service.actions.params import HistoryQueryParams
from service.core.access import Actor
from service.core.ids import key_hash
from service.core.results import Result, VariPassError
from tests.support import Account

pytestmark = pytest.mark.anyio

# Whole days back, so that buckets of any width dividing a day start at BASE; inside a year's expire.
BASE = (int(time.time()) // 86400 - 3) * 86400
YEAR = 31_536_000
COLUMN = {"int": "value_int", "float": "value_float", "bool": "value_bool", "string": "value_text"}
AGGREGATES = ["avg", "min", "max", "count", "first", "last", "minmax"]


def by_key(account: Account) -> Actor:
    return Actor.by_key(key_hash(account.key), None)


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def create(services: Services, account: Account, type_: str = "int", **fields: Any) -> str:
    fields = {"type": type_, "name": "T", "expire": YEAR, **fields}
    outcome = await USE_CASES["create"].perform_fields(services, by_key(account), fields)
    return str(outcome.value)


async def seed(services: Services, account: Account, var: str, type_: str, points: list[tuple[float, Any]]) -> None:
    """Store `points` (Unix seconds, value) as writes leave them: each in history, the newest (which
    must be alone at its time) also as the latest value."""
    column = COLUMN[type_]
    newest = max(points, key=lambda point: point[0])
    async with services.database.connection() as conn:
        await conn.executemany(
            f"INSERT INTO history (account_id, variable_id, time, {column}) VALUES ($1, $2, $3, $4)",
            [(account.id, var, moment(t), value) for t, value in points],
        )
        await conn.execute(
            f"UPDATE variables SET {column} = $3, value_time = $4, last_write = $4 WHERE account_id = $1 AND id = $2",
            account.id,
            var,
            newest[1],
            moment(newest[0]),
        )


async def ask(services: Services, actor: Actor, **fields: Any) -> HistoryPage:
    outcome = await USE_CASES["history_query"].perform_fields(services, actor, fields)
    assert outcome.changes == ()
    page = outcome.value
    assert isinstance(page, HistoryPage)
    return page


async def refused(services: Services, actor: Actor | None, **fields: Any) -> Result:
    with pytest.raises(VariPassError) as error:
        await USE_CASES["history_query"].perform_fields(services, actor or Actor.public(None), fields)
    return error.value.result


def pairs(page: HistoryPage) -> list[tuple[float, Any]]:
    return [(point.time, point.value) for point in page.points]


async def every_page(services: Services, actor: Actor, **fields: Any) -> list[HistoryPage]:
    pages = [await ask(services, actor, **fields)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < 1000
        pages.append(await ask(services, actor, **fields, cursor=pages[-1].next_cursor))
    return pages


# -- Raw points -----------------------------------------------------------------------------------


async def test_history_query_range_from_inclusive_to_exclusive_newest_first(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await seed(services, alice, var, "int", [(BASE + 60 * k, k) for k in range(10)])

    page = await ask(services, by_key(alice), id=var, **{"from": str(BASE + 120)}, to=str(BASE + 300))

    assert pairs(page) == [(BASE + 240, 4), (BASE + 180, 3), (BASE + 120, 2)]
    assert page.next_cursor is None and not page.aggregated


async def test_history_query_order_asc_oldest_first_with_the_latest_value(services: Services, alice: Account) -> None:
    var = await create(services, alice, "float")
    await seed(services, alice, var, "float", [(BASE + 60 * k, k / 2) for k in range(5)])

    asc = await ask(services, by_key(alice), id=var, order="ASC")
    desc = await ask(services, by_key(alice), id=var)

    assert pairs(asc) == [(BASE + 60 * k, k / 2) for k in range(5)]
    assert pairs(desc) == pairs(asc)[::-1]
    assert all(type(value) is float for _, value in pairs(asc))


async def test_history_query_never_written_is_empty(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    page = await ask(services, by_key(alice), id=var)
    assert page.points == () and page.next_cursor is None


async def test_history_query_keeps_microseconds(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await seed(services, alice, var, "int", [(BASE + 0.123456, 1), (BASE + 60.000001, 2)])

    page = await ask(services, by_key(alice), id=var, order="asc")

    assert [round(point.time - BASE, 6) for point in page.points] == [0.123456, 60.000001]


# Points of one time several at once (as no write path makes them, but a row may be put there):
# every one is on exactly one page, whatever the page size and the order.
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 2, 4, 5, 100])
async def test_history_query_pages_with_equal_times_every_point_once(
    services: Services, alice: Account, order: str, limit: int
) -> None:
    var = await create(services, alice)
    points = [(BASE + 60 * k, 10 * k + i) for k in range(5) for i in (2, 0, 1)] + [(BASE + 60 * 5, 99)]
    points += [(BASE + 60 * 2, 21)]  # a value twice at one time: two points still
    await seed(services, alice, var, "int", points)

    pages = await every_page(services, by_key(alice), id=var, order=order, limit=str(limit))

    got = [pair for page in pages for pair in pairs(page)]
    assert sorted(got) == sorted(points)
    assert len(pages) == math.ceil(len(points) / limit)
    assert all(len(page.points) == limit for page in pages[:-1])
    assert got == sorted(got, reverse=order == "desc")


async def test_history_query_cursor_keeps_the_range(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await seed(services, alice, var, "int", [(BASE + 60 * k, k) for k in range(10)])

    pages = await every_page(services, by_key(alice), id=var, **{"from": BASE + 60}, to=BASE + 540, limit=3)

    assert [value for page in pages for _, value in pairs(page)] == [8, 7, 6, 5, 4, 3, 2, 1]


async def test_history_query_cursor_of_another_query_invalid_parameters(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await seed(services, alice, var, "int", [(BASE + 60 * k, k) for k in range(5)])
    cursor = (await ask(services, by_key(alice), id=var, limit=2)).next_cursor
    assert cursor is not None

    for other in ({"order": "asc"}, {"interval": "60", "agg": "count"}):
        assert await refused(services, by_key(alice), id=var, cursor=cursor, limit=2, **other) is (
            Result.ERROR_INVALID_PARAMETERS
        )


# -- Buckets --------------------------------------------------------------------------------------


def buckets(points: list[tuple[float, Any]], interval: int) -> dict[int, list[Any]]:
    """The points' values per bucket start, oldest point first."""
    held: dict[int, list[Any]] = {}
    for t, value in sorted(points, key=lambda point: point[0]):
        held.setdefault(math.floor(t / interval) * interval, []).append(value)
    return held


def aggregate(agg: str, values: list[Any]) -> Any:
    """`agg` over a bucket's values, oldest first, as the use case answers it (a bool counts 1 for true)."""
    match agg:
        case "avg":
            return statistics.fmean(int(v) if isinstance(v, bool) else v for v in values)
        case "min" | "max":
            return min(values) if agg == "min" else max(values)
        case "minmax":
            return min(values), max(values)
        case "count":
            return len(values)
        case "first" | "last":
            return values[0] if agg == "first" else values[-1]
    raise ValueError(agg)


def random_points(type_: str, count: int, span: int, seed: int) -> list[tuple[float, Any]]:
    rng = random.Random(seed)
    times = sorted(rng.sample(range(span * 1000), count))
    make = {
        "int": lambda: rng.randint(-(2**40), 2**40),
        "float": lambda: rng.uniform(-1e6, 1e6),
        "bool": lambda: rng.random() < 0.3,
        "string": lambda: rng.choice(["a", "b", "zz", ""]),
    }[type_]
    return [(BASE + t / 1000, make()) for t in times]


@pytest.mark.parametrize("type_", ["int", "float", "bool"])
@pytest.mark.parametrize("agg", AGGREGATES)
async def test_history_query_aggregate_equals_python(services: Services, alice: Account, type_: str, agg: str) -> None:
    var = await create(services, alice, type_)
    points = random_points(type_, 120, 3600, seed=10 * len(type_) + AGGREGATES.index(agg))
    await seed(services, alice, var, type_, points)

    page = await ask(services, by_key(alice), id=var, interval="300", agg=agg, order="asc")

    expected = [(float(start), aggregate(agg, values)) for start, values in buckets(points, 300).items()]
    assert page.aggregated and page.agg == agg and page.interval == 300 and page.next_cursor is None
    assert [t for t, _ in pairs(page)] == [t for t, _ in expected]
    for (_, got), (_, want) in zip(pairs(page), expected, strict=True):
        if agg == "avg":
            assert type(got) is float and got == pytest.approx(want, rel=1e-12, abs=1e-6)
        else:
            assert got == want and type(got) is type(want)


async def test_history_query_minmax_keeps_the_peaks(services: Services, alice: Account) -> None:
    var = await create(services, alice, "float")
    spiky = [(BASE + 10 * k, 1000.0 if k == 7 else -1000.0 if k == 23 else float(k % 3)) for k in range(36)]
    await seed(services, alice, var, "float", spiky)

    page = await ask(services, by_key(alice), id=var, interval="2m", agg="minmax", order="asc")

    assert pairs(page) == [(BASE, (0.0, 1000.0)), (BASE + 120, (-1000.0, 2.0)), (BASE + 240, (0.0, 2.0))]


async def test_history_query_buckets_aligned_to_the_epoch_not_to_from(services: Services, alice: Account) -> None:
    var = await create(services, alice)
    await seed(services, alice, var, "int", [(BASE + 10 * k, k) for k in range(30)])

    page = await ask(services, by_key(alice), id=var, **{"from": BASE + 45}, to=BASE + 200, interval="1m", agg="count")

    # The edge buckets start before `from` and count only the points inside the range.
    assert pairs(page) == [(BASE + 180, 2), (BASE + 120, 6), (BASE + 60, 6), (BASE, 1)]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_history_query_bucket_pages_every_bucket_once(services: Services, alice: Account, order: str) -> None:
    var = await create(services, alice)
    points = random_points("int", 200, 7200, seed=5)
    await seed(services, alice, var, "int", points)

    whole = await ask(services, by_key(alice), id=var, interval="5m", agg="last", order=order)
    pages = await every_page(services, by_key(alice), id=var, interval="5m", agg="last", order=order, limit="4")

    assert [pair for page in pages for pair in pairs(page)] == pairs(whole)
    assert len(pages) == math.ceil(len(whole.points) / 4) and len(whole.points) >= 20


async def test_history_query_string_counts_first_last_refuses_numeric(services: Services, alice: Account) -> None:
    var = await create(services, alice, "string")
    points = random_points("string", 40, 600, seed=9)
    await seed(services, alice, var, "string", points)

    for agg in ("count", "first", "last"):
        page = await ask(services, by_key(alice), id=var, interval="60", agg=agg, order="asc")
        assert pairs(page) == [(float(s), aggregate(agg, v)) for s, v in buckets(points, 60).items()]
    for agg in ("avg", "min", "max", "minmax"):
        assert await refused(services, by_key(alice), id=var, interval="60", agg=agg) is Result.ERROR_IS_STRING


# -- Parameters -----------------------------------------------------------------------------------


def iso(seconds: float, offset: str = "Z") -> str:
    text = moment(seconds).isoformat().replace("+00:00", "")
    return text + offset


@pytest.mark.parametrize(
    "given",
    [
        BASE + 120,
        str(BASE + 120),
        float(BASE + 120),
        f"{BASE + 120}.000000",
        iso(BASE + 120),
        moment(BASE + 120).astimezone().isoformat(),
        datetime.fromtimestamp(BASE + 120 + 7200, UTC).replace(tzinfo=None).isoformat() + "+02:00",
        f" {BASE + 120} ",
    ],
    ids=repr,
)
async def test_history_query_from_as_unix_or_iso_same_answer(services: Services, alice: Account, given: Any) -> None:
    var = await create(services, alice)
    await seed(services, alice, var, "int", [(BASE + 60 * k, k) for k in range(5)])

    page = await ask(services, by_key(alice), id=var, order="asc", **{"from": given})

    assert [value for _, value in pairs(page)] == [2, 3, 4]


@pytest.mark.parametrize(
    "fields",
    [
        {"agg": "avg"},
        {"interval": "60"},
        {"interval": "60", "agg": "median"},
        {"interval": "0", "agg": "count"},
        {"interval": "-5", "agg": "count"},
        {"interval": "5x", "agg": "count"},
        {"interval": "1.5", "agg": "count"},
        {"interval": "1w", "agg": "count"},
        {"interval": True, "agg": "count"},
        {"interval": str(10**12), "agg": "count"},
        {"from": "yesterday"},
        {"from": "2026-12-01T10:00:00"},  # no offset
        {"from": "2026-12-01"},
        {"from": "nan"},
        {"from": "1e999999999"},
        {"from": str(2**70)},
        {"from": 1764781200123},  # milliseconds
        {"from": True},
        {"from": float("inf")},
        {"from": [1]},
        {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        {"limit": "0"},
        {"limit": "10001"},
        {"limit": "ten"},
        {"limit": 1.5},
        {"order": "up"},
        {"cursor": "not a cursor"},
        {"cursor": ""},
        {"cursor": "ZGVzYy4wLnJhdy4tLTUuMQ"},  # desc.0.raw.--5.1
        {"id": None},
    ],
    ids=repr,
)
async def test_history_query_malformed_invalid_parameters(
    services: Services, alice: Account, bob: Account, fields: dict[str, Any]
) -> None:
    var = await create(services, alice, public=True)
    fields = {"id": var, **fields}
    # Check 4 comes before check 5: bob and the public are told of the parameters first.
    for actor in (by_key(alice), by_key(bob), Actor.public(None)):
        assert await refused(services, actor, **fields) is Result.ERROR_INVALID_PARAMETERS


def test_history_query_params_defaults_and_interval_forms() -> None:
    p = HistoryQueryParams.model_validate({"id": "abc"})
    assert (p.limit, p.order, p.from_, p.to, p.cursor, p.interval, p.agg) == (
        1000,
        "desc",
        None,
        None,
        None,
        None,
        None,
    )
    for text, seconds in [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("90", 90), (90, 90)]:
        assert HistoryQueryParams.model_validate({"id": "a", "interval": text, "agg": "count"}).interval == seconds
    assert HistoryQueryParams.model_validate({"id": "a", "limit": "10000"}).limit == 10000


# -- Who may ask ----------------------------------------------------------------------------------


async def test_history_query_other_account_invalid_id(services: Services, alice: Account, bob: Account) -> None:
    private = await create(services, alice)
    public = await create(services, alice, public=True)
    for var in (private, public):
        await seed(services, alice, var, "int", [(BASE, 1)])
        # A key acts as its account: another's variable is error_invalid_id even when public.
        assert await refused(services, by_key(bob), id=var) is Result.ERROR_INVALID_ID
    assert await refused(services, None, id=private) is Result.ERROR_INVALID_ID
    assert await refused(services, by_key(alice), id="nOsUcH00") is Result.ERROR_INVALID_ID
    assert await refused(services, None, id="nOsUcH00") is Result.ERROR_INVALID_ID


async def test_history_query_public_variable_without_key(services: Services, alice: Account) -> None:
    var = await create(services, alice, public=True)
    await seed(services, alice, var, "int", [(BASE, 1), (BASE + 60, 2)])

    page = await ask(services, Actor.public(None), id=var, interval="1d", agg="count")

    assert pairs(page) == [(float(BASE), 2)]


async def test_history_query_string_variable_of_bob_invalid_id_first(
    services: Services, alice: Account, bob: Account
) -> None:
    var = await create(services, alice, "string")
    assert await refused(services, by_key(bob), id=var, interval="60", agg="avg") is Result.ERROR_INVALID_ID
