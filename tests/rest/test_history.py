"""GET /api/v1/variables/{id}/history: how REST presents a history query (the use case's own tests cover
its SQL): ranges, pages followed through their Link header, aggregates against values computed here,
time formats, and CSV parsed back."""

from __future__ import annotations

import csv
import io
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.rest.conftest import Rest, error_of, key_header

STEP = 300  # seconds between two points: five cooldowns of a variable keeping a day
COUNT = 24  # two hours of points


@pytest.fixture
def series(rest: Rest) -> tuple[str, dict[str, str], list[tuple[int, float]]]:
    """A float variable holding COUNT points STEP apart from an hour boundary three hours ago: (its
    id, the owner's headers, the points as (time, value))."""
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    base = (int(time.time()) // 3600 - 3) * 3600
    points = [(base + i * STEP, round(((i * 7) % 11) * 1.5 - 4, 1)) for i in range(COUNT)]
    items = [{"id": var, "value": value, "time": at} for at, value in points]
    answer = rest.http.post("/api/v1/values", json=items, headers=h)
    assert [r["status"] for r in answer.json()] == [200] * COUNT, answer.text
    return var, h, points


def _get(rest: Rest, var: str, h: dict[str, str], **params: Any) -> Any:
    answer = rest.http.get(f"/api/v1/variables/{var}/history", params=params, headers=h)
    assert answer.status_code == 200, answer.text
    return answer


def test_history_is_newest_first_by_default(rest: Rest, series: Any) -> None:
    var, h, points = series
    rows = _get(rest, var, h).json()
    assert [(r["time"], r["value"]) for r in rows] == points[::-1]


def test_history_ascending_in_each_time_format(rest: Rest, series: Any) -> None:
    var, h, points = series
    assert [r["time"] for r in _get(rest, var, h, order="asc").json()] == [t for t, _ in points]
    assert [r["time"] for r in _get(rest, var, h, order="asc", time_format="unix_ms").json()] == [
        t * 1000 for t, _ in points
    ]
    iso = [r["time"] for r in _get(rest, var, h, order="asc", time_format="iso").json()]
    assert iso == [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t, _ in points]


def test_history_range_is_from_inclusive_to_exclusive(rest: Rest, series: Any) -> None:
    var, h, points = series
    start, end = points[2][0], points[6][0]
    expected = [p for p in points if start <= p[0] < end]
    rows = _get(rest, var, h, order="asc", **{"from": start, "to": end}).json()
    assert [(r["time"], r["value"]) for r in rows] == expected
    iso_start = datetime.fromtimestamp(start, UTC).isoformat()
    rows = _get(rest, var, h, order="asc", **{"from": iso_start, "to": str(end)}).json()
    assert [(r["time"], r["value"]) for r in rows] == expected


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_history_pages_follow_the_link_header(rest: Rest, series: Any, order: str) -> None:
    var, h, points = series
    answer = _get(rest, var, h, order=order, limit=5)
    seen, pages = [], 0
    while True:
        pages += 1
        seen += [(r["time"], r["value"]) for r in answer.json()]
        if "Link" not in answer.headers:
            assert "X-Next-Cursor" not in answer.headers
            break
        link = answer.headers["Link"]
        assert link.endswith('>; rel="next"') and answer.headers["X-Next-Cursor"] in link
        answer = rest.http.get(link[1 : link.index(">")], headers=h)
        assert answer.status_code == 200
    assert pages == 5
    assert seen == (points if order == "asc" else points[::-1])


AGGREGATES = {
    "avg": statistics.fmean,
    "min": min,
    "max": max,
    "count": len,
    "first": lambda values: values[0],
    "last": lambda values: values[-1],
}


@pytest.mark.parametrize("agg", [*AGGREGATES, "minmax"])
def test_history_aggregates_by_hour(rest: Rest, series: Any, agg: str) -> None:
    var, h, points = series
    buckets: dict[int, list[float]] = {}
    for at, value in points:
        buckets.setdefault(at // 3600 * 3600, []).append(value)
    rows = _get(rest, var, h, order="asc", interval="1h", agg=agg).json()
    assert [r["time"] for r in rows] == sorted(buckets)
    for row, values in zip(rows, [buckets[b] for b in sorted(buckets)], strict=True):
        if agg == "minmax":
            assert (row["min"], row["max"]) == (min(values), max(values))
        else:
            assert row["value"] == pytest.approx(AGGREGATES[agg](values))


def test_history_as_csv_parses_back(rest: Rest, series: Any) -> None:
    var, h, points = series
    answer = _get(rest, var, h, order="asc", format="csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["time", "value"]
    assert [(int(t), float(v)) for t, v in rows[1:]] == points
    minmax = list(csv.DictReader(io.StringIO(_get(rest, var, h, format="csv", interval=7200, agg="minmax").text)))
    assert set(minmax[0]) == {"time", "min", "max"}
    values = [v for _, v in points]
    assert sum(1 for _ in minmax) >= 1
    assert min(float(r["min"]) for r in minmax) == min(values) and max(float(r["max"]) for r in minmax) == max(values)


def test_history_of_strings_as_csv_is_quoted(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, type="string")
    h = key_header(owner.key)
    rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 'say "hi", then go'}, headers=h)
    rows = list(csv.reader(io.StringIO(_get(rest, var, h, format="csv", time_format="iso").text)))
    assert rows[1][1] == 'say "hi", then go' and rows[1][0].endswith("Z")


@pytest.mark.parametrize(
    "params",
    [
        {"order": "sideways"},
        {"interval": 60},
        {"agg": "avg"},
        {"interval": 60, "agg": "median"},
        {"time_format": "julian"},
        {"format": "xml"},
        {"limit": 0},
        {"from": "yesterday"},
        {"from": 2000, "to": 1000},
        {"cursor": "nonsense"},
    ],
    ids=repr,
)
def test_history_malformed_query_is_422(rest: Rest, series: Any, params: dict[str, Any]) -> None:
    var, h, _ = series
    answer = rest.http.get(f"/api/v1/variables/{var}/history", params=params, headers=h)
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


def test_history_malformed_query_without_credentials_is_422_as_in_the_protocol(rest: Rest, series: Any) -> None:
    # DESIGN.md §3's check order: a malformed parameter (4) before a variable not found (5).
    var, _, _ = series
    for params in ({"time_format": "julian"}, {"order": "sideways"}):
        answer = rest.http.get(f"/api/v1/variables/{var}/history", params=params)
        assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"
    assert rest.http.get(f"/api/v1/variables/{var}/history").status_code == 404


def test_history_average_of_strings_is_409(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, type="string")
    answer = rest.http.get(
        f"/api/v1/variables/{var}/history", params={"interval": 60, "agg": "avg"}, headers=key_header(owner.key)
    )
    assert answer.status_code == 409 and error_of(answer) == "error_is_string"
