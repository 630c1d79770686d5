"""Paints a Layout: grid, axes, ticks, the data line and the labels, with the Palette's inks."""

from __future__ import annotations

from PIL import Image, ImageDraw

from render.fonts import Ink
from render.layout import Layout, Role
from render.palette import Palette
from render.series import Series

# Every n-th pixel of a dotted e-ink grid line is set: visible, yet lighter than any solid line.
_DOT_EVERY = 4


def paint(layout: Layout, series: Series, palette: Palette) -> Image.Image:
    """The picture, in the palette's mode ("RGB", or "1" for e-ink)."""
    image = Image.new(palette.mode, (layout.width, layout.height), palette.background)
    canvas = ImageDraw.Draw(image)
    if layout.frame is not None and layout.plot is not None:
        _grid(canvas, layout, palette)
        _axes(canvas, layout, palette.axes)
        points = series.oldest_first()
        if series.boolean:
            _steps(canvas, layout, points, series.now, palette.line)
        else:
            _line(canvas, layout, points, palette.line)
    inks = {Role.TITLE: palette.title, Role.UNIT: palette.axes, Role.NOTE: palette.axes}
    for label in layout.labels:
        if label.role is Role.NOTE:
            # The note sits inside the plot: clear the grid behind it so it reads cleanly.
            canvas.rectangle(
                [label.box.left, label.box.top, label.box.right - 1, label.box.bottom - 1], fill=palette.background
            )
        label.face.draw(canvas, label.origin, label.text, inks.get(label.role, palette.axes))
    return image


def _grid(canvas: ImageDraw.ImageDraw, layout: Layout, palette: Palette) -> None:
    assert layout.plot is not None
    plot = layout.plot
    rows = [row for row in layout.value_ticks if plot.top <= row < plot.bottom]
    columns = [column for column in layout.time_ticks if plot.left <= column < plot.right]
    if palette.grid_dots:
        dots = [(x, row) for row in rows for x in range(plot.left, plot.right, _DOT_EVERY)]
        dots += [(column, y) for column in columns for y in range(plot.bottom - 1, plot.top - 1, -_DOT_EVERY)]
        canvas.point(dots, fill=palette.grid)
        return
    for row in rows:
        canvas.line([(plot.left, row), (plot.right - 1, row)], fill=palette.grid)
    for column in columns:
        canvas.line([(column, plot.top), (column, plot.bottom - 1)], fill=palette.grid)


def _axes(canvas: ImageDraw.ImageDraw, layout: Layout, ink: Ink) -> None:
    assert layout.frame is not None
    frame, thickness, tick = layout.frame, layout.line_width, layout.tick_length
    left, bottom = frame.left, frame.bottom - thickness  # the axes' first column and first row
    canvas.rectangle([left, frame.top, left + thickness - 1, frame.bottom - 1], fill=ink)
    canvas.rectangle([left, bottom, frame.right - 1, frame.bottom - 1], fill=ink)
    for row in layout.value_ticks:
        top = min(row - thickness // 2, bottom - thickness)  # a tick at the lowest level stays on the axis
        canvas.rectangle([left - tick, top, left - 1, top + thickness - 1], fill=ink)
    for column in layout.time_ticks:
        canvas.rectangle(
            [column - thickness // 2, frame.bottom, column - thickness // 2 + thickness - 1, frame.bottom + tick - 1],
            fill=ink,
        )


# The points as pixels, keeping of each column's run only its first, lowest, highest and last pixel: a day of
# one-minute points is several points per column, and the four kept draw the same line, faster.
def _pixels(layout: Layout, points: list[tuple[int, float]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    for pixel in layout.pixels(points):
        if run and pixel[0] != run[0][0]:
            kept.extend(_summary(run))
            run = []
        run.append(pixel)
    kept.extend(_summary(run))
    return kept


def _summary(run: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(run) <= 4:
        return run
    rows = [y for _, y in run]
    low, high = rows.index(min(rows)), rows.index(max(rows))
    return [run[0], *(run[index] for index in sorted((low, high))), run[-1]]


def _line(canvas: ImageDraw.ImageDraw, layout: Layout, points: list[tuple[int, float]], ink: Ink) -> None:
    pixels = _pixels(layout, points)
    thickness = layout.line_width
    if len(set(pixels)) == 1:
        # A lone point has no segment to draw: mark it with a small square.
        x, y = pixels[0]
        canvas.rectangle([x - thickness, y - thickness, x + thickness, y + thickness], fill=ink)
    elif pixels:
        canvas.line(pixels, fill=ink, width=thickness, joint="curve" if thickness > 1 else None)


# A bool holds its value until the next write, and the last one until now: flat runs joined by risers.
def _steps(canvas: ImageDraw.ImageDraw, layout: Layout, points: list[tuple[int, float]], now: int, ink: Ink) -> None:
    if not points:
        return
    ends = [time for time, _ in points[1:]] + [max(now, points[-1][0])]
    corners: list[tuple[int, int]] = []
    for (time, value), until in zip(points, ends, strict=True):
        row = layout.y(1.0 if value >= 0.5 else 0.0)
        if not corners or corners[-1][1] != row:
            corners.append((layout.x(time), row))  # the riser from the previous level, or the first corner
        elif len(corners) >= 2 and corners[-2][1] == row:
            corners.pop()  # a run that keeps its level needs no corner in the middle
        corners.append((layout.x(until), row))
    canvas.line(corners, fill=ink, width=layout.line_width)
