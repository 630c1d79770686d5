"""A client process of the gateway benchmark: holds authenticated WebSockets and logs when each `refresh` arrives.

tests/bench/gateway.py starts one or more of these (`python -m tests.bench.gateway_clients ...`), each with
its own event loop, so that receiving the refreshes does not share a process with the gateway or the writer.

Talk with the parent, one JSON object a line on stdout: `{"event": "ready", ...}` once every socket is open
and authenticated (or has failed); then the parent writes `stop` on stdin, and the process pings every socket
once more (a `pong` proves it is still open), writes what it saw to the file it was given and says
`{"event": "done", ...}`.

Times are `time.monotonic_ns()`: CLOCK_MONOTONIC, one clock for every process of the machine, so the parent
can compare a refresh's arrival here with a write's send time there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import heapq
import json
import random
import resource
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

T = TypeVar("T")

OPEN_TIMEOUT = 30.0  # seconds for one socket's handshake, and again for its `ok`
VERIFY_TIMEOUT = 10.0  # seconds for the last `pong` of every socket
CLOSE_TIMEOUT = 5.0


def raise_nofile() -> int:
    """Raise this process's soft limit of open files to its hard limit (children inherit it); the new limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop (installed with uvicorn[standard]): less CPU per frame, so less delay in our stamps."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


@dataclass(slots=True)
class Held:
    """One socket of one account, and what arrived on it."""

    account: int
    ws: ClientConnection | None = None
    refreshes: list[int] = field(default_factory=list)  # monotonic_ns of each `refresh`
    others: int = 0  # frames that are neither `refresh` nor `pong`
    pong: asyncio.Event = field(default_factory=asyncio.Event)
    opened: bool = False  # connected and authenticated
    error: str | None = None  # why opening failed, or how the socket closed before we stopped
    alive: bool = False  # answered the last ping after the run


async def open_socket(held: Held, url: str, key: str, compression: str | None) -> None:
    """Connect and authenticate; on failure, `held.error` says why."""
    try:
        # proxy=None: the environment's proxy settings must not route a loopback benchmark; no protocol-level
        # pings either: the gateway's protocol has its own `ping`, which is what keeps a socket alive.
        ws = await connect(
            url, compression=compression, proxy=None, open_timeout=OPEN_TIMEOUT, ping_interval=None, close_timeout=1
        )
        await ws.send(f"key {key}")
        reply = await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT)
    except Exception as exc:  # refused, reset, timed out, a bad handshake...: the run reports which
        held.error = f"open: {type(exc).__name__}: {exc}"
        return
    if reply != "ok":
        held.error = f"auth: {reply!r}"
        await ws.close()
        return
    held.ws, held.opened = ws, True


async def read(held: Held, stopping: asyncio.Event) -> None:
    """Stamp every `refresh` the moment the loop hands it to us; note a close that we did not ask for."""
    assert held.ws is not None
    try:
        async for message in held.ws:
            if message == "refresh":
                held.refreshes.append(time.monotonic_ns())
            elif message == "pong":
                held.pong.set()
            else:
                held.others += 1
    except ConnectionClosed:
        pass
    if not stopping.is_set():
        held.error = f"closed: code {held.ws.close_code} {held.ws.close_reason!r}"


class Pinger:
    """`ping` each open socket every `every` seconds, as a device would: the first at a random moment of its
    first period, so that the pings of sockets opened together spread out."""

    TICK = 0.05  # seconds; a ping may be this late

    def __init__(self, every: float) -> None:
        self.every = every
        self.due: list[tuple[float, int, Held]] = []  # a heap: when, a tie-breaker, which socket
        self.added = 0

    def add(self, held: Held) -> None:
        self.added += 1
        heapq.heappush(self.due, (time.monotonic() + random.uniform(0, self.every), self.added, held))

    async def run(self) -> None:
        while True:
            while self.due and self.due[0][0] <= time.monotonic():
                when, order, held = heapq.heappop(self.due)
                if held.ws is None or held.error is not None:
                    continue  # closed: forget it
                with contextlib.suppress(ConnectionClosed):
                    await held.ws.send("ping")
                heapq.heappush(self.due, (when + self.every, order, held))  # keep the cadence if late
            await asyncio.sleep(self.TICK)


async def verify(held: Held) -> None:
    """A `pong` to a fresh `ping` proves the socket is open and served."""
    if held.ws is None or held.error is not None:
        return
    held.pong.clear()
    try:
        await held.ws.send("ping")
        await asyncio.wait_for(held.pong.wait(), VERIFY_TIMEOUT)
        held.alive = True
    except (ConnectionClosed, TimeoutError) as exc:
        held.error = held.error or f"verify: {type(exc).__name__}"


def say(**event: Any) -> None:
    print(json.dumps(event), flush=True)


def plan(index: int, processes: int, accounts: int, per_account: int) -> list[int]:
    """The accounts of this process's sockets: every `processes`-th account, `per_account` sockets each."""
    return [account for account in range(index, accounts, processes) for _ in range(per_account)]


async def open_all(
    helds: list[Held], args: argparse.Namespace, stopping: asyncio.Event, pinger: Pinger
) -> list[asyncio.Task[None]]:
    """Open the sockets `args.concurrency` at a time: more would overflow the gateway's listen backlog."""
    gate = asyncio.Semaphore(args.concurrency)
    readers: list[asyncio.Task[None]] = []

    async def one(held: Held) -> None:
        async with gate:
            compression = None if args.compression == "none" else args.compression
            await open_socket(held, args.url, str(args.key_base + held.account), compression)
        if held.ws is not None:
            readers.append(asyncio.create_task(read(held, stopping)))
            pinger.add(held)

    await asyncio.gather(*(one(held) for held in helds))
    return readers


async def session(args: argparse.Namespace) -> None:
    helds = [Held(account) for account in plan(args.index, args.processes, args.accounts, args.per_account)]
    random.Random(args.index).shuffle(helds)  # accounts open interleaved, as devices come and go
    stopping = asyncio.Event()
    pinger = Pinger(args.ping_every)
    pings = asyncio.create_task(pinger.run())
    started = time.monotonic()
    readers = await open_all(helds, args, stopping, pinger)
    # What is open now lives to the end: frozen, the collector stops walking it, so that our own pauses do not
    # delay the stamps of refreshes (a full collection over 5,000 sockets took over 100 ms).
    gc.freeze()
    failed = [held.error for held in helds if held.error is not None]
    first = next((held.ws for held in helds if held.ws is not None), None)
    extensions = first.response.headers.get("Sec-WebSocket-Extensions", "") if first and first.response else ""
    say(event="ready", open=len(readers), failed=len(failed), seconds=time.monotonic() - started,
        first_error=failed[0] if failed else None, extensions=extensions)  # fmt: skip

    await asyncio.to_thread(sys.stdin.readline)  # the parent's `stop`, or its end
    pings.cancel()
    await asyncio.gather(*(verify(held) for held in helds))
    stopping.set()
    dump(helds, args.out)
    say(event="done", alive=sum(held.alive for held in helds))
    open_ws = [held.ws for held in helds if held.ws is not None]
    await asyncio.wait([asyncio.create_task(ws.close()) for ws in open_ws] or [pings], timeout=CLOSE_TIMEOUT)
    for reader in readers:
        reader.cancel()


def dump(helds: list[Held], out: Path) -> None:
    sockets = [
        {
            "account": h.account,
            "refreshes": h.refreshes,
            "others": h.others,
            "opened": h.opened,
            "alive": h.alive,
            "error": h.error,
        }
        for h in helds
    ]
    out.write_text(json.dumps({"sockets": sockets}))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="ws://host:port/ws")
    parser.add_argument("--out", type=Path, required=True, help="where to write the log of this process's sockets")
    parser.add_argument("--index", type=int, default=0, help="this process's number, from 0")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--per-account", type=int, required=True)
    parser.add_argument("--key-base", type=int, required=True, help="account a's key is the digits of KEY_BASE + a")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes in flight")
    parser.add_argument("--ping-every", type=float, default=20.0, help="seconds between two pings of one socket")
    parser.add_argument(
        "--compression", choices=["deflate", "none"], default="deflate", help="offer permessage-deflate"
    )
    return parser.parse_args(argv)


def main() -> None:
    raise_nofile()
    run_loop(session(parse_args()))


if __name__ == "__main__":
    main()
