"""Every revision upgrades and downgrades cleanly on an empty database."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from migrations import downgrade, upgrade
from tests.harness import scaled, throwaway_database, varistore
from tests.support import Db

TABLES = {
    *("accounts", "banned_ips", "variable_ids", "variables", "history"),
    *("sessions", "email_tokens", "socket_tokens", "scoped_keys", "api_tokens"),
}


@pytest.fixture
def empty_url(admin_url: str) -> Iterator[str]:
    with throwaway_database(admin_url, migrate=False) as url:
        yield url


def _tables(url: str) -> set[str]:
    db = Db(url)
    try:
        rows = db.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'alembic_version'"
        )
        return {r["tablename"] for r in rows}
    finally:
        db.close()


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    upgrade(empty_url)
    assert _tables(empty_url) == TABLES

    downgrade(empty_url, "base")
    assert _tables(empty_url) == set()

    upgrade(empty_url)
    assert _tables(empty_url) == TABLES


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    assert _tables(empty_url) == TABLES


def test_replicas_migrating_at_once_take_turns(empty_url: str) -> None:
    # systemd runs `varistore migrate` before each replica starts: several may start together.
    env = {**os.environ, "DATABASE_URL": empty_url}
    runs = [subprocess.Popen(varistore("migrate"), env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for run in runs:
        _, errors = run.communicate(timeout=scaled(120))
        assert run.returncode == 0, errors
    assert _tables(empty_url) == TABLES


def test_tenant_indexes_lead_with_account_id(db: Db) -> None:
    rows = db.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, a.attname AS first
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
        WHERE t.relname IN ('variables', 'history')
        """
    )
    assert rows and all(r["first"] == "account_id" for r in rows), rows
