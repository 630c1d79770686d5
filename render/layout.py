"""Where everything goes: the plot, the axes, their ticks and every label's box, for one size and style.

Labels never overlap and never leave the picture: each is placed only if its box is inside the picture and
clear of every box placed before it (title, unit, value labels, time labels, then the "no data" note), so at
sizes too small for the full layout the least useful text drops out instead of colliding. Tests check the
boxes this module returns, which is why they are public.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from render.fonts import Face, face
from render.options import RenderOptions
from render.scales import ValueScale, time_ticks, value_scale
from render.series import Series

NO_DATA = "no data"
_DAY = 86_400
_MIN_SPAN = 60  # seconds: a single point still gets a readable time axis
_MAX_VALUE_INTERVALS = 6
_VALUE_SPACING = 1.6  # value ticks are at least this many text heights apart


class Role(StrEnum):
    TITLE = "title"
    UNIT = "unit"
    VALUE = "value"  # a value axis tick label
    TIME = "time"  # a time axis tick label
    NOTE = "note"
    POINT = "point"  # the value of a lone point, beside its dot


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle of pixels: left and top included, right and bottom excluded."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def intersects(self, other: Box) -> bool:
        return (
            self.left < other.right and other.left < self.right and self.top < other.bottom and other.top < self.bottom
        )

    def within(self, other: Box) -> bool:
        return (
            other.left <= self.left
            and other.top <= self.top
            and self.right <= other.right
            and self.bottom <= other.bottom
        )


@dataclass(frozen=True, slots=True)
class Label:
    role: Role
    text: str
    box: Box  # every pixel the text may touch
    origin: tuple[int, int]  # where the face draws it from
    face: Face


@dataclass(frozen=True, slots=True)
class Layout:
    """The geometry of one picture. `frame` and `plot` are None when the picture is too small for a plot."""

    width: int
    height: int
    line_width: int
    frame: Box | None  # the axes run along its left and bottom edges, inside it
    plot: Box | None  # where the data goes: `scale` bottom to top, `start`..`end` left to right
    scale: ValueScale
    start: int
    end: int
    points: list[tuple[int, float]]  # the finite points, oldest first (Series.oldest_first)
    value_ticks: tuple[int, ...]  # the row of each labelled value tick
    time_ticks: tuple[int, ...]  # the column of each time tick
    tick_length: int
    labels: tuple[Label, ...]
    dot: tuple[int, int, int] | None = None  # the x, y and radius of a lone point's dot

    def x(self, seconds: float) -> int:
        """The column of a time."""
        assert self.plot is not None
        return self.plot.left + round((seconds - self.start) * ((self.plot.width - 1) / (self.end - self.start)))

    def y(self, value: float) -> int:
        """The row of a value; values beyond the scale sit on its ends (the spec's clamping)."""
        assert self.plot is not None
        low, high = self.scale.low, self.scale.high
        return (
            self.plot.bottom - 1 - round((min(high, max(low, value)) - low) * ((self.plot.height - 1) / (high - low)))
        )

    def pixels(self, points: list[tuple[int, float]]) -> list[tuple[int, int]]:
        """(x(time), y(value)) of every point: the same arithmetic, hoisted out of a loop that may run 1,440 times."""
        assert self.plot is not None
        left, start, across = self.plot.left, self.start, (self.plot.width - 1) / (self.end - self.start)
        low, high = self.scale.low, self.scale.high
        base, up = self.plot.bottom - 1, (self.plot.height - 1) / (high - low)
        return [
            (left + round((time - start) * across), base - round((min(high, max(low, value)) - low) * up))
            for time, value in points
        ]


# Sizes that follow from the picture's size and options.
@dataclass(frozen=True, slots=True)
class _Style:
    text: Face  # tick labels and the note
    title: Face  # title and unit
    line_width: int
    margin: int  # around the whole picture
    tick: int  # tick length
    gap: int  # between a tick and its label, and around the header
    inset: int  # between an axis and the data, so values at the ends of the scale stay visible


def _style(options: RenderOptions) -> _Style:
    width, height = options.width, options.height
    line_width = 2 if options.thick else 1
    # 10 px (digits 8 px tall) is the smallest size that reads well, 12 px in 1-bit glyphs, which cannot be
    # smoothed; larger pictures get larger text.
    smallest = 12 if options.eink else 10
    unit = max(smallest, min(32, round(min(7 + math.sqrt(width * height) / 64, min(width, height) / 8))))
    text = face(unit, options.thick, options.eink)
    title = face(round(unit * 1.25), options.thick, options.eink)
    return _Style(
        text=text,
        title=title,
        line_width=line_width,
        margin=max(2, round(unit * 0.35)),
        tick=max(2, round(unit * 0.3)),
        gap=max(2, round(unit * 0.2)),
        inset=max(2, round(unit * 0.25)),
    )


def _height(face: Face) -> int:
    _, top, _, bottom = face.extent("0")
    return bottom - top


# `text`, shortened with an ellipsis until it is at most `room` px wide; "" when nothing fits.
def _fit(face: Face, text: str, room: int) -> str:
    text = face.clean(text.strip())[:200]
    ellipsis = "\u2026"

    def width(candidate: str) -> int:
        left, _, right, _ = face.extent(candidate)
        return right - left

    if not text or width(text) <= room:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if width(text[:middle].rstrip() + ellipsis) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis if low else ""


# Collects labels, refusing any that would leave the picture or touch one already placed.
class _Placer:
    def __init__(self, width: int, height: int, margin: int) -> None:
        self.canvas = Box(margin, margin, width - margin, height - margin)  # text never touches an edge
        self.labels: list[Label] = []

    # Puts `text` with its box's top-left corner at (left, top); False if it does not fit.
    def place(self, role: Role, face: Face, text: str, left: int, top: int) -> bool:
        if not text:
            return False
        x0, y0, x1, y1 = face.extent(text)
        box = Box(left, top, left + x1 - x0, top + y1 - y0)
        if not box.within(self.canvas) or any(box.intersects(label.box) for label in self.labels):
            return False
        self.labels.append(Label(role, text, box, (left - x0, top - y0), face))
        return True


# The time axis: from the oldest point to now (so a silent sensor shows as a gap), or the last day.
def _span(series: Series) -> tuple[int, int]:
    end = series.now
    times = [time for time, _ in series.points]
    if not times:
        return end - _DAY, end
    end = max(end, max(times))
    return min(min(times), end - _MIN_SPAN), end


def layout(series: Series, options: RenderOptions) -> Layout:
    """The geometry of the picture `render` draws for these inputs."""
    style = _style(options)
    width, height = options.width, options.height
    start, end = _span(series)
    points = series.oldest_first()
    values = [value for _, value in points]
    # One point (or the same one written again) has no line to draw: a dot marks it, labelled with its value.
    lone = points[0] if points and points[0] == points[-1] and len(set(points)) == 1 else None
    for header, times, levels in ((True, True, True), (False, True, True), (False, False, True), (False, True, False)):
        result = _attempt(series, options, style, points, values, lone, start, end, header, times, levels)
        if result is not None:
            return result
    return _bare(series, style, points, values, width, height, start, end)


# The layout with the header, time labels and value labels as asked, or None when its plot is too small.
def _attempt(
    series: Series,
    options: RenderOptions,
    style: _Style,
    points: list[tuple[int, float]],
    values: list[float],
    lone: tuple[int, float] | None,
    start: int,
    end: int,
    header: bool,
    times: bool,
    levels: bool,
) -> Layout | None:
    width, height = options.width, options.height
    text_height = _height(style.text)
    placer = _Placer(width, height, style.margin)
    top = style.margin
    if header:
        below = _header(placer, series, options, style)
        if below is None:
            return None
        top = below
    # The top value label is centred on the plot's top edge: leave room for its upper half.
    plot_top = top + (text_height + 1) // 2 if levels else top + style.gap
    # Time labels hang below their ticks, clear of the lowest value label's lower half.
    drop = max(style.tick + style.gap, (text_height + 1) // 2 + 1)
    frame_bottom = height - style.margin - (drop + text_height if times else 0)
    plot_bottom = frame_bottom - style.line_width - style.inset
    plot_height = plot_bottom - plot_top
    if plot_height < max(6, 2 * text_height):
        return None
    room = min(_MAX_VALUE_INTERVALS, plot_height / (text_height * _VALUE_SPACING)) if levels else 0.0
    if not values and series.minimum == series.maximum and not series.boolean:
        room = 0.0  # nothing to fit a scale to: an empty axis says more than made-up numbers
    scale = value_scale(values, series.minimum, series.maximum, series.boolean, room)
    label_width = max((_width(style.text, tick.text) for tick in scale.ticks), default=0)
    frame_left = style.margin + (label_width + style.gap + style.tick if scale.ticks else 0)
    plot_left = frame_left + style.line_width + style.inset
    plot_right = width - style.margin - (text_height // 2 if times else 0)
    if plot_right - plot_left < max(8, 3 * text_height):
        return None
    frame = Box(frame_left, plot_top, plot_right, frame_bottom)
    plot = Box(plot_left, plot_top, plot_right, plot_bottom)
    geometry = Layout(width, height, style.line_width, frame, plot, scale, start, end, points, (), (), style.tick, ())
    # A tick, and its grid line, is drawn only where its label could be placed.
    value_rows: list[int] = []
    for tick in scale.ticks:
        row = geometry.y(tick.at)
        left = frame_left - style.tick - style.gap - _width(style.text, tick.text)
        if placer.place(Role.VALUE, style.text, tick.text, left, row - text_height // 2):
            value_rows.append(row)
    time_columns: list[int] = []
    if times:
        for tick in time_ticks(start, end, plot.width, lambda text: _width(style.text, text), text_height):
            column = geometry.x(tick.at)
            left = column - _width(style.text, tick.text) // 2
            if placer.place(Role.TIME, style.text, tick.text, left, frame_bottom + drop):
                time_columns.append(column)
    if not values:
        _note(placer, style.text, plot)
    dot = None
    if lone is not None:
        dot = (geometry.x(lone[0]), geometry.y(lone[1]), max(3, style.tick))
        _dot_label(placer, style, plot, dot, lone[1])
    return Layout(
        width,
        height,
        style.line_width,
        frame,
        plot,
        scale,
        start,
        end,
        points,
        tuple(value_rows),
        tuple(time_columns),
        style.tick,
        tuple(placer.labels),
        dot,
    )


# Place the title (left) and the unit (right, or left without a title); the row below them, or None.
def _header(placer: _Placer, series: Series, options: RenderOptions, style: _Style) -> int | None:
    face = style.title
    room = options.width - 2 * style.margin
    unit = _fit(face, series.unit, room)
    title = _fit(face, series.name, room - (_width(face, unit) + 2 * _height(face) if unit else 0))
    if not options.title:
        title = ""
    if not title and not unit:
        return None
    # One baseline for both, below the taller of them (a title's "Č" rises above the unit's "°C").
    baseline = style.margin - min(face.extent(text)[1] for text in (title, unit) if text)
    if title:
        placer.place(Role.TITLE, face, title, style.margin, baseline + face.extent(title)[1])
    if unit:
        left = options.width - style.margin - _width(face, unit) if title else style.margin
        placer.place(Role.UNIT, face, unit, left, baseline + face.extent(unit)[1])
    if not placer.labels:
        return None
    return max(label.box.bottom for label in placer.labels) + style.gap


# The "no data" note in the middle of the plot, if it fits inside it.
def _note(placer: _Placer, face: Face, plot: Box) -> None:
    x0, y0, x1, y1 = face.extent(NO_DATA)
    left = plot.left + (plot.width - (x1 - x0)) // 2
    top = plot.top + (plot.height - (y1 - y0)) // 2
    if Box(left, top, left + x1 - x0, top + y1 - y0).within(plot):
        placer.place(Role.NOTE, face, NO_DATA, left, top)


# A lone point's value in the plot above its dot, or below, right or left of it where there is no room.
def _dot_label(placer: _Placer, style: _Style, plot: Box, dot: tuple[int, int, int], value: float) -> None:
    x, y, radius = dot
    text = f"{value:.6g}"
    left, top, right, bottom = style.text.extent(text)
    width, height, space = right - left, bottom - top, radius + style.gap
    for corner in (
        (x - width // 2, y - space - height),
        (x - width // 2, y + space),
        (x + space, y - height // 2),
        (x - space - width, y - height // 2),
    ):
        if Box(*corner, corner[0] + width, corner[1] + height).within(plot):
            if placer.place(Role.POINT, style.text, text, *corner):
                return


def _width(face: Face, text: str) -> int:
    left, _, right, _ = face.extent(text)
    return right - left


# No text at all: the axes and the data fill what little room there is, or nothing when under 4 px.
def _bare(
    series: Series,
    style: _Style,
    points: list[tuple[int, float]],
    values: list[float],
    width: int,
    height: int,
    start: int,
    end: int,
) -> Layout:
    scale = value_scale(values, series.minimum, series.maximum, series.boolean, 0)
    margin = 1 if min(width, height) < 32 else style.margin
    frame = Box(margin, margin, width - margin, height - margin)
    inset = style.line_width + 1
    plot = Box(frame.left + inset, frame.top, frame.right, frame.bottom - inset)
    if plot.width < 4 or plot.height < 4:
        return Layout(width, height, style.line_width, None, None, scale, start, end, points, (), (), 0, ())
    return Layout(width, height, style.line_width, frame, plot, scale, start, end, points, (), (), 0, ())
