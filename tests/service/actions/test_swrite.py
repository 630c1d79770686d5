from __future__ import annotations

import pytest

from tests import support
from tests.support import Account, Api, Db, Sample, history_rows, lift_cooldown, persona_key, unchanged


@pytest.mark.parametrize("sample", support.SAMPLES, ids=str)
def test_swrite_value_of_its_type_answers_success_and_reads_back(
    api: Api, alice: Account, transport: str, sample: Sample
) -> None:
    var = api.create(alice.key, type=sample.type)

    assert api.simple("swrite", alice.key, transport, id=var, value=sample.sent) == "success"

    data = api.call("read", alice.key, id=var)
    assert data["value"] == sample.value and type(data["value"]) is type(sample.value)


def test_swrite_json_bool_into_bool_variable_succeeds(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    assert api.simple("swrite", alice.key, "json", id=var, value=True) == "success"
    assert api.simple("sread", alice.key, id=var) == "success|true"


def test_swrite_adds_to_history(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.simple("swrite", alice.key, id=var, value=1)
    lift_cooldown(db, var)
    api.simple("swrite", alice.key, id=var, value=2)

    assert api.history_values(alice.key, var) == [2, 1]
    assert history_rows(db, var) == 2


def test_swrite_within_cooldown_error_cooldown_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key)
    assert api.simple("swrite", alice.key, transport, id=var, value=1.5) == "success"

    with unchanged(db, alice):
        assert api.simple("swrite", alice.key, transport, id=var, value=2.5) == "error_cooldown"

    assert api.simple("sread", alice.key, id=var) == "success|1.5"


def test_swrite_after_cooldown_succeeds(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key)
    api.simple("swrite", alice.key, id=var, value=1.5)
    lift_cooldown(db, var)

    assert api.simple("swrite", alice.key, id=var, value=2.5) == "success"
    assert api.simple("sread", alice.key, id=var) == "success|2.5"


@pytest.mark.parametrize(("type_", "bad"), support.NOT_OF_ITS_TYPE)
def test_swrite_value_not_of_its_type_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, type_: str, bad: str
) -> None:
    var = api.create(alice.key, type=type_)
    with unchanged(db, alice):
        assert api.simple("swrite", alice.key, transport, id=var, value=bad) == "error_invalid_parameters"


def test_swrite_bad_value_beats_cooldown(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    api.simple("swrite", alice.key, id=var, value=1)

    with unchanged(db, alice):
        assert api.simple("swrite", alice.key, id=var, value="abc") == "error_invalid_parameters"


def test_swrite_rejected_write_does_not_consume_cooldown(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    assert api.simple("swrite", alice.key, id=var, value="oops") == "error_invalid_parameters"
    assert api.simple("swrite", alice.key, id=var, value=3) == "success"


@pytest.mark.parametrize("public", [False, True])
def test_swrite_other_tenant_value_not_of_its_type_invalid_id_and_changes_nothing(
    api: Api, db: Db, alice: Account, bob: Account, transport: str, public: bool
) -> None:
    var = api.create(alice.key, public=public)

    with unchanged(db, alice):
        # An unknown id beats a value that does not fit: the answer never reveals the variable's type.
        assert api.simple("swrite", bob.key, transport, id=var, value="abc") == "error_invalid_id"


def test_swrite_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("swrite", alice.key, transport, id=support.UNKNOWN_ID, value=1) == "error_invalid_id"


@pytest.mark.parametrize(
    ("who", "params", "answer"),
    [
        ("wrong", {}, "error_invalid_key"),
        ("anonymous", {}, "error_invalid_key"),
        ("banned", {}, "error_banned"),
        ("unconfirmed", {"id": "whatever", "value": 1}, "error_unconfirmed"),
        ("alice", {}, "error_invalid_parameters"),
        ("alice", {"value": 1}, "error_invalid_parameters"),
        ("alice", {"id": support.UNKNOWN_ID}, "error_invalid_parameters"),
    ],
)
def test_swrite_errors_bare_text_in_check_order(
    api: Api, db: Db, alice: Account, transport: str, who: str, params: dict[str, object], answer: str
) -> None:
    assert api.simple("swrite", persona_key(db, who, alice), transport, **params) == answer
