"""Fixed inputs for the render tests, the golden pictures and the benchmark: same arguments, same series."""

from __future__ import annotations

import math

from render import Series

# 2023-11-15 12:13:20 UTC: a day of history then spans 12:13 on the 14th to now.
NOW = 1_700_050_400
DAY = 86_400


def temperatures(count: int = 1_440, span: int = DAY, now: int = NOW) -> tuple[tuple[int, float], ...]:
    """A room's temperature, one point every span/count seconds, newest first as `history` lists them."""
    points = []
    for index in range(count):
        time = now - index * span // count
        value = 21 + 3 * math.sin(time / DAY * 2 * math.pi) + 0.6 * math.sin(time / 5_000) + 0.3 * math.sin(time / 700)
        points.append((time, round(value, 2)))
    return tuple(points)


def day(
    count: int = 1_440,
    name: str = "Living room temperature",
    unit: str = "\u00b0C",
    minimum: float = 0.0,
    maximum: float = 0.0,
) -> Series:
    return Series(name, unit, minimum, maximum, False, temperatures(count), NOW)


def once() -> Series:
    """A garage sensor that has written one value, five minutes ago."""
    return Series("Garage", "\u00b0C", 0.0, 0.0, False, ((NOW - 300, 12.5),), NOW)


def switches(count: int = 9) -> Series:
    """A porch light switched every few hours over the last day."""
    points = tuple((NOW - index * 10_800 - (index % 3) * 1_700, float(index % 2 == 0)) for index in range(count))
    return Series("Porch light", "", 0.0, 0.0, True, points, NOW)


def empty(minimum: float = 0.0, maximum: float = 100.0) -> Series:
    return Series("Humidity", "%", minimum, maximum, False, (), NOW)


def flat(value: float = 5.0, count: int = 100) -> Series:
    return Series("Flat", "", 0.0, 0.0, False, tuple((NOW - index * 600, value) for index in range(count)), NOW)


def month() -> Series:
    return Series("Energy", "kWh", 0.0, 0.0, False, temperatures(720, 30 * DAY), NOW)
