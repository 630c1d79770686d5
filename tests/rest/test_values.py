"""Values over REST: read, write (now or back-filled), toggle, batches, latest and graphs."""

from __future__ import annotations

import time

import pytest
from websockets.sync.client import connect

from tests.harness import running_gateway, scaled
from tests.rest.conftest import Rest, error_of, key_header
from tests.support import NOT_OF_ITS_TYPE, SAMPLES, Sample, history_rows, lift_cooldown, unchanged


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_write_then_read_round_trips(rest: Rest, sample: Sample) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, type=sample.type)
    h = key_header(owner.key)
    wrote = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": sample.sent}, headers=h)
    assert wrote.status_code == 200, wrote.text
    assert wrote.json()["value"] == sample.value and type(wrote.json()["value"]) is type(sample.value)
    read = rest.http.get(f"/api/v1/variables/{var}/value", headers=h)
    assert read.json() == wrote.json()
    assert f'"value":{sample.json}' in read.text


@pytest.mark.parametrize(("type_", "text"), NOT_OF_ITS_TYPE)
def test_write_of_another_type_is_422(rest: Rest, type_: str, text: str) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, type=type_)
    with unchanged(rest.db, owner):
        answer = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": text}, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


@pytest.mark.parametrize("body", [{}, {"value": None}, {"value": [1]}, {"value": {"a": 1}}, [1]])
def test_write_without_a_value_is_422(rest: Rest, body: object) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    answer = rest.http.post(f"/api/v1/variables/{var}/value", json=body, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


def test_write_in_cooldown_is_429_with_retry_after(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    assert rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1}, headers=h).status_code == 200
    with unchanged(rest.db, owner):
        answer = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 2}, headers=h)
    assert answer.status_code == 429 and error_of(answer) == "error_cooldown"
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


def test_toggle_flips_a_bool_and_refuses_others(rest: Rest) -> None:
    owner = rest.owner()
    flag, number = rest.create(owner.key, type="bool"), rest.create(owner.key)
    h = key_header(owner.key)
    answer = rest.http.post(f"/api/v1/variables/{flag}/toggle", headers=h)
    assert answer.status_code == 200 and answer.json()["value"] is True
    refused = rest.http.post(f"/api/v1/variables/{number}/toggle", headers=h)
    assert refused.status_code == 409 and error_of(refused) == "error_not_bool"


# -- Back-filled points (write_at) --------------------------------------------------------------------


def test_a_past_time_goes_into_history_at_that_time(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    now = int(time.time())
    assert rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 3.0}, headers=h).status_code == 200
    for minutes, value in ((30, 1.0), (20, 2.0)):
        sent = {"value": value, "time": now - minutes * 60}
        answer = rest.http.post(f"/api/v1/variables/{var}/value", json=sent, headers=h)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"value": value, "time": now - minutes * 60}
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600))
    assert rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 2.5, "time": iso}, headers=h).is_success
    history = rest.http.get(f"/api/v1/variables/{var}/history", params={"order": "asc"}, headers=h).json()
    assert [(p["time"], p["value"]) for p in history][:3] == [(now - 1800, 1.0), (now - 1200, 2.0), (now - 600, 2.5)]
    # The latest value stays the newest one.
    assert rest.http.get(f"/api/v1/variables/{var}/value", headers=h).json()["value"] == 3.0


@pytest.mark.parametrize("offset", [-90_000, 120], ids=["older-than-expire", "in-the-future"])
def test_a_time_outside_what_the_variable_keeps_is_422(rest: Rest, offset: int) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    with unchanged(rest.db, owner):
        sent = {"value": 1, "time": int(time.time()) + offset}
        answer = rest.http.post(f"/api/v1/variables/{var}/value", json=sent, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


def test_back_filled_points_meet_the_cooldown_between_them(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)  # expire a day: a cooldown of 60 s
    h = key_header(owner.key)
    now = int(time.time())
    assert rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1, "time": now - 3000}, headers=h).is_success
    answer = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 2, "time": now - 2970}, headers=h)
    assert answer.status_code == 429 and error_of(answer) == "error_cooldown"
    assert history_rows(rest.db, var) == 1


# -- Batches ------------------------------------------------------------------------------------------


def test_batch_answers_one_result_per_item_in_order(rest: Rest) -> None:
    owner = rest.owner()
    other = rest.owner()
    a, b = rest.create(owner.key), rest.create(owner.key, type="bool")
    foreign = rest.create(other.key)
    now = int(time.time())
    items = [
        {"id": a, "value": 1.5},
        {"id": b, "value": "maybe"},
        {"id": foreign, "value": 1},
        "not an object",
        {"id": a, "value": 0.5, "time": now - 3600},
        {"id": a, "value": 2.5},
        {"id": b, "value": True},
        {"value": 1},
    ]
    answer = rest.http.post("/api/v1/values", json=items, headers=key_header(owner.key))
    assert answer.status_code == 200
    results = answer.json()
    assert [r["status"] for r in results] == [200, 422, 404, 422, 200, 429, 200, 422]
    assert [r.get("error", {}).get("code") for r in results] == [
        None,
        "error_invalid_parameters",
        "error_invalid_id",
        "error_invalid_parameters",
        None,
        "error_cooldown",
        None,
        "error_invalid_parameters",
    ]
    assert results[0] == {"status": 200, "value": 1.5, "time": results[0]["time"]}
    assert results[4] == {"status": 200, "value": 0.5, "time": now - 3600}
    assert history_rows(rest.db, a) == 2 and history_rows(rest.db, foreign) == 0


def test_batch_of_many_variables_writes_them_all(rest: Rest) -> None:
    owner = rest.owner()
    ids = [rest.create(owner.key, name=f"V{n}") for n in range(40)]
    items = [{"id": var, "value": n} for n, var in enumerate(ids)]
    answer = rest.http.post("/api/v1/values", json=items, headers=key_header(owner.key))
    assert [r["status"] for r in answer.json()] == [200] * 40
    latest = rest.http.get("/api/v1/latest", params={"fields": "value"}, headers=key_header(owner.key)).json()
    assert latest == {var: float(n) for n, var in enumerate(ids)}


def test_batch_over_1000_items_is_422(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post("/api/v1/values", json=[{"id": "x", "value": 1}] * 1001, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


@pytest.mark.parametrize("body", [{"id": "x", "value": 1}, "text"])
def test_batch_not_an_array_is_422(rest: Rest, body: object) -> None:
    owner = rest.owner()
    answer = rest.http.post("/api/v1/values", json=body, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


@pytest.mark.parametrize(("state", "status"), [({"banned": True}, 403), ({"confirmed": False}, 403)])
def test_batch_of_a_refused_account_fails_whole(rest: Rest, state: dict[str, bool], status: int) -> None:
    owner = rest.owner(**state)
    answer = rest.http.post("/api/v1/values", json=[{"id": "abcdefgh", "value": 1}], headers=key_header(owner.key))
    assert answer.status_code == status


def test_batch_with_an_unknown_key_is_401(rest: Rest) -> None:
    answer = rest.http.post(
        "/api/v1/values", json=[{"id": "abcdefgh", "value": 1}], headers=key_header("WrongKey12345678")
    )
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


# -- Latest ---------------------------------------------------------------------------------------------


def test_latest_maps_ids_to_values(rest: Rest) -> None:
    owner = rest.owner()
    a, b = rest.create(owner.key), rest.create(owner.key, type="string")
    h = key_header(owner.key)
    rest.http.post(f"/api/v1/variables/{a}/value", json={"value": 21.5}, headers=h)
    rest.http.post(f"/api/v1/variables/{b}/value", json={"value": "on"}, headers=h)
    full = rest.http.get("/api/v1/latest", headers=h).json()
    assert set(full) == {a, b} and full[a]["value"] == 21.5 and isinstance(full[a]["time"], int)
    small = rest.http.get("/api/v1/latest", params={"fields": "value"}, headers=h)
    assert small.text == f'{{"{a}":21.5,"{b}":"on"}}'
    # Ten variables fit a device's 1 kB buffer with the headers.
    assert len(small.content) + len(str(small.headers)) < 1024


def test_latest_with_unknown_fields_is_422(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.get("/api/v1/latest", params={"fields": "colour"}, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


# -- Graphs ---------------------------------------------------------------------------------------------


def test_graph_is_an_image_with_an_etag(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1}, headers=h)
    lift_cooldown(rest.db, var)
    rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 2}, headers=h)
    png = rest.http.get(f"/api/v1/variables/{var}/graph", params={"width": 300, "height": 200}, headers=h)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    again = rest.http.get(
        f"/api/v1/variables/{var}/graph",
        params={"width": 300, "height": 200},
        headers={**h, "If-None-Match": png.headers["ETag"]},
    )
    assert again.status_code == 304 and again.content == b""
    eink = rest.http.get(f"/api/v1/variables/{var}/graph", params={"eink": "true"}, headers=h)
    assert eink.headers["content-type"] == "image/bmp" and eink.content.startswith(b"BM")


@pytest.mark.parametrize(
    ("type_", "params", "status", "code"),
    [
        ("string", {}, 409, "error_is_string"),
        ("float", {"format": "tiff"}, 422, "error_invalid_format"),
        ("float", {"width": 5000}, 422, "error_invalid_parameters"),
    ],
)
def test_graph_refused(rest: Rest, type_: str, params: dict[str, object], status: int, code: str) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, type=type_)
    answer = rest.http.get(f"/api/v1/variables/{var}/graph", params=params, headers=key_header(owner.key))
    assert answer.status_code == status and error_of(answer) == code


def test_a_rest_write_sends_refresh_to_the_accounts_sockets(rest: Rest, db_url: str) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    with running_gateway(db_url) as (_, ws), connect(ws, open_timeout=scaled(10)) as socket:
        socket.send(f"key {owner.key}")
        assert socket.recv(timeout=scaled(10)) == "ok"
        assert rest.http.post(
            f"/api/v1/variables/{var}/value", json={"value": 1}, headers=key_header(owner.key)
        ).is_success
        assert socket.recv(timeout=scaled(10)) == "refresh"
