"""graph: a variable's history as an image through HTTP; errors as JSON."""

from __future__ import annotations

import io
import struct
from email.utils import formatdate

import httpx
import pytest
from PIL import Image

from tests.service.test_compat import raw_exchange
from tests.support import Account, Api, Db, lift_cooldown, make_account, persona_key

MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "image/gif": b"GIF8", "image/bmp": b"BM"}


def with_history(api: Api, db: Db, account: Account, type_: str = "float", **params: object) -> str:
    """A variable of `account` with three points of history."""
    var = api.create(account.key, type=type_, **params)
    for value in ("true", "false", "true") if type_ == "bool" else ("1.5", "3.25", "2.0"):
        api.call("write", account.key, id=var, value=value)
        lift_cooldown(db, var, seconds=3600)
    return var


def picture(api: Api, key: str | None, var: str, transport: str = "get", **options: object) -> Image.Image:
    response = api.request(transport, action="graph", key=key, id=var, **options)
    assert response.status_code == 200, response.text
    media_type = response.headers["content-type"]
    assert response.content.startswith(MAGIC[media_type])
    assert int(response.headers["content-length"]) == len(response.content)
    return Image.open(io.BytesIO(response.content))


def test_graph_defaults_png_256x280_on_the_spec_background(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = with_history(api, db, alice)

    image = picture(api, alice.key, var, transport)

    assert (image.format, image.size) == ("PNG", (256, 280))
    assert image.convert("RGB").getpixel((0, 0)) == (0x22, 0x22, 0x22)


def test_graph_png_header_is_exact(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    data = api.request(action="graph", key=alice.key, id=var, width=300, height=200).content
    width, height = struct.unpack(">II", data[16:24])
    assert data[12:16] == b"IHDR" and (width, height) == (300, 200)


@pytest.mark.parametrize(
    ("format_", "media_type", "pil_format"),
    [
        ("png", "image/png", "PNG"),
        ("jpg", "image/jpeg", "JPEG"),
        ("JPEG", "image/jpeg", "JPEG"),
        ("gif", "image/gif", "GIF"),
        ("bmp", "image/bmp", "BMP"),
    ],
)
def test_graph_formats(api: Api, db: Db, alice: Account, format_: str, media_type: str, pil_format: str) -> None:
    var = with_history(api, db, alice)
    response = api.request(action="graph", key=alice.key, id=var, format=format_)
    assert response.headers["content-type"] == media_type
    assert Image.open(io.BytesIO(response.content)).format == pil_format


@pytest.mark.parametrize("format_", ["png", "jpg", "gif", "bmp"])
def test_graph_eink_is_a_1_bit_bmp_whatever_the_format(api: Api, db: Db, alice: Account, format_: str) -> None:
    var = with_history(api, db, alice)
    response = api.request(action="graph", key=alice.key, id=var, eink="true", format=format_, width=400, height=300)
    data = response.content
    assert response.headers["content-type"] == "image/bmp"
    assert data[:2] == b"BM" and struct.unpack("<I", data[14:18])[0] == 40
    assert struct.unpack("<iiHH", data[18:30]) == (400, 300, 1, 1)
    assert data[54:62] == b"\x00\x00\x00\x00\xff\xff\xff\x00"


@pytest.mark.parametrize("flag", ["true", "1", "TRUE"])
def test_graph_eink_invert_drawing_as_one_bits_looks_the_same(
    api: Api, db: Db, alice: Account, transport: str, flag: str
) -> None:
    var = with_history(api, db, alice)
    options = {"action": "graph", "key": alice.key, "id": var, "eink": "true", "width": 296, "height": 128}
    plain = api.request(transport, **options)
    inverted = api.request(transport, **options, invert=flag)
    assert inverted.headers["content-type"] == "image/bmp"
    assert inverted.content[54:62] == b"\xff\xff\xff\x00\x00\x00\x00\x00"  # [white, black]
    # The background's bits (the first row's first byte) are 0s now, 1s in the Inkplate's picture.
    assert (inverted.content[62], plain.content[62]) == (0x00, 0xFF)
    assert inverted.headers["etag"] != plain.headers["etag"]
    same = [Image.open(io.BytesIO(r.content)).convert("RGB").tobytes() for r in (plain, inverted)]
    assert same[0] == same[1]


def test_graph_invert_without_eink_changes_nothing(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    plain = api.request(action="graph", key=alice.key, id=var)
    inverted = api.request(action="graph", key=alice.key, id=var, invert="true")
    assert (inverted.content, inverted.headers["etag"]) == (plain.content, plain.headers["etag"])


def test_graph_colours_are_the_options(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    image = picture(api, alice.key, var, color_background="ffffff", color_line="0000ff", color_axes="000000")
    colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20) or []}
    assert image.convert("RGB").getpixel((0, 0)) == (255, 255, 255)
    assert (0, 0, 255) in colours


@pytest.mark.parametrize("type_", ["int", "bool"])
def test_graph_int_and_bool_variables_draw(api: Api, db: Db, alice: Account, type_: str) -> None:
    var = with_history(api, db, alice, type_)
    assert picture(api, alice.key, var).size == (256, 280)


def test_graph_no_history_still_draws(api: Api, alice: Account) -> None:
    var = api.create(alice.key)
    assert picture(api, alice.key, var).size == (256, 280)


@pytest.mark.parametrize(("width", "height"), [(16, 16), (2048, 16), (16, 2048), (296, 128), (400, 300)])
def test_graph_sizes_at_the_limits(api: Api, db: Db, alice: Account, width: int, height: int) -> None:
    var = with_history(api, db, alice)
    assert picture(api, alice.key, var, width=width, height=height).size == (width, height)


@pytest.mark.parametrize(
    "options",
    [
        {"width": 15},
        {"height": 2049},
        {"width": "wide"},
        {"width": 1.5},
        {"color_line": "#9d9d9d"},
        {"color_background": "12345g"},
        {"color_axes": "fff"},
        {"eink": "yes"},
        {"title": "maybe"},
        {"invert": "yes"},
    ],
    ids=repr,
)
def test_graph_bad_option_invalid_parameters(api: Api, db: Db, alice: Account, options: dict[str, object]) -> None:
    var = with_history(api, db, alice)
    assert api.call("graph", alice.key, id=var, **options) == {"result": "error_invalid_parameters"}


def test_graph_unknown_format_invalid_format(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    assert api.call("graph", alice.key, id=var, format="tiff") == {"result": "error_invalid_format"}
    # eink overrides the formats there are; it does not make an unknown one acceptable.
    assert api.call("graph", alice.key, id=var, format="tiff", eink=True) == {"result": "error_invalid_format"}


def test_graph_string_variable_is_string_even_with_a_bad_format(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="string")
    assert api.call("graph", alice.key, id=var) == {"result": "error_is_string"}
    assert api.call("graph", alice.key, id=var, format="tiff") == {"result": "error_is_string"}


@pytest.mark.parametrize(
    ("who", "id_", "options", "result"),
    [
        ("wrong", None, {"width": 1}, "error_invalid_key"),
        ("banned", None, {}, "error_banned"),
        ("unconfirmed", None, {}, "error_unconfirmed"),
        ("alice", None, {}, "error_invalid_parameters"),
        ("alice", "nOsUcH00", {"width": 1}, "error_invalid_parameters"),
        ("alice", "nOsUcH00", {"format": "tiff"}, "error_invalid_id"),
        ("anonymous", "nOsUcH00", {"format": "tiff"}, "error_invalid_id"),
    ],
)
def test_graph_order_of_checks(
    api: Api, db: Db, alice: Account, who: str, id_: str | None, options: dict[str, object], result: str
) -> None:
    assert api.call("graph", persona_key(db, who, alice), id=id_, **options) == {"result": result}


def test_graph_same_request_same_etag_and_bytes(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    first = api.request(action="graph", key=alice.key, id=var)
    second = api.request(action="graph", key=alice.key, id=var)
    assert first.headers["etag"] == second.headers["etag"]
    assert first.content == second.content
    other = api.request(action="graph", key=alice.key, id=var, thick="true")
    assert other.headers["etag"] != first.headers["etag"]


def test_graph_matching_if_none_match_304_then_a_write_changes_it(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    etag = api.request(action="graph", key=alice.key, id=var).headers["etag"]

    cached = api.http.get("/", params={"action": "graph", "key": alice.key, "id": var}, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == etag

    lift_cooldown(db, var, seconds=3600)
    api.call("write", alice.key, id=var, value=9.5)
    fresh = api.http.get("/", params={"action": "graph", "key": alice.key, "id": var}, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag


def test_graph_image_never_chunked_on_http11(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    answer = raw_exchange(
        api.base_url, f"GET /?key={alice.key}&action=graph&id={var} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert f"content-length: {len(body)}".encode() in head.lower()
    assert body.startswith(MAGIC["image/png"])


def test_graph_banned_account_refused(api: Api, db: Db) -> None:
    account = make_account(db, banned=True)
    assert api.call("graph", account.key, id="whatever") == {"result": "error_banned"}


def test_graph_etag_changes_when_old_history_expires(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice, expire=86400)
    before = api.request(action="graph", key=alice.key, id=var)

    db.execute(
        "UPDATE history SET time = time - interval '2 days' WHERE variable_id = $1"
        " AND time = (SELECT min(time) FROM history WHERE variable_id = $1)",
        var,
    )

    after = api.request(action="graph", key=alice.key, id=var)
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content


def graph_get(api: Api, key: str, var: str, **headers: str) -> httpx.Response:
    return api.http.get("/", params={"action": "graph", "key": key, "id": var}, headers=headers)


def test_graph_last_modified_is_the_latest_values_time(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    response = graph_get(api, alice.key, var)
    assert response.headers["last-modified"] == formatdate(api.call("read", alice.key, id=var)["time"], usegmt=True)


def test_graph_if_modified_since_304_then_a_write_changes_it(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    first = graph_get(api, alice.key, var)
    modified = first.headers["last-modified"]

    cached = graph_get(api, alice.key, var, **{"If-Modified-Since": modified})
    assert cached.status_code == 304 and cached.content == b""
    assert (cached.headers["etag"], cached.headers["last-modified"]) == (first.headers["etag"], modified)
    earlier = formatdate(api.call("read", alice.key, id=var)["time"] - 1, usegmt=True)
    assert graph_get(api, alice.key, var, **{"If-Modified-Since": earlier}).status_code == 200

    lift_cooldown(db, var, seconds=3600)
    api.call("write", alice.key, id=var, value=9.5)
    fresh = graph_get(api, alice.key, var, **{"If-Modified-Since": modified})
    assert fresh.status_code == 200 and fresh.headers["last-modified"] != modified


def test_graph_if_modified_since_ignored_on_post(api: Api, db: Db, alice: Account) -> None:
    var = with_history(api, db, alice)
    modified = graph_get(api, alice.key, var).headers["last-modified"]
    response = api.request("form", {"If-Modified-Since": modified}, action="graph", key=alice.key, id=var)
    assert response.status_code == 200 and response.content.startswith(MAGIC["image/png"])
