"""The dashboard's variable page through the real service: its HTML and its chart, signed in by cookie.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.dashboard [--points 100000] [--runs 30]

One float variable holds `--points` history points over 30 days (tests/bench/variable_chart.py makes
it). For each range the page offers, one client asks `varistore api` over HTTP for the page
(`/app/variables/<id>?range=`) and then its chart (`chart.svg`, 800 px wide), as a browser does; the
table gives the median and 99th percentile of each and of the two in a row, against the target of
200 ms for the whole page. The baselines, measured in the same run on the same service: a protocol
`read` (one row, the stack's floor for a device), and the protocol `history` of the same variable (every
point the plan keeps, as a page drawing the chart in the browser would have to fetch).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import asyncpg
import httpx

from service.actions.accounts import start_session
from service.core.ids import key_hash, new_key
from service.db.accounts import select_account
from tests.bench.variable_chart import RANGES, Timing, make_variable, timing
from tests.bench.write_path import running_service
from tests.harness import postgres_server, throwaway_database

PAGE_TARGET_MS = 200.0


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    html: Timing
    chart: Timing
    page: Timing  # the HTML, then the chart


def timed(http: httpx.Client, runs: int, *requests: tuple[str, dict[str, str]]) -> list[int]:
    """Nanoseconds of each of `runs` rounds of `requests` (path, query) one after the other, after three
    rounds that warm up; every answer must be a 200."""
    durations = []
    for index in range(runs + 3):
        started = time.perf_counter_ns()
        for path, query in requests:
            answer = http.get(path, params=query)
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text[:200]}")
        if index >= 3:
            durations.append(time.perf_counter_ns() - started)
    return durations


async def prepare(db_url: str, points: int) -> tuple[str, str, str]:
    """The variable with its history, a session cookie and an API key for its account."""
    conn = await asyncpg.connect(db_url)
    try:
        variable = await make_variable(conn, points)
        key = new_key()
        await conn.execute("UPDATE accounts SET key_hash = $1 WHERE id = $2", key_hash(key), variable.account_id)
        account = await select_account(conn, variable.account_id)
        assert account is not None
        cookie = await start_session(conn, account, 1, "bench", None)
        return variable.id, cookie, key
    finally:
        await conn.close()


def measure(http: httpx.Client, var_id: str, key: str, runs: int) -> tuple[list[Row], Timing, Timing, int]:
    rows = []
    for name in RANGES:
        html = (f"/app/variables/{var_id}", {"range": name})
        chart = (f"/app/variables/{var_id}/chart.svg", {"range": name, "w": "800", "tz": "Europe/Berlin"})
        page = timed(http, runs, html, chart)
        rows.append(Row(name, timing(timed(http, runs, html)), timing(timed(http, runs, chart)), timing(page)))
    read = {"key": key, "action": "read", "id": var_id}
    history = {**read, "action": "history"}
    read_ns = timed(http, runs, ("/", read))
    history_ns = timed(http, runs, ("/", history))
    count = len(http.get("/", params=history).json()["history"])
    return rows, timing(read_ns), timing(history_ns), count


def print_table(rows: list[Row], read: Timing, history: Timing, count: int) -> None:
    def pair(t: Timing) -> str:
        return f"{t.p50_ms:7.1f} {t.p99_ms:6.1f}"

    print(f"{'range':6}   {'HTML p50/p99':>14}   {'chart p50/p99':>14}   {'page p50/p99':>14}   {'page/read':>9}")
    for r in rows:
        print(f"{r.name:6}   {pair(r.html)}   {pair(r.chart)}   {pair(r.page)}   {r.page.p50_ms / read.p50_ms:>9.1f}")
    print(f"\nbaseline, protocol read (one row):        {pair(read)} ms")
    print(f"baseline, protocol history ({count:,} points): {pair(history)} ms")
    worst = max(r.page.p99_ms for r in rows)
    met = "met" if worst < PAGE_TARGET_MS else "NOT met"
    print(f"page (HTML + chart), worst p99: {worst:.1f} ms of the target {PAGE_TARGET_MS:g} ms: {met}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(f"{args.points} points of history over 30 days, {args.runs} runs each, one client", flush=True)
    with postgres_server() as server, throwaway_database(server.url) as db_url:
        var_id, cookie, key = asyncio.run(prepare(db_url, args.points))
        with running_service(db_url, pool_size=4, flood_limits=False) as (base, _):
            headers = {"cookie": f"varistore_session={cookie}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                rows, read, history, count = measure(http, var_id, key, args.runs)
    print_table(rows, read, history, count)


if __name__ == "__main__":
    main()
