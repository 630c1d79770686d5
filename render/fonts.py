"""Text faces: DejaVu Sans, antialiased in colour and sharp (1-bit, hinted) on e-ink, with fallbacks.

DejaVu comes with matplotlib, so every install has it: it draws every Latin, Greek and Cyrillic letter makers
name variables with (issue 9). A character it lacks is drawn with the first font that has it: the other fonts
matplotlib ships, then the host's own (a CJK font such as fonts-wqy-microhei, where one is installed). Only a
character no font has is drawn as DejaVu's missing-glyph box.

Pillow font objects wrap FreeType faces that are not documented as safe to share between threads, and the
service renders in a thread pool: every thread loads and keeps its own fonts (`_fonts`). What fonts hold (their
character maps) is read once per process and shared.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, ImageDraw, ImageFont

# An ink for ImageDraw: a palette-free RGB colour, or 0/255 in a mode "1" picture.
Ink = tuple[int, int, int] | int


def _shipped() -> Path:
    spec = find_spec("matplotlib")  # found, not imported: importing matplotlib would cost 0.1 s and a font cache
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


SHIPPED = _shipped()
REGULAR = SHIPPED / "DejaVuSans.ttf"
BOLD = SHIPPED / "DejaVuSans-Bold.ttf"
# The other shipped fonts with letters DejaVu Sans lacks (DejaVu Serif has more of Latin Extended-D) and
# symbols (STIX). matplotlib's LastResortHE is left out on purpose: its "glyphs" are boxes naming a block.
_SHIPPED_FALLBACKS = (SHIPPED / "DejaVuSerif.ttf", SHIPPED / "STIXGeneral.ttf", SHIPPED / "DejaVuSansMono.ttf")
# Where hosts keep their fonts (the freedesktop.org directories, as fontconfig reads them).
HOST_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local" / "share" / "fonts",
    Path.home() / ".fonts",
)
_FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc"})


@functools.cache
def characters(path: Path) -> frozenset[int]:
    """The code points `path` has glyphs for; none for a font Pillow cannot draw at any size (colour emoji)."""
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            if "glyf" not in font and "CFF " not in font and "CFF2" not in font:
                return frozenset()  # bitmap-only (CBDT, sbix): fixed sizes Pillow refuses to scale
            return frozenset(font.getBestCmap() or ())
    except (OSError, TTLibError, AssertionError, KeyError):
        return frozenset()


@functools.cache
def _host_fonts() -> tuple[Path, ...]:
    found: list[Path] = []
    for directory in HOST_FONT_DIRS:
        for root, _, names in os.walk(directory):
            found += (Path(root, name) for name in names if Path(name).suffix.lower() in _FONT_SUFFIXES)
    return tuple(sorted(found))


@functools.lru_cache(maxsize=4096)
def font_for(char: int, bold: bool) -> Path:
    """The font that draws `char`: DejaVu Sans in the weight asked for, else the first fallback that has it."""
    primary = BOLD if bold else REGULAR
    if char in characters(primary):
        return primary
    for path in (*_SHIPPED_FALLBACKS, *_host_fonts()):
        if char in characters(path):
            return path
    return primary  # no font has it: DejaVu's missing-glyph box


def _printable(text: str) -> str:
    # Names may hold newlines or tabs, which ImageDraw would lay out as several lines; NFC puts an "e" and a
    # combining accent together as the one "é" every font draws well.
    text = unicodedata.normalize("NFC", text)
    return "".join(" " if unicodedata.category(char)[0] == "C" else char for char in text)


class _Fonts(threading.local):
    """This thread's fonts, and the masks of the labels it drew last (tick labels repeat from picture to picture)."""

    def __init__(self) -> None:
        self.loaded: dict[tuple[Path, int], ImageFont.FreeTypeFont] = {}
        self.masks: OrderedDict[tuple[Face, str], tuple[Image.Image, int, int]] = OrderedDict()

    def get(self, path: Path, size: int) -> ImageFont.FreeTypeFont:
        font = self.loaded.get((path, size))
        if font is None:
            # BASIC layout: the same pictures whether or not Pillow was built with libraqm, and faster.
            font = self.loaded[path, size] = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
        return font

    def mask(self, face: Face, text: str) -> tuple[Image.Image, int, int]:
        """`text` drawn in `face` as a mask, and where the mask's corner goes relative to the text's origin."""
        found = self.masks.get((face, text))
        if found is not None:
            self.masks.move_to_end((face, text))
            return found
        left, top, right, bottom = face.extent(text)
        mask = Image.new(face.mode, (max(1, right - left), max(1, bottom - top)), 0)
        canvas = ImageDraw.Draw(mask)  # in mode "1", FreeType's 1-bit glyphs (ImageDraw's fontmode), as measured
        x = float(-left)
        for font, run in face.runs(text):
            canvas.text((x, -top), run, fill=255, font=font, anchor="ls")
            x += font.getlength(run, face.mode)
        found = self.masks[face, text] = (mask, left, top)
        if len(self.masks) > _MASKS:
            self.masks.popitem(last=False)
        return found


_fonts = _Fonts()
_MASKS = 1024


@dataclass(frozen=True, slots=True)
class Face:
    """Text at one size and weight: where it will land, and drawing it there, from its baseline's left end.

    A face holds no font object: each thread draws it with fonts of its own.
    """

    size: int  # the em, in pixels
    bold: bool
    sharp: bool  # 1-bit glyphs hinted for the pixel grid (e-ink); antialiased otherwise
    line_top: int  # the top and bottom of "Hg": every label's box spans at least these rows, so
    line_bottom: int  # labels of one row line up whatever letters they hold

    @property
    def mode(self) -> str:
        """The Pillow mode of its glyphs."""
        return "1" if self.sharp else "L"

    def clean(self, text: str) -> str:
        """`text` as it will be drawn on one line."""
        return _printable(text)

    def runs(self, text: str) -> list[tuple[ImageFont.FreeTypeFont, str]]:
        """`text` cut where the font that draws it changes, with this thread's fonts."""
        primary = BOLD if self.bold else REGULAR
        if text.isascii():  # DejaVu has every printable ASCII character: the tick labels' fast path
            return [(_fonts.get(primary, self.size), text)]
        runs: list[tuple[Path, str]] = []
        for char in text:
            path = font_for(ord(char), self.bold)
            if runs and runs[-1][0] == path:
                runs[-1] = (path, runs[-1][1] + char)
            else:
                runs.append((path, char))
        return [(_fonts.get(path, self.size), run) for path, run in runs]

    def extent(self, text: str) -> tuple[int, int, int, int]:
        """Left, top, right, bottom of the pixels `draw` may touch, relative to the origin it is given."""
        return _extent(self, text)

    def draw(self, canvas: ImageDraw.ImageDraw, origin: tuple[int, int], text: str, ink: Ink) -> None:
        """Draw `text` (already clean) with its baseline's left end at `origin`."""
        mask, left, top = _fonts.mask(self, text)
        canvas.bitmap((origin[0] + left, origin[1] + top), mask, fill=ink)


# Layouts measure the same labels again and again ("18:00", a title being fitted): the answers, which hold no
# font object, are shared by every thread.
@functools.lru_cache(maxsize=8192)
def _extent(face: Face, text: str) -> tuple[int, int, int, int]:
    left, top, right, bottom = math.inf, float(face.line_top), -math.inf, float(face.line_bottom)
    x = 0.0
    for font, run in face.runs(text):
        x0, y0, x1, y1 = font.getbbox(run, face.mode, anchor="ls")
        left, top, right, bottom = min(left, x + x0), min(top, y0), max(right, x + x1), max(bottom, y1)
        x += font.getlength(run, face.mode)
    if left > right:  # no text
        left = right = 0
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


@functools.lru_cache(maxsize=256)
def face(size: int, bold: bool, sharp: bool) -> Face:
    """DejaVu Sans of `size` px; `sharp` for 1-bit pictures."""
    primary = _fonts.get(BOLD if bold else REGULAR, size)
    _, top, _, bottom = primary.getbbox("Hg", "1" if sharp else "L", anchor="ls")
    return Face(size, bold, sharp, math.floor(top), math.ceil(bottom))
