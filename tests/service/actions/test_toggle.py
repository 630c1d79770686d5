from __future__ import annotations

import time

import pytest

from tests import support
from tests.support import Account, Api, Db, history_rows, lift_cooldown, persona_key, unchanged


def test_toggle_never_written_bool_becomes_true_exact_json(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, type="bool")
    before = int(time.time())

    response = api.request(transport, action="toggle", key=alice.key, id=var)

    after = time.time()
    data = response.json()
    assert response.text == f'{{"result":"success","value":true,"time":{data["time"]},"current":{data["current"]}}}'
    assert before <= data["time"] <= data["current"] <= after


def test_toggle_returns_the_new_value_and_time_that_read_shows(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    api.call("write", alice.key, id=var, value=True)
    lift_cooldown(db, var)

    data = api.call("toggle", alice.key, id=var)

    assert data["value"] is False
    read = api.call("read", alice.key, id=var)
    assert (read["value"], read["time"]) == (False, data["time"])


def test_toggle_twice_flips_back_and_records_history(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    assert api.call("toggle", alice.key, id=var)["value"] is True
    lift_cooldown(db, var)

    assert api.call("toggle", alice.key, id=var)["value"] is False

    assert api.history_values(alice.key, var) == [False, True]
    assert history_rows(db, var) == 2


def test_toggle_expire_zero_keeps_only_the_latest_value(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool", expire=0)
    api.call("toggle", alice.key, id=var)
    lift_cooldown(db, var, seconds=5)
    toggled = api.call("toggle", alice.key, id=var)

    assert api.call("history", alice.key, id=var)["history"] == [{"value": False, "time": toggled["time"]}]
    assert history_rows(db, var) == 0


def test_toggle_within_cooldown_error_cooldown_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key, type="bool")
    assert api.call("toggle", alice.key, transport, id=var)["result"] == "success"

    with unchanged(db, alice):
        assert api.call("toggle", alice.key, transport, id=var) == {"result": "error_cooldown"}

    assert api.call("read", alice.key, id=var)["value"] is True


def test_toggle_right_after_a_write_error_cooldown(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    api.call("write", alice.key, id=var, value=False)

    with unchanged(db, alice):
        assert api.call("toggle", alice.key, id=var) == {"result": "error_cooldown"}


@pytest.mark.parametrize("type_", ["int", "float", "string"])
def test_toggle_not_bool_error_not_bool_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str, type_: str
) -> None:
    var = api.create(alice.key, type=type_)

    with unchanged(db, alice):
        assert api.call("toggle", alice.key, transport, id=var) == {"result": "error_not_bool"}


def test_toggle_not_bool_beats_cooldown(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.call("write", alice.key, id=var, value=1)
    assert api.call("toggle", alice.key, id=var) == {"result": "error_not_bool"}


def test_toggle_other_tenant_not_bool_variable_invalid_id_and_changes_nothing(
    api: Api, db: Db, alice: Account, bob: Account, transport: str
) -> None:
    # An unknown id beats not_bool: bob never learns that the id exists, nor its type.
    var = api.create(alice.key, type="int", public=True)

    with unchanged(db, alice):
        assert api.call("toggle", bob.key, transport, id=var) == {"result": "error_invalid_id"}


def test_toggle_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("toggle", alice.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(
    ("who", "id_", "result"),
    [
        ("wrong", None, "error_invalid_key"),
        ("anonymous", None, "error_invalid_key"),
        ("banned", None, "error_banned"),
        ("banned", "whatever", "error_banned"),
        ("unconfirmed", "whatever", "error_unconfirmed"),
        ("alice", None, "error_invalid_parameters"),
        ("alice", "", "error_invalid_parameters"),
    ],
)
def test_toggle_order_of_checks(
    api: Api, db: Db, alice: Account, transport: str, who: str, id_: str | None, result: str
) -> None:
    assert api.call("toggle", persona_key(db, who, alice), transport, id=id_) == {"result": result}
