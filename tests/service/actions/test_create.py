from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from tests import support
from tests.support import Account, Api, Db, Sample, history_rows, make_account, unchanged

# The spec's request example, with every optional parameter.
TEMPERATURE = {
    "type": "float",
    "name": "Temperature",
    "description": "Temperature measured using a sensor.",
    "unit": "°C",
    "graph": True,
    "perc": True,
    "min": 20,
    "max": 40,
    "expire": 86400,
    "public": False,
}

OWN = "own key"  # in a parameter table: the account's own key


def random_name() -> str:
    return f"var-{uuid.uuid4().hex[:12]}"


def variables_named(db: Db, name: str) -> int:
    """How many variables of any account carry this name (a refused create must leave none)."""
    return int(db.fetchval("SELECT count(*) FROM variables WHERE name = $1", name))


def test_create_with_every_parameter_success_and_info_reads_them_back(api: Api, alice: Account, transport: str) -> None:
    response = api.request(transport, action="create", key=alice.key, **TEMPERATURE)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    match = re.fullmatch(r'\{"result":"success","id":"([A-Za-z0-9]{8})"\}', response.text)
    assert match, response.text
    info = api.call("info", alice.key, id=match[1])
    assert info == {"result": "success", **TEMPERATURE, "cooldown": 60}


def test_create_only_type_and_name_takes_the_defaults(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, transport=transport, type="int", name="Counter")

    info = api.call("info", alice.key, id=var)
    assert info == {"result": "success", "type": "int", "name": "Counter", **support.VARIABLE_DEFAULTS}
    assert type(info["graph"]) is bool and type(info["expire"]) is int


@pytest.mark.parametrize("transport", ["get", "form"])
@pytest.mark.parametrize(
    ("sent", "read_back"),
    [(("TRUE", "0", "False"), (True, False, False)), (("false", "1", "tRuE"), (False, True, True))],
)
def test_create_text_booleans_in_any_case(
    api: Api, alice: Account, transport: str, sent: tuple[str, ...], read_back: tuple[bool, ...]
) -> None:
    var = api.create(alice.key, transport=transport, **dict(zip(("graph", "perc", "public"), sent, strict=True)))

    info = api.call("info", alice.key, id=var)
    assert (info["graph"], info["perc"], info["public"]) == read_back


@pytest.mark.parametrize("zero", support.ZEROS, ids=str)
def test_create_new_variable_reads_its_type_zero_at_creation_time_with_empty_history(
    api: Api, db: Db, alice: Account, zero: Sample
) -> None:
    before = int(time.time())
    var = api.create(alice.key, type=zero.type)
    after = int(time.time())

    data = api.call("read", alice.key, id=var)
    assert data["value"] == zero.value and type(data["value"]) is type(zero.value)
    assert before <= data["time"] <= after <= data["current"]
    assert f'"value":{zero.json},' in api.request(action="read", key=alice.key, id=var).text
    assert api.call("history", alice.key, id=var)["history"] == []
    assert history_rows(db, var) == 0


@pytest.mark.parametrize("expire", [0, 3600, 86400, 31536000])
def test_create_is_not_a_write_so_first_write_never_cools_down(api: Api, alice: Account, expire: int) -> None:
    var = api.create(alice.key, expire=expire)

    assert api.call("write", alice.key, id=var, value=1.5) == {"result": "success"}
    assert api.call("read", alice.key, id=var)["value"] == 1.5


@pytest.mark.parametrize(
    ("expire", "cooldown"),
    [(0, 1), (1, 60), (3600, 60), (86400, 60), (86401, 61), (172800, 120), (31536000, 21900)],
)
def test_create_cooldown_derived_from_expire(
    api: Api, alice: Account, transport: str, expire: int, cooldown: int
) -> None:
    var = api.create(alice.key, transport=transport, expire=expire)

    info = api.call("info", alice.key, id=var)
    assert (info["expire"], info["cooldown"]) == (expire, cooldown)


def test_create_appends_to_the_end_of_the_list_with_unique_ids(api: Api, alice: Account) -> None:
    ids = [api.create(alice.key, name=f"V{n}") for n in range(5)]

    assert len(set(ids)) == 5
    assert api.call("list", alice.key) == {"result": "success", "list": ids}


def test_create_lands_only_in_the_callers_account(api: Api, db: Db, alice: Account, bob: Account) -> None:
    mine = api.create(alice.key)

    with unchanged(db, alice):
        theirs = api.create(bob.key)

    assert api.listed(alice.key) == [mine]
    assert api.listed(bob.key) == [theirs]
    assert api.call("info", alice.key, id=theirs) == {"result": "error_invalid_id"}


def test_create_public_variable_readable_without_key(api: Api, alice: Account) -> None:
    var = api.create(alice.key, public=True)

    assert api.call("info", None, id=var)["public"] is True
    assert api.call("read", None, id=var)["result"] == "success"


@pytest.mark.parametrize("params", support.MALFORMED_VARIABLE_PARAMETERS)
def test_create_missing_or_malformed_parameter_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, params: dict[str, Any]
) -> None:
    name = random_name()
    sent = {"type": "float", "name": name, **params}

    with unchanged(db, alice):
        assert api.call("create", alice.key, transport, **sent) == {"result": "error_invalid_parameters"}

    assert variables_named(db, name) == 0


@pytest.mark.parametrize("raw", support.MALFORMED_JSON_VARIABLE_MEMBERS)
def test_create_json_value_not_of_its_kind_invalid_parameters(api: Api, db: Db, alice: Account, raw: str) -> None:
    name = random_name()
    body = f'{{"key":"{alice.key}","action":"create","type":"int","name":"{name}",{raw}}}'

    with unchanged(db, alice):
        response = api.http.post("/", content=body, headers={"Content-Type": "application/json"})

    assert response.json() == {"result": "error_invalid_parameters"}
    assert variables_named(db, name) == 0


@pytest.mark.parametrize("type_", ["double", "integer", "boolean", "text", "image"])
def test_create_unknown_type_invalid_type(api: Api, db: Db, alice: Account, transport: str, type_: str) -> None:
    with unchanged(db, alice):
        assert api.call("create", alice.key, transport, type=type_, name="T") == {"result": "error_invalid_type"}


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_create_past_max_variables_refused(api: Api, db: Db, transport: str, limit: int) -> None:
    account = make_account(db, max_variables=limit)
    ids = [api.create(account.key) for _ in range(limit)]

    with unchanged(db, account):
        assert api.call("create", account.key, transport, type="int", name="T") == {"result": "error_max_variables"}

    assert api.listed(account.key) == ids


@pytest.mark.parametrize(
    ("account_flags", "key", "params", "result"),
    [
        pytest.param({}, support.WRONG_KEY, {"type": "int"}, "error_invalid_key", id="bad-key-before-no-name"),
        pytest.param({}, None, {}, "error_invalid_key", id="no-key-before-no-params"),
        pytest.param({"banned": True}, OWN, {"type": "int"}, "error_banned", id="banned-before-no-name"),
        pytest.param({"confirmed": False}, OWN, {}, "error_unconfirmed", id="unconfirmed-before-no-params"),
        pytest.param({"locked": True}, OWN, {"type": "int"}, "error_invalid_parameters", id="no-name-before-locked"),
        pytest.param(
            {"max_variables": 0},
            OWN,
            {"name": "T"},
            "error_invalid_parameters",
            id="no-type-before-max-variables",
        ),
        pytest.param(
            {},
            OWN,
            {"type": "double", "name": "T", "expire": -1},
            "error_invalid_parameters",
            id="bad-expire-before-type",
        ),
        pytest.param({"locked": True}, support.WRONG_KEY, {}, "error_invalid_key", id="bad-key-before-locked"),
    ],
)
def test_create_order_of_checks(
    api: Api,
    db: Db,
    transport: str,
    account_flags: dict[str, Any],
    key: str | None,
    params: dict[str, Any],
    result: str,
) -> None:
    account = make_account(db, **account_flags)
    with unchanged(db, account):
        assert api.call("create", account.key if key == OWN else key, transport, **params) == {"result": result}
