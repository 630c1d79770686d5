"""History: one row per accepted write to a variable that keeps history, pruned by expiry."""

from __future__ import annotations

from asyncpg import Record

from service.core.records import record
from service.core.values import Value, VarType
from service.db.pool import Connection
from service.db.variables import Variable, stored_value


@record
class Point:
    value: Value
    time: int


# Rows older than the latest value and still inside the variable's expire window. The latest
# value itself comes from the variables row, where it never expires (DESIGN.md §3, "Values").
_OLDER_ROWS = """
    FROM history h
    JOIN variables v ON v.account_id = h.account_id AND v.id = h.variable_id
    WHERE h.account_id = $1 {only_one}
      AND h.time < v.value_time
      AND h.time > statement_timestamp() - make_interval(secs => v.expire)
"""
_OLDER = f"""
    SELECT h.variable_id, h.time, h.value_int, h.value_float, h.value_bool, h.value_text
    {_OLDER_ROWS}
    ORDER BY h.variable_id, h.time DESC
"""


def _latest(variable: Variable) -> list[Point]:
    return [Point(variable.value, variable.time)] if variable.written else []


_ONE_OLDER = _OLDER.format(only_one="AND h.variable_id = $2")


def _points(variable: Variable, rows: list[Record]) -> list[Point]:
    return _latest(variable) + [Point(stored_value(r, variable.type), int(r["time"].timestamp())) for r in rows]


async def select_history(conn: Connection, variable: Variable) -> list[Point]:
    """A variable's history, newest first, starting with its latest value once written."""
    return _points(variable, await conn.fetch(_ONE_OLDER, variable.account_id, variable.id))


async def select_recent(conn: Connection, variable: Variable, limit: int) -> list[Point]:
    """The newest `limit` points of select_history, from the index alone."""
    rows = await conn.fetch(f"{_ONE_OLDER} LIMIT $3", variable.account_id, variable.id, limit)
    return _points(variable, rows)[:limit]


Extent = tuple[int | None, int]


async def select_extent(conn: Connection, variable: Variable) -> Extent:
    """The time of the oldest point select_history would return (None: no points) and how many
    points it would return, from the index."""
    row = await conn.fetchrow(
        f"SELECT min(h.time) AS oldest, count(*) AS n {_OLDER_ROWS.format(only_one='AND h.variable_id = $2')}",
        variable.account_id,
        variable.id,
    )
    assert row is not None
    latest = 1 if variable.written else 0
    if row["oldest"] is not None:
        return int(row["oldest"].timestamp()), row["n"] + latest
    return (variable.time if variable.written else None), latest


async def select_account_history(
    conn: Connection, account_id: int, variables: list[Variable]
) -> dict[str, list[Point]]:
    """The history of every variable of an account, in one query."""
    types: dict[str, VarType] = {v.id: v.type for v in variables}
    history = {v.id: _latest(v) for v in variables}
    for r in await conn.fetch(_OLDER.format(only_one=""), account_id):
        var_id = r["variable_id"]
        if var_id in history:
            history[var_id].append(Point(stored_value(r, types[var_id]), int(r["time"].timestamp())))
    return history


async def delete_history(conn: Connection, account_id: int, var_id: str) -> None:
    await conn.execute("DELETE FROM history WHERE account_id = $1 AND variable_id = $2", account_id, var_id)


async def delete_expired_of(conn: Connection, account_id: int, var_id: str) -> None:
    """Drop at once what a lowered `expire` no longer keeps."""
    await conn.execute(
        """
        DELETE FROM history h USING variables v
        WHERE h.account_id = $1 AND h.variable_id = $2 AND v.account_id = $1 AND v.id = $2
          AND h.time <= statement_timestamp() - make_interval(secs => v.expire)
        """,
        account_id,
        var_id,
    )


async def prune_expired(conn: Connection, batch: int = 10_000) -> int:
    """Delete up to `batch` expired history rows of any account; returns how many went."""
    status = await conn.execute(
        """
        DELETE FROM history WHERE ctid IN (
            SELECT h.ctid FROM history h
            JOIN variables v ON v.account_id = h.account_id AND v.id = h.variable_id
            WHERE h.time <= statement_timestamp() - make_interval(secs => v.expire)
            LIMIT $1
        )
        """,
        batch,
    )
    return int(status.split()[-1])
