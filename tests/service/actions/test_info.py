from __future__ import annotations

from typing import Any

import pytest

from tests.support import Account, Api, Db, make_account, snapshot

# The spec's edit example; its info example answers exactly these fields, in this order.
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
HUMIDITY_INFO = (
    '{"result":"success","type":"int","name":"Humidity","description":"Humidity measured by the sensor.",'
    '"unit":"%","graph":true,"perc":false,"min":0,"max":10,"expire":86400,"cooldown":60,"public":false}'
)


def test_info_answers_the_spec_example_exactly_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key, **HUMIDITY)
    before = snapshot(db, alice)

    response = api.request(transport, action="info", key=alice.key, id=var)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == HUMIDITY_INFO
    assert snapshot(db, alice) == before


@pytest.mark.parametrize(
    "params",
    [
        {"type": "float", "name": "Temperature", "unit": "°C", "min": -2.5, "max": 40.25},
        {"type": "bool", "name": "Door", "graph": False, "perc": True, "expire": 0},
        {"type": "string", "name": "Bulletin ✓", "description": "Text shown on the LCD.", "public": True},
        {"type": "int", "name": "Big", "min": -1000000, "max": 1000000, "expire": 31536000},
    ],
)
def test_info_reads_back_what_create_set(api: Api, alice: Account, transport: str, params: dict[str, Any]) -> None:
    var = api.create(alice.key, **params)

    info = api.call("info", alice.key, transport, id=var)

    expected = {"description": "", "unit": "", "graph": True, "perc": False, "min": 0, "max": 0}
    expected |= {"expire": 86400, "public": False, **params}
    cooldown = info.pop("cooldown")
    assert info == {"result": "success", **expected}
    assert type(cooldown) is int
    for flag in ("graph", "perc", "public"):
        assert type(info[flag]) is bool


def test_info_float_min_max_keep_their_fraction(api: Api, alice: Account) -> None:
    var = api.create(alice.key, min=-2.5, max=40.25)
    assert '"min":-2.5,"max":40.25,' in api.request(action="info", key=alice.key, id=var).text


def test_info_public_variable_without_key_succeeds(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key, **{**HUMIDITY, "public": True})
    before = snapshot(db, alice)

    response = api.request(transport, action="info", id=var)

    assert response.text == HUMIDITY_INFO.replace('"public":false', '"public":true')
    assert snapshot(db, alice) == before


def test_info_owner_reads_own_public_variable_with_key(api: Api, alice: Account) -> None:
    var = api.create(alice.key, public=True)
    assert api.call("info", alice.key, id=var)["public"] is True


def test_info_private_variable_without_key_invalid_id(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    before = snapshot(db, alice)

    assert api.call("info", None, transport, id=var) == {"result": "error_invalid_id"}

    assert snapshot(db, alice) == before


def test_info_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("info", alice.key, transport, id="nOsUcH00") == {"result": "error_invalid_id"}
    assert api.call("info", None, transport, id="nOsUcH00") == {"result": "error_invalid_id"}


@pytest.mark.parametrize("public", [False, True])
def test_info_other_tenant_invalid_id_even_when_public(
    api: Api, db: Db, alice: Account, bob: Account, transport: str, public: bool
) -> None:
    var = api.create(alice.key, public=public)
    before = snapshot(db, alice)

    assert api.call("info", bob.key, transport, id=var) == {"result": "error_invalid_id"}

    assert snapshot(db, alice) == before


@pytest.mark.parametrize("public", [False, True])
def test_info_unknown_key_invalid_key_even_when_public(api: Api, alice: Account, transport: str, public: bool) -> None:
    var = api.create(alice.key, public=public)
    assert api.call("info", "WrongKey12345678", transport, id=var) == {"result": "error_invalid_key"}


@pytest.mark.parametrize(
    ("flags", "result"),
    [({"banned": True}, "error_banned"), ({"confirmed": False}, "error_unconfirmed")],
)
def test_info_account_state_refused_even_for_public_variable(
    api: Api, db: Db, alice: Account, transport: str, flags: dict[str, bool], result: str
) -> None:
    var = api.create(alice.key, public=True)
    account = make_account(db, **flags)

    assert api.call("info", account.key, transport, id=var) == {"result": result}


def test_info_locked_account_still_reads(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key, **HUMIDITY)
    db.execute("UPDATE accounts SET locked = true WHERE id = $1", alice.id)

    assert api.request(transport, action="info", key=alice.key, id=var).text == HUMIDITY_INFO


@pytest.mark.parametrize(
    ("key", "result"),
    [
        pytest.param("alice", "error_invalid_parameters", id="owner"),
        pytest.param(None, "error_invalid_parameters", id="anonymous"),
        pytest.param("WrongKey12345678", "error_invalid_key", id="bad-key-before-no-id"),
    ],
)
def test_info_without_id(api: Api, alice: Account, transport: str, key: str | None, result: str) -> None:
    key = alice.key if key == "alice" else key
    assert api.call("info", key, transport) == {"result": result}
