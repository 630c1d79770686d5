from __future__ import annotations

import json
import time
from typing import Any

from tests import support
from tests.support import Account, Api, Db, lift_cooldown

FIELDS = ["id", "type", "name", "description", "unit", "graph", "perc", "min", "max", "expire", "cooldown", "public"]


def make_varied_account(api: Api, db: Db, account: Account) -> list[str]:
    """Three variables like the spec's example, each written (the first twice), in that order."""
    humidity = api.create(account.key, **support.HUMIDITY)
    bulletin = api.create(account.key, type="string", name="Bulletin", graph=False, expire=0)
    light = api.create(account.key, type="bool", name="Light Toggle", expire=3600, public=True)
    api.call("write", account.key, id=humidity, value=47)
    lift_cooldown(db, humidity)
    api.call("write", account.key, id=humidity, value=48)
    api.call("write", account.key, id=bulletin, value="VariPass is awesome!")
    api.call("toggle", account.key, id=light)
    return [humidity, bulletin, light]


def expected_item(api: Api, key: str, var: str) -> dict[str, Any]:
    info = api.call("info", key, id=var)
    del info["result"]
    return {"id": var, **info, "history": api.call("history", key, id=var)["history"]}


def test_all_is_list_info_and_history_per_variable_in_order(api: Api, db: Db, alice: Account, transport: str) -> None:
    ids = make_varied_account(api, db, alice)

    data = api.call("all", alice.key, transport)

    assert list(data) == ["result", "list", "current"]
    assert [item["id"] for item in data["list"]] == api.listed(alice.key) == ids
    assert data["list"] == [expected_item(api, alice.key, var) for var in ids]
    assert [list(item) for item in data["list"]] == [[*FIELDS, "history"]] * 3
    assert abs(data["current"] - time.time()) <= 2


def test_all_values_keep_their_types(api: Api, db: Db, alice: Account) -> None:
    make_varied_account(api, db, alice)
    float_var = api.create(alice.key, type="float")
    api.call("write", alice.key, id=float_var, value=20)

    data = api.call("all", alice.key)

    histories = [[p["value"] for p in item["history"]] for item in data["list"]]
    assert histories == [[48, 47], ["VariPass is awesome!"], [True], [20.0]]
    assert [type(h[0]) for h in histories] == [int, str, bool, float]


def test_all_compact_json(api: Api, db: Db, alice: Account) -> None:
    ids = make_varied_account(api, db, alice)

    response = api.request(action="all", key=alice.key)

    assert response.text == json.dumps(response.json(), separators=(",", ":"), ensure_ascii=False)
    assert f'{{"id":"{ids[2]}","type":"bool","name":"Light Toggle",' in response.text
    assert '"history":[{"value":true,"time":' in response.text


def test_all_never_written_variable_has_empty_history(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")

    item = api.call("all", alice.key)["list"][0]

    assert item == {**expected_item(api, alice.key, var), "history": []}


def test_all_leaves_out_expired_history(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=3600)
    api.call("write", alice.key, id=var, value=1)
    lift_cooldown(db, var, seconds=3600 + 60)
    api.call("write", alice.key, id=var, value=2)

    item = api.call("all", alice.key)["list"][0]

    assert [p["value"] for p in item["history"]] == [2]


def test_all_no_variables_empty_list(api: Api, alice: Account, transport: str) -> None:
    response = api.request(transport, action="all", key=alice.key)
    assert response.text == f'{{"result":"success","list":[],"current":{response.json()["current"]}}}'
