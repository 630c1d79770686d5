"""Back-filled points (issue 14): a reading a device measured at some time and sends later.

Two statements in one short transaction (service/actions/backfill.py holds it): the variable's row
lock, then the write. The lock must come first in a statement of its own: the write's look for a
neighbouring point reads a snapshot taken when its statement starts, which, after the lock, holds
every point the previous holder of the lock committed. (In one statement the snapshot would predate
the wait for the lock, and two back-fills to one time could both find no neighbour.)
"""

from __future__ import annotations

from datetime import datetime

from service.core.records import record
from service.core.values import TYPES, Value, VarType
from service.db.pool import Connection


@record
class Locked:
    """A variable's row, locked for the rest of the transaction."""

    type: VarType
    expire: int
    cooldown: int
    value_time: datetime  # the latest value's time (the variable's creation, until the first write)
    last_write: datetime | None  # None: never written
    now: datetime  # the database's clock when the lock was taken


async def lock_variable(conn: Connection, account_id: int, var_id: str) -> Locked | None:
    """Lock the account's variable `var_id` (inside the caller's transaction); None: it has none."""
    row = await conn.fetchrow(
        """
        SELECT type, expire, cooldown, value_time, last_write, statement_timestamp() AS now
        FROM variables WHERE account_id = $1 AND id = $2
        FOR UPDATE
        """,
        account_id,
        var_id,
    )
    if row is None:
        return None
    return Locked(TYPES[row["type"]], row["expire"], row["cooldown"], row["value_time"], row["last_write"], row["now"])


_COLUMNS = {VarType.INT: 0, VarType.FLOAT: 1, VarType.BOOL: 2, VarType.STRING: 3}


async def insert_point(
    conn: Connection,
    account_id: int,
    var_id: str,
    locked: Locked,
    time: datetime,
    value: Value,
    *,
    latest: bool,
) -> bool:
    """Put the point in history (when the variable keeps any) unless history holds a point less than
    its cooldown away, and when `latest`, make it the variable's latest value too; in one statement.

    The last write becomes the later of itself and `time`, never earlier than any point: the live
    path's cooldown (service/db/variables.py) then keeps its next point a cooldown after all of them.

    Returns False, having written nothing, when a point lies too near.
    """
    values: list[Value | None] = [None, None, None, None]
    values[_COLUMNS[locked.type]] = value
    return bool(
        await conn.fetchval(
            """
            WITH kept AS (
                INSERT INTO history (account_id, variable_id, time, value_int, value_float, value_bool, value_text)
                SELECT $1::int8, $2::text, $3::timestamptz, $4::int8, $5::float8, $6::bool, $7::text
                WHERE $8::bool AND NOT EXISTS (
                    SELECT FROM history h
                    WHERE h.account_id = $1 AND h.variable_id = $2
                      AND h.time > $3 - make_interval(secs => $9::int) AND h.time < $3 + make_interval(secs => $9::int)
                )
                RETURNING time
            ), latest AS (
                UPDATE variables SET
                    value_int = $4::int8, value_float = $5::float8, value_bool = $6::bool, value_text = $7::text,
                    value_time = $3, last_write = greatest(last_write, $3)
                WHERE account_id = $1 AND id = $2 AND $10::bool AND (NOT $8::bool OR EXISTS (SELECT FROM kept))
            )
            SELECT NOT $8::bool OR EXISTS (SELECT FROM kept)
            """,
            account_id,
            var_id,
            time,
            *values,
            locked.expire > 0,
            locked.cooldown,
            latest,
        )
    )
