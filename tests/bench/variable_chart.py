"""The variable page's chart: the SQL reduction and the SVG drawing, beside fetching every row.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.variable_chart [--points 100000] [--runs 30]

One float variable holds `--points` history points spread over 30 days (inserted directly, one
statement). For each range the page offers, at 800 columns, the table gives the median and 99th
percentile of `select_reduced`, of `history_svg` on its result, and of the two in a row, and as the
baseline measured in the same run, fetching every row of the range unreduced; `SQL/all` is the
reduction's p50 over the baseline's. The whole page's target is 200 ms. Then the plan of the 30-day
reduction, to show that every part of it reads history through its index.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from service.db.series import _IN_RANGE, _REDUCE, RAW_PER_COLUMN, Reduced, select_reduced
from service.db.variables import Variable, select_variable
from service.web.chart import history_svg
from tests.bench.pgbench_log import percentile
from tests.harness import postgres_server, throwaway_database

RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
COLUMNS = 800
HEIGHT = 320
PAGE_TARGET_MS = 200.0
ZONE = zoneinfo.ZoneInfo("Europe/Berlin")
VAR_ID = "BenchCh0"


@dataclass(frozen=True, slots=True)
class Timing:
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    points: int  # in the range
    drawn: int  # points of the line the chart draws
    sql: Timing
    svg: Timing
    both: Timing
    all_rows: Timing
    svg_bytes: int


def timing(durations_ns: list[int]) -> Timing:
    ordered = sorted(durations_ns)
    return Timing(percentile(ordered, 50) / 1e6, percentile(ordered, 99) / 1e6)


async def make_variable(conn: asyncpg.Connection, points: int) -> Variable:
    """A float variable with `points` history points over the last 30 days, a few spikes among them."""
    account = await conn.fetchval(
        "INSERT INTO accounts (email, key_hash, confirmed) VALUES ('chart@example.com', '\\x00', true) RETURNING id"
    )
    await conn.execute("INSERT INTO variable_ids (id, account_id) VALUES ($1, $2)", VAR_ID, account)
    await conn.execute(
        """
        INSERT INTO variables (account_id, id, position, type, name, unit, expire, cooldown, value_float,
                               value_time, last_write)
        VALUES ($1, $2, 0, 'float', 'Temperature', '°C', 31 * 86400, 1, 21.5, statement_timestamp(),
                statement_timestamp())
        """,
        account,
        VAR_ID,
    )
    await conn.execute(
        """
        INSERT INTO history (account_id, variable_id, time, value_float)
        SELECT $1, $2, statement_timestamp() - make_interval(secs => 30 * 86400.0 * i / $3),
               CASE WHEN i % 9973 = 0 THEN 60 ELSE 20 + 5 * sin(i / 700.0) + random() END
        FROM generate_series(1, $3) AS i
        """,
        account,
        VAR_ID,
        points,
    )
    await conn.execute("VACUUM ANALYZE history")
    await conn.execute("VACUUM ANALYZE variables")
    variable = await select_variable(conn, account, VAR_ID)
    assert variable is not None
    return variable


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> list[int]:
    for _ in range(3):
        await call()
    durations = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        await call()
        durations.append(time.perf_counter_ns() - started)
    return durations


def draw(series: Reduced, since: int, until: int) -> str:
    return history_svg(
        series, since=since, until=until, tz=ZONE, unit="°C", title=None, width_px=COLUMNS, height_px=HEIGHT, step=False
    )


async def measure(conn: asyncpg.Connection, variable: Variable, name: str, seconds: int, runs: int) -> Row:
    until = int(time.time())
    since = until - seconds
    everything = f"SELECT h.time, h.value_float {_IN_RANGE} ORDER BY h.time"

    async def reduce() -> Reduced:
        return await select_reduced(conn, variable, since, until, COLUMNS)

    async def fetch_all() -> object:
        return await conn.fetch(everything, variable.account_id, variable.id, since, until)

    series = await reduce()
    sql = await timed(runs, reduce)
    all_rows = await timed(runs, fetch_all)
    svg_ns: list[int] = []
    both: list[int] = []
    for _ in range(runs):
        # As the page does it: the query, then the drawing in a thread.
        started = time.perf_counter_ns()
        result = await reduce()
        drawn_at = time.perf_counter_ns()
        picture = await asyncio.to_thread(draw, result, since, until)
        done = time.perf_counter_ns()
        svg_ns.append(done - drawn_at)
        both.append(done - started)
    return Row(
        name, series.count, len(series.times), timing(sql), timing(svg_ns), timing(both), timing(all_rows), len(picture)
    )


async def plan_of_30_days(conn: asyncpg.Connection, variable: Variable) -> list[str]:
    until = int(time.time())
    sql = _REDUCE.format(in_range=_IN_RANGE, column="value_float", cast="::float8")
    args = (variable.account_id, variable.id, until - RANGES["30d"], until, COLUMNS, RAW_PER_COLUMN * COLUMNS)
    return [row[0] for row in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)]


async def run(db_url: str, points: int, runs: int) -> tuple[list[Row], list[str]]:
    conn = await asyncpg.connect(db_url)
    try:
        variable = await make_variable(conn, points)
        await asyncio.to_thread(draw, Reduced([], [], [], 0), 0, 3600)  # imports matplotlib, loads its fonts
        rows = [await measure(conn, variable, name, seconds, runs) for name, seconds in RANGES.items()]
        return rows, await plan_of_30_days(conn, variable)
    finally:
        await conn.close()


def print_table(rows: list[Row]) -> None:
    def pair(t: Timing) -> str:
        return f"{t.p50_ms:7.1f} {t.p99_ms:6.1f}"

    print(
        f"{'range':6}{'points':>8}{'drawn':>7}   {'SQL p50/p99':>14}   {'SVG p50/p99':>14}   {'both p50/p99':>14}"
        f"   {'all rows p50/p99':>16}  {'SQL/all':>7}  {'SVG bytes':>9}"
    )
    for r in rows:
        ratio = r.sql.p50_ms / r.all_rows.p50_ms
        print(
            f"{r.name:6}{r.points:>8}{r.drawn:>7}   {pair(r.sql)}   {pair(r.svg)}   {pair(r.both)}"
            f"   {pair(r.all_rows):>16}  {ratio:>7.2f}  {r.svg_bytes:>9}"
        )
    worst = max(r.both.p99_ms for r in rows)
    met = "met" if worst < PAGE_TARGET_MS else "NOT met"
    print(f"\nSQL + SVG, worst p99: {worst:.1f} ms of the page's {PAGE_TARGET_MS:g} ms: {met}")


def print_plan(plan: list[str]) -> None:
    reads = [line.strip() for line in plan if " on history" in line or "Index Scan" in line]
    indexed = not any("Seq Scan on history" in line for line in plan)
    print(f"\n30 d plan: history read through history_newest_idx only: {'yes' if indexed else 'NO'}")
    for line in reads:
        print(f"  {line}")
    print(f"  {plan[-1].strip()}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(f"{args.points} points of history over 30 days, {COLUMNS} columns, {args.runs} runs each", flush=True)
    with postgres_server() as server, throwaway_database(server.url) as db_url:
        rows, plan = asyncio.run(run(db_url, args.points, args.runs))
    print_table(rows)
    print_plan(plan)


if __name__ == "__main__":
    main()
