"""Every route × every way to authenticate × owner / another account / scoped key / token / no credentials.

Each cell builds a world of its own (an owner with a float and a bool variable, a scoped key of the owner
that may read and write all of them, another account, a target accepting transfers), sends one request,
and checks its status and, for a refusal, the error body's shape and code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.rest.conftest import PASSWORD, Rest, basic, error_of, with_password
from tests.support import Account, make_account


@dataclass
class World:
    owner: Account
    other: Account
    target: Account
    a: str  # a float variable of the owner
    b: str  # a bool variable of the owner
    key_id: int  # the owner's scoped key's id
    scoped: str  # the owner's scoped key (read and write, every variable)
    token: str | None  # the owner's token, when the cell uses one


def world(rest: Rest, *, token: bool) -> World:
    owner = rest.owner()
    a = rest.create(owner.key)
    b = rest.create(owner.key, type="bool", name="B")
    made = rest.http.post("/api/v1/keys", json={"label": "all"}, headers={"X-API-Key": owner.key}).json()
    target = with_password(rest.db, make_account(rest.db, transfers_enabled=True))
    return World(owner, rest.owner(), target, a, b, made["id"], made["key"], rest.token(owner) if token else None)


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None
    owner: int  # the owner's status (a token's too)
    other: int  # another account's
    scoped: int  # the owner's scoped key's
    anonymous: int  # no credentials


def _a(w: World) -> str:
    return f"/api/v1/variables/{w.a}"


CASES = {
    "list": Case("GET", lambda w: "/api/v1/variables", None, 200, 200, 200, 401),
    "create": Case("POST", lambda w: "/api/v1/variables", lambda w: {"type": "int", "name": "N"}, 201, 201, 403, 401),
    "get": Case("GET", _a, None, 200, 404, 200, 404),
    "edit": Case("PATCH", _a, lambda w: {"unit": "°C"}, 200, 404, 403, 401),
    "delete": Case("DELETE", _a, None, 204, 404, 403, 401),
    "move": Case("POST", lambda w: f"{_a(w)}/move", lambda w: {"to": "next"}, 204, 404, 403, 401),
    "transfer": Case("POST", lambda w: f"{_a(w)}/transfer", lambda w: {"target": w.target.email}, 204, 404, 403, 401),
    "read": Case("GET", lambda w: f"{_a(w)}/value", None, 200, 404, 200, 404),
    "write": Case("POST", lambda w: f"{_a(w)}/value", lambda w: {"value": 21.5}, 200, 404, 200, 401),
    "toggle": Case("POST", lambda w: f"/api/v1/variables/{w.b}/toggle", None, 200, 404, 200, 401),
    "history": Case("GET", lambda w: f"{_a(w)}/history", None, 200, 404, 200, 404),
    "graph": Case("GET", lambda w: f"{_a(w)}/graph", None, 200, 404, 200, 404),
    "batch": Case("POST", lambda w: "/api/v1/values", lambda w: [{"id": w.a, "value": 1}], 200, 200, 200, 401),
    "latest": Case("GET", lambda w: "/api/v1/latest", None, 200, 200, 200, 401),
    "account": Case("GET", lambda w: "/api/v1/account", None, 200, 200, 403, 401),
    "key-create": Case("POST", lambda w: "/api/v1/keys", lambda w: {"read": True, "write": False}, 201, 201, 403, 401),
    "key-list": Case("GET", lambda w: "/api/v1/keys", None, 200, 200, 403, 401),
    "key-revoke": Case("DELETE", lambda w: f"/api/v1/keys/{w.key_id}", None, 204, 404, 403, 401),
}

METHODS = ("x-api-key", "bearer", "query", "basic")
# (persona, method): no credentials are sent one way only; a password is no scoped key's or token's.
CELLS = [
    *((persona, method) for persona in ("owner", "other") for method in METHODS),
    *((persona, method) for persona in ("scoped", "token") for method in METHODS if method != "basic"),
    ("anonymous", None),
]


def send(
    http: httpx.Client, case: Case, w: World, secret: str | None, account: Account | None, method: str | None
) -> httpx.Response:
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if method == "x-api-key":
        headers["X-API-Key"] = secret or ""
    elif method == "bearer":
        headers["Authorization"] = f"Bearer {secret}"
    elif method == "query":
        params["api_key"] = secret or ""
    elif method == "basic":
        assert account is not None
        headers.update(basic(account, PASSWORD))
    body = case.body(w) if case.body else None
    return http.request(case.method, case.path(w), json=body, headers=headers, params=params)


@pytest.mark.parametrize("case", [pytest.param(c, id=name) for name, c in CASES.items()])
@pytest.mark.parametrize(("persona", "method"), [pytest.param(*c, id=f"{c[0]}-{c[1]}") for c in CELLS])
def test_route_by_persona_and_method(rest: Rest, case: Case, persona: str, method: str | None) -> None:
    w = world(rest, token=persona == "token")
    account = {"owner": w.owner, "other": w.other, "token": w.owner}.get(persona)
    secret = {"owner": w.owner.key, "other": w.other.key, "scoped": w.scoped, "token": w.token}.get(persona)
    expected = {"owner": case.owner, "token": case.owner, "other": case.other}.get(persona)
    expected = expected or {"scoped": case.scoped, "anonymous": case.anonymous}[persona]
    answer = send(rest.http, case, w, secret, account, method)
    assert answer.status_code == expected, answer.text
    if expected >= 400:
        code = error_of(answer)
        assert code == {401: "error_invalid_key", 403: "error_invalid_key", 404: "error_invalid_id"}[expected]
        if expected == 401:
            assert "Bearer" in answer.headers["WWW-Authenticate"]
    if case is CASES["batch"] and expected == 200:
        item = {"owner": 200, "token": 200, "scoped": 200, "other": 404}[persona]
        assert [r["status"] for r in answer.json()] == [item]
