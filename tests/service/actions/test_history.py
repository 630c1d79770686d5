from __future__ import annotations

import time
from typing import Any

import pytest

from tests import support
from tests.support import Account, Api, Db, history_rows, lift_cooldown, persona_key


def write_series(api: Api, db: Db, key: str, var: str, values: list[Any], gap: int = 22_000) -> None:
    """Write each value in turn, moving the earlier writes `gap` seconds back between them."""
    for i, value in enumerate(values):
        if i:
            lift_cooldown(db, var, seconds=gap)
        assert api.call("write", key, id=var, value=value) == {"result": "success"}


def date_history_point(db: Db, var: str, value: int, seconds_ago: int) -> None:
    """Give the history row of an int variable holding `value` the time `seconds_ago`."""
    db.execute(
        "UPDATE history SET time = statement_timestamp() - make_interval(secs => $3)"
        " WHERE variable_id = $1 AND value_int = $2",
        var,
        value,
        seconds_ago,
    )


def test_history_newest_first_head_equals_read(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    write_series(api, db, alice.key, var, [1.0, 2.0, 3.0])

    data = api.call("history", alice.key, transport, id=var)

    history = data["history"]
    assert [p["value"] for p in history] == [3.0, 2.0, 1.0]
    assert history[0]["time"] > history[1]["time"] > history[2]["time"]
    read = api.call("read", alice.key, id=var)
    assert history[0] == {"value": read["value"], "time": read["time"]}
    assert abs(data["current"] - time.time()) <= 2


@pytest.mark.parametrize(
    ("type_", "values", "json_values"),
    [
        ("int", [47, 48], ["48", "47"]),
        ("float", [20, 25.3], ["25.3", "20.0"]),
        ("bool", [True, False], ["false", "true"]),
        ("string", ["one", "two"], ['"two"', '"one"']),
    ],
)
def test_history_values_of_each_type_exact_compact_json(
    api: Api, db: Db, alice: Account, type_: str, values: list[Any], json_values: list[str]
) -> None:
    var = api.create(alice.key, type=type_)
    write_series(api, db, alice.key, var, values)

    response = api.request(action="history", key=alice.key, id=var)

    data = response.json()
    points = ",".join(
        f'{{"value":{text},"time":{p["time"]}}}' for text, p in zip(json_values, data["history"], strict=True)
    )
    assert response.text == f'{{"result":"success","history":[{points}],"current":{data["current"]}}}'


def test_history_never_written_is_empty(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key)

    response = api.request(transport, action="history", key=alice.key, id=var)

    assert response.text == f'{{"result":"success","history":[],"current":{response.json()["current"]}}}'


def test_history_expire_zero_holds_only_the_latest_value(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=0)
    write_series(api, db, alice.key, var, [1, 2, 3], gap=5)

    history = api.call("history", alice.key, id=var)["history"]

    assert history == [{"value": 3, "time": api.call("read", alice.key, id=var)["time"]}]
    assert history_rows(db, var) == 0


def test_history_expired_points_never_returned(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=3600)
    write_series(api, db, alice.key, var, [1, 2, 3, 4], gap=100)
    date_history_point(db, var, 2, seconds_ago=3600 - 60)
    date_history_point(db, var, 1, seconds_ago=3600 + 60)

    assert api.history_values(alice.key, var) == [4, 3, 2]


def test_history_latest_value_kept_when_older_than_expire(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int", expire=3600)
    write_series(api, db, alice.key, var, [1, 2])
    lift_cooldown(db, var, seconds=2 * 86400)

    history = api.call("history", alice.key, id=var)["history"]

    read = api.call("read", alice.key, id=var)
    assert history == [{"value": 2, "time": read["time"]}]


def test_history_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("history", alice.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}
    assert api.call("history", None, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(
    ("who", "id_", "result"),
    [
        ("wrong", None, "error_invalid_key"),
        ("banned", None, "error_banned"),
        ("unconfirmed", None, "error_unconfirmed"),
        ("alice", None, "error_invalid_parameters"),
        ("anonymous", None, "error_invalid_parameters"),
    ],
)
def test_history_order_of_checks(
    api: Api, db: Db, alice: Account, transport: str, who: str, id_: str | None, result: str
) -> None:
    assert api.call("history", persona_key(db, who, alice), transport, id=id_) == {"result": result}
