"""The order of checks (DESIGN.md §3: first failure wins) and meta-tests of the action table."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.actions.params import Params
from service.core.results import Result
from service.varipass.dispatch import ACTIONS, Answer
from tests.support import Account, Api, Db, make_account

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TESTS = Path(__file__).resolve().parent / "actions"


def test_every_action_has_a_params_model_and_a_test_file() -> None:
    for name, spec in ACTIONS.items():
        assert issubclass(spec.params, Params), name
        assert (TESTS / f"test_{name}.py").is_file(), f"no tests/service/actions/test_{name}.py"


def test_every_result_and_action_is_documented() -> None:
    text = DOCS.read_text()
    for result in Result:
        assert f"`{result.value}`" in text, result
    for name in ACTIONS:
        assert f"`{name}`" in text, name


def test_simple_actions_are_the_specs_s_actions() -> None:
    simple = {name for name, spec in ACTIONS.items() if spec.answer is Answer.SIMPLE}
    assert simple == {"sread", "swrite", "stoggle", "slatest", "sgraph"}


def test_public_actions_are_the_specs() -> None:
    assert {name for name, spec in ACTIONS.items() if spec.public} == {
        "info",
        "read",
        "sread",
        "history",
        "graph",
        "sgraph",
    }


def test_no_action_no_request_whatever_else_is_wrong(api: Api) -> None:
    assert api.call("", key="bad") == {"result": "error_no_request"}
    assert api.http.get("/").json() == {"result": "error_no_request"}


def test_unknown_action_beats_bad_key(api: Api) -> None:
    assert api.call("explode", key="bad") == {"result": "error_invalid_action"}
    assert api.call("READ", key="bad") == {"result": "error_invalid_action"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_bad_key_beats_missing_parameters(api: Api, action: str) -> None:
    response = api.request(action=action, key="NoSuchKey0000000")
    body = response.text if ACTIONS[action].answer is Answer.SIMPLE else response.json()["result"]
    assert body == "error_invalid_key"


@pytest.mark.parametrize("action", sorted(name for name, spec in ACTIONS.items() if not spec.public))
def test_no_key_on_private_action_invalid_key(api: Api, action: str) -> None:
    response = api.request(action=action, id="whatever", value="1")
    body = response.text if ACTIONS[action].answer is Answer.SIMPLE else response.json()["result"]
    assert body == "error_invalid_key"


@pytest.mark.parametrize(
    ("flags", "result"),
    [
        ({"banned": True}, "error_banned"),
        ({"confirmed": False}, "error_unconfirmed"),
        ({"banned": True, "confirmed": False}, "error_banned"),
    ],
)
def test_account_state_beats_missing_parameters(api: Api, db: Db, flags: dict[str, bool], result: str) -> None:
    account = make_account(db, **flags)
    assert api.call("edit", account.key) == {"result": result}
    assert api.call("write", account.key) == {"result": result}


def test_missing_parameters_beat_unknown_id(api: Api, alice: Account) -> None:
    assert api.call("edit", alice.key, id="nOsUcH00") == {"result": "error_invalid_parameters"}
    assert api.call("read", None) == {"result": "error_invalid_parameters"}


def test_unknown_id_beats_action_rules(api: Api, db: Db) -> None:
    locked = make_account(db, locked=True)
    assert api.call("edit", locked.key, id="nOsUcH00", type="double", name="x") == {"result": "error_invalid_id"}
    assert api.call("toggle", locked.key, id="nOsUcH00") == {"result": "error_invalid_id"}


def test_locked_beats_invalid_type(api: Api, db: Db) -> None:
    locked = make_account(db, locked=True)
    assert api.call("create", locked.key, type="double", name="x") == {"result": "error_locked"}


def test_cooldown_comes_last(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.call("write", alice.key, id=var, value=1)
    assert api.call("write", alice.key, id=var, value="x") == {"result": "error_invalid_parameters"}
    assert api.call("toggle", alice.key, id=var) == {"result": "error_not_bool"}
    assert api.call("write", alice.key, id=var, value=2) == {"result": "error_cooldown"}


ERROR_REQUESTS = [
    {},
    {"action": "nope"},
    {"action": "read"},
    {"action": "sread", "id": "nOsUcH00"},
    {"action": "slatest", "key": "x"},
    {"action": "create", "key": "x", "type": "int"},
]


@pytest.mark.parametrize("params", ERROR_REQUESTS)
def test_error_body_is_exactly_one_result_string(api: Api, params: dict[str, str]) -> None:
    response = api.http.get("/", params=params)
    known = {r.value for r in Result}
    if response.headers["content-type"].startswith("text/plain"):
        assert response.text in known
    else:
        body = response.json()
        assert list(body) == ["result"] and body["result"] in known
