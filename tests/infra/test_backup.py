"""Backup and restore (issue 11): a `pg_dump -Fc` of a live database, restored with `pg_restore` into an
empty one, serves the same answers and the same pictures byte for byte; and a base backup with archived
WAL, restored to a point in time, serves what was written before it and nothing after.

Pictures can be compared as bytes: a graph depends on the history alone, its time axis ending at the
latest value's time rather than the clock (service/rendering.py), and PNG and BMP carry no timestamp.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from migrations import upgrade
from tests.harness import embedded_postgres, eventually, running_api, scaled, throwaway_database
from tests.infra.replication import Node, archiving_postgres
from tests.support import Account, Api, Db, account_on, lift_cooldown

# The restore, as an operator types it (infra/README.md), into a database just made empty with
# CREATE DATABASE: objects become the restoring role's, grants are left to the new server's own
# roles, and the first error undoes everything.
RESTORE = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]

VALUES = {
    "int": ["7", "-3", "42"],
    "float": ["1.5", "3.25", "-2.0"],
    "bool": ["true", "false", "true"],
    "string": ["on", "off", "über"],
}


def _program(name: str) -> str:
    return str(embedded_postgres()._commands.POSTGRES_BIN_PATH / name)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(60))
    assert done.returncode == 0, f"{argv[0]} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"


def _populate(api: Api, db: Db, account: Account) -> list[str]:
    """Variables of every type with three points of history each, one of them public."""
    variables = []
    for type_, values in VALUES.items():
        var = api.create(account.key, type=type_, name=f"My {type_}", unit="u", public=type_ == "float")
        for value in values:
            assert api.call("write", account.key, id=var, value=value)["result"] == "success"
            lift_cooldown(db, var, seconds=3600)  # an hour between points, the time axis spread
        variables.append(var)
    return variables


def _answer(api: Api, action: str, key: str | None, **params: Any) -> dict[str, Any]:
    """A JSON answer without its `current` time: the clock's, not the data's."""
    data = api.call(action, key, **params)
    data.pop("current", None)
    return data


def _answers(api: Api, account: Account, variables: list[str]) -> dict[str, Any]:
    """What the API serves from this data: answers, and pictures with their ETags."""
    served: dict[str, Any] = {
        "list": _answer(api, "list", account.key),
        "latest": _answer(api, "latest", account.key),
        "slatest": api.simple("slatest", account.key),
    }
    for var in variables:
        served[f"info {var}"] = _answer(api, "info", account.key, id=var)
        served[f"read {var}"] = _answer(api, "read", account.key, id=var)
        served[f"sread {var}"] = api.simple("sread", account.key, id=var)
        served[f"history {var}"] = _answer(api, "history", account.key, id=var)
        served[f"public read {var}"] = _answer(api, "read", None, id=var)  # error_invalid_id unless public
    for var in variables[:3]:  # a string has no graph
        for action, options in (("graph", {}), ("sgraph", {"eink": "true", "width": 200, "height": 120})):
            response = api.request(action=action, key=account.key, id=var, **options)
            assert response.status_code == 200, response.text
            served[f"{action} {var}"] = (response.headers["content-type"], response.headers["etag"], response.content)
    public = variables[1]
    served["public history"] = _answer(api, "history", None, id=public)
    response = api.request(action="graph", id=public)
    served["public graph"] = (response.status_code, response.content)
    return served


async def _tables(url: str) -> dict[str, list[str]]:
    """Every table of the database, each row as text, sorted."""
    conn = await asyncpg.connect(url)
    try:
        names = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return {
            row["tablename"]: sorted(
                record[0] for record in await conn.fetch(f'SELECT t::text FROM "{row["tablename"]}" t')
            )
            for row in names
        }
    finally:
        await conn.close()


def test_pg_dump_restored_into_an_empty_database_serves_the_same(admin_url: str, tmp_path: Path) -> None:
    dump = tmp_path / "varistore.dump"
    with throwaway_database(admin_url) as source:
        account = account_on(source)
        db = Db(source)
        try:
            with running_api(source) as (_, base):
                api = Api(base)
                variables = _populate(api, db, account)
                before = _answers(api, account, variables)
                api.http.close()
                # Taken while the service runs, as a nightly backup is.
                _run([_program("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source}"])
        finally:
            db.close()
        tables = asyncio.run(_tables(source))

    with throwaway_database(admin_url, migrate=False) as restored:
        _run([_program("pg_restore"), *RESTORE, f"--dbname={restored}", str(dump)])
        assert asyncio.run(_tables(restored)) == tables  # alembic_version included: at head, as it was
        with running_api(restored) as (_, base):
            api = Api(base)
            after = _answers(api, account, variables)
            api.http.close()

    assert after.keys() == before.keys()
    for name, answer in before.items():
        assert after[name] == answer, name
    # And they were answers worth comparing: the data to its owner, the public variable to anyone.
    results = {name: answer["result"] for name, answer in before.items() if isinstance(answer, dict)}
    public = {f"public read {var}": "success" if var == variables[1] else "error_invalid_id" for var in variables}
    assert {name: result for name, result in results.items() if name.startswith("public read")} == public
    assert {result for name, result in results.items() if not name.startswith("public read")} == {"success"}
    assert before["slatest"].startswith("success|4|") and before["public graph"][0] == 200


# A base backup as an operator stores it (infra/README.md): base.tar.gz and pg_wal.tar.gz, the WAL it
# needs to be consistent streamed alongside, the checkpoint it starts from taken at once.
BASE_BACKUP = ["--format=tar", "--gzip", "--wal-method=stream", "--checkpoint=fast"]


def _owned_by(node: Node, path: Path) -> None:
    """Give everything under `path` to the server's OS user, as `tar` run by that user would have."""
    if node.user is None:
        return
    owner = node.home.stat()
    for parent, _, files in os.walk(path):
        for name in [parent, *(os.path.join(parent, file) for file in files)]:
            os.chown(name, owner.st_uid, owner.st_gid)


def _restore_to(node: Node, backup: Path, archive: Path, target: str) -> None:
    """Unpack a base backup into `node`'s new data directory, set to recover from `archive` up to `target`."""
    node.pgdata.mkdir(mode=0o700)
    with tarfile.open(backup / "base.tar.gz") as tar:
        tar.extractall(node.pgdata, filter="data")
    with tarfile.open(backup / "pg_wal.tar.gz") as tar:
        tar.extractall(node.pgdata / "pg_wal", filter="data")
    with (node.pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            f"restore_command = 'cp {archive}/%f %p'\n"
            f"recovery_target_time = '{target}'\n"
            "recovery_target_action = 'promote'\n"
            f"port = {node.port}\n"
        )
    (node.pgdata / "recovery.signal").touch()
    _owned_by(node, node.pgdata)


@pytest.mark.slow
def test_base_backup_with_archived_wal_restores_to_a_point_in_time(tmp_path: Path) -> None:
    backup = tmp_path / "base"
    with archiving_postgres("varistore-pitr-") as archiving:
        server = archiving.server
        upgrade(server.url)
        account = account_on(server.url)
        db = Db(server.url)
        try:
            with running_api(server.url) as (_, base):
                api = Api(base)

                def write(values: int) -> None:
                    for var, type_ in variables.items():
                        if values:
                            lift_cooldown(db, var, seconds=3600)
                        assert (
                            api.call("write", account.key, id=var, value=VALUES[type_][values])["result"] == "success"
                        )

                variables = {api.create(account.key, type=type_, name=f"My {type_}"): type_ for type_ in VALUES}
                write(0)  # batch A, in the base backup
                _run([_program("pg_basebackup"), f"--dbname={server.url}", f"--pgdata={backup}", *BASE_BACKUP])
                write(1)  # batch B, in the archived WAL only
                before = api.create(account.key, name="Before")
                target = str(server.fetchval("SELECT now()::text"))
                write(2)  # batch C, after the point in time
                after = api.create(account.key, name="After")
                # The segment holding batch C archived, as it is sooner or later: the server closes it now.
                segment = str(server.fetchval("SELECT pg_walfile_name(pg_switch_wal())"))
                eventually(
                    lambda: str(server.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")) >= segment,
                    30,
                    f"{segment} archived",
                    every=0.1,
                )
                api.http.close()
        finally:
            db.close()
        server.stop()  # the server is lost; its archive and the backup are not

        restored = archiving.node("restored")
        _restore_to(restored, backup, archiving.archive, target)
        restored.start()
        eventually(lambda: restored.fetchval("SELECT pg_is_in_recovery()") is False, 60, "recovery over", every=0.1)
        log = restored.log_tail()
        assert "recovery stopping before commit" in log, log

        with running_api(restored.url) as (_, base):
            api = Api(base)
            for var, type_ in variables.items():
                read = api.call("read", account.key, id=var)
                assert read["result"] == "success" and str(read["value"]).lower() == VALUES[type_][1], (type_, read)
                history = [str(value).lower() for value in api.history_values(account.key, var)]
                assert history == VALUES[type_][1::-1], type_  # newest first: B then A, not C
            assert api.call("read", account.key, id=before)["result"] == "success"
            assert api.call("read", account.key, id=after)["result"] == "error_invalid_id"
            assert api.call("write", account.key, id=before, value=1)["result"] == "success"  # promoted: writable
            api.http.close()
