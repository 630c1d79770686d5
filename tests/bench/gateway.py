"""The WebSocket gateway under load: 10,000 authenticated sockets on one gateway process, 1,000 writes/s.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.gateway [--rate 1000] [--duration 10] [--clients 2] [--no-deflate]

One run starts a PostgreSQL (DATABASE_URL's server, in a throwaway database, or an embedded one in a
temporary directory), migrates it and fills it as write_path.py does (1,000 accounts of 10 variables, cooldown
1 s), then starts `python -m service api` and `python -m service gateway` on it. Client processes
(gateway_clients.py, an asyncio loop and the `websockets` client each) open 10 sockets per account, 10,000 in
all (offering permessage-deflate, as browsers do, unless --no-deflate), authenticate them and ping each every
20 s; then this process sends `--rate` writes/s for `--duration` s through the real HTTP service, in
write_path's walk: write i goes to variable i mod 10,000, so each account is written once a second and no write
meets a cooldown. A second of writes to variables that do not exist comes first: the same statement on every
pooled connection of the service, changing nothing and notifying nobody.

Delivery latency. A write's commit happens after the writer sends its request and before the answer arrives;
the refresh it causes can arrive before or after that answer. So each write is stamped when its request is
sent, each refresh when the client's loop hands it over (one CLOCK_MONOTONIC for all processes), and on every
socket the first refresh after a write, and before the account's next write, is that write's delivery:
receipt minus send time, an upper bound of commit to receipt by the time the service takes to commit (the
write answers' own p50/p99 are printed beside it). A write whose window holds no refresh on some socket of
its account is a missed refresh; refreshes beyond the first in a window are counted too. Writes to one account
are 1 s apart (at 1,000/s), so a refresh later than that also shows as missed: "none missed" means that no
delivery took longer.
The p99 of each second of writes tells a stall of every socket (one bad second) from a steady queue.

Memory per socket: the gateway's RSS with every socket open minus its RSS before the first one, divided by
the sockets (psutil), after opening and again after the writes. Every socket must still answer a `ping` at
the end, and every successful write must reach every socket of its account.

All processes share the machine's 2 cores: the run prints the cores each of them used during the writes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from tests.bench.gateway_clients import raise_nofile, run_loop
from tests.bench.pgbench_log import percentile
from tests.bench.write_path import (
    ACCOUNTS,
    KEY_BASE,
    VARIABLES,
    account_key,
    check_variables,
    populated_database,
    running_service,
    variable_id,
)
from tests.harness import ROOT, running_gateway as start_gateway, stop_process

MAX_KB_PER_SOCKET = 50.0  # targets, from issue 4
MAX_P99_MS = 250.0
READY_TIMEOUT = 150.0  # seconds for the client processes to open every socket
DONE_TIMEOUT = 60.0  # seconds for them to verify their sockets and write their logs
SUCCESS = b'{"result":"success"}'
WARMUP_SECONDS = 1.0


# -- The gateway --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gateway:
    url: str  # ws://host:port/ws
    pid: int


@contextlib.contextmanager
def running_gateway(db_url: str) -> Iterator[Gateway]:
    """The gateway process on `db_url`, with its default limits; it inherits our raised limit of open files."""
    with start_gateway(db_url, new_session=True) as (process, url):
        yield Gateway(url, process.pid)


def rss(pid: int) -> int:
    """Resident bytes of a process and its children (should the gateway ever fork workers)."""
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


def established(pid: int, port: int) -> int:
    """TCP connections the gateway process holds open on its port."""
    connections = psutil.Process(pid).net_connections(kind="tcp")
    return sum(1 for c in connections if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


# -- The client processes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SocketLog:
    account: int
    refreshes: list[int]  # monotonic_ns of each `refresh` received
    others: int  # frames other than `refresh` and `pong`
    opened: bool  # connected and authenticated
    alive: bool  # answered a `ping` after the writes
    error: str | None


@dataclass(frozen=True, slots=True)
class Opened:
    sockets: int
    failed: int
    seconds: float  # the slowest client process
    first_error: str | None
    extensions: str  # what the gateway answered in Sec-WebSocket-Extensions


class Clients:
    """The client processes: each holds the sockets of every `count`-th account."""

    def __init__(self, url: str, count: int, per_account: int, args: argparse.Namespace, workdir: Path) -> None:
        self.logs = [workdir / f"clients-{index}.json" for index in range(count)]
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.bench.gateway_clients", "--url", url, "--out", str(log)]
                + ["--index", str(index), "--processes", str(count), "--accounts", str(ACCOUNTS)]
                + ["--per-account", str(per_account), "--key-base", str(KEY_BASE)]
                + ["--ping-every", str(args.ping_every), "--concurrency", str(args.open_concurrency)]
                + ["--compression", "none" if args.no_deflate else "deflate"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                start_new_session=True,
            )
            for index, log in enumerate(self.logs)
        ]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def ready(self) -> Opened:
        events = [event(process, "ready", READY_TIMEOUT) for process in self.processes]
        errors = [e["first_error"] for e in events if e["first_error"]]
        return Opened(
            sockets=sum(e["open"] for e in events),
            failed=sum(e["failed"] for e in events),
            seconds=max(e["seconds"] for e in events),
            first_error=errors[0] if errors else None,
            extensions=events[0]["extensions"],
        )

    def finish(self) -> list[SocketLog]:
        """Stop every client process at once (each verifies its sockets), then read their logs."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("stop\n")
            process.stdin.flush()
        for process in self.processes:
            event(process, "done", DONE_TIMEOUT)
        return [SocketLog(**entry) for log in self.logs for entry in json.loads(log.read_text())["sockets"]]

    def close(self) -> None:
        """Let each process close its sockets and exit (an end of stdin also stops it), then make sure."""
        for process in self.processes:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(DONE_TIMEOUT)
            except subprocess.TimeoutExpired:
                stop_process(process)


def event(process: subprocess.Popen[str], name: str, timeout: float) -> dict[str, Any]:
    """The next line of a client process, which must be the event `name`, within `timeout` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError(f"a client process said nothing for {timeout:.0f} s (waiting for {name!r})")
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"a client process exited ({process.wait()}) before {name!r}")
    data: dict[str, Any] = json.loads(line)
    if data.get("event") != name:
        raise RuntimeError(f"a client process said {line.strip()!r}, expected {name!r}")
    return data


@contextlib.contextmanager
def client_processes(url: str, args: argparse.Namespace, workdir: Path) -> Iterator[Clients]:
    clients = Clients(url, args.clients, args.sockets_per_account, args, workdir)
    try:
        yield clients
    finally:
        clients.close()


# -- The writer ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    account: int
    due: int  # monotonic_ns the schedule gave it
    sent: int  # monotonic_ns just before its request went out: before its commit
    answered: int  # monotonic_ns when its whole answer had arrived: after its commit
    ok: bool
    answer: str  # the answer when not success


class Http:
    """One keep-alive HTTP/1.1 connection, with just enough of a client to GET a JSON answer.

    httpx spends about a millisecond of CPU per request; at 1,000 writes/s that would take half a core
    from the processes we measure.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base: str) -> Http:
        parts = urlsplit(base)
        assert parts.hostname is not None and parts.port is not None
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc)

    async def get(self, target: str) -> bytes:
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode("ascii"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        return await self.reader.readexactly(content_length(head))

    def close(self) -> None:
        self.writer.close()


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError(f"an answer without Content-Length: {head!r}")


def write_target(i: int) -> tuple[int, str]:
    """Write i of write_path's walk: variable i mod VARIABLES, of account (i mod VARIABLES) mod ACCOUNTS."""
    n = i % VARIABLES
    account = n % ACCOUNTS
    return account, f"/?key={account_key(account)}&action=write&id={variable_id(n)}&value={i}"


def warmup_target(i: int) -> tuple[int, str]:
    """The same write to a variable that does not exist: the service runs the same statement, nothing changes,
    nobody is notified (error_invalid_id)."""
    account, target = write_target(i)
    return account, target.replace(f"id={variable_id(i % VARIABLES)}", f"id={variable_id(VARIABLES + i % VARIABLES)}")


async def write_one(target: str, account: int, due: int, idle: asyncio.Queue[Http], base: str) -> Write:
    http = await idle.get()
    sent = time.monotonic_ns()
    try:
        body = await http.get(target)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        body = f"{type(exc).__name__}: {exc}".encode()
        http.close()
        http = await Http.open(base)  # a broken connection is replaced, so the pool keeps its size
    answered = time.monotonic_ns()
    idle.put_nowait(http)
    ok = body == SUCCESS
    return Write(account, due, sent, answered, ok, "" if ok else body[:200].decode(errors="replace"))


async def paced(
    targets: Callable[[int], tuple[int, str]], rate: float, seconds: float, idle: asyncio.Queue[Http], base: str
) -> list[Write]:
    """`rate` writes/s on an open-loop schedule: a write is sent when due, whatever the earlier ones are doing.

    A write that finds every connection busy waits for one; its lateness shows in the achieved rate.
    """
    total = int(rate * seconds)
    start = time.monotonic_ns()
    tasks: list[asyncio.Task[Write]] = []
    while len(tasks) < total:
        due = start + int(len(tasks) * 1e9 / rate)
        wait = due - time.monotonic_ns()
        if wait > 0:
            await asyncio.sleep(wait / 1e9)
        account, target = targets(len(tasks))
        tasks.append(asyncio.create_task(write_one(target, account, due, idle, base)))
    return await asyncio.gather(*tasks)


async def drive_writes(
    base: str, rate: float, seconds: float, connections: int, measuring: Callable[[], None]
) -> list[Write]:
    """A second of warm-up writes that change nothing, then the measured writes, on the same connections.

    Without the warm-up, the first quarter second of deliveries measured the service's first statements on each
    pooled connection (p99 around 100 ms, then 20 ms).
    """
    idle: asyncio.Queue[Http] = asyncio.Queue()
    for http in await asyncio.gather(*(Http.open(base) for _ in range(connections))):
        idle.put_nowait(http)
    try:
        await paced(warmup_target, rate, WARMUP_SECONDS, idle, base)
        await asyncio.sleep(0.5)
        measuring()
        return await paced(write_target, rate, seconds, idle, base)
    finally:
        while not idle.empty():
            idle.get_nowait().close()


# -- Statistics ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    latencies: list[int]  # ns, sorted: one per successful write and socket of its account that got it
    expected: int  # successful writes times the open sockets of their accounts
    missed: int  # of those, the deliveries that never came
    missed_accounts: int  # accounts with at least one missed delivery
    extra: int  # refreshes beyond the first after one write
    unprompted: int  # refreshes before their account's first write
    received: int  # every refresh received
    per_second: float  # refreshes received between the first and the last write's send, per second
    p99_by_second: list[float]  # ms, of the writes sent in each second: a stall shows as one bad second


def deliveries(writes: list[Write], sockets: list[SocketLog], end: int) -> Delivery:
    """Match each socket's refreshes to its account's successful writes (see the module's docstring)."""
    by_account: dict[int, list[Write]] = defaultdict(list)
    for write in sorted((w for w in writes if w.ok), key=lambda w: w.sent):
        by_account[write.account].append(write)
    timed: list[tuple[int, int]] = []  # due time, latency
    expected = missed = extra = unprompted = 0
    missed_accounts: set[int] = set()
    for socket in sockets:
        times, own = sorted(socket.refreshes), by_account[socket.account]
        bounds = [*(write.sent for write in own), end]
        unprompted += bisect_left(times, bounds[0])
        for write, following in zip(own, bounds[1:], strict=True):
            first, after = bisect_left(times, write.sent), bisect_left(times, following)
            expected += 1
            if first == after:
                missed += 1
                missed_accounts.add(socket.account)
            else:
                timed.append((write.due, times[first] - write.sent))
                extra += after - first - 1
    return Delivery(
        latencies=sorted(latency for _, latency in timed),
        expected=expected,
        missed=missed,
        missed_accounts=len(missed_accounts),
        extra=extra,
        unprompted=unprompted,
        received=sum(len(socket.refreshes) for socket in sockets),
        per_second=refresh_rate(writes, sockets),
        p99_by_second=p99_by_second(timed),
    )


def p99_by_second(timed: list[tuple[int, int]]) -> list[float]:
    """By the time the schedule gave each write, so that every second holds as many writes."""
    if not timed:
        return []
    start = min(due for due, _ in timed)
    seconds: dict[int, list[int]] = defaultdict(list)
    for due, latency in timed:
        seconds[(due - start) // 10**9].append(latency)
    return [ms(sorted(seconds[second]), 99) for second in sorted(seconds)]


def refresh_rate(writes: list[Write], sockets: list[SocketLog]) -> float:
    """Refreshes/s while the writes went out: the steady state, without the start and the tail."""
    first, last = min(w.sent for w in writes), max(w.sent for w in writes)
    count = sum(1 for socket in sockets for at in socket.refreshes if first <= at <= last)
    return count / ((last - first) / 1e9) if last > first else 0.0


def ms(ordered_ns: list[int], pct: float) -> float:
    return percentile(ordered_ns, pct) / 1e6 if ordered_ns else float("nan")


# -- CPU ----------------------------------------------------------------------------------------------


def cpu_seconds(pids: list[int], tree: bool) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            for p in [process, *(process.children(recursive=True) if tree else [])]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = p.cpu_times()
                    total += times.user + times.system
    return total


class CpuMeter:
    """Cores used by each process of the run between start() and stop(), and by the whole machine."""

    def __init__(self, roles: dict[str, tuple[list[int], bool]]) -> None:
        self.roles = roles  # name: pids, and whether their children count (PostgreSQL's backends)
        self.started: dict[str, float] = {}
        self.at = 0.0
        self.busy = 0.0

    @staticmethod
    def _busy() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def start(self) -> None:
        self.started = {name: cpu_seconds(pids, tree) for name, (pids, tree) in self.roles.items()}
        self.at, self.busy = time.monotonic(), self._busy()

    def stop(self) -> dict[str, float]:
        seconds = time.monotonic() - self.at
        cores = {
            name: (cpu_seconds(pids, tree) - self.started[name]) / seconds for name, (pids, tree) in self.roles.items()
        }
        # Everything else on the machine took this much from the processes we measure.
        cores["other"] = max(0.0, (self._busy() - self.busy) / seconds - sum(cores.values()))
        return cores


# -- The run ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    opened: Opened
    sockets_wanted: int
    rss_idle: int
    rss_open: int
    rss_after: int
    held: int  # established connections of the gateway after the writes
    writes: list[Write]
    delivery: Delivery
    alive: int
    closed_errors: list[str]  # why sockets closed, first few
    others: int
    cores: dict[str, float]


def run(args: argparse.Namespace) -> Result:
    wanted = ACCOUNTS * args.sockets_per_account
    with (
        populated_database() as (db_url, postmaster_pid),
        tempfile.TemporaryDirectory(prefix="varistore-bench-") as tmp,
    ):
        with running_service(db_url, args.pool_size) as (base, service_pid), running_gateway(db_url) as gateway:
            # Also a `create` by an account of its own: the service's notifier connects on its first change,
            # which would otherwise delay the first measured refreshes by a connection's setup.
            check_variables(base, db_url)
            time.sleep(0.5)  # the gateway's LISTEN connection settles before the baseline
            rss_idle = rss(gateway.pid)
            print(f"gateway up, RSS {rss_idle / 1e6:.1f} MB; opening {wanted:,} sockets", flush=True)
            with client_processes(gateway.url, args, Path(tmp)) as clients:
                opened = clients.ready()
                print(f"{opened.sockets:,} sockets open in {opened.seconds:.1f} s; writing", flush=True)
                time.sleep(1)  # let the handshakes' garbage be collected before the RSS is read
                rss_open = rss(gateway.pid)
                roles = {
                    "gateway": ([gateway.pid], True),
                    "clients": (clients.pids, False),
                    "service": ([service_pid], False),
                    "postgres": ([postmaster_pid] if postmaster_pid else [], True),
                    "writer": ([os.getpid()], False),
                }
                meter = CpuMeter(roles)
                writes = run_loop(drive_writes(base, args.rate, args.duration, args.connections, meter.start))
                time.sleep(args.grace)  # the last refreshes arrive; later ones count as missed
                cores = meter.stop()
                end = time.monotonic_ns()
                rss_after = rss(gateway.pid)
                held = established(gateway.pid, int(urlsplit(gateway.url).port or 0))
                sockets = clients.finish()
    errors = [s.error for s in sockets if s.error]
    return Result(
        opened=opened,
        sockets_wanted=wanted,
        rss_idle=rss_idle,
        rss_open=rss_open,
        rss_after=rss_after,
        held=held,
        writes=writes,
        delivery=deliveries(writes, [s for s in sockets if s.opened], end),
        alive=sum(s.alive for s in sockets),
        closed_errors=errors[:3],
        others=sum(s.others for s in sockets),
        cores=cores,
    )


def per_socket_kb(result: Result, rss_with: int) -> float:
    return (rss_with - result.rss_idle) / max(1, result.opened.sockets) / 1000


def print_setup(result: Result, args: argparse.Namespace) -> None:
    """How the sockets opened and how the writes went: what the figures rest on."""
    w, o = result.writes, result.opened
    print(f"\n{o.sockets:,} of {result.sockets_wanted:,} sockets open and authenticated ({o.failed} failed) in "
          f"{o.seconds:.1f} s by {args.clients} client processes; extensions: {o.extensions or 'none'}")  # fmt: skip
    if o.first_error:
        print(f"  first failure: {o.first_error}")
    span = (max(x.sent for x in w) - min(x.sent for x in w)) / 1e9
    answers = sorted(x.answered - x.sent for x in w)
    late = sorted(x.sent - x.due for x in w)
    print(f"writes: {len(w):,} sent over {span:.1f} s = {(len(w) - 1) / span:.0f}/s, {sum(x.ok for x in w):,} success")
    print(f"  answer p50 {ms(answers, 50):.1f} ms, p99 {ms(answers, 99):.1f} ms; sent late p99 {ms(late, 99):.1f} ms")
    failed = [x.answer for x in w if not x.ok]
    if failed:
        print(f"  a failed write's answer: {failed[0]}")


def figures(result: Result) -> list[tuple[str, str, str]]:
    """The table: figure, value, target (met or not)."""
    d = result.delivery
    kb_open, kb_after = per_socket_kb(result, result.rss_open), per_socket_kb(result, result.rss_after)
    p99 = ms(d.latencies, 99)
    mb = "/".join(f"{value / 1e6:.1f}" for value in (result.rss_idle, result.rss_open, result.rss_after))
    return [
        ("gateway RSS idle/open/after writes", f"{mb} MB", ""),
        ("memory per socket, open/after writes", f"{kb_open:.1f}/{kb_after:.1f} kB",
         target(max(kb_open, kb_after) <= MAX_KB_PER_SOCKET, f"<= {MAX_KB_PER_SOCKET:g} kB")),
        ("connections the gateway holds at the end", f"{result.held:,}", ""),
        ("sockets answering ping at the end", f"{result.alive:,}/{result.sockets_wanted:,}",
         target(result.alive == result.sockets_wanted, "all")),
        ("delivery send->receipt p50", f"{ms(d.latencies, 50):.1f} ms", ""),
        ("delivery send->receipt p99", f"{p99:.1f} ms", target(p99 <= MAX_P99_MS, f"<= {MAX_P99_MS:g} ms")),
        ("delivery send->receipt max", f"{ms(d.latencies, 100):.1f} ms", ""),
        ("deliveries received/expected", f"{len(d.latencies):,}/{d.expected:,}",
         target(d.missed == 0 and d.expected > 0, "none missed")),
        ("accounts that missed a refresh", f"{d.missed_accounts}", ""),
        ("refreshes delivered/s", f"{d.per_second:,.0f}", ""),
        ("extra/unprompted refreshes", f"{d.extra:,}/{d.unprompted:,}", ""),
    ]  # fmt: skip


def print_report(result: Result, args: argparse.Namespace) -> bool:
    """The table and the targets; True when every socket stayed open and every write reached all of them."""
    print_setup(result, args)
    print(f"\n{'figure':42}{'value':>22}  target")
    for name, value, goal in figures(result):
        print(f"{name:42}{value:>22}  {goal}")
    by_second = " ".join(f"{value:.0f}" for value in result.delivery.p99_by_second)
    print(f"delivery p99 of the writes sent in each second, ms: {by_second}")
    print("\ncores used during the writes: " + ", ".join(f"{k} {v:.2f}" for k, v in result.cores.items()))
    print(f"(of {psutil.cpu_count()}; other: processes outside the benchmark; delivery is an upper bound of commit to"
          " receipt, see the docstring)")  # fmt: skip
    for error in result.closed_errors:
        print(f"socket error: {error}")
    if result.others:
        print(f"{result.others} unexpected frames (neither refresh nor pong)")
    complete = all(x.ok for x in result.writes) and result.opened.failed == 0
    return complete and result.alive == result.sockets_wanted and result.delivery.missed == 0


def target(met: bool, text: str) -> str:
    return f"{text}: {'met' if met else 'NOT met'}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000, help="writes per second")
    parser.add_argument("--duration", type=float, default=10, help="seconds of writes")
    parser.add_argument("--clients", type=int, default=2, help="client processes holding the sockets")
    parser.add_argument("--sockets-per-account", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32, help="the writer's keep-alive HTTP connections")
    parser.add_argument("--pool-size", type=int, default=20, help="the service's asyncpg pool (min = max)")
    parser.add_argument("--ping-every", type=float, default=20, help="seconds between two pings of a socket")
    parser.add_argument("--open-concurrency", type=int, default=50, help="handshakes in flight per client process")
    parser.add_argument("--grace", type=float, default=2, help="seconds after the last write for its refreshes")
    # Browsers offer permessage-deflate; --no-deflate shows what the gateway pays for accepting it.
    parser.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # 10,000 sockets need as many descriptors on each side; children inherit the raised limit.
    limit = raise_nofile()
    if limit < ACCOUNTS * args.sockets_per_account + 1000:
        raise SystemExit(f"the hard limit of open files is {limit}: too low for the sockets")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, stopping what we started
    busy = psutil.cpu_percent(interval=1) / 100 * (psutil.cpu_count() or 1)
    print(f"before the run, other processes used {busy:.2f} of {psutil.cpu_count()} cores", flush=True)
    try:
        result = run(args)
    except KeyboardInterrupt:
        raise SystemExit("interrupted; stopped what the benchmark started") from None
    sys.exit(0 if print_report(result, args) else 1)


if __name__ == "__main__":
    main()
