"""Render speed: how long `render` takes for the pictures devices ask for, without the service around it.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.render [--renders 200] [--warmup 20] [--duration 10]

Each picture is a day of one-minute history (1,440 points), rendered `--renders` times in a row after
`--warmup` renders that load the fonts; the table gives the median and 99th percentile of one render, the
encoded size, and the target where there is one. Then the service's side: a cached hit (the ETag computed
and the picture found in the service's Renderer), and `graph` requests/s through the real service with wrk
at 16 connections, a fleet of screens asking for the same default picture of a day of history.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from render import RenderOptions, Series, make_options, render
from service.core.ids import key_hash
from service.core.values import VarType
from service.db.variables import Variable
from service.rendering import Renderer, etag_of
from tests.bench.pgbench_log import percentile
from tests.bench.write_path import running_service
from tests.harness import postgres_server, throwaway_database
from tests.render import samples

POINTS = 1_440


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    options: RenderOptions
    target_p50_ms: float | None


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    renders: int
    p50_ms: float
    p99_ms: float
    size: int  # bytes of the encoded picture
    target_p50_ms: float | None


CASES = (
    Case("png 256x280 (default)", make_options(), 10.0),
    Case("e-ink bmp 400x300", make_options(eink=True, width=400, height=300), 5.0),
    Case("png 2048x2048 (largest)", make_options(width=2048, height=2048), None),
)


def series() -> Series:
    return samples.day(POINTS)


def measure(case: Case, data: Series, renders: int, warmup: int) -> Figure:
    for _ in range(warmup):
        render(data, case.options)
    durations = []
    for _ in range(renders):
        started = time.perf_counter_ns()
        picture = render(data, case.options)
        durations.append(time.perf_counter_ns() - started)
    durations.sort()
    return Figure(
        case.name,
        renders,
        percentile(durations, 50) / 1e6,
        percentile(durations, 99) / 1e6,
        len(picture.data),
        case.target_p50_ms,
    )


def render_figures(renders: int = 200, warmup: int = 20) -> list[Figure]:
    """p50 and p99 of one render for each of CASES, in this thread."""
    data = series()
    return [measure(case, data, renders, warmup) for case in CASES]


def cached_figure(hits: int = 2_000) -> Figure:
    """A cache hit in the service's Renderer, with the ETag computed as for every request."""
    data, options = series(), make_options()
    variable = Variable(
        account_id=1, id="BenchGr0", type=VarType.FLOAT, name=data.name, description="", unit=data.unit,
        graph=True, perc=False, min=0.0, max=0.0, expire=86_400, cooldown=60, public=False,
        value=data.points[0][1], time=data.now, written=True,
    )  # fmt: skip
    extent = (data.points[-1][0], len(data.points))

    async def timings() -> list[int]:
        renderer = Renderer(workers=1, cache_bytes=32 << 20)
        try:
            await renderer.draw(etag_of(variable, extent, options), data, options)
            durations = []
            for _ in range(hits):
                started = time.perf_counter_ns()
                picture = renderer.cached(etag_of(variable, extent, options))
                durations.append(time.perf_counter_ns() - started)
            assert picture is not None
            return sorted(durations)
        finally:
            renderer.close()

    durations = asyncio.run(timings())
    p50, p99 = percentile(durations, 50) / 1e6, percentile(durations, 99) / 1e6
    return Figure("cached hit (service)", hits, p50, p99, 0, 0.5)


async def _graph_variable(db_url: str, data: Series) -> tuple[str, str]:
    """An account whose one float variable holds `data` as history; its key and variable id."""
    key, var_id = "BenchGraphKey000", "BenchGr0"
    # The sample day, moved to end now: history older than `expire` would not be drawn.
    shift = int(time.time()) - data.now
    times = [datetime.fromtimestamp(at + shift, tz=UTC) for at, _ in data.points]
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            account = await conn.fetchval(
                "INSERT INTO accounts (email, key_hash, confirmed) VALUES ('graph@example.com', $1, true) RETURNING id",
                key_hash(key),
            )
            await conn.execute("INSERT INTO variable_ids (id, account_id) VALUES ($1, $2)", var_id, account)
            await conn.execute(
                """
                INSERT INTO variables (account_id, id, position, type, name, unit, expire, cooldown, value_float,
                                       value_time, last_write)
                VALUES ($1, $2, 0, 'float', $3, $4, 86400 * 2, 120, $5, $6, $6)
                """,
                account,
                var_id,
                data.name,
                data.unit,
                data.points[0][1],
                times[0],
            )
            await conn.executemany(
                "INSERT INTO history (account_id, variable_id, time, value_float) VALUES ($1, $2, $3, $4)",
                [(account, var_id, at, value) for at, (_, value) in zip(times, data.points, strict=True)],
            )
    finally:
        await conn.close()
    return key, var_id


@dataclass(frozen=True, slots=True)
class HttpFigure:
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def _wrk_ms(output: str, percent: str) -> float:
    """A latency percentile from `wrk --latency` (printed as e.g. `99%  12.34ms`)."""
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == percent:
            value = fields[1]
            for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
                if value.endswith(unit):
                    return float(value.removesuffix(unit)) * scale
    raise RuntimeError(f"no {percent} latency in wrk's output:\n{output}")


def http_figure(duration: int, connections: int = 16) -> HttpFigure:
    """graph requests/s through the real service: the default PNG of a day of history, asked again and again."""
    with postgres_server() as server, throwaway_database(server.url) as db_url:
        key, var_id = asyncio.run(_graph_variable(db_url, series()))
        # Limits off: in the field each screen has a key of its own, here one key would meet its flood limit.
        with running_service(db_url, pool_size=20, flood_limits=False) as (base, _):
            url = f"{base}/?key={key}&action=graph&id={var_id}"
            subprocess.run(["wrk", "-t1", "-c4", "-d2s", url], capture_output=True, check=True)
            command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = next(float(line.split()[1]) for line in output.splitlines() if line.startswith("Requests/sec:"))
    return HttpFigure(connections, rate, _wrk_ms(output, "50%"), _wrk_ms(output, "99%"))


def print_table(figures: list[Figure]) -> None:
    print(f"{'picture':26}{'renders':>9}{'p50 ms':>9}{'p99 ms':>9}{'bytes':>9}  target")
    for figure in figures:
        target = ""
        if figure.target_p50_ms is not None:
            met = "met" if figure.p50_ms <= figure.target_p50_ms else "NOT met"
            target = f"p50 <= {figure.target_p50_ms:g} ms: {met}"
        print(
            f"{figure.name:26}{figure.renders:>9}{figure.p50_ms:>9.3f}{figure.p99_ms:>9.3f}{figure.size:>9}  {target}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk against the service")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(f"{POINTS} points of history per picture", flush=True)
    print_table([*render_figures(args.renders, args.warmup), cached_figure()])
    http = http_figure(args.duration)
    print(
        f"\ngraph through the service, wrk -c{http.connections}: {http.requests_per_second:.0f} requests/s,"
        f" p50 {http.p50_ms:.2f} ms, p99 {http.p99_ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
