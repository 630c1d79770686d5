"""Text faces: Pillow's built-in FreeType font for colour pictures, its built-in bitmap font for e-ink.

Pillow font objects wrap a FreeType face or a glyph sheet that are not documented as safe to share between
threads, and the service renders in a thread pool: every thread loads and keeps its own fonts (`_fonts`).
"""

from __future__ import annotations

import math
import threading
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

# An ink for ImageDraw: a palette-free RGB colour, or 0/255 in a mode "1" picture.
Ink = tuple[int, int, int] | int

# The built-in bitmap font is a 6x11 cell per character, Latin-1 only.
_CELL_HEIGHT = 11


class Face(Protocol):
    """A font at one size and weight that can say where its text will land, and draw it there."""

    @property
    def size(self) -> int:
        """The font's pixel size: its em (FreeType) or its cell height (bitmap)."""

    def clean(self, text: str) -> str:
        """`text` with what this face cannot draw on one line replaced."""

    def extent(self, text: str) -> tuple[int, int, int, int]:
        """Left, top, right, bottom of the pixels `draw` may touch, relative to the origin it is given."""

    def draw(self, canvas: ImageDraw.ImageDraw, origin: tuple[int, int], text: str, ink: Ink) -> None:
        """Draw `text` (already clean) with its origin at `origin`."""


def _printable(text: str) -> str:
    # Names may hold newlines or tabs, which ImageDraw would lay out as several lines.
    return "".join(" " if unicodedata.category(char)[0] == "C" else char for char in text)


@dataclass(frozen=True, slots=True)
class VectorFace:
    """Pillow's built-in FreeType font (`load_default(size)`), antialiased; bold is drawn twice 1 px apart."""

    font: ImageFont.FreeTypeFont
    bold: bool
    line_top: int  # the top and bottom of "Hg": every label's box spans at least these rows, so
    line_bottom: int  # labels of one row line up whatever letters they hold

    @property
    def size(self) -> int:
        return int(self.font.size)

    def clean(self, text: str) -> str:
        return _printable(text)

    def extent(self, text: str) -> tuple[int, int, int, int]:
        left, top, right, bottom = self.font.getbbox(text)
        return (
            math.floor(left),
            min(self.line_top, math.floor(top)),
            math.ceil(right) + (1 if self.bold else 0),
            max(self.line_bottom, math.ceil(bottom)),
        )

    def draw(self, canvas: ImageDraw.ImageDraw, origin: tuple[int, int], text: str, ink: Ink) -> None:
        x, y = origin
        canvas.text((x, y), text, fill=ink, font=self.font)
        if self.bold:
            canvas.text((x + 1, y), text, fill=ink, font=self.font)


@dataclass(frozen=True, slots=True)
class BitmapFace:
    """Pillow's built-in bitmap font, enlarged `scale` times by repeating pixels: sharp and never grey.

    Bold draws the text twice, 1 px apart: downwards at scale 1, where the glyphs' stems are already 2 px wide
    and their counters 1 px (drawn sideways, "0" fills in), and sideways when enlarged.
    """

    font: ImageFont.ImageFont
    scale: int
    bold: bool

    @property
    def size(self) -> int:
        return _CELL_HEIGHT * self.scale

    def clean(self, text: str) -> str:
        # The font has glyphs for Latin-1 only; anything else would fail to encode.
        return "".join(char if ord(char) < 256 else "?" for char in _printable(text))

    def _offsets(self) -> tuple[tuple[int, int], ...]:
        if not self.bold:
            return ((0, 0),)
        return ((0, 0), (0, 1)) if self.scale == 1 else ((0, 0), (1, 0))

    def extent(self, text: str) -> tuple[int, int, int, int]:
        width = math.ceil(self.font.getbbox(text)[2]) * self.scale
        dx, dy = self._offsets()[-1]
        return (0, 0, width + dx, self.size + dy)

    def draw(self, canvas: ImageDraw.ImageDraw, origin: tuple[int, int], text: str, ink: Ink) -> None:
        x, y = origin
        if self.scale == 1:
            for dx, dy in self._offsets():
                canvas.text((x + dx, y + dy), text, fill=ink, font=self.font)
            return
        width = math.ceil(self.font.getbbox(text)[2])
        mask = Image.new("1", (max(1, width), _CELL_HEIGHT), 0)
        ImageDraw.Draw(mask).text((0, 0), text, fill=1, font=self.font)
        mask = mask.resize((mask.width * self.scale, mask.height * self.scale), Image.Resampling.NEAREST)
        for dx, dy in self._offsets():
            canvas.bitmap((x + dx, y + dy), mask, fill=ink)


class _Fonts(threading.local):
    def __init__(self) -> None:
        self.vector: dict[int, ImageFont.FreeTypeFont] = {}
        self.bitmap: ImageFont.ImageFont | None = None


_fonts = _Fonts()


def vector_face(size: int, bold: bool) -> VectorFace:
    """The FreeType face of `size` px for this thread."""
    font = _fonts.vector.get(size)
    if font is None:
        loaded = ImageFont.load_default(size=size)
        if not isinstance(loaded, ImageFont.FreeTypeFont):
            # load_default falls back to the bitmap font when Pillow lacks FreeType; colour text needs sizes.
            raise RuntimeError("Pillow was built without FreeType")
        font = _fonts.vector[size] = loaded
    _, top, _, bottom = font.getbbox("Hg")
    return VectorFace(font, bold, math.floor(top), math.ceil(bottom))


def bitmap_face(scale: int, bold: bool) -> BitmapFace:
    """The bitmap face enlarged `scale` times for this thread."""
    if _fonts.bitmap is None:
        _fonts.bitmap = ImageFont.load_default_imagefont()
    return BitmapFace(_fonts.bitmap, scale, bold)
