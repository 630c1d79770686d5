from __future__ import annotations

import math

import pytest

from tests import support
from tests.support import Account, Api, Db, Sample, history_rows, lift_cooldown, make_account, unchanged


@pytest.mark.parametrize("sample", support.SAMPLES, ids=str)
def test_write_value_of_its_type_reads_back_exactly(api: Api, alice: Account, transport: str, sample: Sample) -> None:
    var = api.create(alice.key, type=sample.type)

    assert api.call("write", alice.key, transport, id=var, value=sample.sent) == {"result": "success"}

    data = api.call("read", alice.key, id=var)
    assert data["value"] == sample.value and type(data["value"]) is type(sample.value)


def test_write_float_keeps_its_decimal_point(api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    api.call("write", alice.key, id=var, value=20)
    assert '"value":20.0,' in api.request(action="read", key=alice.key, id=var).text


@pytest.mark.parametrize(("type_", "bad"), support.NOT_OF_ITS_TYPE)
def test_write_value_not_of_its_type_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, type_: str, bad: str
) -> None:
    var = api.create(alice.key, type=type_)
    with unchanged(db, alice):
        assert api.call("write", alice.key, transport, id=var, value=bad)["result"] == "error_invalid_parameters"


@pytest.mark.parametrize(
    ("type_", "bad"), [("int", True), ("float", False), ("int", 1.5), ("float", math.pi * 1e308 * 10)]
)
def test_write_json_value_not_of_its_type_invalid_parameters(
    api: Api, db: Db, alice: Account, type_: str, bad: object
) -> None:
    var = api.create(alice.key, type=type_)
    with unchanged(db, alice):
        if isinstance(bad, float) and math.isinf(bad):
            body = f'{{"key":"{alice.key}","action":"write","id":"{var}","value":1e999}}'
            response = api.http.post("/", content=body)
        else:
            response = api.request("json", action="write", key=alice.key, id=var, value=bad)
        assert response.json() == {"result": "error_invalid_parameters"}


# Numbers as ESPHome's templates print them (%f, spaces): exact ones fit int and float variables (docs/api.md, Values).
ESPHOME_NUMBERS = [
    ("float", "21.500000", 21.5),
    ("float", " 42", 42.0),
    ("float", "-3.250000 ", -3.25),
    ("int", " 42", 42),
    ("int", "42 ", 42),
    ("int", "21.0", 21),
    ("int", "21.000000", 21),
    ("int", "-7.", -7),
    ("int", " +5.00 ", 5),
    ("int", "9223372036854775807.000000", 2**63 - 1),
]


@pytest.mark.parametrize(("type_", "sent", "stored"), ESPHOME_NUMBERS, ids=repr)
def test_write_number_text_with_zeros_or_spaces_stored_exactly(
    api: Api, alice: Account, transport: str, type_: str, sent: str, stored: float
) -> None:
    var = api.create(alice.key, type=type_)
    assert api.call("write", alice.key, transport, id=var, value=sent) == {"result": "success"}
    value = api.call("read", alice.key, id=var)["value"]
    assert value == stored and type(value) is type(stored)


@pytest.mark.parametrize(
    ("type_", "bad"),
    [
        ("int", "21.5"),
        ("int", "21.000001"),
        ("int", "2.1e1"),
        ("int", ".0"),
        ("int", "21.0.0"),
        ("int", "9223372036854775808.0"),
        ("int", "1" * 5000),  # past what int() reads: once an error_db
        ("float", "nan "),
        ("float", " inf"),
    ],
    ids=repr,
)
def test_write_number_text_not_exact_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, type_: str, bad: str
) -> None:
    var = api.create(alice.key, type=type_)
    with unchanged(db, alice):
        assert api.call("write", alice.key, transport, id=var, value=bad) == {"result": "error_invalid_parameters"}


def test_write_json_number_with_a_decimal_point_into_int_still_refused(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    with unchanged(db, alice):
        assert api.call("write", alice.key, "json", id=var, value=21.0) == {"result": "error_invalid_parameters"}


def test_write_without_value_invalid_parameters(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    assert api.call("write", alice.key, transport, id=var)["result"] == "error_invalid_parameters"


def test_write_within_cooldown_refused_and_changes_nothing(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    assert api.call("write", alice.key, transport, id=var, value=1.5)["result"] == "success"

    with unchanged(db, alice):
        assert api.call("write", alice.key, transport, id=var, value=2.5) == {"result": "error_cooldown"}

    assert api.call("read", alice.key, id=var)["value"] == 1.5


def test_write_after_cooldown_succeeds_and_history_is_newest_first(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key)
    api.call("write", alice.key, id=var, value=1.0)
    lift_cooldown(db, var)

    assert api.call("write", alice.key, id=var, value=2.0)["result"] == "success"

    history = api.call("history", alice.key, id=var)["history"]
    assert [p["value"] for p in history] == [2.0, 1.0]
    assert history[0]["time"] > history[1]["time"]


def test_write_expire_zero_keeps_no_history_and_cools_down_one_second(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, expire=0)
    assert api.call("info", alice.key, id=var)["cooldown"] == 1
    api.call("write", alice.key, id=var, value=1.0)

    assert history_rows(db, var) == 0
    assert api.call("history", alice.key, id=var)["history"][0]["value"] == 1.0


def test_write_first_write_never_refused_by_cooldown(api: Api, alice: Account) -> None:
    var = api.create(alice.key, expire=31536000)
    assert api.call("write", alice.key, id=var, value=1)["result"] == "success"


def test_write_rejected_write_does_not_consume_cooldown(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    assert api.call("write", alice.key, id=var, value="oops")["result"] == "error_invalid_parameters"
    assert api.call("write", alice.key, id=var, value=3)["result"] == "success"


def test_write_unknown_id_invalid_id(api: Api, alice: Account) -> None:
    assert api.call("write", alice.key, id=support.UNKNOWN_ID, value=1) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(("flags", "result"), support.ACCOUNT_STATES)
def test_write_account_state_refused(api: Api, db: Db, flags: dict[str, bool], result: str) -> None:
    account = make_account(db, **flags)
    assert api.call("write", account.key, id="whatever", value=1) == {"result": result}


def test_write_sql_looking_string_stored_verbatim(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="string")
    evil = "'); DROP TABLE variables; --"
    api.call("write", alice.key, id=var, value=evil)
    assert api.call("read", alice.key, id=var)["value"] == evil
