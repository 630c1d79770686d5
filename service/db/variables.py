"""Variables: their settings, latest value and order within an account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asyncpg import Record

from service.core.access import BY_ACCOUNT, USABLE, WHO, Actor, access_columns, may_write
from service.core.records import record
from service.core.values import TYPES, ZERO, Candidates, Value, VarType
from service.db.pool import Connection


@record
class Variable:
    account_id: int
    id: str
    type: VarType
    name: str
    description: str
    unit: str
    graph: bool
    perc: bool
    min: float
    max: float
    expire: int
    cooldown: int
    public: bool
    value: Value
    time: int  # whole Unix seconds of the latest value (its creation, until the first write)
    written: bool


@record
class Definition:
    """What create and edit set; edit passes None for what it keeps."""

    type: VarType
    name: str
    description: str | None
    unit: str | None
    graph: bool | None
    perc: bool | None
    min: float | None
    max: float | None
    expire: int | None
    cooldown: int
    public: bool | None

    def args(self) -> tuple[object, ...]:
        """The values of $2 to $12 of the statements below, in their order."""
        return (
            self.type.value,
            self.name,
            self.description,
            self.unit,
            self.graph,
            self.perc,
            self.min,
            self.max,
            self.expire,
            self.cooldown,
            self.public,
        )


# Whole Unix seconds of a timestamptz, as devices see times: asyncpg makes a datetime of a timestamptz
# (0.5 µs with its timestamp(), a tenth of the client's work for a row of a batch, issue 13).
def unix_seconds(column: str) -> str:
    return f"floor(extract(epoch FROM {column}))::bigint"


# owner_id, as the read path's statement also holds the acting account's account_id (service/db/reads.py).
VARIABLE_COLUMNS = f"""
    v.account_id AS owner_id, v.id, v.type, v.name, v.description, v.unit, v.graph, v.perc, v.min, v.max,
    v.expire, v.cooldown, v.public, v.value_int, v.value_float, v.value_bool, v.value_text,
    {unix_seconds("v.value_time")} AS time, v.last_write IS NOT NULL AS written
"""


# The column that holds a value of each type (in variables and in history).
VALUE_COLUMN = {
    VarType.INT: "value_int",
    VarType.FLOAT: "value_float",
    VarType.BOOL: "value_bool",
    VarType.STRING: "value_text",
}


def stored_value(row: Record | dict[str, Any], type_: VarType) -> Value:
    """The value of a row with value_int/value_float/value_bool/value_text columns."""
    value = row[VALUE_COLUMN[type_]]
    return ZERO[type_] if value is None else value


def variable_of(row: Record | None) -> Variable | None:
    if row is None:
        return None
    type_ = TYPES[row["type"]]
    return Variable(
        account_id=row["owner_id"],
        id=row["id"],
        type=type_,
        name=row["name"],
        description=row["description"],
        unit=row["unit"],
        graph=row["graph"],
        perc=row["perc"],
        min=row["min"],
        max=row["max"],
        expire=row["expire"],
        cooldown=row["cooldown"],
        public=row["public"],
        value=stored_value(row, type_),
        time=row["time"],
        written=row["written"],
    )


SELECT_VARIABLE_SQL = f"SELECT {VARIABLE_COLUMNS} FROM variables v WHERE v.account_id = $1 AND v.id = $2"


async def select_variable(conn: Connection, account_id: int, var_id: str) -> Variable | None:
    return variable_of(await conn.fetchrow(SELECT_VARIABLE_SQL, account_id, var_id))


async def select_variables(conn: Connection, account_id: int) -> list[Variable]:
    rows = await conn.fetch(
        f"SELECT {VARIABLE_COLUMNS} FROM variables v WHERE v.account_id = $1 ORDER BY v.position", account_id
    )
    return [v for v in map(variable_of, rows) if v is not None]


async def select_ids(conn: Connection, account_id: int) -> list[str]:
    rows = await conn.fetch("SELECT id FROM variables WHERE account_id = $1 ORDER BY position", account_id)
    return [row["id"] for row in rows]


async def count_variables(conn: Connection, account_id: int) -> int:
    count = await conn.fetchval("SELECT count(*) FROM variables WHERE account_id = $1", account_id)
    return int(count)


async def claim_id(conn: Connection, account_id: int, var_id: str) -> bool:
    """Reserve a globally unique variable id; False if it is taken."""
    status = await conn.execute(
        "INSERT INTO variable_ids (id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", var_id, account_id
    )
    return status.endswith(" 1")


async def insert_variable(conn: Connection, account_id: int, var_id: str, definition: Definition) -> None:
    # The value columns stay NULL until the first write: NULL reads as the type's zero.
    await conn.execute(
        """
        INSERT INTO variables (
            account_id, id, position, type, name, description, unit, graph, perc, min, max,
            expire, cooldown, public, value_time
        )
        SELECT $1, $13, coalesce(max(position) + 1, 0), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
               statement_timestamp()
        FROM variables WHERE account_id = $1
        """,
        account_id,
        *definition.args(),
        var_id,
    )


async def update_settings(conn: Connection, variable: Variable, definition: Definition) -> None:
    """Edit a variable; a new type resets its value to that type's zero and its cooldown (history is
    the caller's)."""
    await conn.execute(
        """
        UPDATE variables SET
            type = $2,
            name = $3,
            description = coalesce($4, description),
            unit = coalesce($5, unit),
            graph = coalesce($6, graph),
            perc = coalesce($7, perc),
            min = coalesce($8, min),
            max = coalesce($9, max),
            expire = coalesce($10, expire),
            cooldown = $11,
            public = coalesce($12, public),
            value_int = CASE WHEN $14 THEN NULL ELSE value_int END,
            value_float = CASE WHEN $14 THEN NULL ELSE value_float END,
            value_bool = CASE WHEN $14 THEN NULL ELSE value_bool END,
            value_text = CASE WHEN $14 THEN NULL ELSE value_text END,
            value_time = CASE WHEN $14 THEN statement_timestamp() ELSE value_time END,
            last_write = CASE WHEN $14 THEN NULL ELSE last_write END
        WHERE account_id = $1 AND id = $13
        """,
        variable.account_id,
        *definition.args(),
        variable.id,
        definition.type != variable.type,
    )


async def delete_variable(conn: Connection, account_id: int, var_id: str) -> None:
    """Delete a variable with its history and free its id."""
    await conn.execute("DELETE FROM history WHERE account_id = $1 AND variable_id = $2", account_id, var_id)
    await conn.execute("DELETE FROM variables WHERE account_id = $1 AND id = $2", account_id, var_id)
    await conn.execute("DELETE FROM variable_ids WHERE id = $1 AND account_id = $2", var_id, account_id)


async def swap_with_neighbour(conn: Connection, account_id: int, var_id: str, *, forward: bool) -> bool:
    """Move a variable one place back or forward in its account's order; False at the end of the line."""
    cmp, order = (">", "ASC") if forward else ("<", "DESC")
    status = await conn.execute(
        f"""
        WITH me AS (
            SELECT id, position FROM variables WHERE account_id = $1 AND id = $2
        ), other AS (
            SELECT v.id, v.position FROM variables v, me
            WHERE v.account_id = $1 AND v.position {cmp} me.position
            ORDER BY v.position {order} LIMIT 1
        )
        UPDATE variables v SET position = CASE WHEN v.id = me.id THEN other.position ELSE me.position END
        FROM me, other
        WHERE v.account_id = $1 AND v.id IN (me.id, other.id)
        """,
        account_id,
        var_id,
    )
    return status != "UPDATE 0"


async def move_to_index(conn: Connection, account_id: int, var_id: str, index: int) -> bool:
    """Put a variable at place `index` (from 0) of its account's order, the others keeping theirs;
    False when the account has no such place (the caller holds the account's row lock)."""
    status = await conn.execute(
        """
        WITH others AS (
            SELECT id, row_number() OVER (ORDER BY position) - 1 AS place
            FROM variables WHERE account_id = $1 AND id <> $2
        ), placed AS (
            SELECT id, CASE WHEN place < $3 THEN place ELSE place + 1 END AS place FROM others
            UNION ALL SELECT $2, $3
        )
        UPDATE variables v SET position = p.place
        FROM placed p
        WHERE v.account_id = $1 AND v.id = p.id AND $3 <= (SELECT count(*) FROM others)
        """,
        account_id,
        var_id,
        index,
    )
    return status != "UPDATE 0"


async def move_to_account(conn: Connection, variable: Variable, target_id: int) -> None:
    """Give a variable, with its history, to another account, at the end of its order."""
    await conn.execute(
        """
        UPDATE variables SET account_id = $3,
            position = (SELECT coalesce(max(position) + 1, 0) FROM variables WHERE account_id = $3)
        WHERE account_id = $1 AND id = $2
        """,
        variable.account_id,
        variable.id,
        target_id,
    )
    await conn.execute(
        "UPDATE history SET account_id = $3 WHERE account_id = $1 AND variable_id = $2",
        variable.account_id,
        variable.id,
        target_id,
    )
    await conn.execute("UPDATE variable_ids SET account_id = $2 WHERE id = $1", variable.id, target_id)


# The hot path of the API in one statement and one round trip (DESIGN.md §4), for one write or for a
# batch of them (service/db/write_batch.py): it applies the access rule (service/core/access.py) to
# each write's account, then writes (or toggles) only if the value fits the variable's type and the
# cooldown has passed, and records the value in history when the variable keeps any. Of the writes
# of one batch to one variable, the first in arrival order that passes is written; the others meet
# its cooldown (at least 1 s), as they would one after the other. Concurrent writes to one row
# serialise on its row lock; the loser re-evaluates the type and cooldown against the winner's row
# (READ COMMITTED re-check) and so changes nothing. Each write is an input row `i`, numbered `n`.
_INPUT = ("cred", "ip", "var_id", "v_int", "v_float", "v_bool", "v_text", "toggle")


def _fits(i: str) -> str:
    """The type and cooldown rules on variable `v` for the write in row `i`."""
    return f"""
    CASE WHEN {i}.toggle THEN v.type = 'bool'
         ELSE CASE v.type WHEN 'int' THEN {i}.v_int IS NOT NULL
                          WHEN 'float' THEN {i}.v_float IS NOT NULL
                          WHEN 'bool' THEN {i}.v_bool IS NOT NULL
                          ELSE {i}.v_text IS NOT NULL END END
    AND (v.last_write IS NULL OR v.last_write + make_interval(secs => v.cooldown) <= statement_timestamp())"""


def _write_sql(who: str, *, many: bool) -> str:
    types = ("bigint" if who == BY_ACCOUNT else "bytea", "inet", "text", "bigint", "float8", "bool", "text", "bool")
    if many:  # $n: arrays of the writes' values, in arrival order
        arrays = ", ".join(f"${n}::{type_}[]" for n, type_ in enumerate(types, 1))
        source = f"SELECT * FROM unnest({arrays}) WITH ORDINALITY AS i ({', '.join(_INPUT)}, n)"
    else:
        named = enumerate(zip(types, _INPUT, strict=True), 1)
        columns = ", ".join(f"${n}::{type_} AS {name}" for n, (type_, name) in named)
        source = f"SELECT {columns}, 1::bigint AS n"

    # Of a batch's writes to one variable, the first in arrival order; a lone write needs no sort.
    first, in_order = ("DISTINCT ON (v.account_id, v.id)", "ORDER BY v.account_id, v.id, i.n") if many else ("", "")

    def bind(sql: str) -> str:  # the access rule's $1 and $2 are the input row's
        return sql.replace("$1", "i.cred").replace("$2", "i.ip")

    # NOT MATERIALIZED: the planner sees a lone write's parameters where they are used, as in a
    # statement without `input`. (Materialized and sorted, a lone write's statement took twice as
    # long, measured on a table without statistics yet.)
    return f"""
WITH input AS NOT MATERIALIZED (
    {source}
), chosen AS (
    SELECT {first} i.*, v.account_id
    FROM input i
    JOIN accounts a ON {bind(who)} AND {bind(USABLE)}
    JOIN variables v ON v.account_id = a.id AND v.id = i.var_id
    WHERE {_fits("i")} AND {bind(may_write(who))}
    {in_order}
), written AS (
    UPDATE variables v SET
        value_int = CASE WHEN v.type = 'int' THEN c.v_int END,
        value_float = CASE WHEN v.type = 'float' THEN c.v_float END,
        value_bool = CASE WHEN v.type = 'bool' THEN
            CASE WHEN c.toggle THEN NOT coalesce(v.value_bool, false) ELSE c.v_bool END END,
        value_text = CASE WHEN v.type = 'string' THEN c.v_text END,
        value_time = statement_timestamp(),
        last_write = statement_timestamp()
    FROM chosen c
    WHERE v.account_id = c.account_id AND v.id = c.var_id AND {_fits("c")}
    RETURNING c.n, v.account_id, v.id, v.expire, v.value_int, v.value_float, v.value_bool, v.value_text,
        v.value_time
), kept AS (
    INSERT INTO history (account_id, variable_id, time, value_int, value_float, value_bool, value_text)
    SELECT account_id, id, value_time, value_int, value_float, value_bool, value_text
    FROM written WHERE expire > 0
)
SELECT {bind(access_columns(who))}, v.type, w.value_bool, {unix_seconds("w.value_time")} AS time,
    -- a write refused for the cooldown meets the one running, or, after a write of its own batch, a new one
    CASE WHEN v.last_write + make_interval(secs => v.cooldown) > statement_timestamp()
         THEN ceil(extract(epoch FROM v.last_write + make_interval(secs => v.cooldown) - statement_timestamp()))
         ELSE v.cooldown END::int AS retry_after
FROM input i
LEFT JOIN accounts a ON {bind(who)}
LEFT JOIN variables v ON v.account_id = a.id AND v.id = i.var_id
LEFT JOIN written w ON w.n = i.n
ORDER BY i.n
"""


_WRITE_SQL = {(who, many): _write_sql(who, many=many) for who in WHO for many in (False, True)}
WRITE_BY_KEY_SQL = _WRITE_SQL[WHO[0], False]  # a lone device's write, as tests/bench/write_path.py gives it to pgbench


@record
class Write:
    """A write of `value` (a toggle, when None) to variable `var_id`, as `actor`."""

    actor: Actor
    var_id: str
    value: Candidates | None

    def args(self) -> tuple[object, ...]:
        value = self.value
        return (
            self.actor.credential,
            self.actor.address,
            self.var_id,
            value.as_int if value else None,
            value.as_float if value else None,
            value.as_bool if value else None,
            value.as_string if value else None,
            value is None,
        )


async def write_values(conn: Connection, writes: Sequence[Write]) -> list[Record]:
    """Make `writes`, all by actors of one kind (Actor.who), in arrival order, in one statement: with
    the access check, and one commit when `conn` is in no transaction.

    Returns a row per write, in their order: the columns of core.access.access_columns plus `type`
    (NULL: no such variable of this account), `value_bool` (a toggle's new value), `time` (whole
    Unix seconds of the value written; NULL: nothing was written) and `retry_after` (seconds left of
    the variable's cooldown, if any).
    """
    many = len(writes) > 1
    args = (
        [list(column) for column in zip(*(write.args() for write in writes), strict=True)] if many else writes[0].args()
    )
    return await conn.fetch(_WRITE_SQL[writes[0].actor.who, many], *args)
