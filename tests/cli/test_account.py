"""`varistore account ...`, `ban-ip` and `unban-ip` against the suite's database."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from service.cli import build_parser
from tests.harness import free_port, scaled
from tests.support import Api, Db, random_email


def varistore(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**os.environ, "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        check=check,
        timeout=scaled(60),
    )


def test_account_create_prints_key_on_last_line(api: Api, db_url: str) -> None:
    email = random_email()
    key = varistore(db_url, "account", "create", "--email", email, "--confirmed").stdout.splitlines()[-1]

    assert len(key) == 16 and key.isalnum()
    assert api.call("list", key) == {"result": "success", "list": []}


def test_account_create_unconfirmed_by_default(api: Api, db_url: str) -> None:
    key = varistore(
        db_url, "account", "create", "--email", random_email(), "--password", "pw-long-enough"
    ).stdout.split()[-1]
    assert api.call("list", key) == {"result": "error_unconfirmed"}


def test_account_create_duplicate_email_fails_case_insensitively(db_url: str) -> None:
    email = random_email()
    varistore(db_url, "account", "create", "--email", email)
    again = varistore(db_url, "account", "create", "--email", email.upper(), check=False)
    assert again.returncode == 1
    assert "exists" in again.stderr


def test_account_password_is_stored_as_argon2(db: Db, db_url: str) -> None:
    email = random_email()
    varistore(db_url, "account", "create", "--email", email, "--password", "s3cret-passw0rd")
    stored = db.fetchval("SELECT password_hash FROM accounts WHERE lower(email) = lower($1)", email)
    assert stored.startswith("$argon2") and "s3cret-passw0rd" not in stored


def test_account_create_refuses_a_short_password_as_sign_up_does(db: Db, db_url: str) -> None:
    email = random_email()
    short = varistore(db_url, "account", "create", "--email", email, "--password", "seven77", check=False)
    assert short.returncode == 1
    assert short.stderr.splitlines()[-1] == "varistore: Choose a password of at least 8 characters."
    assert db.fetchval("SELECT count(*) FROM accounts WHERE lower(email) = lower($1)", email) == 0


def test_account_set_flags(api: Api, db_url: str) -> None:
    email = random_email()
    key = varistore(db_url, "account", "create", "--email", email).stdout.split()[-1]

    varistore(db_url, "account", "set", email, "--confirmed", "--max-variables", "1")
    assert api.call("create", key, type="int", name="a")["result"] == "success"
    assert api.call("create", key, type="int", name="b") == {"result": "error_max_variables"}

    varistore(db_url, "account", "set", email, "--locked", "true")
    assert api.call("create", key, type="int", name="c") == {"result": "error_locked"}

    varistore(db_url, "account", "set", email, "--banned", "TRUE")
    assert api.call("list", key) == {"result": "error_banned"}
    varistore(db_url, "account", "set", email, "--banned", "false", "--locked", "0")
    assert api.call("list", key)["result"] == "success"


def test_account_set_transfers(api: Api, db_url: str) -> None:
    sender_email, target_email = random_email(), random_email()
    sender = varistore(db_url, "account", "create", "--email", sender_email, "--confirmed").stdout.split()[-1]
    varistore(db_url, "account", "create", "--email", target_email, "--confirmed")
    var = api.create(sender)
    assert api.call("transfer", sender, id=var, target=target_email) == {"result": "error_transfer_disabled"}

    varistore(db_url, "account", "set", target_email, "--transfers", "true")
    assert api.call("transfer", sender, id=var, target=target_email) == {"result": "success"}


def test_account_set_prints_what_changed(db_url: str) -> None:
    email = random_email()
    varistore(db_url, "account", "create", "--email", email)
    changed = varistore(
        db_url, "account", "set", email, "--locked", "true", "--max-variables", "5", "--banned", "false"
    )
    assert changed.stdout == f"{email.lower()}: locked false -> true, max variables 100 -> 5\n"
    assert (
        varistore(db_url, "account", "set", email, "--locked", "true").stdout == f"{email.lower()}: nothing changed\n"
    )


def test_account_set_confirmed_false_unconfirms(api: Api, db_url: str) -> None:
    email = random_email()
    key = varistore(db_url, "account", "create", "--email", email, "--confirmed").stdout.split()[-1]
    assert "confirmed true -> false" in varistore(db_url, "account", "set", email, "--confirmed", "false").stdout
    assert api.call("list", key) == {"result": "error_unconfirmed"}
    assert "confirmed false -> true" in varistore(db_url, "account", "set", email, "--confirmed").stdout
    assert api.call("list", key)["result"] == "success"


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com", "sp ace@example.com", ""])
def test_account_create_invalid_email_refused(db: Db, db_url: str, email: str) -> None:
    result = varistore(db_url, "account", "create", "--email", email, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"varistore: not an email address: {email!r}") and result.stderr.count("\n") == 1
    assert db.fetchval("SELECT count(*) FROM accounts WHERE email = $1", email) == 0


def test_every_command_names_its_database_first_without_password(db_url: str) -> None:
    parts = urlsplit(db_url)
    user = parts.username or "varistore_cli"
    with_password = parts._replace(netloc=f"{user}:hunter2@{parts.netloc.rpartition('@')[2]}").geturl()
    result = varistore(with_password, "ban-ip", "192.0.2.1", check=False)
    first = result.stderr.splitlines()[0]
    assert first.startswith("varistore: using the database at ") and first.endswith(parts.path)
    assert "hunter2" not in result.stderr and user not in first


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "varistore: DATABASE_URL is not a PostgreSQL URL"),
        ("mysql://root:hunter2@127.0.0.1/db", "varistore: DATABASE_URL is not a PostgreSQL URL"),
        ("postgresql://u:hunter2@127.0.0.1:{port}/db", "varistore: cannot use the database at 127.0.0.1:{port}/db: "),
    ],
)
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["account", "create", "--email", "a@example.com"]])
def test_bad_database_url_one_clear_line(url: str, message: str, command: list[str]) -> None:
    port = str(free_port())  # nothing listens there
    result = varistore(url.format(port=port), *command, check=False)
    assert result.returncode == 1
    assert message.format(port=port) in result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2


def test_migrate_unknown_revision_one_clear_line(db_url: str) -> None:
    result = varistore(db_url, "migrate", "nonexistent-rev", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "varistore: cannot migrate to 'nonexistent-rev': Can't locate revision identified by 'nonexistent-rev'"
    )
    assert "Traceback" not in result.stderr


def test_every_option_has_help() -> None:
    def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    for parser in parsers(build_parser()):
        for action in parser._actions:
            assert action.help, (parser.prog, action.dest)


def test_data_directory_said_and_a_new_one_warned(tmp_path: Path) -> None:
    # Issue 9: run from another folder, `account create` silently made a second, empty database.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VARISTORE_DATA")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=scaled(120),
        )

    data = tmp_path / ".varistore"
    first = run("account", "create", "--email", "first@example.com").stderr.splitlines()[0]
    assert first == f"varistore: no data directory here: making a new one, {data} (VARISTORE_DATA names another)"
    second = run("account", "set", "first@example.com").stderr.splitlines()[0]
    assert second == f"varistore: using the database in {data}"


def test_account_set_unknown_email_fails(db_url: str) -> None:
    result = varistore(db_url, "account", "set", random_email(), "--locked", "true", check=False)
    assert result.returncode == 1


def test_account_set_bad_flag_is_a_usage_error(db_url: str) -> None:
    result = varistore(db_url, "account", "set", random_email(), "--locked", "maybe", check=False)
    assert result.returncode == 2


def test_account_regenerate_key_replaces_the_old_one(api: Api, db_url: str) -> None:
    email = random_email()
    old = varistore(db_url, "account", "create", "--email", email, "--confirmed").stdout.split()[-1]

    new = varistore(db_url, "account", "regenerate-key", email).stdout.splitlines()[-1]

    assert new != old and len(new) == 16
    assert api.call("list", old) == {"result": "error_invalid_key"}
    assert api.call("list", new)["result"] == "success"


def test_ban_ip_and_unban_ip(api: Api, db: Db, db_url: str) -> None:
    ip = "203.0.113.77"
    email = random_email()
    key = varistore(db_url, "account", "create", "--email", email, "--confirmed").stdout.split()[-1]
    headers = {"X-Forwarded-For": ip}
    try:
        varistore(db_url, "ban-ip", ip)
        assert api.http.get("/", params={"action": "list", "key": key}, headers=headers).json() == {
            "result": "error_invalid_key"
        }
        assert api.call("list", key)["result"] == "success"
    finally:
        varistore(db_url, "unban-ip", ip)
    assert api.http.get("/", params={"action": "list", "key": key}, headers=headers).json()["result"] == "success"


def test_ban_ip_refuses_a_non_address(db_url: str) -> None:
    assert varistore(db_url, "ban-ip", "not-an-ip", check=False).returncode == 2
