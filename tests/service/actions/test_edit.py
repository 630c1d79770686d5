from __future__ import annotations

from typing import Any

import pytest

from tests import support
from tests.support import Account, Api, Db, history_rows, lift_cooldown, lock, persona_key, unchanged

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


def write_history(api: Api, db: Db, account: Account, var: str, values_and_ages: list[tuple[object, int]]) -> None:
    """Write values oldest first; each is then aged by its number of seconds (the last stays new)."""
    for value, age in values_and_ages:
        assert api.call("write", account.key, id=var, value=value)["result"] == "success"
        if age:
            lift_cooldown(db, var, age)


def test_edit_with_every_parameter_success_and_info_reads_them_back(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, **CUSTOM)

    response = api.request(transport, action="edit", key=alice.key, id=var, **support.HUMIDITY)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == '{"result":"success"}'
    assert info_of(api, alice, var) == {**support.HUMIDITY, "cooldown": 60}


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
    assert api.history_values(alice.key, var) == [4, 3]


@pytest.mark.parametrize(
    ("ages", "expire"),
    [
        pytest.param([(1, 3000), (2, 7200)], 3600, id="lowered-below-the-latest-write"),
        pytest.param([(1, 120), (2, 0)], 0, id="expire-zero"),
    ],
)
def test_edit_expire_below_every_write_deletes_history_but_keeps_latest_value(
    api: Api, db: Db, alice: Account, ages: list[tuple[object, int]], expire: int
) -> None:
    var = api.create(alice.key, type="int", expire=86400)
    write_history(api, db, alice, var, ages)

    assert api.call("edit", alice.key, id=var, type="int", name="T", expire=expire) == {"result": "success"}

    assert history_rows(db, var) == 0
    assert api.call("read", alice.key, id=var)["value"] == 2
    assert api.history_values(alice.key, var) == [2]


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


@pytest.mark.parametrize("params", [pytest.param({"id": None}, id="no-id"), *support.MALFORMED_VARIABLE_PARAMETERS])
def test_edit_missing_or_malformed_parameter_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, params: dict[str, Any]
) -> None:
    var = api.create(alice.key, **CUSTOM)
    sent = {"id": var, "type": "float", "name": "New", **params}

    with unchanged(db, alice):
        assert api.call("edit", alice.key, transport, **sent) == {"result": "error_invalid_parameters"}


@pytest.mark.parametrize("raw", [*support.MALFORMED_JSON_VARIABLE_MEMBERS, pytest.param('"name":5', id="name-number")])
def test_edit_json_value_not_of_its_kind_invalid_parameters(api: Api, db: Db, alice: Account, raw: str) -> None:
    var = api.create(alice.key)
    body = f'{{"key":"{alice.key}","action":"edit","id":"{var}","type":"float","name":"New",{raw}}}'

    with unchanged(db, alice):
        response = api.http.post("/", content=body, headers={"Content-Type": "application/json"})

    assert response.json() == {"result": "error_invalid_parameters"}


@pytest.mark.parametrize("type_", ["double", "integer", "boolean", "text"])
def test_edit_unknown_type_invalid_type(api: Api, db: Db, alice: Account, transport: str, type_: str) -> None:
    var = api.create(alice.key)
    api.call("write", alice.key, id=var, value=1.5)

    with unchanged(db, alice):
        assert api.call("edit", alice.key, transport, id=var, type=type_, name="New") == {
            "result": "error_invalid_type"
        }


def test_edit_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("edit", alice.key, transport, id=support.UNKNOWN_ID, type="int", name="T") == {
        "result": "error_invalid_id"
    }


@pytest.mark.parametrize(
    ("who", "params", "result"),
    [
        pytest.param(
            "alice", {"id": support.UNKNOWN_ID, "type": "double"}, "error_invalid_id", id="unknown-id-before-type"
        ),
        pytest.param("locked", {"id": support.UNKNOWN_ID}, "error_invalid_id", id="unknown-id-before-locked"),
        pytest.param("bob", {"type": "double"}, "error_invalid_id", id="not-yours-before-type"),
        pytest.param("bob", {"name": None}, "error_invalid_parameters", id="no-name-before-not-yours"),
        pytest.param(
            "alice", {"id": support.UNKNOWN_ID, "name": None}, "error_invalid_parameters", id="no-name-before-id"
        ),
        pytest.param("locked", {"expire": -1}, "error_invalid_parameters", id="bad-expire-before-locked"),
        pytest.param(
            "alice", {"type": "double", "graph": "yes"}, "error_invalid_parameters", id="bad-flag-before-type"
        ),
        pytest.param("wrong", {"name": None}, "error_invalid_key", id="bad-key-before-no-name"),
        pytest.param("anonymous", {"id": support.UNKNOWN_ID}, "error_invalid_key", id="no-key-before-id"),
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
    if who == "locked":
        lock(db, alice)
        who = "alice"
    key = bob.key if who == "bob" else persona_key(db, who, alice)
    sent = {"id": var, "type": "int", "name": "New", **params}

    with unchanged(db, alice):
        assert api.call("edit", key, transport, **sent) == {"result": result}
