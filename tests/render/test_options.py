"""make_options: the spec's defaults, every option, and which rule each bad value breaks."""

from __future__ import annotations

import pytest

from render import FORMATS, InvalidFormat, InvalidOption, RenderOptions, make_options


def test_make_options_nothing_given_spec_defaults() -> None:
    options = make_options()
    assert options == RenderOptions()
    assert options == RenderOptions(
        eink=False,
        thick=False,
        format="png",
        title=True,
        width=256,
        height=280,
        color_line="9d9d9d",
        color_background="222222",
        color_title="aaaaaa",
        color_axes="9d9d9d",
    )


def test_make_options_every_field_given_kept() -> None:
    given: dict[str, object] = {
        "eink": True,
        "thick": True,
        "format": "gif",
        "title": False,
        "width": 400,
        "height": 200,
        "color_line": "0000ff",
        "color_background": "ffffff",
        "color_title": "123456",
        "color_axes": "000000",
        "invert": True,
    }
    options = make_options(**given)
    assert {name: getattr(options, name) for name in given} == given


@pytest.mark.parametrize("name", ["width", "height"])
@pytest.mark.parametrize("size", [16, 17, 256, 2047, 2048])
def test_make_options_size_in_range_accepted(name: str, size: int) -> None:
    assert getattr(make_options(**{name: size}), name) == size


@pytest.mark.parametrize("name", ["width", "height"])
@pytest.mark.parametrize("size", [-1, 0, 15, 2049, 100_000])
def test_make_options_size_out_of_range_invalid_option(name: str, size: int) -> None:
    with pytest.raises(InvalidOption, match=name):
        make_options(**{name: size})


@pytest.mark.parametrize("name", ["color_line", "color_background", "color_title", "color_axes"])
@pytest.mark.parametrize(
    "colour", ["#9d9d9d", "9d9d9", "9d9d9d9", "", "gggggg", "9d 9d9", "9d9d9d\n", " 9d9d9d", "0x9d9d"]
)
def test_make_options_bad_colour_invalid_option(name: str, colour: str) -> None:
    with pytest.raises(InvalidOption, match=name):
        make_options(**{name: colour})


@pytest.mark.parametrize("name", ["color_line", "color_background", "color_title", "color_axes"])
def test_make_options_colour_lower_cased(name: str) -> None:
    assert getattr(make_options(**{name: "AbCdEf"}), name) == "abcdef"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("png", "png"),
        ("PNG", "png"),
        ("jpg", "jpeg"),
        ("JPG", "jpeg"),
        ("jpeg", "jpeg"),
        ("JpEg", "jpeg"),
        ("gif", "gif"),
        ("Gif", "gif"),
        ("bmp", "bmp"),
        ("BMP", "bmp"),
    ],
)
def test_make_options_format_alias_canonical(given: str, canonical: str) -> None:
    assert make_options(format=given).format == canonical


def test_formats_table_is_the_spec_list() -> None:
    assert FORMATS == {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "bmp": "bmp"}


@pytest.mark.parametrize("format", ["", "tiff", "webp", "svg", ".png", "png ", "jpe", "image/png"])
def test_make_options_unknown_format_invalid_format(format: str) -> None:
    with pytest.raises(InvalidFormat):
        make_options(format=format)


def test_make_options_bad_option_and_bad_format_option_wins() -> None:
    # DESIGN.md §3: parameters (error_invalid_parameters) are checked before the format rule.
    with pytest.raises(InvalidOption):
        make_options(format="tiff", width=15)
    with pytest.raises(InvalidOption):
        make_options(format="tiff", color_axes="#000000")


def test_invalid_errors_are_value_errors() -> None:
    assert issubclass(InvalidOption, ValueError)
    assert issubclass(InvalidFormat, ValueError)


@pytest.mark.parametrize(
    "given",
    [
        {"widht": 100},
        {"width": "100"},
        {"width": True},
        {"eink": 1},
        {"title": "true"},
        {"invert": "true"},
        {"color_line": 0x9D9D9D},
    ],
)
def test_make_options_caller_bug_type_error(given: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        make_options(**given)


def test_render_options_frozen() -> None:
    options = make_options()
    with pytest.raises(AttributeError):
        options.width = 10  # type: ignore[misc]


@pytest.mark.parametrize(("eink", "invert", "kept"), [(True, True, True), (True, False, False), (False, True, False)])
def test_make_options_invert_kept_with_eink_only(eink: bool, invert: bool, kept: bool) -> None:
    # Without eink invert changes nothing, so it is dropped: the same picture gets the same options (and ETag).
    assert make_options(eink=eink, invert=invert).invert is kept
