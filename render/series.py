"""The data one graph shows: a variable's description and its history, as the service reads them."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Series:
    """One variable's history, as the `history` action lists it.

    `minimum`/`maximum` are the variable's min and max: when they differ the value axis is clamped to them,
    otherwise it fits the data. `points` are (unix seconds, value), newest first, and may be empty; a bool
    variable's values are 0.0 and 1.0. `now` is the server's current unix time, where the time axis ends.
    """

    name: str
    unit: str
    minimum: float
    maximum: float
    boolean: bool
    points: tuple[tuple[int, float], ...]
    now: int

    def oldest_first(self) -> list[tuple[int, float]]:
        """The finite points in time order (stable for equal times, so the picture is deterministic)."""
        finite = [(int(time), float(value)) for time, value in self.points if math.isfinite(value)]
        finite.reverse()  # newest first -> oldest first; the sort below is then nearly free
        finite.sort(key=lambda point: point[0])
        return finite
