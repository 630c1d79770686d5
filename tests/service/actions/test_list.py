from __future__ import annotations

import pytest

from tests.support import Account, Api, Db, make_account, snapshot


def test_list_ids_in_creation_order_exact_json(api: Api, alice: Account, transport: str) -> None:
    ids = [api.create(alice.key, type=t) for t in ("int", "float", "bool", "string")]

    response = api.request(transport, action="list", key=alice.key)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    quoted = ",".join(f'"{i}"' for i in ids)
    assert response.text == f'{{"result":"success","list":[{quoted}]}}'


def test_list_no_variables_empty_list(api: Api, alice: Account, transport: str) -> None:
    assert api.request(transport, action="list", key=alice.key).text == '{"result":"success","list":[]}'


def test_list_follows_the_account_order(api: Api, alice: Account) -> None:
    a, b, c = (api.create(alice.key) for _ in range(3))
    assert api.call("ordprev", alice.key, id=c) == {"result": "success"}

    assert api.call("list", alice.key)["list"] == [a, c, b]


def test_list_leaves_out_a_deleted_variable(api: Api, alice: Account) -> None:
    a, b, c = (api.create(alice.key) for _ in range(3))
    assert api.call("delete", alice.key, id=b) == {"result": "success"}

    assert api.call("list", alice.key)["list"] == [a, c]


def test_list_changes_nothing(api: Api, db: Db, alice: Account) -> None:
    api.create(alice.key)
    before = snapshot(db, alice)
    api.call("list", alice.key)
    assert snapshot(db, alice) == before


def test_list_never_shows_another_tenants_variables(
    api: Api, db: Db, alice: Account, bob: Account, transport: str
) -> None:
    api.create(alice.key, public=True)
    api.create(alice.key)
    mine = api.create(bob.key)
    before = snapshot(db, alice)

    assert api.call("list", bob.key, transport) == {"result": "success", "list": [mine]}

    assert snapshot(db, alice) == before


@pytest.mark.parametrize(
    ("who", "result"),
    [
        ("anonymous", "error_invalid_key"),
        ("wrong", "error_invalid_key"),
        ("banned", "error_banned"),
        ("unconfirmed", "error_unconfirmed"),
    ],
)
def test_list_refused_without_a_usable_key(
    api: Api, db: Db, alice: Account, transport: str, who: str, result: str
) -> None:
    api.create(alice.key, public=True)
    keys = {
        "anonymous": None,
        "wrong": "WrongKey12345678",
        "banned": make_account(db, banned=True).key,
        "unconfirmed": make_account(db, confirmed=False).key,
    }
    assert api.call("list", keys[who], transport) == {"result": result}
