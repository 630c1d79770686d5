"""Paints a Layout: grid, axes, ticks, the data line and the labels, with the Palette's inks."""

from __future__ import annotations

import bisect

from PIL import Image, ImageDraw

from render.fonts import Ink
from render.layout import Layout, Role
from render.palette import Palette
from render.series import Series

# Every n-th pixel of a dotted e-ink grid line is set: visible, yet lighter than any solid line.
_DOT_EVERY = 4
# Colour lines are drawn this many times larger and reduced, for antialiasing; half that on plots above
# _SMOOTH_PIXELS, where the mask would cost more memory and time than the smoothing is worth.
SMOOTHING = 4
_SMOOTH_PIXELS = 512 * 512
_STRIP = 64  # px: the width of one antialiased piece of line


def paint(layout: Layout, series: Series, palette: Palette) -> Image.Image:
    """The picture, in the palette's mode ("RGB", or "1" for e-ink)."""
    image = Image.new(palette.mode, (layout.width, layout.height), palette.background)
    canvas = ImageDraw.Draw(image)
    if layout.frame is not None and layout.plot is not None:
        _grid(canvas, layout, palette)
        _axes(canvas, layout, palette.axes)
        points = layout.points
        smooth = palette.mode == "RGB"  # a 1-bit picture has no grey to smooth with
        if series.boolean:
            _steps(canvas, layout, points, series.now, palette.line)
        elif layout.dot is not None:
            _dot(canvas, layout.dot, palette.line, smooth)
        else:
            _line(canvas, layout, points, palette.line, smooth)
    inks = {Role.TITLE: palette.title, Role.UNIT: palette.axes, Role.NOTE: palette.axes, Role.POINT: palette.line}
    for label in layout.labels:
        if label.role in (Role.NOTE, Role.POINT):
            # These sit inside the plot: clear the grid behind them so they read cleanly.
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


def _line(canvas: ImageDraw.ImageDraw, layout: Layout, points: list[tuple[int, float]], ink: Ink, smooth: bool) -> None:
    if not smooth:
        pixels = _pixels(layout, points)
        canvas.line(pixels, fill=ink, width=layout.line_width, joint="curve" if layout.line_width > 1 else None)
        return
    pixels = layout.pixels(points)  # all of them: a mask has several columns per pixel
    assert layout.plot is not None
    # Antialiased: drawn `factor` times larger as a mask, whose box-filtered reduction says how much of each
    # pixel the line covers (Pillow draws lines only aliased). Strip by strip, so that the masks cover the
    # line's own rows, not the whole plot: blending a mask costs ~3 ns a pixel.
    factor = SMOOTHING if layout.plot.width * layout.plot.height <= _SMOOTH_PIXELS else SMOOTHING // 2
    grow = layout.line_width + 1  # the line's half width and its grey edge
    columns = [x for x, _ in pixels]  # ascending: the points are in time order
    # Where a pixel's line runs in the mask (Pillow's coordinates name pixel centres): through the middle of
    # its pixel for an odd width, along its top edge for an even one, so that a flat line covers whole rows.
    centre = factor * (layout.line_width % 2) / 2 - 0.5
    for left in range(layout.plot.left, layout.plot.right, _STRIP):
        right = left + _STRIP
        # The pixels in the strip and one on either side, for the segments that cross into it.
        first = max(0, bisect.bisect_left(columns, left - grow) - 1)
        last = min(len(pixels), bisect.bisect_left(columns, right + grow) + 1)
        if first >= last:
            continue
        run = pixels[first:last]
        top = min(y for _, y in run) - grow
        bottom = max(y for _, y in run) + grow + 1
        mask = Image.new("L", (_STRIP * factor, (bottom - top) * factor), 0)
        ImageDraw.Draw(mask).line(
            [((x - left) * factor + centre, (y - top) * factor + centre) for x, y in run],
            fill=255,
            width=layout.line_width * factor,
        )
        canvas.bitmap((left, top), mask.reduce(factor), fill=ink)


# A lone point: a dot, round where the picture has grey for its edge.
def _dot(canvas: ImageDraw.ImageDraw, dot: tuple[int, int, int], ink: Ink, smooth: bool) -> None:
    x, y, radius = dot
    if not smooth:
        canvas.ellipse([x - radius, y - radius, x + radius, y + radius], fill=ink)
        return
    size = (2 * radius + 1) * SMOOTHING
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse([0, 0, size - 1, size - 1], fill=255)
    canvas.bitmap((x - radius, y - radius), mask.reduce(SMOOTHING), fill=ink)


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
