"""`varistore account ...`, `ban-ip` and `unban-ip` against the suite's database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.harness import scaled
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
    key = varistore(db_url, "account", "create", "--email", random_email(), "--password", "pw").stdout.split()[-1]
    assert api.call("list", key) == {"result": "error_unconfirmed"}


def test_account_create_duplicate_email_fails_case_insensitively(db_url: str) -> None:
    email = random_email()
    varistore(db_url, "account", "create", "--email", email)
    again = varistore(db_url, "account", "create", "--email", email.upper(), check=False)
    assert again.returncode == 1
    assert "exists" in again.stderr


def test_account_password_is_stored_as_argon2(db: Db, db_url: str) -> None:
    email = random_email()
    varistore(db_url, "account", "create", "--email", email, "--password", "s3cret")
    stored = db.fetchval("SELECT password_hash FROM accounts WHERE email = $1", email)
    assert stored.startswith("$argon2") and "s3cret" not in stored


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
