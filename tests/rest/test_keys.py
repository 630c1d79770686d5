"""Scoped keys: made, listed and revoked over REST, and used over REST and the VariPass protocol."""

from __future__ import annotations

import pytest

from tests.rest.conftest import Rest, error_of, key_header


def test_a_new_key_is_shown_once(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    made = rest.http.post("/api/v1/keys", json={"label": "porch sensor", "variables": [var], "read": False}, headers=h)
    assert made.status_code == 201
    key = made.json()
    assert made.headers["Location"] == f"/api/v1/keys/{key['id']}"
    assert key["key"].startswith("vk_") and key["prefix"] == key["key"][:7]
    assert (key["label"], key["variables"], key["read"], key["write"], key["last_used"]) == (
        "porch sensor",
        [var],
        False,
        True,
        None,
    )
    listed = rest.http.get("/api/v1/keys", headers=h).json()["keys"]
    assert listed == [{k: v for k, v in key.items() if k != "key"}]
    assert key["key"] not in rest.http.get("/api/v1/keys", headers=h).text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"read": False, "write": False}, 422, "error_invalid_parameters"),
        ({"variables": ["nOsUcH00"]}, 404, "error_invalid_id"),
        ({"variables": []}, 422, "error_invalid_parameters"),
        ({"label": "x" * 65}, 422, "error_invalid_parameters"),
        ({"read": "perhaps"}, 422, "error_invalid_parameters"),
    ],
)
def test_key_refused(rest: Rest, body: dict[str, object], status: int, code: str) -> None:
    owner = rest.owner()
    answer = rest.http.post("/api/v1/keys", json=body, headers=key_header(owner.key))
    assert answer.status_code == status and error_of(answer) == code
    assert rest.http.get("/api/v1/keys", headers=key_header(owner.key)).json() == {"keys": []}


def test_a_read_only_key_reads_and_may_not_write(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    key = key_header(rest.scoped(owner.key, write=False))
    assert rest.http.get(f"/api/v1/variables/{var}/value", headers=key).status_code == 200
    assert rest.http.get(f"/api/v1/variables/{var}/history", headers=key).status_code == 200
    refused = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1}, headers=key)
    assert refused.status_code == 403 and error_of(refused) == "error_invalid_key"
    batch = rest.http.post("/api/v1/values", json=[{"id": var, "value": 1}], headers=key).json()
    assert batch[0]["status"] == 403


def test_a_write_only_key_writes_and_may_not_read(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    key = key_header(rest.scoped(owner.key, read=False))
    assert rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1}, headers=key).status_code == 200
    for path in (f"/api/v1/variables/{var}/value", f"/api/v1/variables/{var}", "/api/v1/latest", "/api/v1/variables"):
        refused = rest.http.get(path, headers=key)
        assert refused.status_code == 403 and error_of(refused) == "error_invalid_key", path


def test_a_key_for_some_variables_sees_only_those(rest: Rest) -> None:
    owner = rest.owner()
    mine, other = rest.create(owner.key), rest.create(owner.key)
    key = key_header(rest.scoped(owner.key, variables=[mine]))
    assert rest.http.get(f"/api/v1/variables/{mine}", headers=key).status_code == 200
    for method, path, body in [
        ("GET", f"/api/v1/variables/{other}", None),
        ("GET", f"/api/v1/variables/{other}/value", None),
        ("POST", f"/api/v1/variables/{other}/value", {"value": 1}),
        ("GET", f"/api/v1/variables/{other}/history", None),
    ]:
        answer = rest.http.request(method, path, json=body, headers=key)
        assert answer.status_code == 404 and error_of(answer) == "error_invalid_id", path
    assert list(rest.http.get("/api/v1/latest", headers=key).json()) == [mine]
    assert [v["id"] for v in rest.http.get("/api/v1/variables", headers=key).json()["variables"]] == [mine]


def test_a_scoped_key_manages_nothing(rest: Rest) -> None:
    owner = rest.owner()
    key = key_header(rest.scoped(owner.key))
    for method, path in [
        ("POST", "/api/v1/keys"),
        ("GET", "/api/v1/keys"),
        ("GET", "/api/v1/account"),
        ("POST", "/api/v1/variables"),
    ]:
        answer = rest.http.request(method, path, json={"type": "int", "name": "X"}, headers=key)
        assert answer.status_code == 403 and error_of(answer) == "error_invalid_key", path


def test_revoking_takes_effect_at_once_over_rest_and_the_protocol(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    made = rest.http.post("/api/v1/keys", json={}, headers=key_header(owner.key)).json()
    key = made["key"]
    assert rest.http.get(f"/api/v1/variables/{var}/value", headers=key_header(key)).status_code == 200
    assert rest.http.get("/", params={"key": key, "action": "read", "id": var}).json()["result"] == "success"
    assert rest.http.delete(f"/api/v1/keys/{made['id']}", headers=key_header(owner.key)).status_code == 204
    answer = rest.http.get(f"/api/v1/variables/{var}/value", headers=key_header(key))
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"
    assert rest.http.get("/", params={"key": key, "action": "read", "id": var}).json() == {
        "result": "error_invalid_key"
    }
    again = rest.http.delete(f"/api/v1/keys/{made['id']}", headers=key_header(owner.key))
    assert again.status_code == 404 and error_of(again) == "error_invalid_id"


def test_another_accounts_key_cannot_be_revoked(rest: Rest) -> None:
    owner, other = rest.owner(), rest.owner()
    made = rest.http.post("/api/v1/keys", json={}, headers=key_header(owner.key)).json()
    answer = rest.http.delete(f"/api/v1/keys/{made['id']}", headers=key_header(other.key))
    assert answer.status_code == 404 and error_of(answer) == "error_invalid_id"
    assert len(rest.http.get("/api/v1/keys", headers=key_header(owner.key)).json()["keys"]) == 1


@pytest.mark.parametrize("key_id", ["abc", "0", "-3"])
def test_revoke_malformed_key_id_is_422(rest: Rest, key_id: str) -> None:
    owner = rest.owner()
    answer = rest.http.delete(f"/api/v1/keys/{key_id}", headers=key_header(owner.key))
    assert answer.status_code == 422 and error_of(answer) == "error_invalid_parameters"


def test_scoped_keys_over_the_protocol(rest: Rest) -> None:
    owner = rest.owner()
    mine, other = rest.create(owner.key), rest.create(owner.key)
    writer = rest.scoped(owner.key, variables=[mine], read=False)
    reader = rest.scoped(owner.key, variables=[mine], write=False)

    def protocol(key: str, action: str, **params: object) -> object:
        return rest.http.get("/", params={"key": key, "action": action, **params}).json()["result"]

    assert protocol(writer, "write", id=mine, value=4.5) == "success"
    assert protocol(reader, "read", id=mine) == "success"
    assert rest.http.get("/", params={"key": reader, "action": "sread", "id": mine}).text == "success|4.5"
    # What a key may not do is refused with the protocol's own codes.
    assert protocol(reader, "write", id=mine, value=1) == "error_invalid_key"
    assert protocol(writer, "read", id=mine) == "error_invalid_key"
    assert protocol(reader, "read", id=other) == "error_invalid_id"
    assert protocol(writer, "write", id=other, value=1) == "error_invalid_id"
    assert protocol(reader, "create", type="int", name="X") == "error_invalid_key"
