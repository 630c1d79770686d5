"""The read path (issue 13): read, info, history and graph check the key and fetch the variable in
one statement, whoever asks (a key, a signed-in account, nobody for a public variable), and keep
the check order of DESIGN.md §3. Counted on the pool's one connection with asyncpg's query logger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_address

import pytest
from asgi_lifespan import LifespanManager

import service.app
from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.params import GraphParams, IdParams
from service.app import create_app
from service.core.access import BY_ACCOUNT, Actor
from service.core.ids import key_hash
from service.core.results import Result, VariPassError
from service.core.settings import Settings
from service.db.reads import READ_BY_KEY_SQL, READ_PUBLIC_SQL, READ_SQL
from service.db.variables import SELECT_VARIABLE_SQL
from tests.support import Account, Api, Db, make_account

BANNED_IP = "192.0.2.77"


@pytest.fixture
async def sent(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Services, list[str]]]:
    """The services the app makes, on a pool of one connection, and the list of statements it sends."""
    made: list[Services] = []

    def keep(*args: object) -> Services:
        made.append(Services(*args))  # type: ignore[arg-type]
        return made[0]

    monkeypatch.setattr(service.app, "Services", keep)
    app = create_app(Settings(pool_min_size=1, pool_max_size=1, limit_per_key="", limit_per_ip=""), db_url)
    async with LifespanManager(app):
        services, statements = made[0], []
        async with services.database.pool.acquire() as conn:
            conn.add_query_logger(lambda logged: statements.append(logged.query))
        yield services, statements


def _actors(alice: Account) -> list[tuple[Actor, str]]:
    return [
        (Actor.by_key(key_hash(alice.key), None), READ_BY_KEY_SQL),
        (Actor.by_account(alice.id, None), READ_SQL[BY_ACCOUNT]),
        (Actor.public(None), READ_PUBLIC_SQL),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("action", ["read", "info"])
async def test_read_and_info_are_one_statement_for_every_actor(
    sent: tuple[Services, list[str]], api: Api, alice: Account, action: str
) -> None:
    services, statements = sent
    var = api.create(alice.key, public=True)
    api.call("write", alice.key, id=var, value=2.5)
    for actor, sql in _actors(alice):
        statements.clear()
        outcome = await USE_CASES[action].perform(services, actor, IdParams(id=var))
        assert (outcome.value.id, outcome.value.account_id, outcome.value.value) == (var, alice.id, 2.5)
        assert statements == [sql]


@pytest.mark.anyio
async def test_history_and_graph_look_up_in_one_statement_then_read_points(
    sent: tuple[Services, list[str]], api: Api, alice: Account
) -> None:
    services, statements = sent
    var = api.create(alice.key, public=True)
    api.call("write", alice.key, id=var, value=2.5)
    for actor, sql in _actors(alice):
        statements.clear()
        history = await USE_CASES["history"].perform(services, actor, IdParams(id=var))
        assert [point.value for point in history.value] == [2.5]
        graph = await USE_CASES["graph"].perform(services, actor, GraphParams(id=var))
        assert graph.value.picture is not None
        # Each looks up in one statement, then reads points; never the key or the variable alone.
        lookups = [s for s in statements if "accounts" in s or s == SELECT_VARIABLE_SQL]
        assert lookups == [sql, sql] and statements[0] == sql


@pytest.fixture
def refused(db: Db) -> Iterator[tuple[Account, Account]]:
    """A banned and an unconfirmed account, and BANNED_IP banned, for one test."""
    db.execute("INSERT INTO banned_ips (ip) VALUES ($1::inet) ON CONFLICT DO NOTHING", BANNED_IP)
    yield make_account(db, banned=True), make_account(db, confirmed=False)
    db.execute("DELETE FROM banned_ips WHERE ip = $1::inet", BANNED_IP)


@pytest.mark.anyio
async def test_refusals_keep_the_check_order_in_one_statement(
    sent: tuple[Services, list[str]], api: Api, alice: Account, bob: Account, refused: tuple[Account, Account]
) -> None:
    services, statements = sent
    private, public = api.create(alice.key), api.create(alice.key, public=True)
    (banned, unconfirmed), by_key, from_banned_ip = refused, Actor.by_key, ip_address(BANNED_IP)
    cases = [
        (by_key(key_hash("x" * 16), None), public, Result.ERROR_INVALID_KEY),
        (by_key(key_hash(alice.key), None), "00000000", Result.ERROR_INVALID_ID),
        (by_key(key_hash(bob.key), None), public, Result.ERROR_INVALID_ID),  # another account's, though public
        (Actor.by_account(bob.id, None), private, Result.ERROR_INVALID_ID),
        (by_key(key_hash(banned.key), None), "00000000", Result.ERROR_BANNED),
        (by_key(key_hash(unconfirmed.key), None), "00000000", Result.ERROR_UNCONFIRMED),
        (Actor.public(None), private, Result.ERROR_INVALID_ID),
        (Actor.public(None), "00000000", Result.ERROR_INVALID_ID),
        (Actor.public(from_banned_ip), public, Result.ERROR_INVALID_KEY),
        (by_key(key_hash(alice.key), from_banned_ip), public, Result.ERROR_INVALID_KEY),
    ]
    for action in ("read", "info", "history", "graph"):
        params = GraphParams if action == "graph" else IdParams
        for actor, var, result in cases:
            statements.clear()
            with pytest.raises(VariPassError) as refusal:
                await USE_CASES[action].perform(services, actor, params(id=var))
            assert refusal.value.result is result, (action, actor, var)
            assert len(statements) == 1
