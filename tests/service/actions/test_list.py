from __future__ import annotations

from tests.support import Account, Api


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

    assert api.listed(alice.key) == [a, c, b]


def test_list_leaves_out_a_deleted_variable(api: Api, alice: Account) -> None:
    a, b, c = (api.create(alice.key) for _ in range(3))
    assert api.call("delete", alice.key, id=b) == {"result": "success"}

    assert api.listed(alice.key) == [a, c]
