"""The inks of one picture: the options' four colours, or black on white for e-ink."""

from __future__ import annotations

from dataclasses import dataclass

from render.fonts import Ink
from render.options import RenderOptions

# Mode "1" pixels: the BMP writer stores 255 as a 1-bit, which the Inkplate shows as white (DESIGN.md §3).
BLACK = 0
WHITE = 255

# How much of the axes colour the grid lines take over the background: enough to read the levels across the
# plot, little enough that they never compete with the data line.
_GRID_SHARE = 0.28


@dataclass(frozen=True, slots=True)
class Palette:
    """What each part of the picture is drawn with."""

    mode: str  # the Pillow image mode: "RGB", or "1" for e-ink
    background: Ink
    line: Ink
    title: Ink
    axes: Ink
    grid: Ink
    grid_dots: bool  # grid lines drawn as dots, since a 1-bit picture has no lighter grey


def rgb(colour: str) -> tuple[int, int, int]:
    """The (r, g, b) of six hex digits, as checked by make_options."""
    value = int(colour, 16)
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


def _mix(ink: tuple[int, int, int], base: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    red, green, blue = (round(a * share + b * (1 - share)) for a, b in zip(ink, base, strict=True))
    return (red, green, blue)


def palette_for(options: RenderOptions) -> Palette:
    """The inks the options ask for; e-ink ignores the colours (the spec: white background, black graphics)."""
    if options.eink:
        return Palette("1", WHITE, BLACK, BLACK, BLACK, BLACK, grid_dots=True)
    background = rgb(options.color_background)
    axes = rgb(options.color_axes)
    return Palette(
        "RGB",
        background,
        rgb(options.color_line),
        rgb(options.color_title),
        axes,
        _mix(axes, background, _GRID_SHARE),
        grid_dots=False,
    )
