"""Graph text in every language makers name variables in, and digits that cannot be mistaken (issue 9).

A character counts as drawn when its drawing differs from the missing-glyph box the face draws for a code point
no font has; the e-ink faces are checked at every size a picture of 16..2048 px uses.
"""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from PIL import Image, ImageChops, ImageDraw

from render import make_options
from render.fonts import BOLD, REGULAR, SHIPPED, Face, characters, face, font_for
from render.layout import Role, layout
from tests.render import samples

# Every letter of these blocks is drawn by DejaVu Sans itself, in both weights.
WHOLE_BLOCKS = {
    "Basic Latin": (0x20, 0x7F),
    "Latin-1 Supplement": (0xA0, 0x100),
    "Latin Extended-A": (0x100, 0x180),
    "Latin Extended-B": (0x180, 0x250),
    "IPA Extensions": (0x250, 0x2B0),
    "Greek Extended": (0x1F00, 0x2000),
    "Cyrillic": (0x400, 0x500),
}
# These are drawn wherever any font we ship has the letter (a handful of rare ones none has).
OTHER_BLOCKS = {
    "Greek and Coptic": (0x370, 0x400),
    "Cyrillic Supplement": (0x500, 0x530),
    "Latin Extended Additional": (0x1E00, 0x1F00),
    "Latin Extended-C": (0x2C60, 0x2C80),
    "Latin Extended-D": (0xA720, 0xA800),
    "Cyrillic Extended-A": (0x2DE0, 0x2E00),
    "Cyrillic Extended-B": (0xA640, 0xA6A0),
}
NO_FONT_HAS = "\U0010fffd"  # a private-use code point: the missing-glyph box
CJK = "温度客厅"
SHIPPED_FONTS = sorted(SHIPPED.glob("*.ttf"))
STYLES = [
    pytest.param(size, bold, sharp, id=f"{size}px-{'bold' if bold else 'regular'}-{'eink' if sharp else 'colour'}")
    for size, bold, sharp in itertools.product((12, 20), (False, True), (False, True))
]


def drawn(face_: Face, text: str, frame: str | None = None) -> Image.Image:
    """`text` drawn on a canvas the size of `frame`'s extent (its own by default), origins aligned."""
    left, top, right, bottom = face_.extent(frame or text)
    canvas = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    face_.draw(ImageDraw.Draw(canvas), (2 - left, 2 - top), text, 255)
    return canvas


def same(first: Image.Image, second: Image.Image) -> bool:
    return first.size == second.size and ImageChops.difference(first, second).getbbox() is None


def visible(code: int) -> bool:
    category = unicodedata.category(chr(code))
    return category[0] not in "CZ"  # not a control, format, unassigned or space character


def letters(blocks: dict[str, tuple[int, int]]) -> list[int]:
    return [code for low, high in blocks.values() for code in range(low, high) if visible(code)]


def test_whole_blocks_in_dejavu_both_weights() -> None:
    missing = [hex(code) for code in letters(WHOLE_BLOCKS) if code not in characters(REGULAR)]
    missing += [hex(code) for code in letters(WHOLE_BLOCKS) if code not in characters(BOLD)]
    assert missing == []


@pytest.mark.parametrize(("size", "bold", "sharp"), STYLES)
def test_latin_greek_cyrillic_never_drawn_as_missing_box(size: int, bold: bool, sharp: bool) -> None:
    face_ = face(size, bold, sharp)
    box = drawn(face_, NO_FONT_HAS)
    shipped = set().union(*(characters(path) for path in SHIPPED_FONTS if "LastResort" not in path.name))
    codes = letters(WHOLE_BLOCKS) + [code for code in letters(OTHER_BLOCKS) if code in shipped]
    assert len(codes) > 1_600
    tofu = [hex(code) for code in codes if same(drawn(face_, chr(code)), box)]
    assert tofu == []
    blank = [
        hex(code)
        for code in codes
        if unicodedata.category(chr(code))[0] == "L" and not drawn(face_, chr(code)).getbbox()
    ]
    assert blank == []


@pytest.mark.parametrize(("size", "bold", "sharp"), STYLES)
def test_cjk_drawn_with_host_font(size: int, bold: bool, sharp: bool) -> None:
    fonts = {font_for(ord(char), bold) for char in CJK}
    assert fonts.isdisjoint({REGULAR, BOLD}), "no CJK font on this host: `apt-get install fonts-wqy-microhei`"
    face_ = face(size, bold, sharp)
    box = drawn(face_, NO_FONT_HAS)
    assert not [char for char in CJK if same(drawn(face_, char), box)]


def test_mixed_scripts_one_baseline() -> None:
    face_ = face(20, False, False)
    # The runs come from two fonts (DejaVu, then the host's CJK font, then DejaVu): one baseline for all, and
    # each run starts where the one before it ends.
    alone, mixed = drawn(face_, "x", "x温ж"), drawn(face_, "x温ж")
    x_right = face_.extent("x")[2] - face_.extent("x温ж")[0] + 2
    assert same(alone.crop((0, 0, x_right, alone.height)), mixed.crop((0, 0, x_right, mixed.height)))
    assert mixed.crop((x_right, 0, mixed.width, mixed.height)).getbbox() is not None


def eink_text_sizes() -> set[tuple[int, bool]]:
    """Every (size, bold) an e-ink picture's labels use, at sizes from 16 to 2048 px."""
    sizes = set()
    for width, height in itertools.product((16, 64, 128, 200, 296, 400, 640, 800, 1200, 2048), repeat=2):
        for thick in (False, True):
            result = layout(samples.day(), make_options(eink=True, thick=thick, width=width, height=height))
            sizes |= {(label.face.size, label.face.bold) for label in result.labels if label.role is not Role.NOTE}
    return sizes


@pytest.mark.parametrize(("size", "bold"), sorted(eink_text_sizes()))
def test_eink_digits_pairwise_distinct(size: int, bold: bool) -> None:
    # "16:43" must never read as "18:49": every two digits differ in many pixels, more in bold, whose strokes
    # fill the counters first.
    face_ = face(size, bold, sharp=True)
    digits = {digit: drawn(face_, digit, "0") for digit in "0123456789"}
    least = 10 if bold else 5
    for first, second in itertools.combinations("0123456789", 2):
        differing = ImageChops.difference(digits[first], digits[second]).histogram()[255]
        assert differing >= least, (first, second, differing)


def test_eink_faces_one_bit() -> None:
    for bold in (False, True):
        image = drawn(face(12, bold, sharp=True), "Čakovec 16:43 Ωμ Жж 温度")
        assert {value for _, value in image.getcolors() or ()} <= {0, 255}
