from __future__ import annotations

import pytest

from tests.support import Account, Api, Db, history_rows, lift_cooldown, make_account, snapshot


@pytest.mark.parametrize(
    ("type_", "sent", "read_back"),
    [
        ("int", 48, 48),
        ("int", "-17", -17),
        ("float", 25.3, 25.3),
        ("float", "20", 20.0),
        ("bool", "true", True),
        ("bool", "0", False),
        ("string", "VariPass is awesome!", "VariPass is awesome!"),
        ("string", "°C ünïcode ✓", "°C ünïcode ✓"),
    ],
)
def test_swrite_value_of_its_type_answers_success_and_reads_back(
    api: Api, alice: Account, transport: str, type_: str, sent: object, read_back: object
) -> None:
    var = api.create(alice.key, type=type_)

    assert api.simple("swrite", alice.key, transport, id=var, value=sent) == "success"

    data = api.call("read", alice.key, id=var)
    assert data["value"] == read_back and type(data["value"]) is type(read_back)


def test_swrite_json_bool_into_bool_variable_succeeds(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    assert api.simple("swrite", alice.key, "json", id=var, value=True) == "success"
    assert api.simple("sread", alice.key, id=var) == "success|true"


def test_swrite_adds_to_history(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.simple("swrite", alice.key, id=var, value=1)
    lift_cooldown(db, var)
    api.simple("swrite", alice.key, id=var, value=2)

    assert [p["value"] for p in api.call("history", alice.key, id=var)["history"]] == [2, 1]
    assert history_rows(db, var) == 2


def test_swrite_within_cooldown_error_cooldown_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key)
    assert api.simple("swrite", alice.key, transport, id=var, value=1.5) == "success"
    before = snapshot(db, alice)

    assert api.simple("swrite", alice.key, transport, id=var, value=2.5) == "error_cooldown"

    assert snapshot(db, alice) == before
    assert api.simple("sread", alice.key, id=var) == "success|1.5"


def test_swrite_after_cooldown_succeeds(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key)
    api.simple("swrite", alice.key, id=var, value=1.5)
    lift_cooldown(db, var)

    assert api.simple("swrite", alice.key, id=var, value=2.5) == "success"
    assert api.simple("sread", alice.key, id=var) == "success|2.5"


@pytest.mark.parametrize(("type_", "bad"), [("int", "12.5"), ("float", "nan"), ("bool", "yes"), ("string", "x" * 1025)])
def test_swrite_value_not_of_its_type_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, type_: str, bad: str
) -> None:
    var = api.create(alice.key, type=type_)
    before = snapshot(db, alice)

    assert api.simple("swrite", alice.key, transport, id=var, value=bad) == "error_invalid_parameters"

    assert snapshot(db, alice) == before


def test_swrite_bad_value_beats_cooldown(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.simple("swrite", alice.key, id=var, value=1)
    before = snapshot(db, alice)

    assert api.simple("swrite", alice.key, id=var, value="abc") == "error_invalid_parameters"

    assert snapshot(db, alice) == before


def test_swrite_rejected_write_does_not_consume_cooldown(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    assert api.simple("swrite", alice.key, id=var, value="oops") == "error_invalid_parameters"
    assert api.simple("swrite", alice.key, id=var, value=3) == "success"


@pytest.mark.parametrize("public", [False, True])
def test_swrite_other_tenant_invalid_id_and_changes_nothing(
    api: Api, db: Db, alice: Account, bob: Account, transport: str, public: bool
) -> None:
    var = api.create(alice.key, public=public)
    before = snapshot(db, alice)

    assert api.simple("swrite", bob.key, transport, id=var, value=1.0) == "error_invalid_id"
    # An unknown id beats a value that does not fit: the answer never reveals the variable's type.
    assert api.simple("swrite", bob.key, transport, id=var, value="abc") == "error_invalid_id"

    assert snapshot(db, alice) == before


def test_swrite_anonymous_invalid_key_even_for_public_variable(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key, public=True)
    before = snapshot(db, alice)

    assert api.simple("swrite", None, transport, id=var, value=1.0) == "error_invalid_key"
    assert api.simple("swrite", "WrongKey12345678", transport, id=var, value=1.0) == "error_invalid_key"

    assert snapshot(db, alice) == before


def test_swrite_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("swrite", alice.key, transport, id="nOsUcH00", value=1) == "error_invalid_id"


@pytest.mark.parametrize(
    ("who", "params", "answer"),
    [
        ("wrong", {}, "error_invalid_key"),
        ("anonymous", {}, "error_invalid_key"),
        ("banned", {}, "error_banned"),
        ("unconfirmed", {"id": "whatever", "value": 1}, "error_unconfirmed"),
        ("alice", {}, "error_invalid_parameters"),
        ("alice", {"value": 1}, "error_invalid_parameters"),
        ("alice", {"id": "nOsUcH00"}, "error_invalid_parameters"),
    ],
)
def test_swrite_errors_bare_text_in_check_order(
    api: Api, db: Db, alice: Account, transport: str, who: str, params: dict[str, object], answer: str
) -> None:
    keys = {
        "wrong": "WrongKey12345678",
        "banned": make_account(db, banned=True).key,
        "unconfirmed": make_account(db, confirmed=False).key,
        "alice": alice.key,
        "anonymous": None,
    }
    assert api.simple("swrite", keys[who], transport, **params) == answer
