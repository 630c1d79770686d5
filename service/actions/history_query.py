"""history_query (issue 14): a variable's history over a time range, page by page, as its points or
reduced to buckets; the front doors choose how to show times and values (unix, ms, ISO; JSON, CSV)."""

from __future__ import annotations

from service.actions.context import Outcome
from service.actions.params import NUMERIC_AGGREGATES, HistoryQueryParams
from service.actions.reads import ReadCtx
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.values import Value, VarType
from service.db import history_query as db_history_query


@record
class HistoryPoint:
    time: float  # Unix seconds, to the microsecond; for a bucket, its start
    # A point's value; a bucket's aggregate: count an int, avg a float, minmax a (min, max) pair,
    # the others a value of the variable's type (min/max of a bool: false/true).
    value: Value | tuple[Value, Value]


@record
class HistoryPage:
    """One page of a history query, in the order asked."""

    points: tuple[HistoryPoint, ...]
    next_cursor: str | None  # the `cursor` of the next page; None when this page is the last
    agg: str | None = None  # None: the points as they are
    interval: int | None = None  # a bucket's width in seconds, with `agg`

    @property
    def aggregated(self) -> bool:
        return self.agg is not None


async def query(ctx: ReadCtx, p: HistoryQueryParams) -> Outcome[HistoryPage]:
    """A page of the variable's history, as `p` asks.

    Raises:
        VariPassError: error_invalid_id (ReadCtx.variable), then error_is_string for avg, min, max
            or minmax over a string variable.
    """
    variable = ctx.variable
    if p.agg in NUMERIC_AGGREGATES and variable.type is VarType.STRING:
        raise VariPassError(Result.ERROR_IS_STRING)
    position = p.position
    descending = p.order == "desc"
    # One more than the page, to know whether another follows.
    if p.agg is None or p.interval is None:
        rows = await db_history_query.select_points(
            ctx.conn, variable, p.from_, p.to, descending=descending, after=position, limit=p.limit + 1
        )
    else:
        rows = await db_history_query.select_buckets(
            ctx.conn,
            variable,
            p.from_,
            p.to,
            interval=p.interval,
            agg=p.agg,
            descending=descending,
            after=None if position is None else position[0],
            limit=p.limit + 1,
        )
    page, more = rows[: p.limit], len(rows) > p.limit
    next_cursor = p.cursor_at(page[-1].micros, page[-1].nth) if more else None
    points = tuple(HistoryPoint(row.micros / 1_000_000, row.value) for row in page)
    return Outcome(HistoryPage(points, next_cursor, p.agg, p.interval))
