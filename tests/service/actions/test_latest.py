from __future__ import annotations

import time

from tests.support import Account, Api, Db, lift_cooldown


def test_latest_id_value_time_per_variable_in_order_exact_json(api: Api, alice: Account, transport: str) -> None:
    written = [
        ("int", 48, "48"),
        ("string", "VariPass is awesome!", '"VariPass is awesome!"'),
        ("bool", False, "false"),
    ]
    ids = []
    for type_, value, _ in written:
        ids.append(api.create(alice.key, type=type_))
        api.call("write", alice.key, id=ids[-1], value=value)
    times = [api.call("read", alice.key, id=i)["time"] for i in ids]

    response = api.request(transport, action="latest", key=alice.key)

    items = ",".join(
        f'{{"id":"{i}","value":{text},"time":{t}}}' for i, (_, _, text), t in zip(ids, written, times, strict=True)
    )
    current = response.json()["current"]
    assert response.text == f'{{"result":"success","list":[{items}],"current":{current}}}'
    assert abs(current - time.time()) <= 2


def test_latest_agrees_with_read(api: Api, db: Db, alice: Account) -> None:
    ids = [api.create(alice.key, type=t) for t in ("int", "float", "bool", "string")]
    for var, value in zip(ids, (-5, 20, True, "°C ✓"), strict=True):
        api.call("write", alice.key, id=var, value=value)
    lift_cooldown(db, ids[0])
    api.call("write", alice.key, id=ids[0], value=6)

    items = api.call("latest", alice.key)["list"]

    for var, item in zip(ids, items, strict=True):
        read = api.call("read", alice.key, id=var)
        assert item == {"id": var, "value": read["value"], "time": read["time"]}
    assert [type(item["value"]) for item in items] == [int, float, bool, str]


def test_latest_float_keeps_its_decimal_point(api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    api.call("write", alice.key, id=var, value=20)
    assert f'{{"id":"{var}","value":20.0,' in api.request(action="latest", key=alice.key).text


def test_latest_never_written_zero_values_at_creation_time(api: Api, alice: Account) -> None:
    before = int(time.time())
    ids = [api.create(alice.key, type=t) for t in ("int", "float", "bool", "string")]
    after = time.time()

    response = api.request(action="latest", key=alice.key)

    items = response.json()["list"]
    assert [item["value"] for item in items] == [0, 0.0, False, ""]
    assert [type(item["value"]) for item in items] == [int, float, bool, str]
    assert all(before <= item["time"] <= after for item in items)
    assert f'{{"id":"{ids[1]}","value":0.0,' in response.text


def test_latest_no_variables_empty_list(api: Api, alice: Account, transport: str) -> None:
    data = api.call("latest", alice.key, transport)
    assert data == {"result": "success", "list": [], "current": data["current"]}
