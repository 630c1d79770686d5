"""A REST write against a VariPass write, in the same run (issue 14: REST costs at most 1.3 × VariPass).

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.rest_write [--duration 10] [--rounds 2] [--pool-size 20] [--wrk-threads 1]

The set-up is tests/bench/write_path.py's (its helpers, not a copy): its accounts and variables
(cooldown 1 s), one `python -m service api` with the flood limits as deployed. wrk then walks the same
variables in the same order at the same concurrency, in turns:

- VariPass: GET /?key=K&action=write&id=I&value=V (write_path.lua);
- REST: POST /api/v1/variables/I/value, `X-API-Key: K`, body {"value": V} (write_path.lua's action `rest`).

Each side runs --rounds times, alternating (each going first in every other round), and its best
round counts (a busy shared machine slows some rounds; the best is the least disturbed). Two cost
ratios, REST over VariPass: of the rates (VariPass rate / REST rate), and of the service's CPU per
successful write (µs), which other processes on the machine disturb less than they disturb rates.
Every write is checked: wrk counts answers that are not success, and history must grow by one row
per successful write.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import psutil

from tests.bench import write_path
from tests.bench.cpu import CpuClock
from tests.bench.write_path import COOLDOWN, Measure, check_tools, history_rows

CONNECTIONS = (64, 16)
TARGET = 1.3  # REST's cost, at most this many times VariPass's


def cpu_us(result: Measure) -> float:
    """The service's CPU per successful write, in µs."""
    return result.service_cpu / result.rate * 1e6


def measure(side: str, connections: int, base: str, clock: CpuClock, db_url: str, args: argparse.Namespace) -> Measure:
    before = history_rows(db_url)
    time.sleep(COOLDOWN + 0.2)  # the last run may have just written the variables this one starts with
    action = "rest" if side == "rest" else "write"
    result = write_path.run_wrk(base, clock, action, connections, args.wrk_threads, args.duration)
    time.sleep(COOLDOWN + 0.2)  # the requests wrk left in flight finish
    added = history_rows(db_url) - before
    fine = result.failures == 0 and 0 <= added - result.count <= connections
    print(
        f"  {side:8} -c{connections}: {result.rate:7.0f}/s  p50 {result.p50_ms:5.1f} ms  p99 {result.p99_ms:5.1f} ms"
        f"  cpu {result.service_cpu:4.2f} ({cpu_us(result):4.0f} µs/write)  other {result.other_cpu:4.2f}"
        f"  history +{added} for {result.count}:"
        f" {'ok' if fine else 'MISMATCH'}",
        flush=True,
    )
    if not fine:
        raise SystemExit(f"{side} -c{connections}: {result.failures} failures, history +{added} for {result.count}")
    return result


def run(args: argparse.Namespace) -> dict[tuple[str, int], list[Measure]]:
    rounds: dict[tuple[str, int], list[Measure]] = {}
    with write_path.populated_database() as (db_url, postmaster_pid):
        with write_path.running_service(db_url, args.pool_size) as (base, pid):
            write_path.check_variables(base, db_url)
            clock = CpuClock((pid,), postmaster_pid)
            write_path.run_wrk(base, clock, "sread", max(CONNECTIONS), args.wrk_threads, 2)  # warm-up
            for connections in CONNECTIONS:
                for round_ in range(args.rounds):
                    # Each side goes first in every other round: a later run meets a larger history table.
                    for side in ("varipass", "rest") if round_ % 2 == 0 else ("rest", "varipass"):
                        result = measure(side, connections, base, clock, db_url, args)
                        rounds.setdefault((side, connections), []).append(result)
    return rounds


def report(rounds: dict[tuple[str, int], list[Measure]]) -> None:
    print()
    print(f"{'':6}{'------ VariPass ------':>24}{'-------- REST --------':>24}{'---- REST / VariPass ----':>28}")
    side = f"{'/s':>8}{'µs cpu':>8}{'p99 ms':>8}"
    print(f"{'conns':>6}{side}{side}{'rate cost':>12}{'cpu cost':>12}")
    ratios = {}
    for connections in CONNECTIONS:
        varipass, rest = rounds["varipass", connections], rounds["rest", connections]
        vp_rate, rest_rate = max(m.rate for m in varipass), max(m.rate for m in rest)
        vp_cpu, rest_cpu = min(cpu_us(m) for m in varipass), min(cpu_us(m) for m in rest)
        vp_p99, rest_p99 = min(m.p99_ms for m in varipass), min(m.p99_ms for m in rest)
        ratios[connections] = (vp_rate / rest_rate, rest_cpu / vp_cpu)
        print(
            f"{connections:>6}{vp_rate:>8.0f}{vp_cpu:>8.0f}{vp_p99:>8.1f}{rest_rate:>8.0f}{rest_cpu:>8.0f}{rest_p99:>8.1f}"
            f"{ratios[connections][0]:>12.2f}{ratios[connections][1]:>12.2f}"
        )
    print("best of each side's rounds: the highest rate, the least CPU per write, the lowest p99")
    rate_cost, cpu_cost = ratios[64]
    verdict = "met" if max(rate_cost, cpu_cost) <= TARGET else "NOT met"
    costs = f"rate {rate_cost:.2f}, cpu {cpu_cost:.2f}"
    print(f"target: REST write -c64 cost <= {TARGET} x VariPass write: {costs}, {verdict}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side at each concurrency, alternating")
    parser.add_argument("--pool-size", type=int, default=20, help="the service's asyncpg pool (min = max)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk -t (wrk shares the cores)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    check_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    busy = psutil.cpu_percent(interval=1) / 100 * (psutil.cpu_count() or 1)
    print(f"before the run, other processes used {busy:.2f} of {psutil.cpu_count()} cores", flush=True)
    try:
        rounds = run(args)
    except KeyboardInterrupt:
        raise SystemExit("interrupted; stopped what the benchmark started") from None
    report(rounds)


if __name__ == "__main__":
    main()
