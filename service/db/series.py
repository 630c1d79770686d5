"""A variable's numeric history over a time range, reduced in SQL to what a chart of some pixels can show."""

from __future__ import annotations

from service.core.records import record
from service.core.values import VarType
from service.db.pool import Connection
from service.db.variables import VALUE_COLUMN, Variable

RAW_PER_COLUMN = 4  # up to this many points per pixel column, the points come as they are


@record
class Bucket:
    """One pixel column of a reduced range: its time span and the lowest and highest value in it."""

    start: float
    end: float
    low: float
    high: float


@record
class Reduced:
    """What a chart draws, oldest first, times in Unix seconds and bools as 0/1.

    `times`/`values` is the line: every point of the range, or, once reduced, each column's first,
    lowest, highest and last point (M4), which draws the same line as every point at that width.
    `buckets` is the min/max envelope of a reduced range (empty when the points come raw).
    """

    times: list[float]
    values: list[float]
    buckets: list[Bucket]
    count: int  # points in the range, before any reduction

    @property
    def reduced(self) -> bool:
        return bool(self.buckets)


EMPTY = Reduced([], [], [], 0)

# The range's history rows: older than the latest value and inside the expire window, as in
# history.py's _OLDER_ROWS. Times count in whole seconds, as Point.time and Variable.time do: a
# point is in (since, until] when its second is.
_IN_RANGE = """
    FROM history h
    JOIN variables v ON v.account_id = h.account_id AND v.id = h.variable_id
    WHERE h.account_id = $1 AND h.variable_id = $2
      AND h.time >= to_timestamp($3::int8 + 1) AND h.time < to_timestamp($4::int8 + 1)
      AND h.time < v.value_time
      AND h.time > statement_timestamp() - make_interval(secs => v.expire)
"""

# One statement, one round trip, every read of history on history_newest_idx. `many` counts at most
# limit + 1 rows (an index-only scan); then exactly one of the two branches runs (one-time filters).
# `pts` adds the latest value, from the variables row, where it never expires; it is inlined, so
# that the look-ups of a column's first and last value become index probes. The columns' aggregates
# are plain min/max on timestamptz and float8: with ordered aggregates, or min/max over
# ARRAY[date_part(...), y], 100,000 points took 45-60 ms instead of 26. Where in its column the
# lowest and highest point lie is not asked: at about one pixel per column it cannot be seen.
_REDUCE = """
WITH many AS (
    SELECT count(*) > $6::int AS yes FROM (SELECT {in_range} LIMIT $6 + 1) AS counted
), pts AS NOT MATERIALIZED (
    SELECT h.time AS t, h.{column}{cast} AS y {in_range} AND h.{column} IS NOT NULL
    UNION ALL
    SELECT v.value_time, v.{column}{cast}
    FROM variables v
    WHERE v.account_id = $1 AND v.id = $2 AND v.last_write IS NOT NULL AND v.{column} IS NOT NULL
      AND v.value_time >= to_timestamp($3 + 1) AND v.value_time < to_timestamp($4 + 1)
), cols AS (
    SELECT date_bin(make_interval(secs => ($4 - $3)::float8 / $5::int), t, to_timestamp($3 + 1)) AS col,
           count(*) AS n, min(y) AS low, max(y) AS high, min(t) AS first, max(t) AS last
    FROM pts
    WHERE (SELECT yes FROM many)
    GROUP BY 1
)
SELECT c.col, c.n, c.low, c.high, c.first, c.last,
       (SELECT y FROM pts WHERE t = c.first LIMIT 1) AS first_y,
       (SELECT y FROM pts WHERE t = c.last LIMIT 1) AS last_y
FROM cols c
UNION ALL
SELECT NULL, 1, y, y, t, t, y, y FROM pts WHERE NOT (SELECT yes FROM many)
ORDER BY first
"""


async def select_reduced(conn: Connection, variable: Variable, since: int, until: int, columns: int) -> Reduced:
    """The variable's numeric history in (since, until] (Unix seconds) for a chart `columns` pixels wide.

    Up to RAW_PER_COLUMN points per column on average it is every point; past that, per column, the
    first, lowest, highest and last point and the column's low/high envelope. A string has no chart:
    EMPTY.
    """
    if variable.type is VarType.STRING or until <= since or columns < 1:
        return EMPTY
    column = VALUE_COLUMN[variable.type]
    cast = "::int::float8" if variable.type is VarType.BOOL else "::float8"
    rows = await conn.fetch(
        _REDUCE.format(in_range=_IN_RANGE, column=column, cast=cast),
        variable.account_id,
        variable.id,
        since,
        until,
        columns,
        RAW_PER_COLUMN * columns,
    )
    width = (until - since) / columns
    times: list[float] = []
    values: list[float] = []
    buckets: list[Bucket] = []
    for row in rows:
        first, last = row["first"].timestamp(), row["last"].timestamp()
        if row["col"] is None:
            times.append(first)
            values.append(row["first_y"])
            continue
        start = row["col"].timestamp()
        low, high = row["low"], row["high"]
        buckets.append(Bucket(start, start + width, low, high))
        # The column's first, lowest, highest and last point; the extremes go between first and
        # last, the one nearer the first value first, so that the line zigzags least.
        extremes = (low, high) if abs(row["first_y"] - low) <= abs(row["first_y"] - high) else (high, low)
        line = [(first, row["first_y"])]
        if row["n"] > 1:
            step = (last - first) / 3
            line += [(first + step, extremes[0]), (first + 2 * step, extremes[1]), (last, row["last_y"])]
        for t, y in line:
            times.append(t)
            values.append(y)
    return Reduced(times, values, buckets, sum(row["n"] for row in rows))
