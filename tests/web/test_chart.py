"""The history chart's SVG, drawn from values alone (no database)."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from service.db.series import EMPTY, Bucket, Reduced
from service.web.chart import history_svg
from tests.harness import ROOT

SVG = "{http://www.w3.org/2000/svg}"
UTC_ZONE = zoneinfo.ZoneInfo("UTC")
# 2026-12-04 00:00 UTC: 09:00 in Tokyo.
MIDNIGHT = int(datetime(2026, 12, 4, tzinfo=UTC).timestamp())
HOUR, DAY = 3600, 86400


def draw(series: Reduced, *, since: int = MIDNIGHT - DAY, until: int = MIDNIGHT, **options: object) -> str:
    arguments: dict[str, object] = {
        "tz": UTC_ZONE,
        "unit": "°C",
        "title": None,
        "width_px": 800,
        "height_px": 320,
        "step": False,
        **options,
    }
    return history_svg(series, since=since, until=until, **arguments)  # type: ignore[arg-type]


def raw(times: list[float], values: list[float]) -> Reduced:
    return Reduced(times, values, [], len(times))


def texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return [text.text.strip() for text in root.iter(f"{SVG}text") if text.text and text.text.strip()]


def path_points(svg: str, gid: str) -> list[tuple[float, float]]:
    """The vertices of the paths inside the group `gid`, in picture units (y grows downwards)."""
    group = ElementTree.fromstring(svg).find(f".//{SVG}g[@id='{gid}']")
    assert group is not None, f"no {gid} in the picture"
    numbers = [float(n) for path in group.iter(f"{SVG}path") for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def day_of_points(n: int = 200) -> Reduced:
    since = MIDNIGHT - DAY
    return raw([since + (i + 1) * DAY / n for i in range(n)], [20 + (i % 7) for i in range(n)])


def test_history_svg_is_xml_sized_by_its_container_and_named() -> None:
    svg = draw(day_of_points(), title="Greenhouse")

    root = ElementTree.fromstring(svg)
    assert root.get("viewBox") == "0 0 800 320"
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("role") == "img"
    label = root.get("aria-label", "")
    assert label.startswith("Greenhouse: chart from 2026-12-03 00:00 to 2026-12-04 00:00 (UTC): 200 values")
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == label
    line, plot = path_points(svg, "line"), path_points(svg, "patch_2")  # patch_2: the plotting area
    # From the first point, at the left edge, to the last, at the right (matplotlib merges the
    # vertices of straight runs, so their number says little).
    left, right = min(x for x, _ in plot), max(x for x, _ in plot)
    assert line[0][0] - left < (right - left) / 100 and line[-1][0] == right
    assert "°C" in texts(svg) and "Greenhouse" in texts(svg)
    # Text stays text, in fonts browsers have.
    assert "font-family: 'DejaVu Sans'" in svg and "sans-serif" in svg


def test_history_svg_tick_labels_follow_the_time_zone() -> None:
    hour = raw([MIDNIGHT - HOUR + 60.0 * i for i in range(1, 61)], [1.0] * 60)

    in_utc = texts(draw(hour, since=MIDNIGHT - HOUR, until=MIDNIGHT, tz=UTC_ZONE))
    in_tokyo = texts(draw(hour, since=MIDNIGHT - HOUR, until=MIDNIGHT, tz=zoneinfo.ZoneInfo("Asia/Tokyo")))

    assert "23:30" in in_utc and "08:30" not in in_utc
    assert "08:30" in in_tokyo and "23:30" not in in_tokyo
    # The zone is named under the axis.
    assert any("UTC" in t for t in in_utc) and any("JST" in t for t in in_tokyo)


def test_history_svg_labels_ranges_of_a_month_by_day() -> None:
    month = raw([MIDNIGHT - 30 * DAY + DAY * i for i in range(1, 31)], [float(i) for i in range(30)])

    labels = texts(draw(month, since=MIDNIGHT - 30 * DAY, until=MIDNIGHT))

    assert any(re.fullmatch(r"Nov \d\d", label) for label in labels), labels
    assert not any(re.fullmatch(r"\d\d:\d\d", label) for label in labels), labels


def x_labels(svg: str) -> list[tuple[float, str]]:
    """The time axis' labels with the x of their centres."""
    root = ElementTree.fromstring(svg)
    return [
        (float(text.get("x", "nan")), text.text or "")
        for tick in root.iterfind(f".//{SVG}g[@id='matplotlib.axis_1']/{SVG}g")
        if (tick.get("id") or "").startswith("xtick_")
        for text in tick.iter(f"{SVG}text")
    ]


@pytest.mark.parametrize("width", [390, 800, 1200])
@pytest.mark.parametrize("days", [1, 7, 30])
def test_history_svg_time_labels_never_collide(days: int, width: int) -> None:
    """Whatever day it is: the month's restart (Nov 29, Dec 1) is where labels would meet."""
    for day in range(0, 31, 2 if days == 30 else 7):
        until = MIDNIGHT + day * DAY + 13 * HOUR
        labels = x_labels(draw(EMPTY, since=until - days * DAY, until=until, width_px=width))
        assert len(labels) >= 2, labels
        for (x0, a), (x1, b) in itertools.pairwise(labels):
            # DejaVu Sans at 13 px: digits and lower case are about 8 px wide.
            assert x1 - x0 > 8 * (len(a) + len(b)) / 2 + 6, (until, labels)


def test_history_svg_draws_a_bool_as_steps_labelled_false_and_true() -> None:
    since = MIDNIGHT - DAY
    toggles = raw([since + HOUR * i for i in range(1, 10)], [float(i % 2) for i in range(1, 10)])

    svg = draw(toggles, step=True)

    assert {"false", "true"} <= set(texts(svg))
    line = path_points(svg, "line")
    assert len(line) >= 2 * 9
    # Every segment is horizontal or vertical.
    for (x0, y0), (x1, y1) in zip(line, line[1:], strict=False):
        assert x0 == x1 or y0 == y1


def test_history_svg_empty_range_says_so() -> None:
    svg = draw(EMPTY)

    assert "No values in this range" in texts(svg)
    assert ElementTree.fromstring(svg).find(f".//{SVG}g[@id='line']") is None
    assert "no values in this range" in (ElementTree.fromstring(svg).get("aria-label") or "")


def test_history_svg_keeps_the_spike_of_a_reduced_series_in_its_band() -> None:
    since, columns = MIDNIGHT - 30 * DAY, 800
    width = 30 * DAY / columns
    buckets, times, values = [], [], []
    for c in range(columns):
        start = since + c * width
        low, high = 19.0, (500.0 if c == 400 else 21.0)
        buckets.append(Bucket(start, start + width, low, high))
        times += [start + width * f for f in (0.1, 0.4, 0.6, 0.9)]
        values += [20.0, low, high, 20.0]
    series = Reduced(times, values, buckets, 100_000)

    svg = draw(series, since=since, until=MIDNIGHT)

    band = path_points(svg, "band")
    ys = sorted(y for _, y in band)
    top, typical = ys[0], ys[len(ys) // 2]
    # The band reaches as high as the line (the spike), far above every other column's values.
    assert abs(top - min(y for _, y in path_points(svg, "line"))) < 1
    assert typical - top > 200
    assert "500" in texts(svg)  # the axis goes up to the spike


def test_history_svg_draws_a_lone_point() -> None:
    svg = draw(raw([MIDNIGHT - HOUR], [3.0]))

    assert path_points(svg, "line")  # its marker


def test_history_svg_is_the_same_drawn_from_many_threads() -> None:
    series = [day_of_points(50), day_of_points(300)]
    alone = [draw(s) for s in series]

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(draw, series * 4))

    assert together == alone * 4


def test_importing_the_chart_loads_no_matplotlib() -> None:
    code = "import sys, service.web.chart; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"
