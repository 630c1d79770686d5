"""Reads in batches (service/db/read_batch.py): lookups made together answer exactly what they would
one by one, a batch costs one statement, and a batch the database loses fails each of its reads."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.params import GraphParams, IdParams
from service.core.access import Actor
from service.core.ids import key_hash, new_key
from service.core.results import Result, VariPassError
from service.core.settings import Plan
from service.db.pool import DATABASE_ERRORS, Database, create_database
from service.db.read_batch import ReadBatcher
from service.db.reads import READ_BY_KEY_SQL
from service.db.write_batch import WriteBatcher
from service.rendering import Renderer
from tests.harness import Postgres, private_postgres, scaled
from tests.support import random_email

BANNED_IP = ipaddress.ip_address("203.0.113.14")
CLIENT_IP = ipaddress.ip_address("198.51.100.8")
ACCOUNTS = ("usable", "other", "banned", "unconfirmed")
ACTIONS = ("read", "info", "history", "graph")


async def _account(conn: asyncpg.Connection, kind: str) -> tuple[int, str]:
    key = new_key()
    account_id = await conn.fetchval(
        "INSERT INTO accounts (email, key_hash, confirmed, banned) VALUES ($1, $2, $3, $4) RETURNING id",
        random_email(),
        key_hash(key),
        kind != "unconfirmed",
        kind == "banned",
    )
    return account_id, key


async def _variable(conn: asyncpg.Connection, account_id: int, type_: str, public: bool) -> str:
    var_id = secrets.token_hex(4)
    await conn.execute("INSERT INTO variable_ids (id, account_id) VALUES ($1, $2)", var_id, account_id)
    await conn.execute(
        """
        INSERT INTO variables (account_id, id, position, type, name, expire, cooldown, public, value_time, value_int,
                               value_text)
        VALUES ($1, $2, 0, $3, 'v', 86400, 60, $4, statement_timestamp(), 7, 'seven')
        """,
        account_id,
        var_id,
        type_,
        public,
    )
    return var_id


@dataclass(frozen=True)
class World:
    accounts: list[tuple[int, str]]  # ACCOUNTS's ids and keys
    variables: list[str]  # the usable account's private int, public int, public string; the other's public; unknown


async def _world(conn: asyncpg.Connection) -> World:
    accounts = [await _account(conn, kind) for kind in ACCOUNTS]
    usable, other = accounts[0][0], accounts[1][0]
    variables = [
        await _variable(conn, usable, "int", False),
        await _variable(conn, usable, "int", True),
        await _variable(conn, usable, "string", True),
        await _variable(conn, other, "int", True),
        secrets.token_hex(4),
    ]
    return World(accounts, variables)


@dataclass(frozen=True)
class Op:
    actor: str  # "key", "account" or "public"
    account: int  # an index into ACCOUNTS, or len(ACCOUNTS): a key of no account
    banned_ip: bool
    var: int
    action: str

    def as_actor(self, world: World) -> Actor:
        ip = BANNED_IP if self.banned_ip else CLIENT_IP
        if self.actor == "public":
            return Actor.public(ip)
        if self.account == len(ACCOUNTS):
            return Actor.by_key(key_hash(new_key()), ip) if self.actor == "key" else Actor.by_account(-1, ip)
        account_id, key = world.accounts[self.account]
        return Actor.by_key(key_hash(key), ip) if self.actor == "key" else Actor.by_account(account_id, ip)


OPS = st.lists(
    st.builds(
        Op,
        actor=st.sampled_from(["key"] * 4 + ["account", "public", "public"]),
        account=st.sampled_from([0] * 4 + list(range(len(ACCOUNTS) + 1))),
        banned_ip=st.sampled_from([False] * 9 + [True]),
        var=st.integers(0, 4),
        action=st.sampled_from(ACTIONS),
    ),
    min_size=2,
    max_size=24,
)


async def _services(database: Database, *, batched: bool) -> Services:
    # Small batches: several per example; one by one, each lookup alone.
    reads = ReadBatcher(database, max_size=4 if batched else 1)
    return Services(database, WriteBatcher(database, 4), Plan(), Renderer(workers=1, cache_bytes=0), reads)


async def perform(services: Services, actor: Actor, var: str, action: str) -> tuple[Result, Any]:
    params = GraphParams(id=var) if action.endswith("graph") else IdParams(id=var)
    try:
        outcome = await USE_CASES[action].perform(services, actor, params)
    except VariPassError as exc:
        return exc.result, None
    except DATABASE_ERRORS:
        return Result.ERROR_DB, None
    value = outcome.value
    if action == "history":
        return Result.SUCCESS, [point.value for point in value]
    if action == "graph":
        return Result.SUCCESS, value.etag
    return Result.SUCCESS, (value.account_id, value.id, value.value, value.public)


class Reader:
    """The one-by-one and the batched services on a loop of their own, for hypothesis's synchronous examples."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.one_by_one, self.batched, self.conn = self.run(self._start(url))

    async def _start(self, url: str) -> tuple[Services, Services, asyncpg.Connection]:
        database = await create_database(url, min_size=1, max_size=4)
        plain, batched = await _services(database, batched=False), await _services(database, batched=True)
        return plain, batched, await asyncpg.connect(url)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        async def stop() -> None:
            await self.one_by_one.close()
            await self.batched.close()
            await self.batched.database.close()
            await self.conn.close()

        self.run(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def reader(db_url: str) -> Iterator[Reader]:
    reader = Reader(db_url)
    reader.run(reader.conn.execute("INSERT INTO banned_ips (ip) VALUES ($1) ON CONFLICT DO NOTHING", BANNED_IP))
    yield reader
    reader.run(reader.conn.execute("DELETE FROM banned_ips WHERE ip = $1", BANNED_IP))
    reader.close()


RUNS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_batched_reads_answer_as_one_by_one(reader: Reader) -> None:
    # @given inside the test, as tests/db/test_write_batch.py does: nothing is written in the checkout.
    @RUNS
    @given(ops=OPS, pauses=st.lists(st.sampled_from([False] * 5 + [True]), min_size=24, max_size=24))
    def check(ops: list[Op], pauses: list[bool]) -> None:
        world = reader.run(_world(reader.conn))
        actors = [op.as_actor(world) for op in ops]

        async def sequentially() -> list[tuple[Result, Any]]:
            return [
                await perform(reader.one_by_one, actor, world.variables[op.var], op.action)
                for op, actor in zip(ops, actors, strict=True)
            ]

        async def concurrently() -> list[tuple[Result, Any]]:
            tasks = []
            for op, actor, pause in zip(ops, actors, pauses, strict=False):
                tasks.append(asyncio.create_task(perform(reader.batched, actor, world.variables[op.var], op.action)))
                if pause:  # the batch in flight returns while later reads arrive
                    await asyncio.sleep(0.002)
            return list(await asyncio.gather(*tasks))

        assert reader.run(concurrently()) == reader.run(sequentially())

    check()


@pytest.mark.anyio
async def test_concurrent_reads_go_as_one_statement_a_lone_one_as_the_lookup(db_url: str) -> None:
    setup = await asyncpg.connect(db_url)
    account_id, key = await _account(setup, "usable")
    variables = [await _variable(setup, account_id, "int", False) for _ in range(5)]
    await setup.close()
    database = await create_database(db_url, min_size=1, max_size=1)
    services = await _services(database, batched=True)
    statements: list[str] = []
    async with database.pool.acquire() as conn:
        conn.add_query_logger(lambda logged: statements.append(logged.query))
    actor = Actor.by_key(key_hash(key), CLIENT_IP)
    try:
        assert await perform(services, actor, variables[0], "read") == (
            Result.SUCCESS,
            (account_id, variables[0], 7, False),
        )
        assert statements == [READ_BY_KEY_SQL]
        statements.clear()
        # Asked in one turn of the loop, before the batcher's: all four go as one batch.
        answers = await asyncio.gather(*(perform(services, actor, var, "read") for var in variables[:4]))
        assert [value for _, (_, value, _, _) in answers] == variables[:4]
        lookups = [sql for sql in statements if "accounts" in sql]  # not asyncpg's first look at the array types
        assert len(lookups) == 1 and "unnest(" in lookups[0]
    finally:
        await services.close()
        await database.close()


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    with private_postgres("varistore-read-batch-") as postgres:
        yield postgres


@pytest.mark.slow
@pytest.mark.anyio
async def test_database_lost_mid_batch_every_read_error_db_then_next_batch_succeeds(own_postgres: Postgres) -> None:
    setup = await asyncpg.connect(own_postgres.url)
    account_id, key = await _account(setup, "usable")
    variables = [await _variable(setup, account_id, "int", False) for _ in range(8)]
    await setup.close()
    # Every lookup reads banned_ips. One session locks it: the first read waits at the database while
    # the others queue. Another asks for the lock after that read: the batch, sent once the first read
    # is answered, waits behind it.
    lockers = [await asyncpg.connect(own_postgres.url) for _ in range(2)]
    for locker in lockers:
        await locker.execute("BEGIN")
    await lockers[0].execute("LOCK TABLE banned_ips IN ACCESS EXCLUSIVE MODE")

    database = await create_database(own_postgres.url, min_size=1, max_size=4, deadline=scaled(30))
    services = await _services(database, batched=True)
    actor = Actor.by_key(key_hash(key), CLIENT_IP)
    watcher = await asyncpg.connect(own_postgres.url)

    async def waiting(query: str) -> bool:
        sql = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1)"
        return bool(await watcher.fetchval(sql, query))

    async def until(query: str) -> None:
        for _ in range(100):
            if await waiting(query):
                return
            await asyncio.sleep(scaled(0.05))
        pytest.fail(f"nothing waited at the database for {query}")

    try:
        alone = asyncio.create_task(perform(services, actor, variables[0], "read"))
        await until("%FROM (VALUES (1))%")
        batch = [asyncio.create_task(perform(services, actor, var, "read")) for var in variables[1:]]
        second_lock = asyncio.create_task(lockers[1].execute("LOCK TABLE banned_ips IN ACCESS EXCLUSIVE MODE"))
        await until("LOCK TABLE%")
        await lockers[0].execute("COMMIT")
        assert (await alone)[0] == Result.SUCCESS
        await second_lock
        await until("%unnest(%")
        await watcher.close()

        await asyncio.to_thread(own_postgres.stop)
        assert [answer for answer, _ in await asyncio.gather(*batch)] == [Result.ERROR_DB] * len(batch)
        await asyncio.to_thread(own_postgres.start)

        # The next batch: a connection the stop killed unseen may fail one more batch (error_db).
        for _ in range(10):
            answers = await asyncio.gather(*(perform(services, actor, var, "read") for var in variables))
            if [answer for answer, _ in answers] != [Result.ERROR_DB] * len(answers):
                break
        assert [answer for answer, _ in answers] == [Result.SUCCESS] * len(answers)
    finally:
        for locker in lockers:
            locker.terminate()
        await services.close()
        await database.close()


@pytest.mark.anyio
async def test_read_queued_past_its_deadline_error_db_in_time(db_url: str) -> None:
    setup = await asyncpg.connect(db_url)
    account_id, key = await _account(setup, "usable")
    var = await _variable(setup, account_id, "int", False)
    await setup.execute("BEGIN")
    await setup.execute("LOCK TABLE banned_ips IN ACCESS EXCLUSIVE MODE")  # the database holds the first read
    deadline = scaled(0.5)
    database = await create_database(db_url, min_size=1, max_size=2, deadline=deadline)
    reads = ReadBatcher(database)
    actor = Actor.by_key(key_hash(key), CLIENT_IP)
    try:
        started = asyncio.get_running_loop().time()
        at_database = asyncio.create_task(reads.select(actor, var, public=False))
        await asyncio.sleep(deadline / 2)
        queued = asyncio.create_task(reads.select(actor, var, public=False))
        answers = await asyncio.gather(at_database, queued, return_exceptions=True)
        took = asyncio.get_running_loop().time() - started
        assert all(isinstance(answer, DATABASE_ERRORS) for answer in answers), answers
        assert took < deadline * 1.5 + scaled(0.2)  # the second's own deadline, plus the watcher's tick
    finally:
        await setup.execute("ROLLBACK")
        await reads.close()
        await database.close()
        await setup.close()
