from __future__ import annotations

import pytest

from tests import support
from tests.support import Account, Api, Db, Sample, lift_cooldown, persona_key


@pytest.mark.parametrize("sample", support.SAMPLES, ids=str)
def test_sread_value_of_each_type_exact_text(api: Api, alice: Account, transport: str, sample: Sample) -> None:
    var = api.create(alice.key, type=sample.type)
    assert api.call("write", alice.key, id=var, value=sample.sent) == {"result": "success"}

    assert api.simple("sread", alice.key, transport, id=var) == f"success|{sample.text}"


@pytest.mark.parametrize("zero", support.ZEROS, ids=str)
def test_sread_never_written_zero_value(api: Api, alice: Account, zero: Sample) -> None:
    var = api.create(alice.key, type=zero.type)
    assert api.simple("sread", alice.key, id=var) == f"success|{zero.text}"


def test_sread_agrees_with_read_after_writes(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    api.call("write", alice.key, id=var, value=True)
    lift_cooldown(db, var)
    api.call("write", alice.key, id=var, value=False)

    assert api.call("read", alice.key, id=var)["value"] is False
    assert api.simple("sread", alice.key, id=var) == "success|false"


def test_sread_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("sread", alice.key, transport, id=support.UNKNOWN_ID) == "error_invalid_id"
    assert api.simple("sread", None, transport, id=support.UNKNOWN_ID) == "error_invalid_id"


@pytest.mark.parametrize(
    ("who", "id_", "answer"),
    [
        ("wrong", support.UNKNOWN_ID, "error_invalid_key"),
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
    assert api.simple("sread", persona_key(db, who, alice), transport, id=id_) == answer
