"""Scoped keys and API tokens (issue 14) through the use cases, and scoped keys over the VariPass
protocol: a key limited to some variables and to reading or writing, revoked at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.keys import NewKey
from service.core.access import Actor
from service.core.results import Forbidden, Result, VariPassError
from tests.support import Account, Api, Db, make_account, unchanged


async def _perform(services: Services, actor: Actor, use_case: str, **fields: Any) -> Any:
    return (await USE_CASES[use_case].perform_fields(services, actor, fields)).value


async def _refused(services: Services, actor: Actor, use_case: str, **fields: Any) -> VariPassError:
    with pytest.raises(VariPassError) as refused:
        await _perform(services, actor, use_case, **fields)
    return refused.value


def _owner(account: Account) -> Actor:
    return Actor.of_secret(account.key, None)


async def _key(services: Services, account: Account, **limits: Any) -> str:
    made: NewKey = await _perform(services, _owner(account), "key_create", **limits)
    return made.key


@pytest.mark.anyio
async def test_key_create_shows_the_key_once_and_lists_its_prefix(services: Services, alice: Account) -> None:
    made: NewKey = await _perform(services, _owner(alice), "key_create", label="porch", read=True, write=False)

    listed = await _perform(services, _owner(alice), "key_list")

    assert made.key.startswith("vk_") and len(made.key) == 35
    assert [(k.id, k.label, k.prefix, k.variables, k.read, k.write, k.last_used) for k in listed] == [
        (made.info.id, "porch", made.key[:7], None, True, False, None)
    ]


@pytest.mark.anyio
async def test_read_only_key_reads_its_variables_and_nothing_else(
    services: Services, api: Api, db: Db, alice: Account
) -> None:
    mine, other = api.create(alice.key, type="int"), api.create(alice.key, type="int")
    api.call("write", alice.key, id=mine, value=7)
    key = await _key(services, alice, variables=[mine], write=False)

    assert api.call("read", key, id=mine)["value"] == 7
    assert api.simple("sread", key, id=mine) == "success|7"
    assert api.call("list", key)["list"] == [mine]
    assert [v["id"] for v in api.call("latest", key)["list"]] == [mine]

    def refused() -> None:
        with unchanged(db, alice):
            assert api.call("read", key, id=other)["result"] == "error_invalid_id"
            assert api.call("write", key, id=mine, value=8)["result"] == "error_invalid_key"
            assert api.call("create", key, type="int", name="x")["result"] == "error_invalid_key"
            assert api.call("delete", key, id=mine)["result"] == "error_invalid_key"
            assert api.call("edit", key, id=mine, type="int", name="y")["result"] == "error_invalid_key"

    await asyncio.to_thread(refused)


@pytest.mark.anyio
async def test_write_only_key_writes_its_variables_and_reads_none(
    services: Services, api: Api, db: Db, alice: Account
) -> None:
    mine, flag, other = (api.create(alice.key, type=t) for t in ("int", "bool", "int"))
    key = await _key(services, alice, variables=[mine, flag], read=False)

    assert api.call("write", key, id=mine, value=5) == {"result": "success"}
    assert api.call("toggle", key, id=flag)["result"] == "success"
    assert api.call("read", alice.key, id=mine)["value"] == 5

    def refused() -> None:
        with unchanged(db, alice):
            assert api.call("write", key, id=other, value=5)["result"] == "error_invalid_id"
            assert api.call("read", key, id=mine)["result"] == "error_invalid_key"
            assert api.call("list", key)["result"] == "error_invalid_key"

    await asyncio.to_thread(refused)


@pytest.mark.anyio
async def test_key_for_all_variables_covers_those_made_later(services: Services, api: Api, alice: Account) -> None:
    key = await _key(services, alice)
    later = api.create(alice.key, type="int")

    assert api.call("write", key, id=later, value=3) == {"result": "success"}
    assert api.call("read", key, id=later)["value"] == 3


@pytest.mark.anyio
async def test_scoped_key_manages_nothing(services: Services, alice: Account) -> None:
    key = Actor.of_secret(await _key(services, alice), None)

    for use_case, fields in [("key_create", {}), ("key_list", {}), ("account", {}), ("token_create", {})]:
        assert isinstance(await _refused(services, key, use_case, **fields), Forbidden)


@pytest.mark.anyio
async def test_key_create_refuses_others_variables_and_a_key_that_may_nothing(
    services: Services, api: Api, alice: Account, bob: Account
) -> None:
    bobs = api.create(bob.key)

    refused = await _refused(services, _owner(alice), "key_create", variables=[bobs])
    useless = await _refused(services, _owner(alice), "key_create", read=False, write=False)

    assert (refused.result, useless.result) == (Result.ERROR_INVALID_ID, Result.ERROR_INVALID_PARAMETERS)
    assert await _perform(services, _owner(alice), "key_list") == []


@pytest.mark.anyio
async def test_key_revoke_takes_effect_at_once_and_only_for_the_owner(
    services: Services, api: Api, alice: Account, bob: Account
) -> None:
    var = api.create(alice.key)
    made: NewKey = await _perform(services, _owner(alice), "key_create")
    assert api.call("read", made.key, id=var)["result"] == "success"

    not_bobs = await _refused(services, _owner(bob), "key_revoke", key_id=made.info.id)
    assert not_bobs.result is Result.ERROR_INVALID_ID
    await _perform(services, _owner(alice), "key_revoke", key_id=made.info.id)

    assert api.call("read", made.key, id=var)["result"] == "error_invalid_key"
    assert (
        await _refused(services, _owner(alice), "key_revoke", key_id=made.info.id)
    ).result is Result.ERROR_INVALID_ID


@pytest.mark.anyio
async def test_scoped_key_of_a_banned_account_is_refused_as_the_account(
    services: Services, api: Api, db: Db, alice: Account
) -> None:
    var = api.create(alice.key)
    key = await _key(services, alice)
    await asyncio.to_thread(db.execute, "UPDATE accounts SET banned = true WHERE id = $1", alice.id)

    assert api.call("read", key, id=var)["result"] == "error_banned"
    assert api.call("write", key, id=var, value=1)["result"] == "error_banned"


@pytest.mark.anyio
async def test_scoped_key_use_is_noted_for_its_last_used_time(services: Services, api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    made: NewKey = await _perform(services, _owner(alice), "key_create")

    await _perform(services, Actor.of_secret(made.key, None), "read", id=var)

    assert services.keys_used == {made.info.id}


@pytest.mark.anyio
async def test_token_acts_as_the_account_until_revoked(services: Services, api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key)
    made = await _perform(services, Actor.by_account(alice.id, None), "token_create")
    token = Actor.of_secret(made.token, None)

    assert made.token.startswith("vt_")
    assert api.call("read", made.token, id=var)["result"] == "success"
    assert (await _perform(services, token, "account")).account.email == alice.email
    await _perform(services, token, "token_revoke")

    assert api.call("read", made.token, id=var)["result"] == "error_invalid_key"


@pytest.mark.anyio
async def test_token_stops_when_it_expires(services: Services, api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key)
    made = await _perform(services, Actor.by_account(alice.id, None), "token_create")
    await asyncio.to_thread(db.execute, "UPDATE api_tokens SET expires_at = now() WHERE account_id = $1", alice.id)

    assert api.call("read", made.token, id=var)["result"] == "error_invalid_key"


@pytest.mark.anyio
async def test_tokens_are_made_only_with_a_password_and_revoked_only_with_themselves(
    services: Services, alice: Account
) -> None:
    assert isinstance(await _refused(services, _owner(alice), "token_create"), Forbidden)
    assert isinstance(await _refused(services, _owner(alice), "token_revoke"), Forbidden)


@pytest.mark.anyio
async def test_move_to_puts_a_variable_at_a_place(services: Services, api: Api, alice: Account) -> None:
    ids = [api.create(alice.key) for _ in range(4)]

    await _perform(services, _owner(alice), "move_to", id=ids[3], to=1)
    assert api.call("list", alice.key)["list"] == [ids[0], ids[3], ids[1], ids[2]]
    await _perform(services, _owner(alice), "move_to", id=ids[0], to=3)
    assert api.call("list", alice.key)["list"] == [ids[3], ids[1], ids[2], ids[0]]

    past = await _refused(services, _owner(alice), "move_to", id=ids[0], to=4)
    assert past.result is Result.ERROR_INVALID_PARAMETERS
    assert api.call("list", alice.key)["list"] == [ids[3], ids[1], ids[2], ids[0]]


@pytest.mark.anyio
async def test_cooldown_refusal_says_when_to_retry(services: Services, api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    await _perform(services, _owner(alice), "write", id=var, value=1)

    refused = await _refused(services, _owner(alice), "write", id=var, value=2)

    assert refused.result is Result.ERROR_COOLDOWN
    assert refused.retry_after is not None and 1 <= refused.retry_after <= 60


@pytest.mark.anyio
async def test_account_tells_its_plan_and_count(services: Services, api: Api, db: Db) -> None:
    owner = await asyncio.to_thread(make_account, db, max_variables=7)
    api.create(owner.key)

    info = await _perform(services, _owner(owner), "account")

    assert (info.account.id, info.account.max_variables, info.variables) == (owner.id, 7, 1)
