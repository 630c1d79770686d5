from __future__ import annotations

import pytest

from tests.support import Account, Api, Db, lift_cooldown, make_account, snapshot


@pytest.mark.parametrize(
    ("type_", "written", "answer"),
    [
        ("int", 48, "success|48"),
        ("int", "-17", "success|-17"),
        ("int", str(2**63 - 1), f"success|{2**63 - 1}"),
        ("float", 25.3, "success|25.3"),
        ("float", 20, "success|20.0"),
        ("float", "0.1234", "success|0.1234"),
        ("float", "0.30000000000000004", "success|0.30000000000000004"),
        ("bool", True, "success|true"),
        ("bool", "0", "success|false"),
        ("string", "VariPass is awesome!", "success|VariPass is awesome!"),
        ("string", "°C ünïcode ✓", "success|°C ünïcode ✓"),
        ("string", "", "success|"),
    ],
)
def test_sread_value_of_each_type_exact_text(
    api: Api, alice: Account, transport: str, type_: str, written: object, answer: str
) -> None:
    var = api.create(alice.key, type=type_)
    assert api.call("write", alice.key, id=var, value=written) == {"result": "success"}

    assert api.simple("sread", alice.key, transport, id=var) == answer


@pytest.mark.parametrize(
    ("type_", "answer"),
    [("int", "success|0"), ("float", "success|0.0"), ("bool", "success|false"), ("string", "success|")],
)
def test_sread_never_written_zero_value(api: Api, alice: Account, type_: str, answer: str) -> None:
    var = api.create(alice.key, type=type_)
    assert api.simple("sread", alice.key, id=var) == answer


def test_sread_agrees_with_read_after_writes(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    api.call("write", alice.key, id=var, value=True)
    lift_cooldown(db, var)
    api.call("write", alice.key, id=var, value=False)

    assert api.call("read", alice.key, id=var)["value"] is False
    assert api.simple("sread", alice.key, id=var) == "success|false"


def test_sread_public_variable_without_key_succeeds(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, public=True)
    api.call("write", alice.key, id=var, value=25.3)

    assert api.simple("sread", None, transport, id=var) == "success|25.3"


def test_sread_private_variable_without_key_invalid_id(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    before = snapshot(db, alice)

    assert api.simple("sread", None, transport, id=var) == "error_invalid_id"

    assert snapshot(db, alice) == before


@pytest.mark.parametrize("public", [False, True])
def test_sread_other_tenant_invalid_id_and_changes_nothing(
    api: Api, db: Db, alice: Account, bob: Account, transport: str, public: bool
) -> None:
    var = api.create(alice.key, public=public)
    api.call("write", alice.key, id=var, value=1.5)
    before = snapshot(db, alice)

    assert api.simple("sread", bob.key, transport, id=var) == "error_invalid_id"

    assert snapshot(db, alice) == before


def test_sread_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("sread", alice.key, transport, id="nOsUcH00") == "error_invalid_id"
    assert api.simple("sread", None, transport, id="nOsUcH00") == "error_invalid_id"


@pytest.mark.parametrize(
    ("who", "id_", "answer"),
    [
        ("wrong", "nOsUcH00", "error_invalid_key"),
        ("wrong", None, "error_invalid_key"),
        ("banned", None, "error_banned"),
        ("unconfirmed", None, "error_unconfirmed"),
        ("alice", None, "error_invalid_parameters"),
        ("anonymous", None, "error_invalid_parameters"),
    ],
)
def test_sread_errors_bare_text_in_check_order(
    api: Api, db: Db, alice: Account, transport: str, who: str, id_: str | None, answer: str
) -> None:
    keys = {
        "wrong": "WrongKey12345678",
        "banned": make_account(db, banned=True).key,
        "unconfirmed": make_account(db, confirmed=False).key,
        "alice": alice.key,
        "anonymous": None,
    }
    assert api.simple("sread", keys[who], transport, id=id_) == answer
