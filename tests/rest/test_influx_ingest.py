"""The InfluxDB line-protocol ingest (service/rest/influx.py) against the real database: the use cases
run as they do behind POST /api/v2/write, no mocks.

tests/rest/telegraf_body.txt is a body as Telegraf's outputs.influxdb_v2 sends it (its influx
serializer: tags sorted by key, integers with `i`, nanosecond timestamps, one metric a line); the
tests move its timestamps to just before now, since write_at keeps no point older than a
variable's `expire`.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.params import NAME_MAX, NoParams
from service.core.access import Actor
from service.core.changes import ChangeKind
from service.core.ids import key_hash
from service.core.results import Forbidden, Result, VariPassError
from service.db.variables import Variable
from service.rest.influx import IngestResult, ingest
from tests.support import Account, Db, make_account

TELEGRAF_BODY = Path(__file__).with_name("telegraf_body.txt").read_text()
HOST = "host=telegraf-host"
ROOT_DISK = "device=nvme0n1p2,fstype=ext4,host=telegraf-host,mode=rw,path=/"
EFI_DISK = "device=nvme0n1p1,fstype=vfat,host=telegraf-host,mode=rw,path=/boot/efi"
TELEGRAF_FIELDS = 10 + 10 + 7 + 7 + 10 + 5 + 1 + 1  # the fields of its eight lines


def by_key(account: Account) -> Actor:
    return Actor.by_key(key_hash(account.key), None)


async def variables(services: Services, account: Account) -> dict[str, Variable]:
    """The account's variables by name (each test's names are its own)."""
    listed = await USE_CASES["latest"].perform(services, by_key(account), NoParams())
    return {v.name: v for v in listed.value}


async def create(services: Services, account: Account, **fields: Any) -> str:
    made = await USE_CASES["create"].perform_fields(services, by_key(account), fields)
    return str(made.value)


def results(outcome: IngestResult) -> list[tuple[int, str, Result]]:
    return [(p.line, f.name, f.result) for p in outcome.points for f in p.fields]


def shifted(body: str, to_ns: int) -> str:
    """The body with its timestamps moved so that the latest is `to_ns` (their spacing kept)."""
    stamps = [int(s) for s in re.findall(r" (\d{19})$", body, flags=re.MULTILINE)]
    offset = to_ns - max(stamps)
    return re.sub(r" (\d{19})$", lambda m: f" {int(m[1]) + offset}", body, flags=re.MULTILINE)


def without_timestamps(body: str) -> str:
    """The body as Telegraf sends it with influx_omit_timestamp = true."""
    return re.sub(r" \d{19}$", "", body, flags=re.MULTILINE)


# What the recorded body writes, some of every measurement and every type.
TELEGRAF_VALUES: dict[str, Any] = {
    f"cpu.usage_idle{{cpu=cpu-total,{HOST}}}": 97.48743718592965,
    f"cpu.usage_steal{{cpu=cpu-total,{HOST}}}": 0.0,
    f"cpu.usage_user{{cpu=cpu0,{HOST}}}": 1.0101010101010102,
    f"disk.free{{{ROOT_DISK}}}": 181373300736,
    f"disk.inodes_total{{{ROOT_DISK}}}": 15597568,
    f"disk.used_percent{{{EFI_DISK}}}": 1.0580008601847546,
    f"disk.inodes_used{{{EFI_DISK}}}": 0,
    f"mem.total{{{HOST}}}": 16625164288,
    f"mem.available_percent{{{HOST}}}": 73.89209479102155,
    f"system.load15{{{HOST}}}": 0.41,
    f"system.n_cpus{{{HOST}}}": 8,
    f"system.uptime{{{HOST}}}": 1209600,
    f"system.uptime_format{{{HOST}}}": "14 days,  0:00",
}


def assert_telegraf_variables(found: dict[str, Variable]) -> None:
    assert len(found) == TELEGRAF_FIELDS
    for name, value in TELEGRAF_VALUES.items():
        assert found[name].value == value and type(found[name].value) is type(value), name
        assert found[name].type == {int: "int", float: "float", str: "string"}[type(value)]
        assert found[name].written


@pytest.mark.anyio
async def test_ingest_telegraf_body_without_timestamps_creates_and_writes_every_field(
    services: Services, alice: Account
) -> None:
    before = int(time.time())

    outcome = await ingest(services, by_key(alice), without_timestamps(TELEGRAF_BODY).encode(), "ns")

    assert (outcome.status, outcome.body, outcome.errors) == (204, None, ())
    assert [p.line for p in outcome.points] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(f.written and f.created for p in outcome.points for f in p.fields)
    found = await variables(services, alice)
    assert_telegraf_variables(found)
    assert all(v.time >= before for v in found.values())
    kinds = [c.kind for c in outcome.changes]
    assert kinds.count(ChangeKind.CREATED) == kinds.count(ChangeKind.WRITTEN) == TELEGRAF_FIELDS


@pytest.mark.anyio
async def test_ingest_telegraf_body_with_timestamps_lands_at_their_times(services: Services, alice: Account) -> None:
    latest = time.time_ns() - 30 * 10**9
    body = shifted(TELEGRAF_BODY, latest)

    outcome = await ingest(services, by_key(alice), body.encode(), "ns")

    assert (outcome.status, outcome.body) == (204, None), results(outcome)
    found = await variables(services, alice)
    assert_telegraf_variables(found)
    assert found[f"mem.total{{{HOST}}}"].time == (latest - 1_834_950 + 958_301) // 10**9
    assert found[f"disk.free{{{EFI_DISK}}}"].time == latest // 10**9


@pytest.mark.anyio
@pytest.mark.parametrize(("precision", "scale"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
async def test_ingest_precision_reads_timestamps_in_its_unit(
    services: Services, alice: Account, precision: str, scale: int
) -> None:
    when = int(time.time()) - 120

    outcome = await ingest(services, by_key(alice), f"room temp=21.5 {when * scale}".encode(), precision)

    assert outcome.status == 204, results(outcome)
    assert (await variables(services, alice))["room.temp"].time == when


@pytest.mark.anyio
async def test_ingest_second_body_within_the_cooldown_gets_error_cooldown_per_field(
    services: Services, alice: Account
) -> None:
    body = without_timestamps(TELEGRAF_BODY).encode()
    await ingest(services, by_key(alice), body, "ns")
    first = await variables(services, alice)

    again = await ingest(services, by_key(alice), body.replace(b"n_cpus=8i", b"n_cpus=9i"), "ns")

    assert again.status == 422
    assert {r for _, _, r in results(again)} == {Result.ERROR_COOLDOWN}
    assert len(results(again)) == TELEGRAF_FIELDS
    assert all(f.retry_after is None or 0 < f.retry_after <= 60 for p in again.points for f in p.fields)
    assert again.body == {
        "code": "unprocessable entity",
        "message": f"partial write: cpu.usage_guest{{cpu=cpu-total,{HOST}}} (line 1): error_cooldown; "
        f"and {TELEGRAF_FIELDS - 1} more values dropped={TELEGRAF_FIELDS}",
    }
    assert again.changes == ()
    assert await variables(services, alice) == first


@pytest.mark.anyio
async def test_ingest_bad_line_among_good_ones_writes_the_good_ones_and_answers_400(
    services: Services, alice: Account
) -> None:
    body = b"room temp=21.5\nroom,sensor=2 humidity=\r\n# a comment\nroom,sensor=3 co2=412i\nroom pressure=abc\n"

    outcome = await ingest(services, by_key(alice), body, "ns")

    assert outcome.status == 400
    assert outcome.body == {
        "code": "invalid",
        "message": "partial write: unable to parse 'room,sensor=2 humidity=': missing field value (line 2); "
        "and 1 more lines dropped=2",
    }
    assert [(e.line, e.reason) for e in outcome.errors] == [(2, "missing field value"), (5, "invalid boolean")]
    assert results(outcome) == [(1, "room.temp", Result.SUCCESS), (4, "room.co2{sensor=3}", Result.SUCCESS)]
    found = await variables(services, alice)
    assert {name: v.value for name, v in found.items()} == {"room.temp": 21.5, "room.co2{sensor=3}": 412}


@pytest.mark.anyio
async def test_ingest_bad_lines_with_refused_values_names_both(services: Services, alice: Account) -> None:
    await create(services, alice, type="int", name="room.temp")

    outcome = await ingest(services, by_key(alice), b"room temp=21.5\nroom humidity=", "ns")

    assert outcome.status == 400
    assert outcome.body == {
        "code": "invalid",
        "message": "partial write: unable to parse 'room humidity=': missing field value (line 2); "
        "room.temp (line 1): error_invalid_parameters dropped=2",
    }


@pytest.mark.anyio
async def test_ingest_only_bad_lines_answers_400_and_changes_nothing(services: Services, alice: Account) -> None:
    outcome = await ingest(services, by_key(alice), b"room\nroom temp=hot", "ns")

    assert outcome.status == 400
    assert outcome.body == {
        "code": "invalid",
        "message": "unable to parse 'room': missing fields (line 1); and 1 more lines",
    }
    assert (outcome.points, outcome.changes) == ((), ())
    assert await variables(services, alice) == {}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "precision", "status", "answer"),
    [
        (b"", "ns", 400, {"code": "invalid", "message": "writing requires points"}),
        (
            b"room temp=1",
            "h",
            400,
            {"code": "invalid", "message": "invalid precision; valid precision units are ns, us, ms, and s"},
        ),
        (
            b"room temp=1\n" * 5001,
            "ns",
            413,
            {"code": "request too large", "message": "points batch is too large: more than 5000 lines"},
        ),
    ],
    ids=["empty", "precision", "too many lines"],
)
async def test_ingest_refused_body_writes_nothing(
    services: Services, alice: Account, body: bytes, precision: str, status: int, answer: dict[str, str]
) -> None:
    outcome = await ingest(services, by_key(alice), body, precision)

    assert (outcome.status, outcome.body, outcome.points, outcome.changes) == (status, answer, (), ())
    assert await variables(services, alice) == {}


@pytest.mark.anyio
async def test_ingest_only_comments_is_204_with_nothing_written(services: Services, alice: Account) -> None:
    outcome = await ingest(services, by_key(alice), b"# nothing to say\n\n", "ns")
    assert (outcome.status, outcome.body, outcome.points) == (204, None, ())


@pytest.mark.anyio
async def test_ingest_field_types_make_variables_of_their_type(services: Services, alice: Account) -> None:
    body = b'dev i=-7i,u=18u,f=1.5,b=T,s="on, off"'

    outcome = await ingest(services, by_key(alice), body, "ns")

    assert outcome.status == 204
    found = await variables(services, alice)
    assert {name: (v.type.value, v.value) for name, v in found.items()} == {
        "dev.i": ("int", -7),
        "dev.u": ("int", 18),
        "dev.f": ("float", 1.5),
        "dev.b": ("bool", True),
        "dev.s": ("string", "on, off"),
    }


@pytest.mark.anyio
async def test_ingest_existing_variable_found_by_exact_name(services: Services, alice: Account, bob: Account) -> None:
    var = await create(services, alice, type="int", name="room.co2{sensor=3}")
    bobs = await create(services, bob, type="int", name="room.co2{sensor=3}")
    await create(services, alice, type="int", name="Room.co2{sensor=3}")

    outcome = await ingest(services, by_key(alice), b"room,sensor=3 co2=450i", "ns")

    assert outcome.status == 204
    assert [(f.id, f.created) for p in outcome.points for f in p.fields] == [(var, False)]
    found = await variables(services, alice)
    assert (len(found), found["room.co2{sensor=3}"].value, found["Room.co2{sensor=3}"].value) == (2, 450, 0)
    assert (await variables(services, bob))["room.co2{sensor=3}"].id == bobs
    assert (await variables(services, bob))["room.co2{sensor=3}"].value == 0


@pytest.mark.anyio
async def test_ingest_two_variables_of_one_name_first_in_order_written(services: Services, alice: Account) -> None:
    first = await create(services, alice, type="float", name="room.temp")
    second = await create(services, alice, type="float", name="room.temp")

    outcome = await ingest(services, by_key(alice), b"room temp=20.5", "ns")

    assert outcome.status == 204
    listed = (await USE_CASES["latest"].perform(services, by_key(alice), NoParams())).value
    assert [(v.id, v.value) for v in listed] == [(first, 20.5), (second, 0.0)]


@pytest.mark.anyio
async def test_ingest_value_not_fitting_its_variable_is_refused_422(services: Services, alice: Account) -> None:
    await create(services, alice, type="int", name="room.temp")

    outcome = await ingest(services, by_key(alice), b"room temp=21.5,humidity=40", "ns")

    assert outcome.status == 422
    assert results(outcome) == [
        (1, "room.temp", Result.ERROR_INVALID_PARAMETERS),
        (1, "room.humidity", Result.SUCCESS),
    ]
    assert outcome.body == {
        "code": "unprocessable entity",
        "message": "partial write: room.temp (line 1): error_invalid_parameters dropped=1",
    }
    found = await variables(services, alice)
    assert (found["room.temp"].value, found["room.humidity"].value) == (0, 40.0)


@pytest.mark.anyio
async def test_ingest_same_variable_twice_in_one_body_second_meets_the_cooldown(
    services: Services, alice: Account
) -> None:
    outcome = await ingest(services, by_key(alice), b"room temp=20\nroom temp=21\nroom temp=22", "ns")

    assert outcome.status == 422
    assert results(outcome) == [
        (1, "room.temp", Result.SUCCESS),
        (2, "room.temp", Result.ERROR_COOLDOWN),
        (3, "room.temp", Result.ERROR_COOLDOWN),
    ]
    assert (await variables(services, alice))["room.temp"].value == 20.0


@pytest.mark.anyio
async def test_ingest_past_the_plan_limit_error_max_variables(services: Services, db: Db) -> None:
    account = await asyncio.to_thread(make_account, db, max_variables=2)

    outcome = await ingest(services, by_key(account), b"m a=1,b=2,c=3\nm c=4,d=5", "ns")

    assert outcome.status == 422
    assert results(outcome) == [
        (1, "m.a", Result.SUCCESS),
        (1, "m.b", Result.SUCCESS),
        (1, "m.c", Result.ERROR_MAX_VARIABLES),
        (2, "m.c", Result.ERROR_MAX_VARIABLES),
        (2, "m.d", Result.ERROR_MAX_VARIABLES),
    ]
    assert sorted(await variables(services, account)) == ["m.a", "m.b"]


@pytest.mark.anyio
async def test_ingest_locked_account_creates_nothing_but_writes_its_variables(services: Services, db: Db) -> None:
    account = await asyncio.to_thread(make_account, db)
    await create(services, account, type="float", name="m.a")
    await asyncio.to_thread(db.execute, "UPDATE accounts SET locked = true WHERE id = $1", account.id)

    outcome = await ingest(services, by_key(account), b"m a=1,b=2", "ns")

    assert outcome.status == 422
    assert results(outcome) == [(1, "m.a", Result.SUCCESS), (1, "m.b", Result.ERROR_LOCKED)]


@pytest.mark.anyio
async def test_ingest_name_over_the_limit_refused_the_rest_written(services: Services, alice: Account) -> None:
    tag = "t" * (NAME_MAX - len("m.f{k=}") + 1)
    body = f"m,k={tag} f=1\nm g=2".encode()

    outcome = await ingest(services, by_key(alice), body, "ns")

    assert outcome.status == 422
    assert results(outcome) == [
        (1, f"m.f{{k={tag}}}", Result.ERROR_INVALID_PARAMETERS),
        (2, "m.g", Result.SUCCESS),
    ]
    assert outcome.body is not None
    assert outcome.body["message"].endswith(
        f"error_invalid_parameters (name longer than {NAME_MAX} characters) dropped=1"
    )
    assert list(await variables(services, alice)) == ["m.g"]


@pytest.mark.anyio
async def test_ingest_element_over_the_limit_is_a_bad_line(services: Services, alice: Account) -> None:
    outcome = await ingest(services, by_key(alice), f"{'m' * (NAME_MAX + 1)} f=1".encode(), "ns")

    assert outcome.status == 400
    assert [e.reason for e in outcome.errors] == [f"name longer than {NAME_MAX} characters"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("persona", "refused"),
    [
        ("unknown", Result.ERROR_INVALID_KEY),
        ("banned", Result.ERROR_BANNED),
        ("unconfirmed", Result.ERROR_UNCONFIRMED),
    ],
)
async def test_ingest_refused_actor_raises_before_parsing(
    services: Services, db: Db, persona: str, refused: Result
) -> None:
    if persona == "unknown":
        actor = Actor.by_key(key_hash("0123456789abcdef"), None)
    else:
        made = await asyncio.to_thread(make_account, db, banned=persona == "banned", confirmed=persona != "unconfirmed")
        actor = by_key(made)

    with pytest.raises(VariPassError) as raised:
        await ingest(services, actor, b"not line protocol", "ns")

    assert raised.value.result is refused


async def scoped_key(services: Services, account: Account, **limits: Any) -> Actor:
    made = await USE_CASES["key_create"].perform_fields(services, by_key(account), limits)
    return Actor.of_secret(made.value.key, None)


@pytest.mark.anyio
async def test_ingest_scoped_key_writes_its_variables_and_creates_none(services: Services, alice: Account) -> None:
    var = await create(services, alice, type="float", name="room.temp")
    key = await scoped_key(services, alice, variables=[var])

    outcome = await ingest(services, key, b"room temp=21.5,humidity=40", "ns")

    assert outcome.status == 422
    assert results(outcome) == [(1, "room.temp", Result.SUCCESS), (1, "room.humidity", Result.ERROR_INVALID_KEY)]
    assert outcome.body == {
        "code": "unprocessable entity",
        "message": "partial write: room.humidity (line 1): error_invalid_key (the key may not do this) dropped=1",
    }
    assert {name: v.value for name, v in (await variables(services, alice)).items()} == {"room.temp": 21.5}


@pytest.mark.anyio
async def test_ingest_read_only_key_refused_before_anything_is_parsed(services: Services, alice: Account) -> None:
    await create(services, alice, type="float", name="room.temp")
    key = await scoped_key(services, alice, write=False)

    with pytest.raises(Forbidden):
        await ingest(services, key, b"room temp=21.5,humidity=40", "ns")
    assert {name: v.value for name, v in (await variables(services, alice)).items()} == {"room.temp": 0.0}


@pytest.mark.anyio
async def test_ingest_write_only_key_writes_the_variables_it_may(services: Services, alice: Account) -> None:
    # The device's key that Telegraf holds: it finds its variables by name without reading them.
    var = await create(services, alice, type="float", name="room.temp")
    key = await scoped_key(services, alice, variables=[var], read=False)

    outcome = await ingest(services, key, b"room temp=21.5", "ns")

    assert outcome.status == 204
    assert {name: v.value for name, v in (await variables(services, alice)).items()} == {"room.temp": 21.5}
