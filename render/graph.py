"""render(): a Series and RenderOptions in, encoded picture bytes out."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageChops

from render.draw import paint
from render.layout import layout
from render.options import RenderOptions
from render.palette import palette_for
from render.series import Series

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp"}

# The two palette entries of a 1-bit BMP (blue, green, red, reserved), at offset 54.
_WHITE_BLACK = b"\xff\xff\xff\x00\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class Picture:
    data: bytes
    media_type: str  # image/png, image/jpeg, image/gif or image/bmp


def render(series: Series, options: RenderOptions) -> Picture:
    """The graph of `series` as `options` ask: pure, deterministic, and safe to call from several threads.

    With `eink` the answer is a 1-bit BMP whatever `format` says (the spec, `graph`).
    """
    image = paint(layout(series, options), series, palette_for(options))
    if options.eink and options.invert:
        # ESPHome's online_image ignores a 1-bit BMP's palette and draws its 1-bits as ink, Inkplate's decoder its
        # 0-bits: the drawing goes in as 1-bits and the palette swaps too, so that the picture looks the same.
        data = _encode(ImageChops.invert(image), "bmp")
        return Picture(data[:54] + _WHITE_BLACK + data[62:], MEDIA_TYPES["bmp"])
    if options.eink:
        return Picture(_encode(image, "bmp"), MEDIA_TYPES["bmp"])
    return Picture(_encode(image, options.format), MEDIA_TYPES[options.format])


def _encode(image: Image.Image, format: str) -> bytes:
    out = io.BytesIO()
    if format == "png":
        # Flat charts compress well at the fastest level; optimize would cost more time than the bytes it saves.
        image.save(out, "PNG", compress_level=1)
    elif format == "jpeg":
        # Full-resolution colour keeps 1-px lines and small text from bleeding.
        image.save(out, "JPEG", quality=90, subsampling=0)
    elif format == "gif":
        image.quantize(256, dither=Image.Dither.NONE).save(out, "GIF")
    else:
        # Pillow writes mode "1" exactly as the Inkplate reads it (DESIGN.md §3; tests/render/test_formats.py
        # pins every field), and "RGB" as a plain 24-bit BMP.
        image.save(out, "BMP")
    return out.getvalue()
