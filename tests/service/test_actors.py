"""The use cases driven by every kind of actor: by API key (devices), by account id (a signed-in
user, for the dashboard to come) and public — the same rules and the same single write statement."""

from __future__ import annotations

import asyncio

import pytest

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.params import IdParams, WriteParams
from service.core.access import Actor
from service.core.changes import Change, ChangeKind
from service.core.ids import key_hash
from service.core.results import Result, VariPassError
from tests.support import Account, Api, Db, make_account


async def _write(services: Services, actor: Actor, var: str, value: object) -> Result:
    try:
        await USE_CASES["write"].perform(services, actor, WriteParams(id=var, value=value))  # type: ignore[arg-type]
    except VariPassError as exc:
        return exc.result
    return Result.SUCCESS


@pytest.mark.anyio
async def test_write_by_account_id_same_rules_as_by_key(services: Services, api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    banned, unconfirmed = await asyncio.to_thread(
        lambda: (make_account(db, banned=True), make_account(db, confirmed=False))
    )

    outcome = await USE_CASES["write"].perform(
        services, Actor.by_account(alice.id, None), WriteParams(id=var, value="42")
    )

    assert (outcome.value.value, outcome.changes) == (
        42,
        (Change(alice.id, var, ChangeKind.WRITTEN, 42, outcome.value.time),),
    )
    assert api.call("read", alice.key, id=var)["value"] == 42
    assert await _write(services, Actor.by_account(alice.id, None), var, 43) is Result.ERROR_COOLDOWN
    assert await _write(services, Actor.by_key(key_hash(alice.key), None), var, 44) is Result.ERROR_COOLDOWN
    assert await _write(services, Actor.by_account(banned.id, None), var, 1) is Result.ERROR_BANNED
    assert await _write(services, Actor.by_account(unconfirmed.id, None), var, 1) is Result.ERROR_UNCONFIRMED
    assert await _write(services, Actor.by_account(-1, None), var, 1) is Result.ERROR_INVALID_KEY
    assert api.call("read", alice.key, id=var)["value"] == 42


@pytest.mark.anyio
async def test_read_by_account_id_sees_only_its_own(services: Services, api: Api, alice: Account, bob: Account) -> None:
    var = api.create(alice.key, public=True)

    own = await USE_CASES["read"].perform(services, Actor.by_account(alice.id, None), IdParams(id=var))
    public = await USE_CASES["read"].perform(services, Actor.public(None), IdParams(id=var))

    assert own.value.id == public.value.id == var
    with pytest.raises(VariPassError) as refused:
        await USE_CASES["read"].perform(services, Actor.by_account(bob.id, None), IdParams(id=var))
    assert refused.value.result is Result.ERROR_INVALID_ID


@pytest.mark.anyio
async def test_toggle_reports_the_new_value_as_a_change(services: Services, api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="bool")

    outcome = await USE_CASES["toggle"].perform(services, Actor.by_key(key_hash(alice.key), None), IdParams(id=var))

    assert outcome.value.value is True
    assert outcome.changes == (Change(alice.id, var, ChangeKind.WRITTEN, True, outcome.value.time),)
