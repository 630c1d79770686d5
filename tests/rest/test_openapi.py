"""The OpenAPI document and the docs page: both from the route table, and the live server answering as
the document says (schemathesis, a bounded number of examples per operation: no 5xx, every answer of a
documented status, content type, schema and headers)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from service.rest.app import OPS
from tests.rest.conftest import Rest, error_of, key_header
from tests.support import Db, make_account

# What every answer must be: no 5xx, and of a documented status, content type, schema and headers. Not
# schemathesis' positive_data_acceptance: a schema-valid body may still break a rule (an unknown type, a
# plan's limit, a variable that does not exist), which the use cases answer with a documented 4xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES = 12  # per operation: about 20 operations, well under a minute on a busy two-core machine


def test_the_document_lists_every_route(http: httpx.Client) -> None:
    spec = http.get("/api/v1/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert documented == {(op.method, op.path) for op in OPS}
    for item in spec["paths"].values():
        for operation in item.values():
            assert "200" in operation["responses"] or "201" in operation["responses"] or "204" in operation["responses"]
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_docs_page_shows_every_route(http: httpx.Client) -> None:
    answer = http.get("/api")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "<script" not in answer.text and "http://" not in answer.text and "https://" not in answer.text
    for op in OPS:
        assert f'id="{op.operation_id}"' in answer.text
        assert op.path.replace("{", "{") in answer.text
    assert http.get("/api/").text == answer.text


@pytest.fixture(scope="module")
def fuzz_key(db: Db) -> str:
    return make_account(db, max_variables=10_000).key


def test_the_server_answers_as_documented(rest_base: str, fuzz_key: str, http: httpx.Client) -> None:
    # schemathesis' own pytest plugin (from_fixture) does not run on pytest 9: its Python API here,
    # on the document the live server serves.
    schema = schemathesis.openapi.from_url(f"{rest_base}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPS)
    h = {"X-API-Key": fuzz_key}
    types = itertools.cycle(["float", "int", "bool", "string"])
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case: Any) -> None:
            # Half the examples about a variable (or key) that exists: a new one, as the last may be gone.
            parameters = case.path_parameters or {}
            if "id" in parameters and len(str(parameters["id"])) % 2:
                made = http.post("/api/v1/variables", json={"type": next(types), "name": "F"}, headers=h)
                http.post(f"/api/v1/variables/{made.json()['id']}/value", json={"value": 1}, headers=h)
                parameters["id"] = made.json()["id"]
            if "key_id" in parameters:
                parameters["key_id"] = http.post("/api/v1/keys", json={}, headers=h).json()["id"]
            case.call_and_validate(base_url=rest_base, headers=h, checks=CHECKS)

        answers_as_documented()


def test_every_error_has_the_error_shape(rest: Rest) -> None:
    """One request per status the API answers with an error body."""
    owner = rest.owner()
    var = rest.create(owner.key)
    h = key_header(owner.key)
    answers = {
        400: rest.http.post("/api/v1/variables", content=b"{", headers=h),
        401: rest.http.get("/api/v1/variables"),
        403: rest.http.get("/api/v1/keys", headers=key_header(rest.scoped(owner.key))),
        404: rest.http.get("/api/v1/variables/nOsUcH00", headers=h),
        405: rest.http.put("/api/v1/account", headers=h),
        409: rest.http.post(f"/api/v1/variables/{var}/toggle", headers=h),
        413: rest.http.post("/api/v1/values", content=b"[" + b" " * 300_000 + b"]", headers=h),
        422: rest.http.post("/api/v1/variables", json={"type": "int"}, headers=h),
    }
    rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 1}, headers=h)
    answers[429] = rest.http.post(f"/api/v1/variables/{var}/value", json={"value": 2}, headers=h)
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text)
        assert error_of(answer).startswith("error_")
