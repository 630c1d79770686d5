"""Reading rendered pictures back for the render tests: decoding, colours and where they are."""

from __future__ import annotations

import io

import numpy
from PIL import Image, ImageChops, ImageDraw

from render import Picture
from render.layout import Box, Label


def decode(picture: Picture) -> Image.Image:
    image = Image.open(io.BytesIO(picture.data))
    image.load()
    return image


def rgb(picture: Picture) -> Image.Image:
    return decode(picture).convert("RGB")


def hex_rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour, 16)
    return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


def pixels_of(image: Image.Image, colour: tuple[int, int, int], box: Box | None = None) -> list[tuple[int, int]]:
    """The (x, y) of every pixel of exactly `colour`, inside `box` if given."""
    box = box or Box(0, 0, image.width, image.height)
    data = image.load()
    assert data is not None
    return [(x, y) for y in range(box.top, box.bottom) for x in range(box.left, box.right) if data[x, y] == colour]


def colours(image: Image.Image) -> set[tuple[int, int, int]]:
    found = image.convert("RGB").getcolors(image.width * image.height)
    assert found is not None
    return {colour for _, colour in found}  # type: ignore[misc]


def ink_box(label: Label, mode: str) -> Box | None:
    """Where the label's face really puts ink when it draws the label, in picture coordinates."""
    pad = 8
    size = (label.box.width + 2 * pad, label.box.height + 2 * pad)
    canvas = Image.new("1" if mode == "1" else "L", size, 0)
    origin = (label.origin[0] - label.box.left + pad, label.origin[1] - label.box.top + pad)
    label.face.draw(ImageDraw.Draw(canvas), origin, label.text, 255)
    found = canvas.getbbox()
    if found is None:
        return None
    left, top, right, bottom = found
    shift_x, shift_y = label.box.left - pad, label.box.top - pad
    return Box(left + shift_x, top + shift_y, right + shift_x, bottom + shift_y)


def differing_share(first: Image.Image, second: Image.Image) -> float:
    """The share of pixels whose colour differs at all between two pictures of the same size."""
    assert first.size == second.size
    difference = ImageChops.difference(first.convert("RGB"), second.convert("RGB"))
    red, green, blue = difference.split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    same = strongest.histogram()[0]
    return 1 - same / (first.width * first.height)


def pixels_towards(
    image: Image.Image, colour: tuple[int, int, int], background: tuple[int, int, int], box: Box
) -> list[tuple[int, int]]:
    """Pixels in `box` at least half-way from the background to `colour`: anti-aliased text in that colour."""
    data = image.load()
    assert data is not None
    direction = [c - b for c, b in zip(colour, background, strict=True)]
    length = sum(d * d for d in direction)
    found = []
    for y in range(box.top, box.bottom):
        for x in range(box.left, box.right):
            pixel = data[x, y]
            assert isinstance(pixel, tuple)
            share = sum((p - b) * d for p, b, d in zip(pixel, background, direction, strict=True)) / length
            if share >= 0.5:
                found.append((x, y))
    return found


def pixels_blending(
    image: Image.Image, colour: tuple[int, int, int], background: tuple[int, int, int], box: Box
) -> list[tuple[int, int]]:
    """Pixels in `box` that are `colour` laid at least half over the background: an antialiased line."""
    pixels = numpy.asarray(image.convert("RGB"), dtype=float)[box.top : box.bottom, box.left : box.right]
    ink, base = numpy.array(colour, dtype=float), numpy.array(background, dtype=float)
    direction = ink - base
    share = ((pixels - base) @ direction) / (direction @ direction)  # how far along from background to colour
    blend = base + share[..., None] * direction
    close = numpy.abs(pixels - blend).max(axis=-1) <= 8
    rows, columns = numpy.nonzero((share >= 0.5) & close)
    return [(int(x) + box.left, int(y) + box.top) for y, x in zip(rows, columns, strict=True)]
