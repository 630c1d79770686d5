"""GET /api/v1/variables/{id}/history: the `history_query` use case's page, presented for scripts and for
Grafana's Infinity data source.

The body is a JSON array of rows, oldest or newest first as asked, each `{"time": …, "value": …}`
(with `agg=minmax`, `{"time": …, "min": …, "max": …}`): Infinity reads a root array as a table with
no transformation. The next page's cursor travels in headers (`Link: <…>; rel="next"` and
`X-Next-Cursor`), so the body stays that array. `time_format` is `unix` (whole seconds, as every
other time of the API), `unix_ms` (whole milliseconds) or `iso` (ISO 8601 in UTC); `format=csv`
answers the same rows as CSV with a header line.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, RootModel, ValidationError
from starlette.responses import Response

from service.actions.params import HistoryQueryParams
from service.core.compact_json import compact_json
from service.core.values import simple_text
from service.rest.schemas import Model, Scalar

if TYPE_CHECKING:
    from service.rest.app import Call

DESCRIPTION = (
    "A JSON array of `{time, value}` rows (`{time, min, max}` with `agg=minmax`), ready for Grafana's "
    'Infinity data source. When more rows follow, `Link: <url>; rel="next"` and `X-Next-Cursor` name '
    "the next page. `format=csv` answers the same rows as CSV."
)
TimeFormat = Literal["unix", "unix_ms", "iso"]
_OWN = ("time_format", "format", "api_key")  # the query parameters that are REST's, not the use case's


class HistoryFormat(Model):
    time_format: TimeFormat = Field("unix", description="`unix` seconds, `unix_ms` or `iso` 8601 (UTC)")
    format: Literal["json", "csv"] = "json"


class LatestQuery(Model):
    fields: Literal["value", "value,time"] = Field(
        "value,time", description="`value`: each id maps to its value alone (a small answer for a device)"
    )


class PointRow(Model):
    time: int | str
    value: Scalar


class MinMaxRow(Model):
    time: int | str
    min: Scalar
    max: Scalar


class HistoryAnswer(RootModel[list[PointRow | MinMaxRow]]):
    """The rows, in the order asked."""


QUERY = (HistoryQueryParams, HistoryFormat)


def moment(seconds: float, time_format: str) -> int | str:
    """A point's time as `time_format` shows it: whole seconds (as every other time of the API), whole
    milliseconds, or ISO 8601 in UTC with its milliseconds when it has some."""
    millis = math.floor(seconds * 1000 + 0.5)
    if time_format == "unix_ms":
        return millis
    if time_format == "iso":
        when = datetime.fromtimestamp(millis // 1000, UTC)
        fraction = f".{millis % 1000:03d}" if millis % 1000 else ""
        return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    return millis // 1000


def rows(page: Any, time_format: str) -> list[dict[str, Any]]:
    minmax = page.agg == "minmax"
    out = []
    for point in page.points:
        time = moment(point.time, time_format)
        if minmax:
            low, high = point.value
            out.append({"time": time, "min": low, "max": high})
        else:
            out.append({"time": time, "value": point.value})
    return out


def _cell(value: Any) -> str:
    return simple_text(value) if isinstance(value, bool | float) else str(value)


def as_csv(table: list[dict[str, Any]], minmax: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ("time", "min", "max") if minmax else ("time", "value")
    writer.writerow(columns)
    for row in table:
        writer.writerow([_cell(row[c]) for c in columns])
    return out.getvalue()


async def answer(call: Call, var_id: str) -> Response:
    query = call.request.query_params
    try:
        own = HistoryFormat.model_validate({k: query[k] for k in ("time_format", "format") if k in query})
    except ValidationError:
        await call.perform("history_query", None)  # answers as for any malformed parameter, in check order
        raise
    fields = {k: v for k, v in query.items() if k not in _OWN}
    fields["id"] = var_id
    page = await call.perform("history_query", fields)
    table = rows(page, own.time_format)
    headers = {}
    if page.next_cursor is not None:
        headers["X-Next-Cursor"] = page.next_cursor
        headers["Link"] = f'<{call.request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    if own.format == "csv":
        return Response(as_csv(table, page.agg == "minmax"), headers=headers, media_type="text/csv; charset=utf-8")
    return Response(compact_json(table), headers=headers, media_type="application/json")
