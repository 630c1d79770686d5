"""Variables over REST: create, read, edit, delete, move, transfer, and every status they answer."""

from __future__ import annotations

import json

import pytest

from tests.rest.conftest import Rest, error_of, key_header
from tests.support import VARIABLE_DEFAULTS, Account, lock, make_account, unchanged


def test_create_answers_201_with_location_and_the_variable(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post(
        "/api/v1/variables", json={"type": "int", "name": "Humidity"}, headers=key_header(owner.key)
    )
    assert answer.status_code == 201
    body = answer.json()
    assert answer.headers["Location"] == f"/api/v1/variables/{body['id']}"
    assert {k: body[k] for k in VARIABLE_DEFAULTS} == VARIABLE_DEFAULTS
    assert body["type"] == "int" and body["name"] == "Humidity" and body["value"] == 0
    again = rest.http.get(answer.headers["Location"], headers=key_header(owner.key))
    assert again.status_code == 200 and again.json() == body


def test_list_is_in_the_accounts_order(rest: Rest) -> None:
    owner = rest.owner()
    ids = [rest.create(owner.key, name=f"V{n}") for n in range(3)]
    answer = rest.http.get("/api/v1/variables", headers=key_header(owner.key))
    assert [v["id"] for v in answer.json()["variables"]] == ids


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "complex", "name": "X"}, "error_invalid_type"),
        ({"type": "int"}, "error_invalid_parameters"),
        ({"type": "int", "name": ""}, "error_invalid_parameters"),
        ({"type": "int", "name": "X", "expire": -1}, "error_invalid_parameters"),
        ({"type": "int", "name": "X", "graph": "yes"}, "error_invalid_parameters"),
        ([1, 2], "error_invalid_parameters"),
    ],
)
def test_create_malformed_is_422(rest: Rest, body: object, code: str) -> None:
    owner = rest.owner()
    with unchanged(rest.db, owner):
        answer = rest.http.post("/api/v1/variables", json=body, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == code


def test_body_not_json_is_400(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post(
        "/api/v1/variables",
        content=b'{"type": "int",',
        headers={**key_header(owner.key), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and error_of(answer) == "error_invalid_parameters"


def test_body_past_the_cap_is_413(rest: Rest) -> None:
    owner = rest.owner()
    body = json.dumps({"type": "int", "name": "X", "description": "x" * 70_000})
    answer = rest.http.post("/api/v1/variables", content=body, headers=key_header(owner.key))
    assert answer.status_code == 413 and error_of(answer) == "error_invalid_parameters"


def test_create_past_max_variables_is_409(rest: Rest) -> None:
    owner = make_account(rest.db, max_variables=1)
    rest.create(owner.key)
    answer = rest.http.post("/api/v1/variables", json={"type": "int", "name": "X"}, headers=key_header(owner.key))
    assert answer.status_code == 409 and error_of(answer) == "error_max_variables"


def test_locked_account_is_403_for_changes_and_200_for_reads(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    lock(rest.db, owner)
    h = key_header(owner.key)
    for method, path, body in [
        ("POST", "/api/v1/variables", {"type": "int", "name": "X"}),
        ("PATCH", f"/api/v1/variables/{var}", {"name": "Y"}),
        ("DELETE", f"/api/v1/variables/{var}", None),
        ("POST", f"/api/v1/variables/{var}/move", {"to": 0}),
    ]:
        answer = rest.http.request(method, path, json=body, headers=h)
        assert answer.status_code == 403 and error_of(answer) == "error_locked", (method, path)
    assert rest.http.get(f"/api/v1/variables/{var}", headers=h).status_code == 200


@pytest.mark.parametrize(
    ("state", "code"), [({"banned": True}, "error_banned"), ({"confirmed": False}, "error_unconfirmed")]
)
def test_banned_and_unconfirmed_accounts_are_403(rest: Rest, state: dict[str, bool], code: str) -> None:
    account = make_account(rest.db, **state)
    answer = rest.http.get("/api/v1/variables", headers=key_header(account.key))
    assert answer.status_code == 403 and error_of(answer) == code


def test_banned_ip_is_401(rest: Rest) -> None:
    owner = rest.owner()
    rest.db.execute("INSERT INTO banned_ips (ip) VALUES ('127.0.0.1')")
    try:
        answer = rest.http.get("/api/v1/variables", headers=key_header(owner.key))
    finally:
        rest.db.execute("DELETE FROM banned_ips WHERE ip = '127.0.0.1'")
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


def test_patch_keeps_what_it_omits(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, type="int", name="Humidity", unit="%", description="d", max=10, public=True)
    answer = rest.http.patch(
        f"/api/v1/variables/{var}", json={"unit": "pct", "max": None}, headers=key_header(owner.key)
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["type"], body["name"], body["unit"], body["description"], body["max"], body["public"]) == (
        "int",
        "Humidity",
        "pct",
        "d",
        10,
        True,
    )


def test_patch_type_erases_history(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    assert rest.http.post(
        f"/api/v1/variables/{var}/value", json={"value": 2.5}, headers=key_header(owner.key)
    ).is_success
    answer = rest.http.patch(f"/api/v1/variables/{var}", json={"type": "bool"}, headers=key_header(owner.key))
    assert answer.json()["type"] == "bool" and answer.json()["value"] is False
    history = rest.http.get(f"/api/v1/variables/{var}/history", headers=key_header(owner.key)).json()
    assert history == []


def test_patch_malformed_is_422_and_changes_nothing(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    with unchanged(rest.db, owner):
        answer = rest.http.patch(f"/api/v1/variables/{var}", json={"expire": "soon"}, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


def test_delete_is_204_then_404(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    answer = rest.http.delete(f"/api/v1/variables/{var}", headers=h)
    assert answer.status_code == 204 and answer.content == b""
    assert rest.http.get(f"/api/v1/variables/{var}", headers=h).status_code == 404
    assert error_of(rest.http.delete(f"/api/v1/variables/{var}", headers=h)) == "error_invalid_id"


def _order(rest: Rest, owner: Account) -> list[str]:
    return [v["id"] for v in rest.http.get("/api/v1/variables", headers=key_header(owner.key)).json()["variables"]]


def test_move_previous_next_and_to_an_index(rest: Rest) -> None:
    owner = rest.owner()
    a, b, c = (rest.create(owner.key, name=n) for n in "ABC")
    h = key_header(owner.key)
    assert rest.http.post(f"/api/v1/variables/{c}/move", json={"to": "previous"}, headers=h).status_code == 204
    assert _order(rest, owner) == [a, c, b]
    assert rest.http.post(f"/api/v1/variables/{a}/move", json={"to": "next"}, headers=h).status_code == 204
    assert _order(rest, owner) == [c, a, b]
    assert rest.http.post(f"/api/v1/variables/{b}/move", json={"to": 0}, headers=h).status_code == 204
    assert _order(rest, owner) == [b, c, a]


@pytest.mark.parametrize(("to", "code"), [("previous", "error_order_first"), ("next", "error_order_last")])
def test_move_past_an_end_is_409(rest: Rest, to: str, code: str) -> None:
    owner = rest.owner()
    only = rest.create(owner.key)
    answer = rest.http.post(f"/api/v1/variables/{only}/move", json={"to": to}, headers=key_header(owner.key))
    assert answer.status_code == 409 and error_of(answer) == code


@pytest.mark.parametrize("to", ["sideways", -1, 5, None, 1.5])
def test_move_to_nowhere_is_422(rest: Rest, to: object) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    rest.create(owner.key)
    answer = rest.http.post(f"/api/v1/variables/{var}/move", json={"to": to}, headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


def test_transfer_moves_the_variable(rest: Rest) -> None:
    owner = rest.owner()
    target = make_account(rest.db, transfers_enabled=True)
    var = rest.create(owner.key)
    answer = rest.http.post(
        f"/api/v1/variables/{var}/transfer", json={"target": target.email.upper()}, headers=key_header(owner.key)
    )
    assert answer.status_code == 204
    assert rest.http.get(f"/api/v1/variables/{var}", headers=key_header(owner.key)).status_code == 404
    assert rest.http.get(f"/api/v1/variables/{var}", headers=key_header(target.key)).status_code == 200


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("nobody@example.com", 422, "error_user_not_found"),
        ("closed", 409, "error_transfer_disabled"),
        (None, 422, "error_invalid_parameters"),
    ],
)
def test_transfer_refused(rest: Rest, target: str | None, status: int, code: str) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    if target == "closed":
        target = make_account(rest.db).email
    with unchanged(rest.db, owner):
        answer = rest.http.post(
            f"/api/v1/variables/{var}/transfer", json={"target": target}, headers=key_header(owner.key)
        )
    assert answer.status_code == status and error_of(answer) == code


def test_public_variable_reads_without_credentials(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key, public=True)
    for path in ("", "/value", "/history", "/graph"):
        assert rest.http.get(f"/api/v1/variables/{var}{path}").status_code == 200, path
    answer = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1})
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


def test_unknown_route_and_method_answer_json(rest: Rest) -> None:
    owner = rest.owner()
    missing = rest.http.get("/api/v1/nothing", headers=key_header(owner.key))
    assert missing.status_code == 404 and error_of(missing) == "error_invalid_action"
    wrong = rest.http.put("/api/v1/variables", headers=key_header(owner.key))
    assert wrong.status_code == 405 and error_of(wrong) == "error_invalid_action"
    assert wrong.headers["Allow"] == "GET, HEAD, POST"
    newline = rest.http.get("/api/v1/variables/a%0Ab/nothing", headers=key_header(owner.key))
    assert newline.status_code == 404 and error_of(newline) == "error_invalid_action"


def test_head_answers_as_get_without_a_body(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.head("/api/v1/variables", headers=key_header(owner.key))
    assert answer.status_code == 200 and answer.content == b""


def test_cors_preflight_allows_any_origin(rest: Rest) -> None:
    answer = rest.http.options(
        "/api/v1/variables",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
