"""render(): a Series and RenderOptions in, encoded picture bytes out."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from render.draw import paint
from render.layout import layout
from render.options import RenderOptions
from render.palette import palette_for
from render.series import Series

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp"}


@dataclass(frozen=True, slots=True)
class Picture:
    data: bytes
    media_type: str  # image/png, image/jpeg, image/gif or image/bmp


def render(series: Series, options: RenderOptions) -> Picture:
    """The graph of `series` as `options` ask: pure, deterministic, and safe to call from several threads.

    With `eink` the answer is a 1-bit BMP whatever `format` says (the spec, `graph`).
    """
    image = paint(layout(series, options), series, palette_for(options))
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
