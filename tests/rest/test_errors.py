"""The one table of REST statuses: every result code has a status and a message, and failures render
the one error shape (the status table is service/rest/errors.py's alone)."""

from __future__ import annotations

import json

import pytest

from service.core.results import Forbidden, Result, VariPassError
from service.rest import errors

FAILURES = [result for result in Result if result is not Result.SUCCESS]


@pytest.mark.parametrize("result", FAILURES, ids=str)
def test_every_result_has_a_status_and_a_message(result: Result) -> None:
    assert 400 <= errors.STATUS[result] <= 599
    answer = errors.failure(VariPassError(result))
    assert answer.status_code == errors.STATUS[result]
    assert json.loads(bytes(answer.body)) == {"error": {"code": result.value, "message": errors.MESSAGES[result]}}
    assert ("www-authenticate" in answer.headers) == (answer.status_code == 401)


def test_a_status_carried_by_the_failure_wins() -> None:
    flood = errors.failure(VariPassError(Result.ERROR_COOLDOWN, status=429, headers={"Retry-After": "3"}))
    assert (flood.status_code, flood.headers["Retry-After"]) == (429, "3")
    assert errors.failure(VariPassError(Result.ERROR_INVALID_PARAMETERS, status=413)).status_code == 413
    assert errors.failure(errors.malformed()).status_code == 400
    assert errors.failure(Forbidden()).status_code == 403


def test_a_cooldown_tells_when_it_ends() -> None:
    answer = errors.failure(VariPassError(Result.ERROR_COOLDOWN, retry_after=42))
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "42")
    assert "retry-after" not in errors.failure(VariPassError(Result.ERROR_COOLDOWN)).headers
