"""What the picture shows: each colour where it belongs, steps for bools, the no-data note, the title, thickness."""

from __future__ import annotations

from collections import Counter

import pytest

from render import Series, make_options, render
from render.layout import Box, Role, layout
from tests.render import samples
from tests.render.images import colours, hex_rgb, pixels_blending, pixels_of, pixels_towards, rgb

# Four colours distinct from each other and from anything anti-aliasing could blend.
COLOURS = {"color_line": "ff0000", "color_background": "000080", "color_title": "00ff00", "color_axes": "ffff00"}
LINE, BACKGROUND, TITLE, AXES = (hex_rgb(COLOURS[name]) for name in COLOURS)


def only(role: Role, series: Series, **options: object) -> Box:
    (box,) = [label.box for label in layout(series, make_options(**options)).labels if label.role is role]
    return box


@pytest.mark.parametrize(("width", "height"), [(256, 280), (296, 128), (400, 300), (64, 32), (16, 16)])
def test_render_background_colour_in_corners(width: int, height: int) -> None:
    image = rgb(render(samples.day(), make_options(width=width, height=height, **COLOURS)))
    corners = [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
    assert {image.getpixel(corner) for corner in corners} == {BACKGROUND}


@pytest.mark.parametrize(("width", "height"), [(256, 280), (296, 128), (2048, 2048), (64, 32), (16, 16)])
def test_render_line_colour_only_inside_plot(width: int, height: int) -> None:
    options = make_options(width=width, height=height, **COLOURS)
    result = layout(samples.day(), options)
    assert result.plot is not None
    image = rgb(render(samples.day(), options))
    # Antialiased: the line is its colour laid at least half over the background (or over a grid line: a
    # column or two where the line meets one may have no such pixel).
    line = pixels_blending(image, LINE, BACKGROUND, Box(0, 0, width, height))
    assert len({x for x, _ in line}) >= result.plot.width - 2 * len(result.time_ticks) - 1
    # One pixel of slack: a 1-px line is drawn centred on pixel rows inside the plot.
    slack = Box(result.plot.left - 1, result.plot.top - 1, result.plot.right + 1, result.plot.bottom + 1)
    assert all(slack.left <= x < slack.right and slack.top <= y < slack.bottom for x, y in line)


def test_render_line_follows_the_data() -> None:
    # Oldest value low, newest high: the line starts low on the left and ends high on the right.
    points = tuple((samples.NOW - index * 60, float(100 - index)) for index in range(100))
    options = make_options(**COLOURS)
    image = rgb(render(Series("Rising", "", 0.0, 0.0, False, points, samples.NOW), options))
    line = pixels_of(image, LINE)
    leftmost = min(line)
    rightmost = max(line)
    assert leftmost[1] > rightmost[1] + 100


def test_render_values_outside_min_max_stay_in_plot() -> None:
    points = tuple((samples.NOW - index * 60, 500.0 if index % 2 else -500.0) for index in range(60))
    series = Series("Clamped", "", 0.0, 10.0, False, points, samples.NOW)
    options = make_options(**COLOURS)
    plot = layout(series, options).plot
    assert plot is not None
    rows = {y for _, y in pixels_of(rgb(render(series, options)), LINE)}
    assert min(rows) >= plot.top - 1 and max(rows) <= plot.bottom


def test_render_axes_colour_on_axes_and_ticks() -> None:
    options = make_options(**COLOURS)
    result = layout(samples.day(), options)
    image = rgb(render(samples.day(), options))
    assert result.frame is not None and result.value_ticks and result.time_ticks
    frame = result.frame
    assert image.getpixel((frame.left, (frame.top + frame.bottom) // 2)) == AXES  # the value axis
    assert image.getpixel(((frame.left + frame.right) // 2, frame.bottom - 1)) == AXES  # the time axis
    assert image.getpixel((frame.left - 1, result.value_ticks[0])) == AXES
    assert image.getpixel((result.time_ticks[0], frame.bottom)) == AXES
    for label in result.labels:
        if label.role in (Role.VALUE, Role.TIME):
            assert pixels_towards(image, AXES, BACKGROUND, label.box), label


def test_render_bool_draws_steps_on_two_levels() -> None:
    options = make_options(**COLOURS)
    image = rgb(render(samples.switches(), options))
    line = pixels_of(image, LINE)
    per_row = Counter(y for _, y in line)
    levels = sorted(row for row, _ in per_row.most_common(2))
    # Flat runs lie on the false row and the true row only; any other row holds one pixel of each riser.
    assert all(per_row[row] >= 40 for row in levels)
    assert all(count <= len(samples.switches().points) for row, count in per_row.items() if row not in levels)
    result = layout(samples.switches(), options)
    assert levels == sorted((result.y(0.0), result.y(1.0)))
    # Everything else is a riser: a column whose line pixels join the two levels, never a slope.
    rows_by_column: dict[int, set[int]] = {}
    for x, y in line:
        rows_by_column.setdefault(x, set()).add(y)
    risers = [x for x, rows in rows_by_column.items() if rows - set(levels)]
    assert len(risers) >= 7
    for x in risers:
        assert rows_by_column[x] >= set(range(levels[0], levels[1] + 1)), x


def test_render_bool_last_value_held_until_now() -> None:
    options = make_options(**COLOURS)
    result = layout(samples.switches(), options)
    assert result.plot is not None
    image = rgb(render(samples.switches(), options))
    newest = samples.switches().points[0][1]
    assert image.getpixel((result.plot.right - 1, result.y(newest))) == LINE


def test_render_no_data_axes_and_note_no_line() -> None:
    options = make_options(**COLOURS)
    result = layout(samples.empty(), options)
    image = rgb(render(samples.empty(), options))
    assert pixels_of(image, LINE) == []
    note = only(Role.NOTE, samples.empty(), **COLOURS)
    assert pixels_towards(image, AXES, BACKGROUND, note)
    assert result.frame is not None
    assert image.getpixel((result.frame.left, result.frame.bottom - 1)) == AXES


def test_render_single_point_visible() -> None:
    series = Series("Once", "", 0.0, 0.0, False, ((samples.NOW - 30, 3.0),), samples.NOW)
    assert len(pixels_of(rgb(render(series, make_options(**COLOURS))), LINE)) >= 9


@pytest.mark.parametrize("eink", [False, True])
def test_render_title_on_drawn_in_title_box(eink: bool) -> None:
    image = rgb(render(samples.day(), make_options(eink=eink, **COLOURS)))
    box = only(Role.TITLE, samples.day(), eink=eink, **COLOURS)
    if eink:
        assert len(pixels_of(image, (0, 0, 0), box)) > 20
    else:
        assert len(pixels_towards(image, TITLE, BACKGROUND, box)) > 20


def test_render_title_off_no_title_colour_anywhere() -> None:
    with_title = rgb(render(samples.day(), make_options(**COLOURS)))
    without = rgb(render(samples.day(), make_options(title=False, **COLOURS)))
    assert TITLE in colours(with_title)
    assert TITLE not in colours(without)
    assert not [label for label in layout(samples.day(), make_options(title=False)).labels if label.role is Role.TITLE]


@pytest.mark.parametrize("eink", [False, True])
def test_render_thick_lines_twice_as_wide(eink: bool) -> None:
    series = samples.flat()
    ink = (0, 0, 0) if eink else LINE

    def line_rows(thick: bool) -> int:
        """How many rows the flat line covers, in a column across the middle of the plot."""
        options = make_options(eink=eink, thick=thick, **COLOURS)
        result = layout(series, options)
        assert result.plot is not None
        middle = (result.plot.left + result.plot.right) // 2
        image = rgb(render(series, options))
        row = result.y(5.0)
        assert image.getpixel((middle, row)) == ink
        above = below = 0
        while image.getpixel((middle, row - above - 1)) == ink:
            above += 1
        while image.getpixel((middle, row + below + 1)) == ink:
            below += 1
        return 1 + above + below

    assert line_rows(False) == 1
    assert line_rows(True) == 2


@pytest.mark.parametrize("eink", [False, True])
def test_render_thick_bold_labels_darker(eink: bool) -> None:
    def inked(thick: bool) -> int:
        options = make_options(eink=eink, thick=thick, **COLOURS)
        image = rgb(render(samples.day(), options))
        box = only(Role.TITLE, samples.day(), eink=eink, thick=thick, **COLOURS)
        return len(pixels_of(image, (0, 0, 0), box) if eink else pixels_towards(image, TITLE, BACKGROUND, box))

    assert inked(True) > inked(False) * 1.3
