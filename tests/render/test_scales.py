"""Axis arithmetic alone: round value ticks and their labels, calendar-aligned UTC time ticks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from render.scales import BOOL_RANGE, time_ticks, value_scale


def labels(values: list[float], room: float = 5, minimum: float = 0.0, maximum: float = 0.0) -> list[str]:
    return [tick.text for tick in value_scale(values, minimum, maximum, False, room).ticks]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([18.0, 24.5], ["18", "20", "22", "24"]),
        ([-0.3, 0.3], ["-0.2", "0.0", "0.2"]),
        ([0, 50_000], ["0", "20k", "40k"]),
        ([0.0012, 0.0019], ["1.2m", "1.4m", "1.6m", "1.8m"]),
        ([100_000, 100_010], ["100000", "100005", "100010"]),
        ([0, 9.2e18], ["0", "5E"]),
        ([1e300, -1e300], ["-1.0e+300", "-5.0e+299", "0", "5.0e+299", "1.0e+300"]),
    ],
)
def test_value_scale_auto_labels(values: list[float], expected: list[str]) -> None:
    assert labels(values) == expected


def test_value_scale_auto_leaves_room_around_data() -> None:
    scale = value_scale([10.0, 30.0], 0.0, 0.0, False, 5)
    assert (scale.low, scale.high) == (9.0, 31.0)


@pytest.mark.parametrize("value", [0.0, 5.0, -7.5, 1e12])
def test_value_scale_flat_line_in_the_middle(value: float) -> None:
    scale = value_scale([value, value], 0.0, 0.0, False, 5)
    assert scale.low < value < scale.high
    assert value - scale.low == pytest.approx(scale.high - value)


def test_value_scale_clamped_exactly_min_max() -> None:
    scale = value_scale([-50.0, 500.0], 20.0, 40.0, False, 4)
    assert (scale.low, scale.high) == (20.0, 40.0)
    assert [tick.text for tick in scale.ticks] == ["20", "25", "30", "35", "40"]  # the bounds are round here


def test_value_scale_no_room_no_ticks() -> None:
    assert value_scale([1.0, 2.0], 0.0, 0.0, False, 0.9).ticks == ()
    assert value_scale([], 0.0, 1.0, True, 0).ticks == ()


def test_value_scale_bool_false_true_inside() -> None:
    scale = value_scale([0.0, 1.0], 0.0, 0.0, True, 3)
    assert (scale.low, scale.high) == BOOL_RANGE
    assert [(tick.at, tick.text) for tick in scale.ticks] == [(0.0, "false"), (1.0, "true")]


def test_value_scale_no_negative_zero() -> None:
    assert "-0" not in labels([-1.0000001, 1.0])
    assert all(not text.startswith("-0") or text != "-0.0" for text in labels([-0.1, 0.1]))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


def five_px(text: str) -> int:
    return 5 * len(text)


def test_time_ticks_day_six_hourly_midnight_as_date() -> None:
    start, end = utc(2023, 11, 14, 12, 13), utc(2023, 11, 15, 12, 13)
    ticks = time_ticks(start, end, 220, five_px, 10)
    assert [tick.text for tick in ticks] == ["18:00", "15 Nov", "06:00", "12:00"]
    assert [tick.at for tick in ticks] == [
        utc(2023, 11, 14, 18),
        utc(2023, 11, 15),
        utc(2023, 11, 15, 6),
        utc(2023, 11, 15, 12),
    ]


def test_time_ticks_wider_denser() -> None:
    start, end = utc(2023, 11, 14, 12, 13), utc(2023, 11, 15, 12, 13)
    narrow = time_ticks(start, end, 220, five_px, 10)
    wide = time_ticks(start, end, 2000, five_px, 10)
    assert len(wide) > len(narrow)
    assert all(later.at - earlier.at == wide[1].at - wide[0].at for earlier, later in itertools.pairwise(wide))


def test_time_ticks_weeks_on_mondays() -> None:
    ticks = time_ticks(utc(2023, 10, 1), utc(2023, 11, 15), 200, five_px, 10)
    assert all(datetime.fromtimestamp(tick.at, UTC).weekday() == 0 for tick in ticks)
    assert ticks[0].text == "2 Oct"


def test_time_ticks_months_and_year_at_january() -> None:
    ticks = time_ticks(utc(2022, 11, 20), utc(2023, 11, 15), 400, five_px, 10)
    assert [tick.text for tick in ticks][:4] == ["Dec", "2023", "Feb", "Mar"]


def test_time_ticks_minute_span_seconds() -> None:
    ticks = time_ticks(utc(2023, 11, 15, 12, 12, 20), utc(2023, 11, 15, 12, 13, 20), 300, five_px, 10)
    assert [tick.text for tick in ticks] == [f"12:1{minute}:{second}0" for minute in (2, 3) for second in range(6)][2:9]


def test_time_ticks_narrow_at_most_one() -> None:
    assert len(time_ticks(utc(2023, 1, 1), utc(2023, 1, 2), 20, five_px, 10)) <= 1
    assert time_ticks(utc(2023, 1, 1), utc(2023, 1, 1), 200, five_px, 10) == ()
    assert time_ticks(utc(2023, 1, 1), utc(2023, 1, 2), 0, five_px, 10) == ()
