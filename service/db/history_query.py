"""History queries (issue 14): a variable's points in a time range, page by page, as they are or
reduced to buckets of whole seconds aligned to the Unix epoch.

The points are the ones `history` answers (service/db/history.py): the rows older than the latest
value and still inside the expire window, then the latest value from the variables row, where it
never expires. The cooldown keeps a variable to about the plan's max_history_points (1,440) of them,
so each statement here reads a few thousand rows at most, on history_newest_idx.

Paging over points goes by time, and points of one time (none come from the write paths, whose
cooldown spaces points by a second at least, but rows may be put there otherwise) are told apart
by their place among the points of that time, ordered by value: a page ends at (time, place), and
the next starts after it. The position needs no row identity (a ctid moves with VACUUM FULL, and
identical rows cannot be told apart anyway), and it stays exact while the points of that one time
are left as they are; a point added or expired elsewhere in the range moves no position.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.core.records import record
from service.core.values import Value, VarType
from service.db.pool import Connection
from service.db.variables import VALUE_COLUMN, Variable

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@record
class Stamped:
    """A point of history, or a bucket's aggregate, and where it lies for the next page."""

    micros: int  # Unix microseconds: the point's time, or its bucket's start
    value: Value | tuple[Value, Value]  # minmax: (min, max)
    nth: int  # the point's place among the points of its time, in the query's order (1 for a bucket)


# t, y: the points in [$3, $4) (NULL: unbounded), as history.py's _OLDER_ROWS plus the latest value.
_POINTS = """
    SELECT h.time AS t, h.{column} AS y
    FROM history h
    JOIN variables v ON v.account_id = h.account_id AND v.id = h.variable_id
    WHERE h.account_id = $1 AND h.variable_id = $2 AND h.{column} IS NOT NULL
      AND h.time >= coalesce($3::timestamptz, '-infinity') AND h.time < coalesce($4::timestamptz, 'infinity')
      AND h.time < v.value_time
      AND h.time > statement_timestamp() - make_interval(secs => v.expire)
    UNION ALL
    SELECT v.value_time, v.{column}
    FROM variables v
    WHERE v.account_id = $1 AND v.id = $2 AND v.last_write IS NOT NULL AND v.{column} IS NOT NULL
      AND v.value_time >= coalesce($3::timestamptz, '-infinity')
      AND v.value_time < coalesce($4::timestamptz, 'infinity')
"""

# $5, $6: the previous page's last point (time, place); NULL, 0 on the first page.
_RAW = """
SELECT t, y, nth
FROM (
    SELECT t, y, row_number() OVER (PARTITION BY t ORDER BY y {direction}) AS nth
    FROM ({points}) AS p
) AS numbered
WHERE t IS DISTINCT FROM $5::timestamptz OR nth > $6::int8
ORDER BY t {direction}, nth
LIMIT $7
"""

# $5: the bucket's width in seconds; b: its start in Unix seconds (floor, so before 1970 too); n: how
# many points it holds.
_BUCKETS = """
SELECT b, {first} AS y, {second} AS z
FROM (
    SELECT b, t, y, count(*) OVER (PARTITION BY b) AS n
    FROM (SELECT (floor(extract(epoch FROM t) / $5::int8) * $5::int8)::int8 AS b, t, y FROM ({points}) AS p) AS p
) AS binned
GROUP BY b
ORDER BY b {direction}
LIMIT $6
"""

# avg over float8 sums squares as well (it is variance's accumulator) and fails past 1e154; the sum of
# y / n never passes the largest |y|. Over bigint it is exact.
_MEAN = {VarType.INT: "avg(y)::float8", VarType.FLOAT: "sum(y / n)", VarType.BOOL: "avg(y::int)::float8"}


def _aggregates(agg: str, type_: VarType) -> tuple[str, str]:
    """The SQL of an aggregate (and of minmax's second), over bucket columns t and y.

    A bool is 1 for true: its avg is the share of true, its min false unless every point is true.
    The first and last of a bucket are by time, then by value among points of one time.
    """
    low, high = ("bool_and(y)", "bool_or(y)") if type_ is VarType.BOOL else ("min(y)", "max(y)")
    match agg:
        case "count":
            return "count(*)", "NULL"
        case "first":
            return "(array_agg(y ORDER BY t, y))[1]", "NULL"
        case "last":
            return "(array_agg(y ORDER BY t DESC, y DESC))[1]", "NULL"
        case "min":
            return low, "NULL"
        case "max":
            return high, "NULL"
        case "minmax":
            return low, high
        case "avg":
            return _MEAN[type_], "NULL"
    raise ValueError(agg)


def micros_of(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def moment_of(micros: int) -> datetime:
    return EPOCH + micros * MICROSECOND


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else max(a, b)


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else min(a, b)


async def select_points(
    conn: Connection,
    variable: Variable,
    lower: datetime | None,
    upper: datetime | None,
    *,
    descending: bool,
    after: tuple[int, int] | None,
    limit: int,
) -> list[Stamped]:
    """Up to `limit` points of the variable in [lower, upper) (None: unbounded), oldest or newest first,
    after the position (micros, nth) a previous page ended at."""
    since, place = None, 0
    if after is not None:
        since, place = moment_of(after[0]), after[1]
        # The points of the position's own time are all in the range still; the rest are skipped.
        if descending:
            upper = _earlier(upper, since + MICROSECOND)
        else:
            lower = _later(lower, since)
    direction = "DESC" if descending else "ASC"
    sql = _RAW.format(points=_POINTS.format(column=VALUE_COLUMN[variable.type]), direction=direction)
    rows = await conn.fetch(sql, variable.account_id, variable.id, lower, upper, since, place, limit)
    return [Stamped(micros_of(r["t"]), r["y"], r["nth"]) for r in rows]


async def select_buckets(
    conn: Connection,
    variable: Variable,
    lower: datetime | None,
    upper: datetime | None,
    *,
    interval: int,
    agg: str,
    descending: bool,
    after: int | None,
    limit: int,
) -> list[Stamped]:
    """Up to `limit` buckets of `interval` seconds (aligned to the epoch) holding points of the variable in
    [lower, upper), each with its start and `agg` over those points, after the bucket starting at `after`
    (Unix microseconds) a previous page ended at. Only non-empty buckets come; an edge bucket holds
    only the points inside the range.

    `agg`: avg, min, max, minmax (a pair), count, first or last; the caller keeps the first four
    from a string variable.
    """
    if after is not None:
        if descending:
            upper = _earlier(upper, moment_of(after))
        else:
            lower = _later(lower, moment_of(after) + timedelta(seconds=interval))
    first, second = _aggregates(agg, variable.type)
    sql = _BUCKETS.format(
        points=_POINTS.format(column=VALUE_COLUMN[variable.type]),
        first=first,
        second=second,
        direction="DESC" if descending else "ASC",
    )
    rows = await conn.fetch(sql, variable.account_id, variable.id, lower, upper, interval, limit)
    return [Stamped(r["b"] * 1_000_000, (r["y"], r["z"]) if agg == "minmax" else r["y"], 1) for r in rows]
