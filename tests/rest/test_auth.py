"""How REST requests authenticate: headers, Basic, tokens from POST /api/v1/auth, and the limits on
password checks and on floods (the protocol endpoint's own counters)."""

from __future__ import annotations

import base64
import time

import pytest

from tests.harness import http_client, running_api
from tests.rest.conftest import NO_THROTTLES, PASSWORD, Rest, basic, bearer, error_of, key_header, with_password
from tests.support import Db, make_account


def test_every_way_to_send_a_key(rest: Rest) -> None:
    owner = rest.owner()
    for headers, params in [
        (key_header(owner.key), {}),
        (bearer(owner.key), {}),
        ({"Authorization": f"token {owner.key}"}, {}),
        ({}, {"api_key": owner.key}),
        (basic(owner), {}),
    ]:
        answer = rest.http.get("/api/v1/account", headers=headers, params=params)
        assert answer.status_code == 200 and answer.json()["email"] == owner.email, (headers, params)


@pytest.mark.parametrize(
    "authorization",
    [
        "Digest username=x",
        "Bearer",
        "Bearer " + "x" * 300,
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_malformed_authorization_is_401(rest: Rest, authorization: str) -> None:
    answer = rest.http.get("/api/v1/account", headers={"Authorization": authorization})
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_authorization_comes_before_the_other_places(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.get("/api/v1/account", headers={**bearer("WrongKey12345678"), **key_header(owner.key)})
    assert answer.status_code == 401


@pytest.mark.parametrize("who", ["wrong-password", "unknown-email", "no-password-set", "nul-in-email"])
def test_basic_with_wrong_credentials_is_401(rest: Rest, who: str) -> None:
    owner = rest.owner()
    if who == "wrong-password":
        headers = basic(owner, "not the password")
    elif who == "unknown-email":
        headers = {"Authorization": "Basic " + base64.b64encode(f"nobody@example.com:{PASSWORD}".encode()).decode()}
    elif who == "nul-in-email":
        headers = {"Authorization": "Basic " + base64.b64encode(f"a\0b@example.com:{PASSWORD}".encode()).decode()}
    else:
        headers = basic(make_account(rest.db))
    answer = rest.http.get("/api/v1/variables", headers=headers)
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


@pytest.mark.parametrize(
    ("state", "code"), [({"banned": True}, "error_banned"), ({"confirmed": False}, "error_unconfirmed")]
)
def test_basic_of_a_refused_account_is_403(rest: Rest, state: dict[str, bool], code: str) -> None:
    account = rest.owner(**state)
    answer = rest.http.get("/api/v1/variables", headers=basic(account))
    assert answer.status_code == 403 and error_of(answer) == code
    login = rest.http.post("/api/v1/auth", json={"email": account.email, "password": PASSWORD})
    assert login.status_code == 403 and error_of(login) == code


def test_a_token_acts_as_the_account_until_revoked(rest: Rest) -> None:
    owner = rest.owner()
    var = rest.create(owner.key)
    answer = rest.http.post("/api/v1/auth", json={"email": owner.email.upper(), "password": PASSWORD})
    assert answer.status_code == 201
    token, expires = answer.json()["token"], answer.json()["expires"]
    assert token.startswith("vt_") and 0 < expires - time.time() <= 3600 + 5
    assert rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1}, headers=bearer(token)).status_code == 200
    assert rest.http.get("/", params={"key": token, "action": "read", "id": var}).json()["result"] == "success"
    assert rest.http.delete("/api/v1/auth", headers=bearer(token)).status_code == 204
    refused = rest.http.get(f"/api/v1/variables/{var}", headers=bearer(token))
    assert refused.status_code == 401 and error_of(refused) == "error_invalid_key"
    assert rest.http.get("/", params={"key": token, "action": "read", "id": var}).json() == {
        "result": "error_invalid_key"
    }


def test_a_token_by_basic(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post("/api/v1/auth", headers=basic(owner))
    assert answer.status_code == 201
    assert rest.http.get("/api/v1/account", headers=bearer(answer.json()["token"])).json()["id"] == owner.id


def test_an_expired_token_is_401(rest: Rest) -> None:
    owner = rest.owner()
    token = rest.token(owner)
    rest.db.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE account_id = $1", owner.id)
    answer = rest.http.get("/api/v1/account", headers=bearer(token))
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


@pytest.mark.parametrize(
    "body", [{"email": "x"}, {"password": PASSWORD}, {"email": 5, "password": PASSWORD}, {}], ids=repr
)
def test_log_in_without_email_and_password_is_401(rest: Rest, body: dict[str, object]) -> None:
    answer = rest.http.post("/api/v1/auth", json=body)
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


def test_log_in_with_a_wrong_password_is_401(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post("/api/v1/auth", json={"email": owner.email, "password": "guess"})
    assert answer.status_code == 401 and error_of(answer) == "error_invalid_key"


def test_log_in_with_a_key_makes_no_token(rest: Rest) -> None:
    owner = rest.owner()
    answer = rest.http.post("/api/v1/auth", headers=key_header(owner.key))
    assert answer.status_code == 401


def test_log_out_needs_a_token(rest: Rest) -> None:
    owner = rest.owner()
    with_key = rest.http.delete("/api/v1/auth", headers=key_header(owner.key))
    assert with_key.status_code == 403 and error_of(with_key) == "error_invalid_key"
    with_nothing = rest.http.delete("/api/v1/auth")
    assert with_nothing.status_code == 401 and error_of(with_nothing) == "error_invalid_key"


# -- Limits ---------------------------------------------------------------------------------------------


def test_password_checks_are_throttled_and_a_matched_one_is_remembered(db_url: str, db: Db) -> None:
    owner = with_password(db, make_account(db))
    settings = {"limit_per_account": "3/minute", "limit_per_ip_accounts": "100/minute"}
    with running_api(db_url, **settings) as (_, base), http_client(base) as http:
        # A script sending Basic on every request: one password check, then remembered.
        for _ in range(6):
            assert http.get("/api/v1/account", headers=basic(owner)).status_code == 200
        statuses = [http.get("/api/v1/account", headers=basic(owner, "guess")).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        refused = http.get("/api/v1/account", headers=basic(owner, "guess"))
        assert refused.status_code == 429 and error_of(refused) == "error_cooldown"
        assert int(refused.headers["Retry-After"]) >= 1
        login = http.post("/api/v1/auth", json={"email": owner.email, "password": PASSWORD})
        assert login.status_code == 429  # every log-in attempt counts
        assert http.get("/api/v1/account", headers=basic(owner)).status_code == 200  # still remembered


def test_flood_limits_are_the_protocols_counters(db_url: str, db: Db) -> None:
    owner = make_account(db)
    settings = {**NO_THROTTLES, "limit_per_key": "4/minute", "limit_per_ip": "", "limit_hold": 0}
    with running_api(db_url, **settings) as (_, base), http_client(base) as http:
        assert http.get("/api/v1/variables", headers=key_header(owner.key)).status_code == 200
        assert http.get("/", params={"key": owner.key, "action": "list"}).json()["result"] == "success"
        assert http.get("/api/v1/latest", params={"api_key": owner.key}).status_code == 200
        assert http.get("/", params={"key": owner.key, "action": "list"}).json()["result"] == "success"
        refused = http.get("/api/v1/variables", headers=bearer(owner.key))
        assert refused.status_code == 429 and error_of(refused) == "error_cooldown"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert http.get("/", params={"key": owner.key, "action": "list"}).status_code == 429
        # Another key still has its allowance.
        assert http.get("/api/v1/variables", headers=key_header(make_account(db).key)).status_code == 200


def test_no_key_token_or_password_reaches_the_log(db_url: str, db: Db) -> None:
    owner = with_password(db, make_account(db))
    settings = {**NO_THROTTLES, "access_log": "true", "log_level": "info"}
    with running_api(db_url, **settings) as (process, base), http_client(base) as http:
        token = http.post("/api/v1/auth", json={"email": owner.email, "password": PASSWORD}).json()["token"]
        http.get("/api/v1/variables", params={"api_key": owner.key})
        http.get("/api/v1/variables", params={"api_key": token})
        http.get("/api/v1/variables", headers=key_header(owner.key))
        http.get("/api/v1/variables", headers=basic(owner))
        http.post("/api/v1/auth", json={"email": owner.email, "password": "wrong " + PASSWORD})
        http.post("/api/v1/variables", content=b'{"key": "' + owner.key.encode() + b'"', headers=bearer(token))
        output = process.output()
    assert "/api/v1/variables?api_key=***" in output
    for secret in (owner.key, token, PASSWORD):
        assert secret not in output


def test_malformed_credentials_count_against_the_address(db_url: str) -> None:
    settings = {**NO_THROTTLES, "limit_per_key": "", "limit_per_ip": "3/minute", "limit_hold": 0}
    with running_api(db_url, **settings) as (_, base), http_client(base) as http:
        statuses = [http.get("/api/v1/variables", headers={"Authorization": "Digest x"}).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
