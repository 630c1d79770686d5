"""Flood limits: another key's latency while one key floods, and what a check costs.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.flood [--duration 15] [--connections 64]

One run starts a PostgreSQL (DATABASE_URL's server, in a throwaway database, or an embedded one), makes
two accounts with a float variable each, and measures:

- the check alone, in this process: µs per `hit` of the three strategies of the `limits` library on
  its memory storage and of fixed-window on ours (LocalCounters), what one sweep of limits' memory
  storage costs (its thread does one every 10 ms), and µs per FloodLimits.check admitted and refused;
- the check in the service: wrk on one key's `read` at 16 connections against `varistore api` with
  limits that are checked but never spent, and with none, in turns: rate and CPU per answer;
- `varistore api` with the shipped limits (25/s per key, 100/s per address): the steady key's `read`
  at 20 requests/s with no flood (the baseline), then while wrk floods the other key's `read` on
  64 connections, and the flood's answers: admitted, refused (429 with Retry-After and the protocol
  body) per second;
- the same flood against `varistore api` with the limits off: the figure the limits are for (issue 8
  measured the steady key's p99 going from 3.7 ms to 58-64 ms).

The two clients are told apart by X-Forwarded-For, which the service believes from 127.0.0.1. The
steady client sends one request at a time on one keep-alive connection, 50 ms apart, and times each
from its send to the end of its answer. wrk, the service and PostgreSQL share the machine's cores:
the run says how much CPU other processes took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import STRATEGIES, FixedWindowRateLimiter

from service.core.ids import key_hash
from service.core.settings import Settings
from service.varipass.floods import FloodLimits, LocalCounters
from tests.bench.cpu import CpuClock
from tests.bench.pgbench_log import percentile
from tests.harness import postgres_server, running_api, throwaway_database
from tests.support import Api, Db, make_account

FLOOD_ADDRESS = "203.0.113.1"
STEADY_ADDRESS = "203.0.113.2"
STEADY_INTERVAL = 0.05  # 20 requests a second
SHIPPED = {name: Settings.model_fields[name].default for name in ("limit_per_key", "limit_per_ip", "limit_storage")}
LIMITS_OFF = {"limit_per_key": "", "limit_per_ip": ""}
# Checked on every request and never spent: what the limits cost a request they let through.
LIMITS_NEVER_SPENT = {"limit_per_key": "1000000/second", "limit_per_ip": "1000000/second"}
COST_CONNECTIONS = 16

# wrk counts what the flood got: admitted, refused as the protocol says (429, Retry-After, the body), other.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, refused, other = 0, 0, 0 end
function response(status, headers, body)
    local retry_after = headers["Retry-After"] or headers["retry-after"]
    if status == 200 then
        ok = ok + 1
    elseif status == 429 and retry_after ~= nil and tonumber(retry_after) >= 1
            and body == '{"result":"error_cooldown"}' then
        refused = refused + 1
    else
        other = other + 1
    end
end
function done(summary, latency, requests)
    local o, r, x = 0, 0, 0
    for _, t in ipairs(threads) do o = o + t:get("ok"); r = r + t:get("refused"); x = x + t:get("other") end
    local e = summary.errors
    io.write(string.format('WRK_RESULT {"ok":%d,"refused":%d,"other":%d,"socket_errors":%d,"duration_us":%d}\\n',
        o, r, x, e.connect + e.read + e.write + e.timeout, summary.duration))
end
"""


# -- The check alone ----------------------------------------------------------------------------------


def _per_call_us(call: Callable[[int], object], count: int) -> float:
    """CPU µs per call, the storage's timer thread included (process time counts every thread)."""
    start = time.process_time()
    for n in range(count):
        call(n)
    return (time.process_time() - start) / count * 1e6


def check_costs(count: int) -> None:
    print("the check alone, CPU µs per call (limits' expiry thread included):")
    admit, refuse = parse("1000000/second"), parse("1/hour")
    keys = [f"{n:064x}" for n in range(1000)]
    candidates = [
        (f"{name}, limits' memory://", cls(storage_from_string("memory://"))) for name, cls in STRATEGIES.items()
    ]
    candidates.append(("fixed-window, LocalCounters", FixedWindowRateLimiter(LocalCounters())))
    for name, strategy in candidates:
        admitted = _per_call_us(lambda n, s=strategy: s.hit(admit, "key", keys[n % 1000]), count)
        refused = _per_call_us(lambda n, s=strategy: s.hit(refuse, "key", "flooder"), count)
        print(f"  {name:40} hit: {admitted:5.1f} admitted, {refused:5.1f} refused")
    # limits' memory storage sweeps every counter from a thread, every 10 ms while there is traffic.
    for name, cls in STRATEGIES.items():
        storage = MemoryStorage()
        strategy = cls(storage)
        for n in range(20_000):
            strategy.hit(admit, "key", f"{n:064x}")
        start = time.perf_counter()
        storage._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        print(f"  limits' memory://, {name}: one sweep of 20,000 counters {(time.perf_counter() - start) * 1e3:.1f} ms")

    async def checks(floods: FloodLimits, key: str) -> float:
        address = ipaddress.ip_address("192.0.2.1")
        hashed = key_hash(key)  # as the endpoint hands it over, made once for its Actor
        start = time.process_time()
        for _ in range(count):
            with contextlib.suppress(Exception):
                await floods.check(hashed, address)
        return (time.process_time() - start) / count * 1e6

    open_ = FloodLimits("1000000/second", "1000000/second", "memory://", hold=0)
    spent = FloodLimits("1/hour", "", "memory://", hold=0)
    print(
        f"  FloodLimits.check (key and address): {asyncio.run(checks(open_, 'KeyA')):5.1f} admitted, "
        f"{asyncio.run(checks(spent, 'KeyA')):5.1f} refused (its VariPassError included)"
    )


# -- The steady client --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Steady:
    count: int
    failures: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def steady_reads(base: str, key: str, var: str, seconds: float) -> Steady:
    """`read` of `var`, one at a time, STEADY_INTERVAL apart, for `seconds`; each timed."""
    host, port = base.removeprefix("http://").split(":")
    request = (
        f"GET /?action=read&key={key}&id={var} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-For: {STEADY_ADDRESS}\r\n\r\n"
    ).encode()
    latencies: list[int] = []
    failures = 0
    with socket.create_connection((host, int(port))) as sock, sock.makefile("rb") as answers:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sent = time.perf_counter()
            sock.sendall(request)
            status, length = answers.readline(), 0
            while (line := answers.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = answers.read(length)
            latencies.append(int((time.perf_counter() - sent) * 1e6))
            failures += b" 200 " not in status or b'"result":"success"' not in body
            time.sleep(max(0.0, STEADY_INTERVAL - (time.perf_counter() - sent)))
    latencies.sort()
    p50, p99 = percentile(latencies, 50) / 1000, percentile(latencies, 99) / 1000
    return Steady(len(latencies), failures, p50, p99, latencies[-1] / 1000)


# -- The flood ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flood:
    seconds: float
    admitted: int
    refused: int
    other: int


def flood(base: str, key: str, var: str, connections: int, seconds: float, script: Path) -> Flood:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", str(script)]
    command += ["-H", f"X-Forwarded-For: {FLOOD_ADDRESS}", f"{base}/?action=read&key={key}&id={var}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK_RESULT "))
    result = json.loads(line.split(" ", 1)[1])
    return Flood(
        result["duration_us"] / 1e6, result["ok"], result["refused"], result["other"] + result["socket_errors"]
    )


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    steady: Steady
    flood: Flood | None
    service_cpu: float
    other_cpu: float


def measure(name: str, api: Api, clock: CpuClock, keys: tuple[str, str], args: argparse.Namespace) -> Phase:
    """The steady key alone (no `args.connections`), or while the other key floods."""
    flood_var, steady_var = api.create(keys[0]), api.create(keys[1])
    flooded: list[Flood] = []
    start = clock.read()
    if args.connections:
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            script.write(WRK_SCRIPT)
            script.flush()
            # The flood starts first and ends last: the steady client measures inside it only.
            thread = threading.Thread(
                target=lambda: flooded.append(
                    flood(api.base_url, keys[0], flood_var, args.connections, args.duration + 2, Path(script.name))
                )
            )
            thread.start()
            time.sleep(1)
            steady = steady_reads(api.base_url, keys[1], steady_var, args.duration)
            thread.join()
    else:
        steady = steady_reads(api.base_url, keys[1], steady_var, args.duration)
    service_cpu, other_cpu = clock.cores(start, clock.read())
    return Phase(name, steady, flooded[0] if flooded else None, service_cpu, other_cpu)


@contextlib.contextmanager
def service(db_url: str, postmaster: int | None, **limits: str) -> Iterator[tuple[Api, CpuClock]]:
    with running_api(db_url, new_session=True, **limits) as (process, base):  # type: ignore[arg-type]
        api = Api(base)
        try:
            yield api, CpuClock((process.pid,), postmaster)
        finally:
            api.http.close()


@dataclass(frozen=True, slots=True)
class Cost:
    name: str
    rate: float  # admitted answers per second
    cpu_us: float  # the service's CPU per answer


def check_cost_in_service(db_url: str, postmaster: int | None, key: str, args: argparse.Namespace) -> list[Cost]:
    """wrk on one key's `read`, with limits that are checked but never spent and with none, in turns."""
    costs: list[Cost] = []
    with (
        service(db_url, postmaster, **LIMITS_NEVER_SPENT) as checked,
        service(db_url, postmaster, **LIMITS_OFF) as unchecked,
        tempfile.NamedTemporaryFile("w", suffix=".lua") as script,
    ):
        script.write(WRK_SCRIPT)
        script.flush()
        for name, (api, clock) in [("checked", checked), ("off", unchecked)] * args.cost_rounds:
            var = api.create(key)
            start = clock.read()
            result = flood(api.base_url, key, var, COST_CONNECTIONS, args.duration, Path(script.name))
            cpu, _ = clock.cores(start, clock.read())
            if result.refused or result.other:
                raise RuntimeError(f"limits never spent refused or failed: {result}")
            costs.append(Cost(name, result.admitted / result.seconds, cpu * result.seconds / result.admitted * 1e6))
    return costs


def run(args: argparse.Namespace) -> tuple[list[Phase], list[Cost]]:
    with postgres_server() as server, throwaway_database(server.url) as db_url:
        db = Db(db_url)
        try:
            keys = (make_account(db).key, make_account(db).key)
        finally:
            db.close()
        costs = check_cost_in_service(db_url, server.pid, keys[0], args)
        phases = []
        quiet = argparse.Namespace(**{**vars(args), "connections": 0})
        with service(db_url, server.pid, **SHIPPED) as (api, clock):
            steady_reads(api.base_url, keys[1], api.create(keys[1]), 2)  # warm up
            phases.append(measure("limits on, no flood (baseline)", api, clock, keys, quiet))
            phases.append(measure(f"limits on, flood -c{args.connections}", api, clock, keys, args))
        with service(db_url, server.pid, **LIMITS_OFF) as (api, clock):
            steady_reads(api.base_url, keys[1], api.create(keys[1]), 2)
            phases.append(measure("limits off, no flood", api, clock, keys, quiet))
            phases.append(measure(f"limits off, flood -c{args.connections}", api, clock, keys, args))
        return phases, costs


def print_costs(costs: list[Cost]) -> None:
    print()
    print(f"the check in the service: wrk -c{COST_CONNECTIONS} on one key's read, limits checked (never spent) or off")
    for cost in costs:
        print(f"  {cost.name:8} {cost.rate:7.0f} answers/s, {cost.cpu_us:5.0f} µs of the service's CPU per answer")
    rates = {name: [c.rate for c in costs if c.name == name] for name in ("checked", "off")}
    cpus = {name: [c.cpu_us for c in costs if c.name == name] for name in ("checked", "off")}
    rate = sum(rates["checked"]) / sum(rates["off"])
    cpu = sum(cpus["checked"]) / sum(cpus["off"])
    print(f"  checked/off: rate {rate:.3f}, CPU per answer {cpu:.3f}")


def print_table(phases: list[Phase]) -> None:
    print()
    print(f"{'':32}{'--- steady key, read at 20/s ---':>36}{'------- flooding key, per s -------':>38}")
    print(f"{'phase':32}{'n':>6}{'fail':>6}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}", end="")
    print(f"{'answers':>9}{'admitted':>10}{'429':>8}{'other':>7}{'cpu':>6}{'other':>6}")
    for phase in phases:
        s = phase.steady
        print(f"{phase.name:32}{s.count:>6}{s.failures:>6}{s.p50_ms:>8.1f}{s.p99_ms:>8.1f}{s.max_ms:>8.1f}", end="")
        if phase.flood is None:
            print(f"{'':>34}", end="")
        else:
            f = phase.flood
            total = (f.admitted + f.refused + f.other) / f.seconds
            print(f"{total:>9.0f}{f.admitted / f.seconds:>10.1f}{f.refused / f.seconds:>8.0f}{f.other:>7}", end="")
        print(f"{phase.service_cpu:>6.2f}{phase.other_cpu:>6.2f}")
    print("cpu: cores the service process used; other: cores used by processes outside the benchmark")
    limited = next(phase for phase in phases if phase.flood is not None).steady.p99_ms
    verdict = "met" if limited <= 20 else "NOT met"
    print(f"target: the steady key's p99 under the flood <= 20 ms: {limited:.1f} ms, {verdict}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds the steady client measures in each phase")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c of the flood")
    parser.add_argument("--checks", type=int, default=50_000, help="calls per figure of the check alone")
    parser.add_argument("--cost-rounds", type=int, default=2, help="turns of checked and off in the service")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH (Debian: apt-get install wrk)")
    # SIGTERM unwinds like Ctrl-C, so the services and the database are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    busy = psutil.cpu_percent(interval=1) / 100 * (psutil.cpu_count() or 1)
    print(f"before the run, other processes used {busy:.2f} of {psutil.cpu_count()} cores", flush=True)
    check_costs(args.checks)
    try:
        phases, costs = run(args)
    except KeyboardInterrupt:
        raise SystemExit("interrupted; stopped what the benchmark started") from None
    print_costs(costs)
    print_table(phases)


if __name__ == "__main__":
    main()
