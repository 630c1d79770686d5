"""Normal requests while 1,000 connections trickle their heads (slowloris), against the same requests alone.

Run by hand (it is not part of pytest):

    .venv/bin/python -m tests.bench.slowloris [--connections 1000] [--rate 20] [--duration 15]

One run starts a PostgreSQL and `python -m service api` with its default bounds (a 10 s head
deadline), then measures a device's `sread` on a new connection each time, `--rate` per second:
first alone (the baseline), then while another process holds `--connections` connections that
each send one header byte a second and open a new one whenever the server drops one. It reports
both latencies (p50, p99, worst), the requests that failed, and how long the server let a
trickling connection live.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import time

from service.core.files import raise_file_limit
from tests.bench.write_path import account_key, populated_database, variable_id
from tests.harness import running_api

TRICKLE_EVERY = 1.0  # seconds between two bytes of a trickling head


async def _trickle_one(host: str, port: int, lifetimes: list[float]) -> None:
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(TRICKLE_EVERY)
            continue
        started = time.monotonic()
        try:
            for byte in b"GET /?action=list HTTP/1.1\r\nX-Slow: " + b"a" * 100_000:
                writer.write(bytes([byte]))
                try:
                    if await asyncio.wait_for(reader.read(1), TRICKLE_EVERY) == b"":
                        break
                except TimeoutError:
                    pass
        except OSError:
            pass
        finally:
            writer.close()
        lifetimes.append(time.monotonic() - started)


async def trickle(host: str, port: int, connections: int) -> None:
    """Hold `connections` trickling connections until SIGTERM, then print each dropped one's lifetime."""
    lifetimes: list[float] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [asyncio.ensure_future(_trickle_one(host, port, lifetimes)) for _ in range(connections)]
    print("trickling", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    print("\n".join(f"dropped {lifetime:.2f}" for lifetime in lifetimes), flush=True)


async def probe(host: str, port: int, request: bytes, rate: float, duration: float) -> tuple[list[float], int]:
    """Latencies (ms) of requests sent `rate` per second, each on a new connection, and the failures."""
    latencies: list[float] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            answer = await asyncio.wait_for(reader.read(), 30)
            writer.close()
        except (OSError, TimeoutError):
            failures += 1
            return
        if b"success" in answer:
            latencies.append((time.monotonic() - started) * 1000)
        else:
            failures += 1

    tasks = []
    start = time.monotonic()
    for n in range(int(rate * duration)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)
    return latencies, failures


def summary(latencies: list[float], failures: int) -> str:
    if len(latencies) < 2:
        return f"{len(latencies)} answered, {failures} failed"
    p99 = statistics.quantiles(latencies, n=100)[98]
    return (
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, worst {max(latencies):.1f} ms "
        f"({len(latencies)} answered, {failures} failed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20, help="normal requests per second")
    parser.add_argument("--duration", type=float, default=15, help="seconds of each measure")
    parser.add_argument("--trickle", metavar="HOST:PORT", help=argparse.SUPPRESS)  # the trickling process
    args = parser.parse_args()
    raise_file_limit(args.connections + 100)
    if args.trickle:
        host, port = args.trickle.rsplit(":", 1)
        asyncio.run(trickle(host, int(port), args.connections))
        return
    request = f"GET /?key={account_key(0)}&action=sread&id={variable_id(0)} HTTP/1.0\r\n\r\n".encode()
    with populated_database() as (db_url, _), running_api(db_url, new_session=True) as (_, base):
        host, port = base.removeprefix("http://").rsplit(":", 1)
        alone = asyncio.run(probe(host, int(port), request, args.rate, args.duration))
        print(f"alone: {summary(*alone)}", flush=True)
        trickler = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bench.slowloris",
                "--trickle",
                f"{host}:{port}",
                "--connections",
                str(args.connections),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert trickler.stdout is not None
            trickler.stdout.readline()
            time.sleep(2)  # the connections are open
            loaded = asyncio.run(probe(host, int(port), request, args.rate, args.duration))
        finally:
            trickler.terminate()
            out, _ = trickler.communicate()
        lifetimes = [float(line.split()[1]) for line in out.splitlines() if line.startswith("dropped")]
        print(f"with {args.connections} trickling connections: {summary(*loaded)}")
        if lifetimes:
            print(
                f"the server dropped {len(lifetimes)} trickling connections after "
                f"{statistics.median(lifetimes):.1f} s (median), {max(lifetimes):.1f} s at most"
            )
        else:
            print("the server dropped no trickling connection")


if __name__ == "__main__":
    main()
