"""Where labels go: never overlapping, never outside the picture or over the plot, legible, and saying the right thing.

The boxes checked here are the ones `render` draws into; test_boxes_hold_the_ink checks that the faces keep
their ink inside them, and test_render_ink_outside_plot_only_in_label_boxes that the picture agrees.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
from PIL import Image, ImageChops, ImageDraw

from render import RenderOptions, Series, make_options, render
from render.layout import Box, Layout, Role, layout
from tests.render import samples
from tests.render.images import ink_box, rgb

SIZES = [
    (16, 16),
    (64, 32),
    (128, 128),
    (296, 128),
    (400, 300),
    (256, 280),
    (2048, 2048),
    (2048, 16),
    (16, 2048),
    (17, 300),
    (100, 40),
    (40, 100),
    (1000, 50),
    (50, 1000),
    (128, 64),
    (800, 600),
]
SERIES = {
    "day": samples.day(),
    "bool": samples.switches(),
    "empty": samples.empty(),
    "month": samples.month(),
    "long-name": samples.day(name="The temperature of the living room, measured by the sensor near the window"),
    "big-values": Series("Pressure", "Pa", 0.0, 0.0, False, tuple((t, v * 1e4) for t, v in samples.temperatures()), 0),
    "croatian": samples.day(name="Vlažnost – Čakovec, Đakovo, Šibenik, Žminj", unit="µg/m³"),
    "greek-cyrillic": samples.day(name="Θερμοκρασία Ωμέγα · Температура воздуха", unit="Ω"),
    "cjk": samples.day(name="客厅温度 リビング 거실", unit="℃"),
    "clamped": samples.day(name="Humidity", unit="%", minimum=15.0, maximum=25.0),
    "one-point": samples.once(),
}


def all_layouts() -> list[tuple[str, Layout, RenderOptions]]:
    cases = []
    for (width, height), title, eink, thick in itertools.product(SIZES, (True, False), (False, True), (False, True)):
        options = make_options(width=width, height=height, title=title, eink=eink, thick=thick)
        for name, series in SERIES.items():
            cases.append((f"{width}x{height}-{name}-{options}", layout(series, options), options))
    return cases


LAYOUTS = all_layouts()


def frame_with_ticks(result: Layout) -> Box | None:
    if result.frame is None:
        return None
    reach = result.tick_length
    return Box(result.frame.left - reach, result.frame.top, result.frame.right, result.frame.bottom + reach)


def test_labels_never_overlap_at_any_size() -> None:
    for case, result, _ in LAYOUTS:
        for first, second in itertools.combinations(result.labels, 2):
            assert not first.box.intersects(second.box), (case, first, second)


def test_labels_inside_picture_clear_of_its_edges_at_any_size() -> None:
    for case, result, options in LAYOUTS:
        for label in result.labels:
            # Two pixels at least between text and the picture's edge (issue 9: a time label touched it).
            assert label.box.within(Box(2, 2, options.width - 2, options.height - 2)), (case, label)
            assert label.box.width > 0 and label.box.height > 0, (case, label)


def test_labels_clear_of_plot_axes_and_ticks() -> None:
    for case, result, _ in LAYOUTS:
        area = frame_with_ticks(result)
        for label in result.labels:
            if label.role in (Role.NOTE, Role.POINT):
                assert result.plot is not None and label.box.within(result.plot), case
            elif area is not None:
                assert not label.box.intersects(area), (case, label)


def test_boxes_hold_the_ink() -> None:
    seen = set()
    for case, result, options in LAYOUTS:
        for label in result.labels:
            key = (label.text, label.face)
            if key in seen:
                continue
            seen.add(key)
            ink = ink_box(label, "1" if options.eink else "L")
            assert ink is not None, (case, label)
            assert ink.within(label.box), (case, label, ink)


@pytest.mark.parametrize(("width", "height"), [(256, 280), (296, 128), (400, 300), (128, 128), (2048, 2048)])
@pytest.mark.parametrize("eink", [False, True])
@pytest.mark.parametrize("series", [samples.day(), samples.empty()], ids=["day", "empty"])
def test_render_ink_outside_plot_only_in_label_boxes(width: int, height: int, eink: bool, series: Series) -> None:
    options = make_options(width=width, height=height, eink=eink)
    result = layout(series, options)
    image = rgb(render(series, options))
    background = (255, 255, 255) if eink else (0x22, 0x22, 0x22)
    ink = (
        ImageChops.difference(image, Image.new("RGB", image.size, background))
        .convert("L")
        .point(lambda v: 255 * (v > 0))
    )
    allowed = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(allowed)
    area = frame_with_ticks(result)
    assert area is not None
    for box in [area, *(label.box for label in result.labels)]:
        draw.rectangle([box.left, box.top, box.right - 1, box.bottom - 1], fill=255)
    stray = ImageChops.subtract(ink, allowed)
    assert stray.getbbox() is None


@pytest.mark.parametrize("width", [128, 296, 400, 1024, 2048])
@pytest.mark.parametrize("eink", [False, True])
def test_labels_at_128_high_legible(width: int, eink: bool) -> None:
    result = layout(samples.day(), make_options(width=width, height=128, eink=eink))
    ticks = [label for label in result.labels if label.role in (Role.VALUE, Role.TIME)]
    assert {label.role for label in ticks} == {Role.VALUE, Role.TIME}
    for label in ticks:
        assert label.face.size >= 8
        digits = Image.new("L", (200, 80), 0)
        left, top, _, _ = label.face.extent("0123456789")
        label.face.draw(ImageDraw.Draw(digits), (4 - left, 4 - top), "0123456789", 255)
        box = digits.getbbox()
        assert box is not None and box[3] - box[1] >= 7  # the digits themselves, not just the line


def texts(result: Layout, role: Role) -> list[str]:
    return [label.text for label in result.labels if label.role is role]


DATE = re.compile(r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)")


@pytest.mark.parametrize("size", [(256, 280), (296, 128), (400, 300), (2048, 2048)])
def test_time_labels_day_of_history_times_of_day(size: tuple[int, int]) -> None:
    width, height = size
    labels = texts(layout(samples.day(), make_options(width=width, height=height)), Role.TIME)
    assert len(labels) >= 2
    assert any(re.fullmatch(r"\d\d:\d\d", text) for text in labels)
    # Midnight names the day that starts: the only other label allowed.
    assert all(re.fullmatch(r"\d\d:\d\d", text) or DATE.fullmatch(text) for text in labels), labels


@pytest.mark.parametrize("size", [(256, 280), (296, 128), (400, 300), (2048, 2048)])
def test_time_labels_month_of_history_dates(size: tuple[int, int]) -> None:
    width, height = size
    labels = texts(layout(samples.month(), make_options(width=width, height=height)), Role.TIME)
    assert len(labels) >= 2
    assert all(DATE.fullmatch(text) for text in labels), labels


def test_time_axis_oldest_point_to_now() -> None:
    series = samples.day()
    result = layout(series, make_options())
    assert (result.start, result.end) == (min(t for t, _ in series.points), series.now)


def test_time_axis_no_data_last_day() -> None:
    result = layout(samples.empty(), make_options())
    assert (result.start, result.end) == (samples.NOW - samples.DAY, samples.NOW)
    assert len(texts(result, Role.TIME)) >= 2


def test_value_axis_min_max_differ_clamped_to_them() -> None:
    points = ((samples.NOW, 150.0), (samples.NOW - 600, -20.0), (samples.NOW - 1200, 40.0))
    result = layout(Series("Humidity", "%", 0.0, 100.0, False, points, samples.NOW), make_options())
    assert (result.scale.low, result.scale.high) == (0.0, 100.0)
    assert [float(text) for text in texts(result, Role.VALUE)] == [0, 20, 40, 60, 80, 100]


@pytest.mark.parametrize(
    ("minimum", "maximum", "expected"),
    [
        (15, 25, ["15", "18", "20", "22", "25"]),
        (2.5, 7.25, ["2.50", "4", "5", "6", "7.25"]),
        (-3, 47, ["-3", "10", "20", "30", "47"]),
    ],
)
def test_value_axis_clamped_bounds_labelled(minimum: float, maximum: float, expected: list[str]) -> None:
    result = layout(Series("Humidity", "%", minimum, maximum, False, samples.day().points, samples.NOW), make_options())
    assert texts(result, Role.VALUE) == expected
    assert result.plot is not None
    assert result.y(minimum) == result.plot.bottom - 1 and result.y(maximum) == result.plot.top


def test_value_axis_min_above_max_still_clamped() -> None:
    result = layout(Series("Reversed", "", 40.0, 20.0, False, samples.day().points, samples.NOW), make_options())
    assert (result.scale.low, result.scale.high) == (20.0, 40.0)


@pytest.mark.parametrize("size", [(256, 280), (296, 128), (400, 300), (2048, 2048), (128, 128)])
def test_value_axis_equal_min_max_auto_round_ticks(size: tuple[int, int]) -> None:
    width, height = size
    series = samples.day()
    result = layout(series, make_options(width=width, height=height))
    values = [value for _, value in series.points]
    assert result.scale.low < min(values) and max(values) < result.scale.high
    ticks = [float(text) for text in texts(result, Role.VALUE)]
    assert len(ticks) >= 2
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5)
    assert all(round(tick / step, 6).is_integer() for tick in ticks)


def test_value_axis_bool_false_true() -> None:
    assert texts(layout(samples.switches(), make_options()), Role.VALUE) == ["false", "true"]


def test_value_axis_big_values_prefixed() -> None:
    labels = texts(layout(SERIES["big-values"], make_options()), Role.VALUE)
    assert labels and all(re.fullmatch(r"\d+k", text) for text in labels), labels


@pytest.mark.parametrize("title", [True, False])
@pytest.mark.parametrize("eink", [True, False])
def test_unit_shown_with_or_without_title(title: bool, eink: bool) -> None:
    result = layout(samples.day(), make_options(title=title, eink=eink))
    assert texts(result, Role.UNIT) == ["\u00b0C"]
    assert texts(result, Role.TITLE) == (["Living room temperature"] if title else [])


def test_title_too_long_shortened_with_ellipsis() -> None:
    (title,) = texts(layout(SERIES["long-name"], make_options()), Role.TITLE)
    assert title.endswith("\u2026") and SERIES["long-name"].name.startswith(title[:-1])
    (title,) = texts(layout(SERIES["long-name"], make_options(eink=True)), Role.TITLE)
    assert title.endswith("\u2026") and SERIES["long-name"].name.startswith(title[:-1])


@pytest.mark.parametrize("eink", [False, True])
def test_title_any_script_kept_control_characters_spaced(eink: bool) -> None:
    # "e" and a combining acute become the one "é" (NFC); a newline would start a second line.
    series = Series("Tempe\u0301rature \u6e29\u5ea6 \u0398\u0436\nline", "\u00b5g/m\u00b3", 0.0, 0.0, False, (), 0)
    result = layout(series, make_options(eink=eink, width=400))
    assert texts(result, Role.TITLE) == ["Temp\u00e9rature \u6e29\u5ea6 \u0398\u0436 line"]
    assert texts(result, Role.UNIT) == ["\u00b5g/m\u00b3"]


def test_no_data_note_in_plot() -> None:
    result = layout(samples.empty(), make_options())
    assert texts(result, Role.NOTE) == ["no data"]
    assert texts(layout(samples.day(), make_options()), Role.NOTE) == []


def test_tiny_picture_no_labels_but_axes() -> None:
    result = layout(samples.day(), make_options(width=16, height=16))
    assert result.labels == ()
    assert result.plot is not None and result.plot.width >= 4


ODD_SERIES = [
    Series("One", "", 0.0, 0.0, False, ((samples.NOW, 1.0),), samples.NOW),
    Series("Same time", "", 0.0, 0.0, False, ((samples.NOW, 1.0), (samples.NOW, 2.0)), samples.NOW),
    Series("Future", "", 0.0, 0.0, False, ((samples.NOW + 3_600, 1.0), (samples.NOW - 60, 2.0)), samples.NOW),
    Series("Tiny", "", 0.0, 0.0, False, ((samples.NOW, 1e-300), (samples.NOW - 60, -1e-300)), samples.NOW),
    Series("Huge", "", 0.0, 0.0, False, ((samples.NOW, 1.7e308), (samples.NOW - 60, -1.7e308)), samples.NOW),
    Series("Noise", "", 0.0, 0.0, False, ((samples.NOW, 1.0), (samples.NOW - 60, 1.0 + 1e-15)), samples.NOW),
    Series("Int64", "", 0.0, 0.0, False, ((samples.NOW, 9.2e18), (samples.NOW - 60, -9.2e18)), samples.NOW),
    Series("Non-finite", "", 0.0, 0.0, False, ((samples.NOW, float("nan")), (samples.NOW - 9, float("inf"))), 0),
    Series("Odd min/max", "", float("nan"), 1e308, False, samples.day().points, samples.NOW),
    Series("Year", "", 0.0, 0.0, False, samples.temperatures(1_440, 365 * samples.DAY), samples.NOW),
    Series("Epoch", "", 0.0, 0.0, False, ((0, 1.0), (5, 2.0)), 10),
    Series("Bool one", "", 0.0, 0.0, True, ((samples.NOW - 10, 1.0),), samples.NOW),
    Series("", "", 0.0, 0.0, False, samples.day().points, samples.NOW),
    Series("\t\n", "\u00b0C" * 200, 0.0, 0.0, False, samples.day().points, samples.NOW),
]


@pytest.mark.parametrize("series", ODD_SERIES, ids=[series.name or "no name" for series in ODD_SERIES])
@pytest.mark.parametrize(("width", "height"), [(16, 16), (296, 128), (256, 280), (2048, 64)])
@pytest.mark.parametrize("eink", [False, True])
def test_render_odd_series_valid_picture_no_overlap(series: Series, width: int, height: int, eink: bool) -> None:
    options = make_options(width=width, height=height, eink=eink)
    result = layout(series, options)
    for first, second in itertools.combinations(result.labels, 2):
        assert not first.box.intersects(second.box)
    assert rgb(render(series, options)).size == (width, height)


def test_layout_pixels_same_arithmetic_as_x_and_y() -> None:
    for series in (samples.day(), samples.month(), SERIES["big-values"]):
        for options in (make_options(), make_options(eink=True, width=296, height=128)):
            result = layout(series, options)
            points = series.oldest_first()
            assert result.pixels(points) == [(result.x(time), result.y(value)) for time, value in points]
