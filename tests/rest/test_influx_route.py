"""POST /api/v2/write as InfluxDB 2 clients call it: `Authorization: Token <key>`, a precision, a gzip
body (Telegraf's default), and InfluxDB's error bodies. What the ingest does with the points is
tests/rest/test_influx_ingest.py's."""

from __future__ import annotations

import gzip
import time

from tests.rest.conftest import Rest, key_header

BODY = b"room,floor=1 temp=21.5,humid=40i\nroom,floor=2 temp=19.0\n"


def _names(rest: Rest, key: str) -> dict[str, object]:
    variables = rest.http.get("/api/v1/variables", headers=key_header(key)).json()["variables"]
    return {v["name"]: v["value"] for v in variables}


def test_telegraf_style_write_lands(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post(
        "/api/v2/write",
        params={"org": "home", "bucket": "sensors", "precision": "s"},
        content=gzip.compress(BODY),
        headers={"Authorization": f"Token {owner.key}", "Content-Encoding": "gzip", "Content-Type": "text/plain"},
    )
    assert answer.status_code == 204, answer.text
    assert _names(rest, owner.key) == {
        "room.temp{floor=1}": 21.5,
        "room.humid{floor=1}": 40,
        "room.temp{floor=2}": 19.0,
    }


def test_a_timestamped_point_goes_into_history(rest: Rest) -> None:
    owner = rest.owner()
    when = int(time.time()) - 600
    answer = rest.http.post(
        "/api/v2/write",
        params={"precision": "s"},
        content=f"room temp=20.5 {when}",
        headers={"Authorization": f"Token {owner.key}"},
    )
    assert answer.status_code == 204, answer.text
    var = rest.http.get("/api/v1/variables", headers=key_header(owner.key)).json()["variables"][0]["id"]
    history = rest.http.get(f"/api/v1/variables/{var}/history", headers=key_header(owner.key)).json()
    assert history == [{"time": when, "value": 20.5}]


def test_refusals_answer_in_influxdbs_shape(rest: Rest) -> None:
    unknown = rest.http.post("/api/v2/write", content=BODY, headers={"Authorization": "Token WrongKey12345678"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "unauthorized"
    owner = rest.owner()
    reader = rest.scoped(owner.key, write=False)
    forbidden = rest.http.post("/api/v2/write", content=BODY, headers={"Authorization": f"Token {reader}"})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    bad = rest.http.post(
        "/api/v2/write",
        content=b"not gzip",
        headers={"Authorization": f"Token {owner.key}", "Content-Encoding": "gzip"},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_a_gzip_bomb_is_413(rest: Rest) -> None:
    owner = rest.owner()
    bomb = gzip.compress(b"room temp=1\n" * 1_000_000)  # 12 MB of lines in a few kB
    answer = rest.http.post(
        "/api/v2/write", content=bomb, headers={"Authorization": f"Token {owner.key}", "Content-Encoding": "gzip"}
    )
    assert answer.status_code == 413 and answer.json()["code"] == "request too large"
    assert _names(rest, owner.key) == {}
