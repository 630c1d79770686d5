from __future__ import annotations

import pytest

from tests.support import Account, Api, Db, make_account, snapshot


def test_slatest_spec_example_exact_text(api: Api, alice: Account, transport: str) -> None:
    written = [("int", 48), ("string", "VariPass is awesome!"), ("bool", False)]
    ids = []
    for type_, value in written:
        ids.append(api.create(alice.key, type=type_))
        api.call("write", alice.key, id=ids[-1], value=value)

    answer = api.simple("slatest", alice.key, transport)

    assert answer == f"success|3|{ids[0]}|48|{ids[1]}|VariPass is awesome!|{ids[2]}|false|"


@pytest.mark.parametrize(
    ("type_", "written", "text"),
    [
        ("int", -17, "-17"),
        ("float", 25.3, "25.3"),
        ("float", 20, "20.0"),
        ("float", "0.30000000000000004", "0.30000000000000004"),
        ("bool", True, "true"),
        ("bool", "0", "false"),
        ("string", "°C ✓", "°C ✓"),
        ("string", "", ""),
    ],
)
def test_slatest_value_text_of_each_type(api: Api, alice: Account, type_: str, written: object, text: str) -> None:
    var = api.create(alice.key, type=type_)
    api.call("write", alice.key, id=var, value=written)

    assert api.simple("slatest", alice.key) == f"success|1|{var}|{text}|"


def test_slatest_never_written_zero_values(api: Api, alice: Account) -> None:
    ids = [api.create(alice.key, type=t) for t in ("int", "float", "bool", "string")]

    answer = api.simple("slatest", alice.key)

    assert answer == f"success|4|{ids[0]}|0|{ids[1]}|0.0|{ids[2]}|false|{ids[3]}||"


def test_slatest_no_variables_count_zero(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("slatest", alice.key, transport) == "success|0|"


def test_slatest_never_shows_another_tenants_variables(
    api: Api, db: Db, alice: Account, bob: Account, transport: str
) -> None:
    api.create(alice.key, public=True)
    api.create(alice.key)
    before = snapshot(db, alice)

    assert api.simple("slatest", bob.key, transport) == "success|0|"

    assert snapshot(db, alice) == before


@pytest.mark.parametrize(
    ("who", "answer"),
    [
        ("anonymous", "error_invalid_key"),
        ("wrong", "error_invalid_key"),
        ("banned", "error_banned"),
        ("unconfirmed", "error_unconfirmed"),
    ],
)
def test_slatest_refused_bare_text(api: Api, db: Db, alice: Account, transport: str, who: str, answer: str) -> None:
    api.create(alice.key, public=True)
    keys = {
        "anonymous": None,
        "wrong": "WrongKey12345678",
        "banned": make_account(db, banned=True).key,
        "unconfirmed": make_account(db, confirmed=False).key,
    }
    assert api.simple("slatest", keys[who], transport) == answer
