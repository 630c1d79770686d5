from __future__ import annotations

import pytest

from tests import support
from tests.support import Account, Api, Db, history_rows, lift_cooldown, persona_key, unchanged


def test_stoggle_never_written_bool_becomes_true(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key, type="bool")

    assert api.simple("stoggle", alice.key, transport, id=var) == "success|true"

    assert api.call("read", alice.key, id=var)["value"] is True


def test_stoggle_flips_back_and_forth_as_text(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="bool")
    api.call("write", alice.key, id=var, value=True)
    lift_cooldown(db, var)

    assert api.simple("stoggle", alice.key, id=var) == "success|false"
    lift_cooldown(db, var)
    assert api.simple("stoggle", alice.key, id=var) == "success|true"

    assert api.history_values(alice.key, var) == [True, False, True]
    assert history_rows(db, var) == 3


def test_stoggle_within_cooldown_error_cooldown_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    var = api.create(alice.key, type="bool")
    assert api.simple("stoggle", alice.key, transport, id=var) == "success|true"

    with unchanged(db, alice):
        assert api.simple("stoggle", alice.key, transport, id=var) == "error_cooldown"

    assert api.simple("sread", alice.key, id=var) == "success|true"


@pytest.mark.parametrize("type_", ["int", "float", "string"])
def test_stoggle_not_bool_error_not_bool_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str, type_: str
) -> None:
    var = api.create(alice.key, type=type_)

    with unchanged(db, alice):
        assert api.simple("stoggle", alice.key, transport, id=var) == "error_not_bool"


def test_stoggle_not_bool_beats_cooldown(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="string")
    api.call("write", alice.key, id=var, value="on")
    assert api.simple("stoggle", alice.key, id=var) == "error_not_bool"


def test_stoggle_other_tenant_not_bool_variable_invalid_id_and_changes_nothing(
    api: Api, db: Db, alice: Account, bob: Account, transport: str
) -> None:
    # An unknown id beats not_bool: bob never learns that the id exists, nor its type.
    var = api.create(alice.key, type="int", public=True)

    with unchanged(db, alice):
        assert api.simple("stoggle", bob.key, transport, id=var) == "error_invalid_id"


def test_stoggle_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    assert api.simple("stoggle", alice.key, transport, id=support.UNKNOWN_ID) == "error_invalid_id"


@pytest.mark.parametrize(
    ("who", "id_", "answer"),
    [
        ("wrong", None, "error_invalid_key"),
        ("anonymous", None, "error_invalid_key"),
        ("banned", "whatever", "error_banned"),
        ("unconfirmed", None, "error_unconfirmed"),
        ("unconfirmed", "whatever", "error_unconfirmed"),
        ("alice", None, "error_invalid_parameters"),
    ],
)
def test_stoggle_errors_bare_text_in_check_order(
    api: Api, db: Db, alice: Account, transport: str, who: str, id_: str | None, answer: str
) -> None:
    assert api.simple("stoggle", persona_key(db, who, alice), transport, id=id_) == answer
