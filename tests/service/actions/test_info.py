from __future__ import annotations

from typing import Any

import pytest

from tests import support
from tests.support import Account, Api, Db, persona_key, unchanged

# The spec's info example: the answer for HUMIDITY, exactly.
HUMIDITY_INFO = (
    '{"result":"success","type":"int","name":"Humidity","description":"Humidity measured by the sensor.",'
    '"unit":"%","graph":true,"perc":false,"min":0,"max":10,"expire":86400,"cooldown":60,"public":false}'
)


def test_info_answers_the_spec_example_exactly_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key, **support.HUMIDITY)

    with unchanged(db, alice):
        response = api.request(transport, action="info", key=alice.key, id=var)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == HUMIDITY_INFO


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

    assert info == {"result": "success", **support.VARIABLE_DEFAULTS, **params, "cooldown": info["cooldown"]}
    assert type(info["cooldown"]) is int
    for flag in ("graph", "perc", "public"):
        assert type(info[flag]) is bool


def test_info_float_min_max_keep_their_fraction(api: Api, alice: Account) -> None:
    var = api.create(alice.key, min=-2.5, max=40.25)
    assert '"min":-2.5,"max":40.25,' in api.request(action="info", key=alice.key, id=var).text


def test_info_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.call("info", alice.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}
    assert api.call("info", None, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(
    ("who", "result"),
    [
        pytest.param("alice", "error_invalid_parameters", id="owner"),
        pytest.param("anonymous", "error_invalid_parameters", id="anonymous"),
        pytest.param("wrong", "error_invalid_key", id="bad-key-before-no-id"),
    ],
)
def test_info_without_id(api: Api, db: Db, alice: Account, transport: str, who: str, result: str) -> None:
    assert api.call("info", persona_key(db, who, alice), transport) == {"result": result}
