from __future__ import annotations

import time

import pytest

from tests import support
from tests.support import Account, Api, Db, Sample, lift_cooldown, make_account, persona_key


@pytest.mark.parametrize("sample", support.SAMPLES, ids=str)
def test_read_value_of_each_type_exact_compact_json(api: Api, alice: Account, transport: str, sample: Sample) -> None:
    var = api.create(alice.key, type=sample.type)
    before = int(time.time())
    assert api.call("write", alice.key, id=var, value=sample.sent) == {"result": "success"}
    after = time.time()

    response = api.request(transport, action="read", key=alice.key, id=var)

    data = response.json()
    assert data["value"] == sample.value and type(data["value"]) is type(sample.value)
    assert before <= data["time"] <= after
    assert data["time"] <= data["current"] <= time.time()
    assert response.text == (
        f'{{"result":"success","value":{sample.json},"time":{data["time"]},"current":{data["current"]}}}'
    )


@pytest.mark.parametrize("zero", support.ZEROS, ids=str)
def test_read_never_written_zero_value_at_creation_time(api: Api, alice: Account, zero: Sample) -> None:
    before = int(time.time())
    var = api.create(alice.key, type=zero.type)
    after = time.time()

    response = api.request(action="read", key=alice.key, id=var)

    data = response.json()
    assert data["value"] == zero.value and type(data["value"]) is type(zero.value)
    assert f'"value":{zero.json},' in response.text
    assert before <= data["time"] <= after


def test_read_returns_the_latest_write(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.call("write", alice.key, id=var, value=1)
    lift_cooldown(db, var)
    before = int(time.time())
    api.call("write", alice.key, id=var, value=2)

    data = api.call("read", alice.key, id=var)

    assert data["value"] == 2
    assert data["time"] >= before


def test_read_latest_value_never_expires(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, expire=60)
    api.call("write", alice.key, id=var, value=7.5)
    written_at = api.call("read", alice.key, id=var)["time"]
    lift_cooldown(db, var, seconds=10 * 86400)

    data = api.call("read", alice.key, id=var)

    assert data["value"] == 7.5
    assert data["time"] == written_at - 10 * 86400


def test_read_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("read", alice.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}
    assert api.call("read", None, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(("flags", "result"), support.ACCOUNT_STATES)
def test_read_account_state_refused(api: Api, db: Db, flags: dict[str, bool], result: str) -> None:
    account = make_account(db, **flags)
    assert api.call("read", account.key, id="whatever") == {"result": result}


@pytest.mark.parametrize(
    ("who", "id_", "result"),
    [
        ("wrong", None, "error_invalid_key"),
        ("banned", None, "error_banned"),
        ("unconfirmed", None, "error_unconfirmed"),
        ("alice", None, "error_invalid_parameters"),
        ("alice", "", "error_invalid_parameters"),
        ("anonymous", None, "error_invalid_parameters"),
        ("alice", support.UNKNOWN_ID, "error_invalid_id"),
    ],
)
def test_read_order_of_checks(
    api: Api, db: Db, alice: Account, transport: str, who: str, id_: str | None, result: str
) -> None:
    assert api.call("read", persona_key(db, who, alice), transport, id=id_) == {"result": result}
