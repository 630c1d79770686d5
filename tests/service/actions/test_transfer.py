from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import support
from tests.support import Account, Api, Db, history_rows, lift_cooldown, make_account, persona_key, unchanged


@pytest.fixture
def carol(db: Db) -> Account:
    """A target who accepts transfers."""
    return make_account(db, transfers_enabled=True)


def written_variable(api: Api, db: Db, key: str) -> str:
    """A variable with two values in its history."""
    var = api.create(key, type="int", name="Humidity", unit="%")
    api.call("write", key, id=var, value=47)
    lift_cooldown(db, var)
    api.call("write", key, id=var, value=48)
    return var


def test_transfer_moves_the_variable_with_its_history_to_the_end_of_the_target(
    api: Api, db: Db, alice: Account, carol: Account, transport: str
) -> None:
    kept = api.create(alice.key)
    var = written_variable(api, db, alice.key)
    theirs = [api.create(carol.key), api.create(carol.key)]
    info = api.call("info", alice.key, id=var)
    history = api.call("history", alice.key, id=var)["history"]

    assert api.call("transfer", alice.key, transport, id=var, target=carol.email) == {"result": "success"}

    assert api.listed(alice.key) == [kept]
    assert api.listed(carol.key) == [*theirs, var]
    assert api.call("info", carol.key, id=var) == info
    assert api.call("history", carol.key, id=var)["history"] == history
    assert db.fetchval("SELECT array_agg(DISTINCT account_id) FROM history WHERE variable_id = $1", var) == [carol.id]
    assert history_rows(db, var) == 2
    assert api.call("read", alice.key, id=var) == {"result": "error_invalid_id"}


def test_transfer_target_can_use_the_variable(api: Api, db: Db, alice: Account, carol: Account) -> None:
    var = written_variable(api, db, alice.key)
    assert api.call("edit", alice.key, id=var, type="int", name="Humidity", public=True)["result"] == "success"
    api.call("transfer", alice.key, id=var, target=carol.email)
    lift_cooldown(db, var)

    assert api.call("write", carol.key, id=var, value=49) == {"result": "success"}
    assert api.call("write", alice.key, id=var, value=50) == {"result": "error_invalid_id"}
    assert api.simple("slatest", carol.key) == f"success|1|{var}|49|"
    assert api.simple("sread", None, id=var) == "success|49"


@pytest.mark.parametrize("case", [str.upper, str.lower, str.swapcase])
def test_transfer_target_email_matched_case_insensitively(
    api: Api, alice: Account, carol: Account, case: Callable[[str], str]
) -> None:
    var = api.create(alice.key)

    assert api.call("transfer", alice.key, id=var, target=case(carol.email)) == {"result": "success"}

    assert api.listed(carol.key) == [var]


def test_transfer_into_an_empty_account(api: Api, alice: Account, carol: Account) -> None:
    var = api.create(alice.key)
    assert api.call("transfer", alice.key, id=var, target=carol.email) == {"result": "success"}
    assert api.listed(carol.key) == [var]
    assert api.listed(alice.key) == []


@pytest.mark.parametrize("case", [str, str.upper])
def test_transfer_to_yourself_succeeds_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str, case: Callable[[str], str]
) -> None:
    first = written_variable(api, db, alice.key)
    api.create(alice.key)

    with unchanged(db, alice):
        result = api.call("transfer", alice.key, transport, id=first, target=case(alice.email))

    assert result == {"result": "success"}


def test_transfer_to_yourself_at_your_max_variables_succeeds(api: Api, db: Db) -> None:
    # Nothing moves, so neither the limit nor the (disabled) transfers setting applies.
    owner = make_account(db, max_variables=1, transfers_enabled=False)
    var = api.create(owner.key)

    with unchanged(db, owner):
        assert api.call("transfer", owner.key, id=var, target=owner.email) == {"result": "success"}


def refused(api: Api, db: Db, source: Account, target: Account | None, var: str, email: str, transport: str) -> str:
    """Ask for a transfer that must fail; assert that neither side changed, return the result."""
    accounts = [source] if target is None else [source, target]
    with unchanged(db, *accounts):
        return str(api.call("transfer", source.key, transport, id=var, target=email)["result"])


def test_transfer_unknown_target_user_not_found(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    assert refused(api, db, alice, None, var, "nobody-here@example.com", transport) == "error_user_not_found"


def test_transfer_target_without_transfers_disabled(
    api: Api, db: Db, alice: Account, bob: Account, transport: str
) -> None:
    var = api.create(alice.key)
    assert refused(api, db, alice, bob, var, bob.email, transport) == "error_transfer_disabled"


@pytest.mark.parametrize("max_variables", [0, 2])
def test_transfer_target_at_its_max_variables(
    api: Api, db: Db, alice: Account, transport: str, max_variables: int
) -> None:
    target = make_account(db, transfers_enabled=True, max_variables=max_variables)
    for _ in range(max_variables):
        api.create(target.key)
    var = api.create(alice.key)

    assert refused(api, db, alice, target, var, target.email, transport) == "error_max_variables"


def test_transfer_target_one_below_its_max_variables_succeeds(api: Api, db: Db, alice: Account) -> None:
    target = make_account(db, transfers_enabled=True, max_variables=2)
    api.create(target.key)
    var = api.create(alice.key)
    assert api.call("transfer", alice.key, id=var, target=target.email) == {"result": "success"}


def test_transfer_another_accounts_id_invalid_id(
    api: Api, db: Db, alice: Account, bob: Account, carol: Account, transport: str
) -> None:
    theirs = api.create(bob.key, public=True)
    assert refused(api, db, alice, bob, theirs, carol.email, transport) == "error_invalid_id"
    assert refused(api, db, alice, bob, theirs, alice.email, transport) == "error_invalid_id"
    assert api.listed(bob.key) == [theirs]


def test_transfer_unknown_id_invalid_id(api: Api, db: Db, alice: Account, carol: Account) -> None:
    assert refused(api, db, alice, carol, support.UNKNOWN_ID, carol.email, "get") == "error_invalid_id"


@pytest.mark.parametrize(
    ("locked", "target", "var", "result"),
    [
        # error_invalid_id (check 5) comes before every rule of the transfer itself (check 6).
        (True, "nobody", "theirs", "error_invalid_id"),
        (False, "nobody", "theirs", "error_invalid_id"),
        (False, "full", "theirs", "error_invalid_id"),
        # The source's lock is judged before anything about the target.
        (True, "nobody", "mine", "error_locked"),
        (True, "closed", "mine", "error_locked"),
        # A target that refuses transfers does not reveal how many variables it holds.
        (False, "closed_and_full", "mine", "error_transfer_disabled"),
    ],
)
def test_transfer_order_of_checks(
    api: Api, db: Db, alice: Account, bob: Account, locked: bool, target: str, var: str, result: str
) -> None:
    targets = {
        "nobody": "nobody-here@example.com",
        "full": make_account(db, transfers_enabled=True, max_variables=0).email,
        "closed": make_account(db, transfers_enabled=False).email,
        "closed_and_full": make_account(db, transfers_enabled=False, max_variables=0).email,
    }
    ids = {"mine": api.create(alice.key), "theirs": api.create(bob.key)}
    db.execute("UPDATE accounts SET locked = $2 WHERE id = $1", alice.id, locked)

    assert refused(api, db, alice, None, ids[var], targets[target], "get") == result


@pytest.mark.parametrize("params", [{"target": "nobody-here@example.com"}, {"id": support.UNKNOWN_ID}, {}])
def test_transfer_missing_parameter_invalid_parameters(
    api: Api, db: Db, alice: Account, transport: str, params: dict[str, str]
) -> None:
    # Missing parameters (check 4) beat an unknown id or target.
    with unchanged(db, alice):
        assert api.call("transfer", alice.key, transport, **params) == {"result": "error_invalid_parameters"}


def test_transfer_missing_target_invalid_parameters(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    with unchanged(db, alice):
        assert api.call("transfer", alice.key, transport, id=var) == {"result": "error_invalid_parameters"}


@pytest.mark.parametrize(("who", "result"), support.UNUSABLE_KEYS)
def test_transfer_unusable_key_beats_missing_parameters(
    api: Api, db: Db, alice: Account, transport: str, who: str, result: str
) -> None:
    api.create(alice.key, public=True)
    key = persona_key(db, who, alice)

    with unchanged(db, alice):
        # A bad key beats missing parameters.
        assert api.call("transfer", key, transport) == {"result": result}
