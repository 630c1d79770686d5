from __future__ import annotations

import pytest

from tests import support
from tests.support import Account, Api, Db, history_rows, lift_cooldown, make_account, unchanged


def with_history(api: Api, db: Db, account: Account, **params: object) -> str:
    """A variable written twice, so that it has history rows."""
    var = api.create(account.key, **params)
    api.call("write", account.key, id=var, value=1.5)
    lift_cooldown(db, var, 120)
    api.call("write", account.key, id=var, value=2.5)
    assert history_rows(db, var) == 2
    return var


def test_delete_success_removes_variable_and_its_history(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = with_history(api, db, alice)

    response = api.request(transport, action="delete", key=alice.key, id=var)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == '{"result":"success"}'
    assert api.call("list", alice.key) == {"result": "success", "list": []}
    assert api.call("read", alice.key, id=var) == {"result": "error_invalid_id"}
    assert api.call("info", alice.key, id=var) == {"result": "error_invalid_id"}
    assert api.call("history", alice.key, id=var) == {"result": "error_invalid_id"}
    assert history_rows(db, var) == 0
    assert db.fetchval("SELECT count(*) FROM variables WHERE id = $1", var) == 0


def test_delete_keeps_the_other_variables_in_order(api: Api, db: Db, alice: Account) -> None:
    first, doomed, last = (with_history(api, db, alice, name=name) for name in ("A", "B", "C"))

    assert api.call("delete", alice.key, id=doomed) == {"result": "success"}

    assert api.listed(alice.key) == [first, last]
    assert history_rows(db, first) == history_rows(db, last) == 2
    assert api.call("read", alice.key, id=last)["value"] == 2.5


def test_delete_twice_second_invalid_id(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    assert api.call("delete", alice.key, transport, id=var) == {"result": "success"}

    assert api.call("delete", alice.key, transport, id=var) == {"result": "error_invalid_id"}


def test_delete_public_variable_no_longer_readable_without_key(api: Api, alice: Account) -> None:
    var = api.create(alice.key, public=True)
    assert api.call("read", None, id=var)["result"] == "success"

    api.call("delete", alice.key, id=var)

    assert api.call("read", None, id=var) == {"result": "error_invalid_id"}
    assert api.call("info", None, id=var) == {"result": "error_invalid_id"}


def test_delete_frees_a_place_under_max_variables(api: Api, db: Db) -> None:
    account = make_account(db, max_variables=1)
    var = api.create(account.key)
    assert api.call("create", account.key, type="int", name="T") == {"result": "error_max_variables"}

    api.call("delete", account.key, id=var)

    assert api.call("create", account.key, type="int", name="T")["result"] == "success"


def test_delete_without_id_invalid_parameters(api: Api, db: Db, alice: Account, transport: str) -> None:
    api.create(alice.key)
    with unchanged(db, alice):
        assert api.call("delete", alice.key, transport) == {"result": "error_invalid_parameters"}


def test_delete_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("delete", alice.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


def test_delete_locked_account_unknown_id_invalid_id(api: Api, db: Db, transport: str) -> None:
    account = make_account(db, locked=True)
    assert api.call("delete", account.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


@pytest.mark.parametrize("key", support.NO_ACCOUNT_KEYS)
def test_delete_anonymous_or_unknown_key_without_id_invalid_key(
    api: Api, db: Db, alice: Account, transport: str, key: str | None
) -> None:
    with_history(api, db, alice, public=True)

    with unchanged(db, alice):
        assert api.call("delete", key, transport) == {"result": "error_invalid_key"}


@pytest.mark.parametrize(("flags", "result"), support.ACCOUNT_STATES)
def test_delete_account_state_refused(api: Api, db: Db, transport: str, flags: dict[str, bool], result: str) -> None:
    account = make_account(db, **flags)
    assert api.call("delete", account.key, transport, id=support.UNKNOWN_ID) == {"result": result}
    assert api.call("delete", account.key, transport) == {"result": result}
