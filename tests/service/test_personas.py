"""Who may do what: every action, asked by every persona, answers as one table says (DESIGN.md §3,
checks 3 and 5, and the locked account's part of check 6), and a refused request changes nothing.

Each cell of the table is one test (`write-bob`), with the parameters a real call needs. An action
that takes an id is asked about a private and a public variable. A request that changes nothing
goes over GET, JSON and form, and the cells share the accounts it asks about; a successful change
(the owner's `delete`) goes once, over GET, to accounts of its own, so it never reaches another cell.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from service.varipass.dispatch import ACTIONS, Answer
from tests import support
from tests.service.personas import (
    IMAGE,
    AnyId,
    Between,
    Holder,
    Variable,
    World,
    assert_answer,
    banned_address,
    stored,
)
from tests.support import TRANSPORTS, WRONG_KEY, Account, Api, Db

# -- The table --------------------------------------------------------------------------------------

PERSONAS = ("owner", "bob", "anonymous", "wrong", "banned", "unconfirmed", "locked", "banned-ip")

OK = "success"
INVALID_ID = "error_invalid_id"
INVALID_KEY = "error_invalid_key"
BANNED = "error_banned"
UNCONFIRMED = "error_unconfirmed"
LOCKED = "error_locked"
IF_PUBLIC = {"private": INVALID_ID, "public": OK}
Expected = str | dict[str, str]  # the result, or the result on a private and on a public variable

# owner: alice, on her variables. bob: another account, on alice's variables (on his own for the
# actions without an id). anonymous: no key, or an empty one. wrong: a key no account has.
# banned, unconfirmed, locked: an account in that state, on its own variables. banned-ip: alice's
# key from a banned address (X-Forwarded-For), and on a public action no key from there.
_ROWS: dict[str, tuple[Expected, ...]] = {
    #            owner  bob         anonymous    wrong        banned  unconfirmed  locked  banned-ip
    "all":      (OK,    OK,         INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "create":   (OK,    OK,         INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, LOCKED, INVALID_KEY),
    "delete":   (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, LOCKED, INVALID_KEY),
    "edit":     (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, LOCKED, INVALID_KEY),
    "graph":    (OK,    INVALID_ID, IF_PUBLIC,   INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "history":  (OK,    INVALID_ID, IF_PUBLIC,   INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "info":     (OK,    INVALID_ID, IF_PUBLIC,   INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "latest":   (OK,    OK,         INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "list":     (OK,    OK,         INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "ordnext":  (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, LOCKED, INVALID_KEY),
    "ordprev":  (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, LOCKED, INVALID_KEY),
    "read":     (OK,    INVALID_ID, IF_PUBLIC,   INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "sgraph":   (OK,    INVALID_ID, IF_PUBLIC,   INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "slatest":  (OK,    OK,         INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "sread":    (OK,    INVALID_ID, IF_PUBLIC,   INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "stoggle":  (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "swrite":   (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "toggle":   (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
    "transfer": (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, LOCKED, INVALID_KEY),
    "write":    (OK,    INVALID_ID, INVALID_KEY, INVALID_KEY, BANNED, UNCONFIRMED, OK,     INVALID_KEY),
}  # fmt: skip

EXPECTED: dict[str, dict[str, Expected]] = {
    action: dict(zip(PERSONAS, row, strict=True)) for action, row in _ROWS.items()
}

# Actions that store something when they succeed; the others must leave everything as it was.
CHANGING = {"create", "edit", "delete", "ordprev", "ordnext", "write", "swrite", "toggle", "stoggle", "transfer"}
WITHOUT_ID = {"create", "list", "all", "latest", "slatest"}
# The personas that are an account in that state, asked about its own variables.
STATES = {"banned", "unconfirmed", "locked"}
# The type of the variables each action is asked about.
TYPE = {"toggle": "bool", "stoggle": "bool"}


def test_table_every_action_and_persona_present() -> None:
    assert sorted(EXPECTED) == sorted(ACTIONS)
    assert all(tuple(row) == PERSONAS for row in EXPECTED.values())


def test_table_anonymous_reads_public_variables_exactly_on_public_actions() -> None:
    for action, spec in ACTIONS.items():
        assert (EXPECTED[action]["anonymous"] == IF_PUBLIC) is spec.public, action
        assert not (spec.public and action in CHANGING), action


# -- One cell ---------------------------------------------------------------------------------------


Way = tuple[str | None, dict[str, str]]  # a key (None: left out) and headers


@dataclass
class Cell:
    """What a cell of the table asks about, and who asks."""

    action: str
    variables: dict[str, Variable]  # "private" and "public", for an action with an id
    own: list[Variable]  # the asking account's variables, for list, all, latest and slatest
    ways: list[Way]  # each way the persona asks
    asking: Account | None  # the account the key names
    target: Account | None  # transfer's
    accounts: list[Account]  # whose storage the cell checks


def cell_of(world: World, action: str, persona: str) -> Cell:
    holder = world.in_state(persona) if persona in STATES else world.alice
    asking: Holder | None = holder
    ways: list[Way] = [(holder.account.key, {})]
    match persona:
        case "bob":
            asking = world.bob
            ways = [(world.bob.account.key, {})]
        case "anonymous":
            asking, ways = None, [(None, {}), ("", {})]
        case "wrong":
            asking, ways = None, [(WRONG_KEY, {})]
        case "banned-ip":  # the owner's key, and on a public action none
            banned = {"X-Forwarded-For": world.banned_ip}
            ways = [(holder.account.key, banned), *([(None, banned)] if ACTIONS[action].public else [])]
    target = world.target if action == "transfer" else None
    accounts = [holder.account, *([world.bob.account] if persona == "bob" else []), *([target] if target else [])]
    own = asking.variables if asking else []
    variables = holder.asked(TYPE.get(action, "float"))
    return Cell(action, variables, own, ways, asking.account if asking else None, target, accounts)


def params_for(cell: Cell, var: Variable | None) -> dict[str, object]:
    """The parameters a real call of the action needs."""
    sent: dict[str, object] = {} if var is None else {"id": var.id}
    match cell.action:
        case "create":
            sent |= {"type": "float", "name": "Persona"}
        case "edit":
            sent |= {"type": "int", "name": "Renamed", "public": True}  # a type change erases the history
        case "write" | "swrite":
            sent["value"] = 7.25
        case "transfer":
            assert cell.target is not None
            sent["target"] = cell.target.email
    return sent


# -- The answers ------------------------------------------------------------------------------------


def info_fields(var: Variable) -> dict[str, object]:
    return {"type": var.type, "name": var.name, **support.VARIABLE_DEFAULTS, "public": var.public}


def text_of(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def success(cell: Cell, var: Variable | None, now: Between) -> object:
    """The successful answer: a JSON object, a simple text, or IMAGE."""
    own = cell.own
    match cell.action:
        case "create":
            return {"result": OK, "id": AnyId()}
        case "edit" | "delete" | "ordprev" | "ordnext" | "write" | "transfer":
            return {"result": OK}
        case "swrite":
            return OK
        case "list":
            return {"result": OK, "list": [v.id for v in own]}
        case "all":
            return {
                "result": OK,
                "list": [{"id": v.id, **info_fields(v), "history": v.history} for v in own],
                "current": now,
            }
        case "latest":
            return {"result": OK, "list": [{"id": v.id, "value": v.value, "time": v.time} for v in own], "current": now}
        case "slatest":
            return f"{OK}|{len(own)}|" + "".join(f"{v.id}|{text_of(v.value)}|" for v in own)
        case "graph" | "sgraph":
            return IMAGE
    assert var is not None
    match cell.action:
        case "info":
            return {"result": OK, **info_fields(var)}
        case "read":
            return {"result": OK, "value": var.value, "time": var.time, "current": now}
        case "sread":
            return f"{OK}|{text_of(var.value)}"
        case "history":
            return {"result": OK, "history": var.history, "current": now}
        case "toggle":
            return {"result": OK, "value": not var.value, "time": now, "current": now}
        case "stoggle":
            return f"{OK}|{text_of(not var.value)}"
    raise AssertionError(f"no successful answer for {cell.action}")


def expected_answer(cell: Cell, result: str, var: Variable | None, now: Between) -> object:
    if result == OK:
        return success(cell, var, now)
    return result if ACTIONS[cell.action].answer is Answer.SIMPLE else {"result": result}


# -- The matrix -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_world(api: Api, db: Db) -> Iterator[World]:
    """The accounts the cells that change nothing ask about (a refused request changes nothing)."""
    with banned_address(db) as ip:
        yield World(api, db, ip, ("float", "bool"))


CELLS = [
    pytest.param(action, persona, EXPECTED[action][persona], id=f"{action}-{persona}")
    for action in sorted(ACTIONS)
    for persona in PERSONAS
]


@pytest.mark.parametrize(("action", "persona", "expected"), CELLS)
def test_action_asked_by_persona_answers_as_tabled_and_refused_changes_nothing(
    api: Api, db: Db, shared_world: World, action: str, persona: str, expected: Expected
) -> None:
    changes = action in CHANGING and expected == OK
    if changes:
        padded = action in ("ordprev", "ordnext")
        world = World(api, db, shared_world.banned_ip, (TYPE.get(action, "float"),), padded=padded)
    else:
        world = shared_world
    cell = cell_of(world, action, persona)
    asked: dict[str, Variable | None] = {"no": None} if action in WITHOUT_ID else {**cell.variables}
    # A successful change may change the asking account and the target, and nothing else.
    kept = [account for account in cell.accounts if not changes or account not in (cell.asking, cell.target)]
    before = stored(db, kept)

    for visibility, var in asked.items():
        result = expected if isinstance(expected, str) else expected[visibility]
        for transport in ("get",) if changes else TRANSPORTS:
            for key, headers in cell.ways:
                start = time.time()
                response = api.request(transport, headers, action=action, key=key, **params_for(cell, var))
                want = expected_answer(cell, result, var, Between(start, time.time()))
                where = f"{visibility} variable, {transport}, key {key!r}, {headers}"
                assert_answer(response, ACTIONS[action].answer is Answer.SIMPLE, want, where)

    after = stored(db, kept)
    if changes:  # so may the number of variables
        before, after = before[1:], after[1:]
    assert after == before
