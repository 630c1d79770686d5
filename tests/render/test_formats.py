"""The encoded bytes: each format's header, media type, and the e-ink BMP field by field (DESIGN.md §3)."""

from __future__ import annotations

import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from render import Picture, RenderOptions, Series, make_options, render
from tests.render import samples
from tests.render.images import colours, decode, hex_rgb, rgb

ROOT = Path(__file__).resolve().parents[2]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize(("width", "height"), [(256, 280), (16, 16), (2048, 16), (400, 300)])
def test_render_png_signature_and_ihdr_size(width: int, height: int) -> None:
    picture = render(samples.day(), make_options(width=width, height=height))
    assert picture.media_type == "image/png"
    assert png_size(picture.data) == (width, height)


@pytest.mark.parametrize("format", ["jpg", "jpeg"])
def test_render_jpeg_soi_and_size(format: str) -> None:
    picture = render(samples.day(), make_options(format=format, width=300, height=200))
    assert picture.media_type == "image/jpeg"
    assert picture.data[:3] == b"\xff\xd8\xff"
    assert picture.data[-2:] == b"\xff\xd9"
    image = decode(picture)
    assert (image.format, image.size) == ("JPEG", (300, 200))
    # Lossy, but the background stays the background.
    corner = image.convert("RGB").getpixel((0, 0))
    assert isinstance(corner, tuple)
    assert all(abs(a - b) <= 3 for a, b in zip(corner, hex_rgb("222222"), strict=True))


def test_render_gif_magic_size_and_exact_colours() -> None:
    picture = render(samples.day(), make_options(format="gif", width=300, height=200))
    assert picture.media_type == "image/gif"
    assert picture.data[:6] in (b"GIF87a", b"GIF89a")
    assert struct.unpack("<HH", picture.data[6:10]) == (300, 200)
    png = render(samples.day(), make_options(width=300, height=200))
    # A chart has far fewer than 256 colours: the palette holds every one of them exactly.
    assert rgb(picture).tobytes() == rgb(png).tobytes()


def test_render_bmp_format_24_bit() -> None:
    picture = render(samples.day(), make_options(format="bmp", width=30, height=20))
    data = picture.data
    assert picture.media_type == "image/bmp"
    assert data[:2] == b"BM"
    size, offset = struct.unpack("<I4xI", data[2:14])
    header, width, height, planes, bits, compression = struct.unpack("<IiiHHI", data[14:34])
    assert (size, offset, header) == (len(data), 54, 40)
    assert (width, height, planes, bits, compression) == (30, 20, 1, 24, 0)
    assert len(data) == 54 + 20 * 92  # 30 px * 3 bytes = 90, padded to 92


def parse_eink(data: bytes) -> dict[str, int | bytes]:
    magic, file_size, reserved, offset = struct.unpack("<2sIII", data[:14])
    fields = struct.unpack("<IiiHHIIiiII", data[14:54])
    names = ("header", "width", "height", "planes", "bits", "compression", "image_size", "xppm", "yppm", "used")
    parsed: dict[str, int | bytes] = dict(zip(names, fields[:10], strict=True))
    parsed.update(magic=magic, file_size=file_size, reserved=reserved, offset=offset, important=fields[10])
    parsed["palette"] = data[54:62]
    return parsed


@pytest.mark.parametrize(("width", "height"), [(296, 128), (400, 300), (16, 16), (17, 19), (33, 2048), (2048, 16)])
@pytest.mark.parametrize("format", ["png", "jpeg", "gif", "bmp"])
def test_render_eink_inkplate_bmp_fields(width: int, height: int, format: str) -> None:
    picture = render(samples.day(), make_options(eink=True, format=format, width=width, height=height))
    assert picture.media_type == "image/bmp"  # e-ink is a BMP whatever `format` says
    data = picture.data
    fields = parse_eink(data)
    stride = (width + 31) // 32 * 4  # one bit per pixel, rows padded to 4 bytes
    assert fields["magic"] == b"BM"
    assert fields["file_size"] == len(data) == 62 + stride * height
    assert fields["reserved"] == 0
    assert fields["offset"] == 62  # 14 + 40 + a palette of 2 entries
    assert fields["header"] == 40  # BITMAPINFOHEADER
    assert (fields["width"], fields["height"]) == (width, height)  # positive height: bottom-up rows
    assert (fields["planes"], fields["bits"], fields["compression"]) == (1, 1, 0)
    assert fields["image_size"] in (0, stride * height)
    assert fields["used"] == 2  # exactly two palette entries
    assert fields["important"] in (0, 2)
    assert fields["palette"] == b"\x00\x00\x00\x00\xff\xff\xff\x00"  # [black, white]


def test_render_eink_background_is_one_bits_graphics_zero_bits() -> None:
    width, height = 296, 128
    picture = render(samples.day(), make_options(eink=True, width=width, height=height))
    stride = (width + 31) // 32 * 4
    rows = [picture.data[62 + row * stride : 62 + (row + 1) * stride] for row in range(height)]
    rows.reverse()  # stored bottom-up

    def bit(x: int, y: int) -> int:
        return rows[y][x // 8] >> (7 - x % 8) & 1

    assert bit(0, 0) == bit(width - 1, 0) == bit(0, height - 1) == bit(width - 1, height - 1) == 1  # white
    set_bits = sum(bit(x, y) for y in range(height) for x in range(width))
    assert width * height * 0.7 < set_bits < width * height  # mostly background, some black graphics
    image = decode(picture)
    assert image.mode == "1"
    assert colours(image) == {(0, 0, 0), (255, 255, 255)}


def eink_bits(data: bytes, width: int, height: int) -> list[list[int]]:
    """Every pixel's bit, top row first, as a decoder that ignores the palette reads it (ESPHome's online_image)."""
    stride = (width + 31) // 32 * 4
    rows = [data[62 + row * stride : 62 + (row + 1) * stride] for row in reversed(range(height))]
    return [[row[x // 8] >> (7 - x % 8) & 1 for x in range(width)] for row in rows]


@pytest.mark.parametrize("series", [samples.day(), samples.switches(), samples.empty()], ids=["day", "bool", "empty"])
@pytest.mark.parametrize(("width", "height"), [(296, 128), (17, 19), (400, 300)])
def test_render_eink_invert_drawing_one_bits_palette_swapped_same_picture(
    series: Series, width: int, height: int
) -> None:
    plain = render(series, make_options(eink=True, width=width, height=height))
    inverted = render(series, make_options(eink=True, invert=True, width=width, height=height))
    assert inverted.media_type == "image/bmp"
    assert inverted.data[:54] == plain.data[:54] and len(inverted.data) == len(plain.data)  # the same header
    assert inverted.data[54:62] == b"\xff\xff\xff\x00\x00\x00\x00\x00"  # [white, black]
    assert eink_bits(inverted.data, width, height) == [
        [1 - bit for bit in row] for row in eink_bits(plain.data, width, height)
    ]
    stride = (width + 31) // 32 * 4
    pad = stride * 8 - width
    for row in range(height):  # the padding bits of every row stay 0
        bits = int.from_bytes(inverted.data[62 + row * stride : 62 + (row + 1) * stride], "big")
        assert bits & ((1 << pad) - 1) == 0
    assert rgb(inverted).tobytes() == rgb(plain).tobytes()  # a viewer that reads the palette sees the same


def test_render_invert_without_eink_changes_nothing() -> None:
    colour = RenderOptions(invert=True, format="bmp")  # not through make_options, which drops it
    assert render(samples.day(), colour) == render(samples.day(), make_options(format="bmp"))


@pytest.mark.parametrize("series", [samples.day(), samples.switches(), samples.empty()], ids=["day", "bool", "empty"])
@pytest.mark.parametrize("thick", [False, True])
def test_render_eink_exactly_two_colours_no_grey(series: Series, thick: bool) -> None:
    # Colours given for a colour picture are ignored: black on white, no anti-aliased text.
    options = make_options(eink=True, thick=thick, width=400, height=300, color_line="ff0000", color_title="00ff00")
    image = rgb(render(series, options))
    assert colours(image) == {(0, 0, 0), (255, 255, 255)}


@pytest.mark.parametrize(
    "options",
    [make_options(), make_options(eink=True), make_options(format="jpg"), make_options(format="gif", thick=True)],
)
def test_render_same_inputs_same_bytes(options: RenderOptions) -> None:
    assert render(samples.day(), options) == render(samples.day(), options)


def test_render_from_many_threads_same_bytes_as_alone() -> None:
    jobs = [
        (series, make_options(eink=eink, thick=thick, width=width, height=height))
        for series in (samples.day(), samples.switches(), samples.empty())
        for eink in (False, True)
        for thick in (False, True)
        for width, height in ((256, 280), (296, 128), (640, 480))
    ]
    alone = [render(series, options) for series, options in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            together: list[Picture] = list(pool.map(lambda job: render(*job), jobs))
            assert together == alone


def test_render_package_imports_nothing_from_service() -> None:
    code = "import sys, render; sys.exit(any(name.split('.')[0] == 'service' for name in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
