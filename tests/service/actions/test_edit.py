from __future__ import annotations

from typing import Any

import pytest

from tests.support import Account, Api, Db, history_rows, lift_cooldown, make_account, snapshot

# The spec's request example for edit.
HUMIDITY = {
    "type": "int",
    "name": "Humidity",
    "description": "Humidity measured by the sensor.",
    "unit": "%",
    "graph": True,
    "perc": False,
    "min": 0,
    "max": 10,
    "expire": 86400,
    "public": False,
}

# What a variable created with every optional parameter set away from its default holds.
CUSTOM = {
    "type": "float",
    "name": "Custom",
    "description": "Set away from every default.",
    "unit": "°C",
    "graph": False,
    "perc": True,
    "min": -5,
    "max": 5.5,
    "expire": 3600,
    "public": True,
}


def info_of(api: Api, account: Account, var: str) -> dict[str, Any]:
    data = api.call("info", account.key, id=var)
    assert data.pop("result") == "success", data
    return data


def lock(db: Db, account: Account) -> None:
    db.execute("UPDATE accounts SET locked = true WHERE id = $1", account.id)


def write_history(api: Api, db: Db, account: Account, var: str, values_and_ages: list[tuple[object, int]]) -> None:
    """Write values oldest first; each is then aged by its number of seconds (the last stays new)."""
    for value, age in values_and_ages:
        assert api.call("write", account.key, id=var, value=value)["result"] == "success"
        if age:
            lift_cooldown(db, var, age)


def test_edit_with_every_parameter_success_and_info_reads_them_back(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, **CUSTOM)

    response = api.request(transport, action="edit", key=alice.key, id=var, **HUMIDITY)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == '{"result":"success"}'
    assert info_of(api, alice, var) == {**HUMIDITY, "cooldown": 60}


def test_edit_keeps_every_optional_parameter_left_out(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, **CUSTOM)

    assert api.call("edit", alice.key, transport, id=var, type="float", name="Renamed") == {"result": "success"}

    assert info_of(api, alice, var) == {**CUSTOM, "name": "Renamed", "cooldown": 60}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Only this changes."),
        ("description", ""),
        ("unit", "%"),
        ("graph", True),
        ("perc", False),
        ("min", -2.5),
        ("max", 100),
        ("expire", 7200),
        ("public", False),
    ],
)
def test_edit_one_optional_parameter_changes_only_it(
    api: Api, alice: Account, transport: str, field: str, value: object
) -> None:
    var = api.create(alice.key, **CUSTOM)

    sent = {"type": "float", "name": "Custom", field: value}
    assert api.call("edit", alice.key, transport, id=var, **sent) == {"result": "success"}

    assert info_of(api, alice, var) == {**CUSTOM, field: value, "cooldown": 60}


@pytest.mark.parametrize(
    ("expire", "cooldown"),
    [(0, 1), (1, 60), (3600, 60), (86400, 60), (86401, 61), (31536000, 21900)],
)
def test_edit_cooldown_follows_the_new_expire(
    api: Api, alice: Account, transport: str, expire: int, cooldown: int
) -> None:
    var = api.create(alice.key, expire=3600)

    assert api.call("edit", alice.key, transport, id=var, type="float", name="T", expire=expire)["result"] == "success"

    info = info_of(api, alice, var)
    assert (info["expire"], info["cooldown"]) == (expire, cooldown)


@pytest.mark.parametrize(
    ("old_type", "written", "new_type", "zero"),
    [
        ("float", 25.3, "int", 0),
        ("int", 48, "float", 0.0),
        ("int", 7, "string", ""),
        ("string", "hello", "bool", False),
        ("bool", True, "int", 0),
    ],
)
def test_edit_type_change_erases_history_and_resets_value_to_new_zero(
    api: Api, db: Db, alice: Account, old_type: str, written: object, new_type: str, zero: object
) -> None:
    var = api.create(alice.key, type=old_type)
    write_history(api, db, alice, var, [(written, 120), (written, 0)])
    assert history_rows(db, var) == 2

    assert api.call("edit", alice.key, id=var, type=new_type, name="T") == {"result": "success"}

    assert history_rows(db, var) == 0
    read = api.call("read", alice.key, id=var)
    assert read["value"] == zero and type(read["value"]) is type(zero)
    assert api.call("history", alice.key, id=var)["history"] == []
    assert info_of(api, alice, var)["type"] == new_type


def test_edit_same_type_keeps_value_and_history(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    write_history(api, db, alice, var, [(1, 120), (2, 0)])
    history = api.call("history", alice.key, id=var)["history"]

    assert api.call("edit", alice.key, id=var, type="int", name="Renamed", unit="m") == {"result": "success"}

    assert api.call("history", alice.key, id=var)["history"] == history
    assert api.call("read", alice.key, id=var)["value"] == 2


def test_edit_lowering_expire_deletes_older_history_at_once(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=86400)
    # Ages after the last write: 1 → 12,000 s, 2 → 4,000 s, 3 → 2,000 s, 4 → now.
    write_history(api, db, alice, var, [(1, 8000), (2, 2000), (3, 2000), (4, 0)])
    assert history_rows(db, var) == 4

    assert api.call("edit", alice.key, id=var, type="int", name="T", expire=3600) == {"result": "success"}

    assert history_rows(db, var) == 2
    oldest = db.fetchval("SELECT extract(epoch FROM now() - min(time)) FROM history WHERE variable_id = $1", var)
    assert oldest < 3600
    assert [p["value"] for p in api.call("history", alice.key, id=var)["history"]] == [4, 3]


def test_edit_lowering_expire_below_the_latest_write_keeps_that_value(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=86400)
    write_history(api, db, alice, var, [(1, 3000), (2, 7200)])

    assert api.call("edit", alice.key, id=var, type="int", name="T", expire=3600) == {"result": "success"}

    assert history_rows(db, var) == 0
    assert api.call("read", alice.key, id=var)["value"] == 2
    assert [p["value"] for p in api.call("history", alice.key, id=var)["history"]] == [2]


def test_edit_expire_to_zero_deletes_history_but_keeps_latest_value(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    write_history(api, db, alice, var, [(1, 120), (2, 0)])

    assert api.call("edit", alice.key, id=var, type="int", name="T", expire=0) == {"result": "success"}

    assert history_rows(db, var) == 0
    assert api.call("read", alice.key, id=var)["value"] == 2
    assert [p["value"] for p in api.call("history", alice.key, id=var)["history"]] == [2]


def test_edit_raising_expire_keeps_history(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=3600)
    write_history(api, db, alice, var, [(1, 1000), (2, 0)])

    assert api.call("edit", alice.key, id=var, type="int", name="T", expire=31536000) == {"result": "success"}

    assert history_rows(db, var) == 2
    assert info_of(api, alice, var)["cooldown"] == 21900


def test_edit_public_flag_controls_keyless_info(api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    assert api.call("info", None, id=var) == {"result": "error_invalid_id"}

    api.call("edit", alice.key, id=var, type="float", name="T", public=True)
    assert api.call("info", None, id=var)["result"] == "success"

    api.call("edit", alice.key, id=var, type="float", name="T", public=False)
    assert api.call("info", None, id=var) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"id": None}, id="no-id"),
        pytest.param({"type": None}, id="no-type"),
        pytest.param({"name": None}, id="no-name"),
        pytest.param({"name": ""}, id="empty-name"),
        pytest.param({"expire": -1}, id="expire-negative"),
        pytest.param({"expire": 31536001}, id="expire-over-a-year"),
        pytest.param({"expire": "1.5"}, id="expire-fraction"),
        pytest.param({"graph": "yes"}, id="graph-yes"),
        pytest.param({"perc": "no"}, id="perc-no"),
        pytest.param({"public": "2"}, id="public-2"),
        pytest.param({"min": "nan"}, id="min-nan-text"),
        pytest.param({"max": "NaN"}, id="max-nan-text"),
        pytest.param({"min": float("nan")}, id="min-nan"),
        pytest.param({"max": float("-inf")}, id="max-inf"),
        pytest.param({"min": "ten"}, id="min-text"),
    ],
)
def test_edit_missing_or_malformed_parameter_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, params: dict[str, Any]
) -> None:
    var = api.create(alice.key, **CUSTOM)
    before = snapshot(db, alice)
    sent = {"id": var, "type": "float", "name": "New", **params}

    assert api.call("edit", alice.key, transport, **sent) == {"result": "error_invalid_parameters"}

    assert snapshot(db, alice) == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('"min":NaN', id="nan"),
        pytest.param('"max":-Infinity', id="infinity"),
        pytest.param('"max":1e999', id="overflow"),
        pytest.param('"public":"yes"', id="public-yes"),
        pytest.param('"graph":2', id="graph-2"),
        pytest.param('"expire":true', id="expire-bool"),
        pytest.param('"name":5', id="name-number"),
    ],
)
def test_edit_json_value_not_of_its_kind_invalid_parameters(api: Api, db: Db, alice: Account, raw: str) -> None:
    var = api.create(alice.key)
    body = f'{{"key":"{alice.key}","action":"edit","id":"{var}","type":"float","name":"New",{raw}}}'
    before = snapshot(db, alice)

    response = api.http.post("/", content=body, headers={"Content-Type": "application/json"})

    assert response.json() == {"result": "error_invalid_parameters"}
    assert snapshot(db, alice) == before


@pytest.mark.parametrize("type_", ["double", "integer", "boolean", "text"])
def test_edit_unknown_type_invalid_type(api: Api, db: Db, alice: Account, transport: str, type_: str) -> None:
    var = api.create(alice.key)
    api.call("write", alice.key, id=var, value=1.5)
    before = snapshot(db, alice)

    assert api.call("edit", alice.key, transport, id=var, type=type_, name="New") == {"result": "error_invalid_type"}

    assert snapshot(db, alice) == before


def test_edit_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    result = api.call("edit", alice.key, transport, id="nOsUcH00", type="int", name="T")
    assert result == {"result": "error_invalid_id"}


def test_edit_locked_account_locked_and_changes_nothing(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    lock(db, alice)
    before = snapshot(db, alice)

    result = api.call("edit", alice.key, transport, id=var, type="int", name="New", expire=0)

    assert result == {"result": "error_locked"}
    assert snapshot(db, alice) == before


@pytest.mark.parametrize("public", [False, True])
def test_edit_other_tenant_invalid_id_and_changes_nothing(
    api: Api, db: Db, alice: Account, bob: Account, transport: str, public: bool
) -> None:
    var = api.create(alice.key, public=public)
    api.call("write", alice.key, id=var, value=1.5)
    before, bobs = snapshot(db, alice), snapshot(db, bob)

    result = api.call("edit", bob.key, transport, id=var, type="int", name="Mine", public=True)

    assert result == {"result": "error_invalid_id"}
    assert snapshot(db, alice) == before
    assert snapshot(db, bob) == bobs


@pytest.mark.parametrize("key", [None, "", "WrongKey12345678"])
def test_edit_anonymous_or_unknown_key_invalid_key(
    api: Api, db: Db, alice: Account, transport: str, key: str | None
) -> None:
    var = api.create(alice.key, public=True)
    before = snapshot(db, alice)

    assert api.call("edit", key, transport, id=var, type="int", name="T") == {"result": "error_invalid_key"}

    assert snapshot(db, alice) == before


@pytest.mark.parametrize(
    ("state", "result"),
    [("banned = true", "error_banned"), ("confirmed = false", "error_unconfirmed")],
)
def test_edit_account_state_refused(api: Api, db: Db, alice: Account, transport: str, state: str, result: str) -> None:
    var = api.create(alice.key)
    db.execute(f"UPDATE accounts SET {state} WHERE id = $1", alice.id)
    before = snapshot(db, alice)

    assert api.call("edit", alice.key, transport, id=var, type="int", name="T") == {"result": result}

    assert snapshot(db, alice) == before


@pytest.mark.parametrize(
    ("who", "params", "result"),
    [
        pytest.param("alice", {"id": "nOsUcH00", "type": "double"}, "error_invalid_id", id="unknown-id-before-type"),
        pytest.param("locked", {"id": "nOsUcH00"}, "error_invalid_id", id="unknown-id-before-locked"),
        pytest.param("bob", {"type": "double"}, "error_invalid_id", id="not-yours-before-type"),
        pytest.param("bob", {"name": None}, "error_invalid_parameters", id="no-name-before-not-yours"),
        pytest.param("alice", {"id": "nOsUcH00", "name": None}, "error_invalid_parameters", id="no-name-before-id"),
        pytest.param("locked", {"expire": -1}, "error_invalid_parameters", id="bad-expire-before-locked"),
        pytest.param(
            "alice", {"type": "double", "graph": "yes"}, "error_invalid_parameters", id="bad-flag-before-type"
        ),
        pytest.param("wrong-key", {"name": None}, "error_invalid_key", id="bad-key-before-no-name"),
        pytest.param("anonymous", {"id": "nOsUcH00"}, "error_invalid_key", id="no-key-before-id"),
        pytest.param("banned", {"name": None}, "error_banned", id="banned-before-no-name"),
        pytest.param("unconfirmed", {"id": None}, "error_unconfirmed", id="unconfirmed-before-no-id"),
    ],
)
def test_edit_order_of_checks(
    api: Api,
    db: Db,
    alice: Account,
    bob: Account,
    transport: str,
    who: str,
    params: dict[str, Any],
    result: str,
) -> None:
    var = api.create(alice.key)
    keys = {
        "alice": alice.key,
        "bob": bob.key,
        "wrong-key": "WrongKey12345678",
        "anonymous": None,
        "locked": alice.key,
        "banned": make_account(db, banned=True).key,
        "unconfirmed": make_account(db, confirmed=False).key,
    }
    if who == "locked":
        lock(db, alice)
    before = snapshot(db, alice)
    sent = {"id": var, "type": "int", "name": "New", **params}

    assert api.call("edit", keys[who], transport, **sent) == {"result": result}

    assert snapshot(db, alice) == before
