from __future__ import annotations

import pytest

from tests import support
from tests.support import Account, Api, Db, lock, make_account, unchanged


def three(api: Api, account: Account, **params: object) -> list[str]:
    return [api.create(account.key, name=name, **params) for name in ("A", "B", "C")]


def test_ordprev_swaps_with_the_previous_variable(api: Api, alice: Account, transport: str) -> None:
    a, b, c = three(api, alice)

    response = api.request(transport, action="ordprev", key=alice.key, id=c)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == '{"result":"success"}'
    assert api.listed(alice.key) == [a, c, b]


def test_ordprev_repeated_moves_to_the_front_then_order_first(api: Api, db: Db, alice: Account) -> None:
    a, b, c = three(api, alice)

    assert api.call("ordprev", alice.key, id=c) == {"result": "success"}
    assert api.call("ordprev", alice.key, id=c) == {"result": "success"}
    assert api.listed(alice.key) == [c, a, b]

    with unchanged(db, alice):
        assert api.call("ordprev", alice.key, id=c) == {"result": "error_order_first"}


def test_ordprev_first_variable_order_first_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str
) -> None:
    ids = three(api, alice)

    with unchanged(db, alice):
        assert api.call("ordprev", alice.key, transport, id=ids[0]) == {"result": "error_order_first"}

    assert api.listed(alice.key) == ids


def test_ordprev_only_variable_order_first(api: Api, alice: Account, transport: str) -> None:
    var = api.create(alice.key)
    assert api.call("ordprev", alice.key, transport, id=var) == {"result": "error_order_first"}


def test_ordprev_skips_the_gap_a_deleted_variable_left(api: Api, alice: Account) -> None:
    a, b, c = three(api, alice)
    api.call("delete", alice.key, id=b)

    assert api.call("ordprev", alice.key, id=c) == {"result": "success"}

    assert api.listed(alice.key) == [c, a]
    assert api.call("ordprev", alice.key, id=c) == {"result": "error_order_first"}


def test_ordprev_order_is_per_account(api: Api, db: Db, alice: Account, bob: Account) -> None:
    bobs = three(api, bob)
    a, b = (api.create(alice.key, name=name) for name in ("A", "B"))

    with unchanged(db, bob):
        assert api.call("ordprev", alice.key, id=a) == {"result": "error_order_first"}
        assert api.call("ordprev", alice.key, id=b) == {"result": "success"}

    assert api.listed(alice.key) == [b, a]
    assert api.listed(bob.key) == bobs


def test_ordprev_without_id_invalid_parameters(api: Api, db: Db, alice: Account, transport: str) -> None:
    three(api, alice)
    with unchanged(db, alice):
        assert api.call("ordprev", alice.key, transport) == {"result": "error_invalid_parameters"}


def test_ordprev_unknown_id_invalid_id(api: Api, alice: Account, transport: str) -> None:
    three(api, alice)
    assert api.call("ordprev", alice.key, transport, id=support.UNKNOWN_ID) == {"result": "error_invalid_id"}


@pytest.mark.parametrize(
    ("target", "result"),
    [
        pytest.param(0, "error_locked", id="first-and-locked"),
        pytest.param(support.UNKNOWN_ID, "error_invalid_id", id="unknown-id-before-locked"),
    ],
)
def test_ordprev_locked_account_refused_and_changes_nothing(
    api: Api, db: Db, alice: Account, transport: str, target: int | str, result: str
) -> None:
    ids = three(api, alice)
    lock(db, alice)
    var = ids[target] if isinstance(target, int) else target

    with unchanged(db, alice):
        assert api.call("ordprev", alice.key, transport, id=var) == {"result": result}

    assert api.listed(alice.key) == ids


@pytest.mark.parametrize("key", support.NO_ACCOUNT_KEYS)
def test_ordprev_anonymous_or_unknown_key_without_id_invalid_key(
    api: Api, db: Db, alice: Account, transport: str, key: str | None
) -> None:
    three(api, alice, public=True)

    with unchanged(db, alice):
        assert api.call("ordprev", key, transport) == {"result": "error_invalid_key"}


@pytest.mark.parametrize(("flags", "result"), support.ACCOUNT_STATES)
def test_ordprev_account_state_refused(api: Api, db: Db, transport: str, flags: dict[str, bool], result: str) -> None:
    account = make_account(db, **flags)
    assert api.call("ordprev", account.key, transport, id=support.UNKNOWN_ID) == {"result": result}
    assert api.call("ordprev", account.key, transport) == {"result": result}
