"""Group commit (service/db/write_batch.py): writes made in batches answer exactly what they would
one after the other, and a batch the database loses changes nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.params import IdParams, WriteParams
from service.core.access import Actor
from service.core.ids import key_hash, new_key
from service.core.results import Result, VariPassError
from service.core.settings import Plan
from service.core.values import Candidates
from service.db.pool import DATABASE_ERRORS, create_database
from service.db.read_batch import ReadBatcher
from service.db.variables import Write
from service.db.write_batch import WriteBatcher
from service.rendering import Renderer
from tests.harness import Postgres, private_postgres, scaled
from tests.support import random_email

BANNED_IP = ipaddress.ip_address("203.0.113.13")
CLIENT_IP = ipaddress.ip_address("198.51.100.7")
ACCOUNTS = ("usable", "other", "banned", "unconfirmed")
# A variable's type, its expire (0: no history), and its cooldown state: never written, written
# just now (inside its 60 s cooldown), or long ago.
VARIABLES = [
    ("int", 86400, "never"),
    ("float", 86400, "now"),
    ("bool", 0, "long ago"),
    ("string", 86400, "long ago"),
    ("int", 0, "never"),
    ("bool", 86400, "never"),
]
VALUES = [None, 7, "7", 2.5, "-0.5", True, "false", "1", "text", "", 2**63, "nan"]  # None: a toggle


def _random_id() -> str:
    return secrets.token_hex(4)


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


async def _variable(conn: asyncpg.Connection, account_id: int, type_: str, expire: int, written: str) -> str:
    var_id = _random_id()
    last_write = {"never": None, "now": "statement_timestamp()", "long ago": "now() - interval '1 day'"}[written]
    await conn.execute("INSERT INTO variable_ids (id, account_id) VALUES ($1, $2)", var_id, account_id)
    await conn.execute(
        f"""
        INSERT INTO variables (account_id, id, position, type, name, expire, cooldown, value_time, last_write)
        VALUES ($1, $2, 0, $3, 'v', $4, 60, statement_timestamp(), {last_write or "NULL"})
        """,
        account_id,
        var_id,
        type_,
        expire,
    )
    return var_id


@dataclass(frozen=True)
class World:
    """Accounts and variables as the strategy names them by index; two worlds have the same shape."""

    keys: list[str]  # ACCOUNTS's keys, then a key of no account
    variables: list[str]  # VARIABLES of the usable account, one of the other account, an unknown id


async def _world(conn: asyncpg.Connection) -> World:
    accounts = [await _account(conn, kind) for kind in ACCOUNTS]
    usable, other = accounts[0][0], accounts[1][0]
    variables = [await _variable(conn, usable, *spec) for spec in VARIABLES]
    variables.append(await _variable(conn, other, "int", 86400, "never"))
    return World([key for _, key in accounts] + [new_key()], [*variables, _random_id()])


@dataclass(frozen=True)
class Op:
    key: int
    banned_ip: bool
    var: int
    value: Any  # None: a toggle


OPS = st.lists(
    st.builds(
        Op,
        key=st.sampled_from([0] * 6 + [1, 2, 3, 4]),  # mostly the usable account
        banned_ip=st.sampled_from([False] * 9 + [True]),
        var=st.sampled_from([0, 3, 3, 5] * 2 + list(range(len(VARIABLES) + 2))),  # collisions, often
        value=st.sampled_from(VALUES),
    ),
    min_size=2,
    max_size=24,
)


class Writer:
    """The services on a loop of their own, for hypothesis's synchronous examples."""

    def __init__(self, url: str, max_size: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.services, self.conn = self.run(self._start(url, max_size))

    async def _start(self, url: str, max_size: int) -> tuple[Services, asyncpg.Connection]:
        database = await create_database(url, min_size=1, max_size=4)
        writes, reads = WriteBatcher(database, max_size), ReadBatcher(database)
        services = Services(database, writes, Plan(), Renderer(workers=1, cache_bytes=0), reads)
        return services, await asyncpg.connect(url)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def perform(self, world: World, op: Op) -> tuple[Result, Any]:
        actor = Actor.by_key(key_hash(world.keys[op.key]), BANNED_IP if op.banned_ip else CLIENT_IP)
        var = world.variables[op.var]
        try:
            if op.value is None:
                outcome = await USE_CASES["toggle"].perform(self.services, actor, IdParams(id=var))
            else:
                outcome = await USE_CASES["write"].perform(self.services, actor, WriteParams(id=var, value=op.value))
        except VariPassError as exc:
            return exc.result, None
        except DATABASE_ERRORS:
            return Result.ERROR_DB, None
        return Result.SUCCESS, outcome.value.value

    def close(self) -> None:
        async def stop() -> None:
            await self.services.close()
            await self.services.database.close()
            await self.conn.close()

        self.run(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def writer(db_url: str) -> Iterator[Writer]:
    writer = Writer(db_url, max_size=4)  # small batches: several per example
    writer.run(writer.conn.execute("INSERT INTO banned_ips (ip) VALUES ($1) ON CONFLICT DO NOTHING", BANNED_IP))
    yield writer
    writer.run(writer.conn.execute("DELETE FROM banned_ips WHERE ip = $1", BANNED_IP))
    writer.close()


async def _state(conn: asyncpg.Connection, world: World) -> list[tuple[Any, ...]]:
    """Each variable's value columns and its number of history rows."""
    rows = await conn.fetch(
        """
        SELECT v.value_int, v.value_float, v.value_bool, v.value_text, v.last_write IS NULL,
               (SELECT count(*) FROM history h WHERE h.account_id = v.account_id AND h.variable_id = v.id)
        FROM unnest($1::text[]) WITH ORDINALITY AS i (id, n) JOIN variables v ON v.id = i.id ORDER BY i.n
        """,
        world.variables,
    )
    return [tuple(row) for row in rows]


# Fixed runs: the same examples every time, nothing remembered between runs.
RUNS = settings(
    max_examples=80, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_batched_writes_answer_as_one_by_one_and_history_has_a_row_per_success(writer: Writer) -> None:
    # @given inside the test: hypothesis then finds no test of its own at collection, and writes
    # nothing in the checkout (tests/service/test_properties.py does the same).
    @RUNS
    @given(ops=OPS, pauses=st.lists(st.sampled_from([False] * 5 + [True]), min_size=24, max_size=24))
    def check(ops: list[Op], pauses: list[bool]) -> None:
        one_by_one, batched = writer.run(_world(writer.conn)), writer.run(_world(writer.conn))

        async def sequentially() -> list[tuple[Result, Any]]:
            return [await writer.perform(one_by_one, op) for op in ops]

        async def concurrently() -> list[tuple[Result, Any]]:
            # In arrival order; a pause lets the batch in flight return while later writes arrive.
            tasks = []
            for op, pause in zip(ops, pauses, strict=False):
                tasks.append(asyncio.create_task(writer.perform(batched, op)))
                if pause:
                    await asyncio.sleep(0.002)
            return list(await asyncio.gather(*tasks))

        expected, answers = writer.run(sequentially()), writer.run(concurrently())

        assert answers == expected
        state = writer.run(_state(writer.conn, batched))
        assert state == writer.run(_state(writer.conn, one_by_one))
        successes = Counter(op.var for op, (result, _) in zip(ops, answers, strict=True) if result == Result.SUCCESS)
        for n, (*_, history_rows) in enumerate(state):
            kept = n == len(VARIABLES) or (n < len(VARIABLES) and VARIABLES[n][1] > 0)
            assert history_rows == (successes[n] if kept else 0)

    check()


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    with private_postgres("varistore-batch-") as postgres:
        yield postgres


async def _batch_blocked(conn: asyncpg.Connection) -> bool:
    """Whether a batch (the statement with arrays) waits for a row lock."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%unnest(%')"
        )
    )


@pytest.mark.slow
@pytest.mark.anyio
async def test_database_lost_mid_batch_every_write_error_db_none_kept_then_next_batch_succeeds(
    own_postgres: Postgres,
) -> None:
    setup = await asyncpg.connect(own_postgres.url)
    account_id, key = await _account(setup, "usable")
    free = [await _variable(setup, account_id, "int", 86400, "never") for _ in range(9)]
    first = await _variable(setup, account_id, "int", 86400, "never")
    last = await _variable(setup, account_id, "int", 86400, "never")
    # Two sessions hold the rows of `first` and `last`: a write to `first` waits at the database
    # while the batch to come queues; that batch then waits for `last`, after its other rows.
    lockers = [await asyncpg.connect(own_postgres.url) for _ in range(2)]
    for locker, var in zip(lockers, (first, last), strict=True):
        await locker.execute("BEGIN")
        await locker.execute("SELECT 1 FROM variables WHERE id = $1 FOR UPDATE", var)
    await setup.close()

    database = await create_database(own_postgres.url, min_size=1, max_size=4, deadline=scaled(30))
    writes = WriteBatcher(database, max_size=64)
    services = Services(database, writes, Plan(), Renderer(workers=1, cache_bytes=0), ReadBatcher(database))
    actor = Actor.by_key(key_hash(key), CLIENT_IP)

    async def write(var: str) -> Result:
        try:
            await USE_CASES["write"].perform(services, actor, WriteParams(id=var, value=1))
        except DATABASE_ERRORS:
            return Result.ERROR_DB
        except VariPassError as exc:
            return exc.result
        return Result.SUCCESS

    try:
        alone = asyncio.create_task(write(first))
        await asyncio.sleep(scaled(0.2))
        batch = [asyncio.create_task(write(var)) for var in [*free, last]]
        await asyncio.sleep(scaled(0.2))
        await lockers[0].execute("COMMIT")
        assert await alone == Result.SUCCESS
        watcher = await asyncpg.connect(own_postgres.url)
        for _ in range(100):
            if await _batch_blocked(watcher):
                break
            await asyncio.sleep(scaled(0.05))
        else:
            pytest.fail("the batch never reached the locked row")
        await watcher.close()

        await asyncio.to_thread(own_postgres.stop)
        assert await asyncio.gather(*batch) == [Result.ERROR_DB] * len(batch)
        await asyncio.to_thread(own_postgres.start)

        check = await asyncpg.connect(own_postgres.url)
        kept = await check.fetchval("SELECT count(*) FROM history WHERE variable_id = ANY($1::text[])", [*free, last])
        written = await check.fetchval("SELECT count(*) FROM variables WHERE last_write IS NOT NULL")
        await check.close()
        assert (kept, written) == (0, 1)  # `first` alone
        # The next batch: a connection the stop killed unseen may fail one more batch (error_db).
        for _ in range(10):
            answers = await asyncio.gather(*(write(var) for var in [*free, last]))
            if answers != [Result.ERROR_DB] * len(answers):
                break
        assert answers == [Result.SUCCESS] * len(answers)
    finally:
        for locker in lockers:
            locker.terminate()
        await services.close()
        await database.close()


@pytest.mark.anyio
async def test_write_queued_past_its_deadline_error_db_in_time_nothing_written(db_url: str) -> None:
    setup = await asyncpg.connect(db_url)
    account_id, key = await _account(setup, "usable")
    var = await _variable(setup, account_id, "int", 86400, "never")
    await setup.execute("BEGIN")
    await setup.execute("SELECT 1 FROM variables WHERE id = $1 FOR UPDATE", var)  # the database holds the batch
    deadline = scaled(0.5)
    database = await create_database(db_url, min_size=1, max_size=2, deadline=deadline)
    writes = WriteBatcher(database, max_size=64)
    actor = Actor.by_key(key_hash(key), CLIENT_IP)
    try:
        started = asyncio.get_running_loop().time()
        at_database = asyncio.create_task(writes.write(Write(actor, var, Candidates.of(1))))
        await asyncio.sleep(deadline / 2)
        queued = asyncio.create_task(writes.write(Write(actor, var, Candidates.of(2))))
        answers = await asyncio.gather(at_database, queued, return_exceptions=True)
        took = asyncio.get_running_loop().time() - started
        # error_db: the client's deadline (TimeoutError) or the server's statement_timeout, whichever is first.
        assert all(isinstance(answer, DATABASE_ERRORS) for answer in answers), answers
        assert took < deadline * 1.5 + scaled(0.2)  # the second's own deadline, plus the watcher's tick
        # The server gives the dropped statements up at their statement_timeout (the deadline).
        await asyncio.sleep(deadline)
        await setup.execute("ROLLBACK")
        assert await setup.fetchval("SELECT last_write FROM variables WHERE id = $1", var) is None
    finally:
        await writes.close()
        await database.close()
        await setup.close()
