"""How parameters arrive: GET query, JSON body, form body, and what bad bodies get."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings, strategies as st

from service.varipass.transport import form_fields
from tests.support import Account, Api, Db, snapshot


def test_form_fields_are_what_parse_qsl_gives() -> None:
    # Query strings as devices send them, with what needs decoding, and any bytes at all. @given
    # inside the test: hypothesis then finds no test of its own at collection, and writes nothing
    # in the checkout (tests/service/test_properties.py does the same).
    pieces = st.sampled_from([b"key", b"id", b"=", b"&", b"1.5", b"+", b"%20", b"%C3%A9", b"%zz"])

    @settings(max_examples=300, derandomize=True, database=None, deadline=None)
    @given(data=st.one_of(st.lists(pieces, max_size=12).map(b"".join), st.binary(max_size=40)))
    def check(data: bytes) -> None:
        text = data.decode("utf-8", "surrogateescape")
        expected = dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="surrogateescape"))
        assert form_fields(data) == expected

    check()


def test_post_json_with_unknown_content_type_is_read_as_json(api: Api, alice: Account) -> None:
    body = json.dumps({"key": alice.key, "action": "list"})
    response = api.http.post("/", content=body, headers={"Content-Type": "text/plain"})
    assert response.json() == {"result": "success", "list": []}


def test_post_form_without_content_type_is_read_as_form(api: Api, alice: Account) -> None:
    response = api.http.post("/", content=f"key={alice.key}&action=list", headers={"Content-Type": ""})
    assert response.json() == {"result": "success", "list": []}


def test_body_parameters_win_over_query(api: Api, alice: Account) -> None:
    response = api.http.post("/?action=nonsense", data={"key": alice.key, "action": "list"})
    assert response.json()["result"] == "success"


def test_query_and_body_merge(api: Api, alice: Account) -> None:
    response = api.http.post(f"/?key={alice.key}", json={"action": "list"})
    assert response.json()["result"] == "success"


@pytest.mark.parametrize(
    "body",
    [
        b'{"key": "abc", "action": "list"',
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b"[" * 50_000,
        b"",
    ],
)
def test_malformed_json_body_no_request(api: Api, body: bytes) -> None:
    response = api.http.post("/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"result": "error_no_request"}


def test_malformed_json_body_with_action_in_query_is_judged_on_the_rest(api: Api, alice: Account) -> None:
    response = api.http.post(
        f"/?key={alice.key}&action=create", content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert response.json() == {"result": "error_invalid_parameters"}


def test_body_over_limit_413_with_protocol_body(api: Api, db: Db, alice: Account) -> None:
    before = snapshot(db, alice)
    body = json.dumps({"key": alice.key, "action": "create", "type": "string", "name": "x" * 2_000_000})

    response = api.http.post("/", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {"result": "error_invalid_parameters"}
    assert snapshot(db, alice) == before
    assert api.call("list", alice.key)["result"] == "success"


def test_body_over_limit_without_content_length_413(api: Api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    response = api.http.post("/?action=sread", content=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert response.text == "error_invalid_parameters"


def test_json_null_parameters_count_as_left_out(api: Api, alice: Account) -> None:
    data = api.call("create", alice.key, "json", type="int", name="N", description=None, unit=None)
    assert data["result"] == "success"


def test_json_non_string_action_invalid_action(api: Api, alice: Account) -> None:
    response = api.http.post("/", json={"key": alice.key, "action": 5})
    assert response.json() == {"result": "error_invalid_action"}


def test_json_non_string_key_invalid_key(api: Api) -> None:
    response = api.http.post("/", json={"key": 12345, "action": "list"})
    assert response.json() == {"result": "error_invalid_key"}


def test_json_nested_value_invalid_parameters(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="string")
    for value in ({"a": 1}, [1, 2]):
        response = api.http.post("/", json={"key": alice.key, "action": "write", "id": var, "value": value})
        assert response.json() == {"result": "error_invalid_parameters"}


def test_percent_encoded_utf8_in_form(api: Api, alice: Account) -> None:
    var = api.create(alice.key, type="string")
    response = api.http.post(
        "/",
        content=f"key={alice.key}&action=write&id={var}&value=%C2%B0C+ok",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json() == {"result": "success"}
    assert api.call("read", alice.key, id=var)["value"] == "°C ok"


def test_unsupported_method_is_refused_without_redirect(api: Api) -> None:
    response = api.http.put("/", content=b"action=list")
    assert response.status_code == 405


def test_server_keeps_serving_after_abuse(api: Api, alice: Account) -> None:
    for body in (b"\x00" * 1000, b"{" * 5000, "ü".encode() * 1000):
        api.http.post("/", content=body)
    assert api.call("list", alice.key) == {"result": "success", "list": []}


def test_browser_preflight_and_answers_allow_any_origin(api: Api, alice: Account) -> None:
    preflight = api.http.options(
        "/",
        headers={
            "Origin": "https://dashboard.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]

    answer = api.http.post("/", json={"key": alice.key, "action": "list"}, headers={"Origin": "https://x.example"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.json() == {"result": "success", "list": []}
