"""`varistore key create|list|revoke` against the suite's database and the running service (issue 14):
the CLI makes, lists and revokes scoped keys through the same use cases as REST and the dashboard."""

from __future__ import annotations

import re

from tests.cli.test_account import varistore
from tests.support import Api, random_email


def account(db_url: str, *flags: str) -> tuple[str, str]:
    email = random_email()
    key = varistore(db_url, "account", "create", "--email", email, *flags).stdout.splitlines()[-1]
    return email, key


def test_key_create_list_revoke_round_trip(api: Api, db_url: str) -> None:
    email, account_key = account(db_url, "--confirmed")
    mine, other = api.create(account_key), api.create(account_key)
    assert api.call("write", account_key, id=mine, value="7.5")["result"] == "success"

    made = varistore(
        db_url, "key", "create", "--email", email, "--label", "shed sensor", "--variable", mine, "--read-only"
    )
    first, key = made.stdout.splitlines()
    assert re.fullmatch(r"vk_[A-Za-z0-9]{32}", key)
    key_id = re.search(r"created key (\d+) ", first)
    assert key_id and f"read-only, variables {mine}" in first, first
    assert api.call("read", key, id=mine)["value"] == 7.5
    assert api.call("read", key, id=other) == {"result": "error_invalid_id"}
    assert api.call("write", key, id=mine, value="1") == {"result": "error_invalid_key"}

    listed = varistore(db_url, "key", "list", "--email", email).stdout
    assert key not in listed
    fields = listed.rstrip("\n").split("\t")
    assert fields[:4] == [key_id.group(1), f"{key[:7]}…", "read-only", f"variables {mine}"], listed
    assert fields[5:] == ["last used never", "shed sensor"], listed

    revoked = varistore(db_url, "key", "revoke", "--email", email, key_id.group(1))
    assert revoked.stdout == f"revoked key {key_id.group(1)} of {email}: it no longer works\n"
    assert api.call("read", key, id=mine) == {"result": "error_invalid_key"}
    assert varistore(db_url, "key", "list", "--email", email).stdout == f"{email} has no scoped keys\n"


def test_key_create_write_only_all_variables(api: Api, db_url: str) -> None:
    email, account_key = account(db_url, "--confirmed")
    var = api.create(account_key)
    made = varistore(db_url, "key", "create", "--email", email, "--write-only").stdout.splitlines()
    assert "(write-only, all variables)" in made[0]
    key = made[-1]
    assert api.call("write", key, id=var, value="3")["result"] == "success"
    assert api.call("read", key, id=var) == {"result": "error_invalid_key"}
    # A scoped key may not make keys of its own (that needs the whole account), over the protocol either.
    assert api.call("create", key, type="int", name="x") == {"result": "error_invalid_key"}


def test_key_commands_refusals_one_line_each(api: Api, db_url: str) -> None:
    email, account_key = account(db_url, "--confirmed")
    stranger_email, stranger_key = account(db_url, "--confirmed")
    theirs = api.create(stranger_key)
    first, key = varistore(db_url, "key", "create", "--email", stranger_email).stdout.splitlines()
    key_id = first.split()[2]

    for args, message in (
        (["key", "list", "--email", random_email()], "varistore: no account with the email "),
        (["key", "create", "--email", email, "--variable", theirs], "varistore: error_invalid_id: "),
        (["key", "create", "--email", email, "--label", "x" * 65], "varistore: error_invalid_parameters: "),
        (["key", "revoke", "--email", email, key_id], f"varistore: error_invalid_id: {email} has no key {key_id}"),
    ):
        result = varistore(db_url, *args, check=False)
        assert result.returncode == 1, args
        assert result.stderr.splitlines()[-1].startswith(message), result.stderr
        assert "Traceback" not in result.stderr

    # The stranger's key was neither revoked nor joined by one of ours.
    assert api.call("read", key, id=theirs)["result"] == "success"
    assert "has no scoped keys" in varistore(db_url, "key", "list", "--email", email).stdout


def test_key_create_read_only_and_write_only_exclusive(db_url: str) -> None:
    both = varistore(db_url, "key", "create", "--email", "a@example.com", "--read-only", "--write-only", check=False)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_key_create_for_an_unconfirmed_account_refused(db_url: str) -> None:
    email, _ = account(db_url)
    result = varistore(db_url, "key", "create", "--email", email, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "varistore: error_unconfirmed: the account is not confirmed " + (
        "(account set EMAIL --confirmed)"
    )
