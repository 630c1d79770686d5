"""Axis ranges and ticks: round values on the value axis, calendar-aligned UTC times on the time axis.

Times are labelled in UTC: a picture depends only on (history, options), so the server's zone must not leak
into it, and no option carries the viewer's zone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PREFIXES = {-3: "n", -2: "\u00b5", -1: "m", 1: "k", 2: "M", 3: "G", 4: "T", 5: "P", 6: "E"}
_DAY = 86_400
_MONDAY = 4 * _DAY  # 1970-01-05, the first Monday after the epoch: week ticks fall on Mondays
_LAST_LABELLED = 253_402_300_799  # 9999-12-31 23:59:59, the last time datetime can name
# Floats beyond this would overflow when subtracted; no sensor writes them.
_LIMIT = 1e300
# Where false and true sit: inside the plot, so neither level hides under an axis or the top edge.
BOOL_RANGE = (-0.2, 1.2)


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # a value, or unix seconds
    text: str


@dataclass(frozen=True, slots=True)
class ValueScale:
    low: float  # the value at the bottom of the plot
    high: float  # the value at the top
    ticks: tuple[Tick, ...]


# -- values --------------------------------------------------------------------------------------------------


# 1, 2 and 5 times powers of ten, from the first one not below `raw` upwards.
def _nice_steps(raw: float) -> Iterator[float]:
    exponent = math.floor(math.log10(raw))
    while True:
        for factor in (1, 2, 5):
            step = factor * 10.0**exponent
            if step >= raw * (1 - 1e-9):
                yield step
        exponent += 1


def _plain(value: float, step: float) -> str:
    decimals = min(12, max(0, -math.floor(math.log10(step) + 1e-9)))
    return f"{value:.{decimals}f}"


def _prefixed(value: float, step: float, group: int) -> str:
    if value == 0:
        return "0"
    unit = 1000.0**group
    return _plain(value / unit, step / unit) + _PREFIXES[group]


def _scientific(value: float, step: float, largest: float) -> str:
    if value == 0:
        return "0"
    digits = math.floor(math.log10(largest)) - math.floor(math.log10(step))
    return f"{value:.{max(0, digits)}e}"


# Tick labels as plain decimals or with an SI prefix (12k, 1.5M, 20m), whichever is shorter.
def _labels(values: Sequence[float], step: float) -> list[str]:
    # Ticks are multiples of the step: anything much smaller is rounding noise, and would print "-0".
    values = [0.0 if abs(value) < step * 1e-6 else value for value in values]
    largest = max(abs(value) for value in values)
    if largest == 0:
        return [_plain(value, step) for value in values]
    group = math.floor(math.log10(largest) / 3)
    if group not in _PREFIXES and group != 0:
        return [_scientific(value, step, largest) for value in values]
    plain = [_plain(value, step) for value in values]
    if group:
        prefixed = [_prefixed(value, step, group) for value in values]
        if max(map(len, prefixed)) < max(map(len, plain)):
            return prefixed
    return plain


def _multiples(low: float, high: float, step: float) -> list[float]:
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [index * step for index in range(first, last + 1)]


# The largest power of ten of which every value is a multiple (down to 1e-12): the step that prints them whole.
def _resolution(*values: float) -> float:
    exponent = math.floor(math.log10(max(abs(value) for value in values)))
    while exponent > -12 and any(abs(value / 10.0**exponent % 1 - 0.5) < 0.5 - 1e-6 for value in values):
        exponent -= 1
    return 10.0**exponent


def _ticks(low: float, high: float, step: float) -> tuple[Tick, ...]:
    values = _multiples(low, high, step)
    if not values:
        return ()
    return tuple(Tick(value, text) for value, text in zip(values, _labels(values, step), strict=True))


def value_scale(values: Sequence[float], minimum: float, maximum: float, boolean: bool, room: float) -> ValueScale:
    """The value axis: [minimum, maximum] when they differ, else the data with a little space around it.

    `room` is how many tick spacings the plot has room for; ticks are the multiples of the smallest round step
    that keeps within it, and there are none when `room` is below 1.
    """
    if boolean:
        ticks = (Tick(0.0, "false"), Tick(1.0, "true")) if room >= 1 else ()
        return ValueScale(*BOOL_RANGE, ticks)
    low, high = sorted((_bounded(minimum), _bounded(maximum)))
    clamped = low < high
    if not clamped:
        low, high = (_bounded(min(values)), _bounded(max(values))) if values else (0.0, 1.0)
        if high - low > max(abs(low), abs(high)) * 1e-9:
            # The data fills the plot but for a twentieth at each end, so extremes never hide under an axis.
            pad = (high - low) / 20
        else:
            # A flat line (or one flat but for float noise) sits in the middle.
            low = high = (low + high) / 2
            pad = abs(low) / 10 or 1.0
        low, high = low - pad, high + pad
    if room < 1:
        return ValueScale(low, high, ())
    step = next(_nice_steps((high - low) / room))
    if not clamped:
        return ValueScale(low, high, _ticks(low, high, step))
    # The variable's min and max are where its values are clamped: both are labelled, with the round values
    # that are not crowding them (at least three quarters of a step inside).
    inside = [value for value in _multiples(low, high, step) if low + step * 0.75 <= value <= high - step * 0.75]
    # Labelled as one set (one SI prefix), the bounds with the decimals they need and the rest with the step's.
    values = [low, high, *inside]
    texts = _labels(values, min(step, _resolution(low, high)))[:2] + _labels(values, step)[2:]
    return ValueScale(low, high, tuple(sorted(map(Tick, values, texts), key=lambda tick: tick.at)))


def _bounded(value: float) -> float:
    value = float(value)
    return max(-_LIMIT, min(_LIMIT, value)) if math.isfinite(value) else 0.0


# -- times ---------------------------------------------------------------------------------------------------


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _clock(seconds: float) -> str:
    moment = _utc(seconds)
    if moment.hour == moment.minute == moment.second == 0:
        return _date(seconds)  # midnight names the day that starts
    return f"{moment.hour:02}:{moment.minute:02}"


def _clock_seconds(seconds: float) -> str:
    moment = _utc(seconds)
    return f"{moment.hour:02}:{moment.minute:02}:{moment.second:02}"


def _date(seconds: float) -> str:
    moment = _utc(seconds)
    return f"{moment.day} {_MONTHS[moment.month - 1]}"


def _month(seconds: float) -> str:
    moment = _utc(seconds)
    return str(moment.year) if moment.month == 1 else _MONTHS[moment.month - 1]


def _year(seconds: float) -> str:
    return str(_utc(seconds).year)


def _every(step: int, origin: int = 0) -> Callable[[int, int], Iterator[int]]:
    def ticks(start: int, end: int) -> Iterator[int]:
        yield from range(origin + -(-(start - origin) // step) * step, end + 1, step)

    return ticks


def _months(step: int) -> Callable[[int, int], Iterator[int]]:
    def ticks(start: int, end: int) -> Iterator[int]:
        moment = _utc(start)
        index = moment.year * 12 + moment.month - 1
        index += -index % step
        while True:
            seconds = int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp())
            if seconds > end:
                return
            if seconds >= start:
                yield seconds
            index += step

    return ticks


@dataclass(frozen=True, slots=True)
class _TimeStep:
    seconds: int  # the shortest distance between two ticks
    ticks: Callable[[int, int], Iterator[int]]
    label: Callable[[float], str]


_TIME_STEPS = (
    *(_TimeStep(n, _every(n), _clock_seconds) for n in (1, 2, 5, 10, 15, 30)),
    *(_TimeStep(n * 60, _every(n * 60), _clock) for n in (1, 2, 5, 10, 15, 30)),
    *(_TimeStep(n * 3600, _every(n * 3600), _clock) for n in (1, 2, 3, 6, 12)),
    *(_TimeStep(n * _DAY, _every(n * _DAY), _date) for n in (1, 2)),
    *(_TimeStep(n * _DAY, _every(n * _DAY, _MONDAY), _date) for n in (7, 14)),
    *(_TimeStep(n * 28 * _DAY, _months(n), _month) for n in (1, 2, 3, 6)),
    *(_TimeStep(n * 365 * _DAY, _months(12 * n), _year) for n in (1, 2, 5, 10, 20, 50, 100)),
)


def time_ticks(start: int, end: int, pixels: int, width: Callable[[str], int], gap: int) -> tuple[Tick, ...]:
    """The densest calendar-aligned ticks in [start, end] whose labels stay `gap` px apart across `pixels` px.

    `width` measures a label in pixels. Returns no ticks when even the coarsest step's labels do not fit.
    """
    if end <= start or pixels <= 0 or start < 0 or end > _LAST_LABELLED:
        return ()
    per_second = pixels / (end - start)
    for step in _TIME_STEPS:
        spacing = step.seconds * per_second
        if spacing < gap:
            continue  # far too dense to try labelling
        ticks = [Tick(seconds, step.label(seconds)) for seconds in step.ticks(start, end)]
        if all(width(tick.text) + gap <= spacing for tick in ticks):
            return tuple(ticks)
    return ()
