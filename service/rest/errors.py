"""The one place REST failures become answers: a VariPass result code, its HTTP status, and the body
`{"error": {"code": "<result>", "message": "..."}}` (issue 14).

The protocol answers every result with 200 (firmware reads only 200s, DESIGN.md §3); REST clients
read the status first, so each result has one here. A status carried by the failure itself wins:
413 (body too large) and 429 (a flood limit) are decided before any use case runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import asyncpg
from starlette.responses import Response

from service.core.results import Forbidden, Result, VariPassError
from service.varipass.endpoint import OUTAGES

log = logging.getLogger(__name__)

# Result -> HTTP status, for every result a REST request can end with.
STATUS: dict[Result, int] = {
    Result.ERROR_NO_REQUEST: 404,
    Result.ERROR_INVALID_ACTION: 404,  # no such route (405 when the route exists: `method_not_allowed`)
    Result.ERROR_INVALID_KEY: 401,  # no key, an unknown one, or a banned address; Forbidden: 403
    Result.ERROR_BANNED: 403,
    Result.ERROR_UNCONFIRMED: 403,
    Result.ERROR_LOCKED: 403,
    Result.ERROR_INVALID_PARAMETERS: 422,  # 400 for a body that is not JSON, 413 past the cap
    Result.ERROR_INVALID_TYPE: 422,
    Result.ERROR_INVALID_FORMAT: 422,
    Result.ERROR_USER_NOT_FOUND: 422,  # the transfer's target: the body names nobody
    Result.ERROR_INVALID_ID: 404,
    Result.ERROR_NOT_BOOL: 409,  # the variable's state (its type, its place) refuses the request
    Result.ERROR_IS_STRING: 409,
    Result.ERROR_ORDER_FIRST: 409,
    Result.ERROR_ORDER_LAST: 409,
    Result.ERROR_MAX_VARIABLES: 409,
    Result.ERROR_TRANSFER_DISABLED: 409,
    Result.ERROR_EMPTY_VARIABLE: 409,
    Result.ERROR_COOLDOWN: 429,
    Result.ERROR_DB: 503,
}

MESSAGES: dict[Result, str] = {
    Result.ERROR_NO_REQUEST: "Nothing was asked.",
    Result.ERROR_INVALID_ACTION: "No such route.",
    Result.ERROR_INVALID_KEY: "Missing or unknown credentials.",
    Result.ERROR_BANNED: "The account is banned.",
    Result.ERROR_UNCONFIRMED: "The account's email address is not confirmed yet.",
    Result.ERROR_LOCKED: "The account is locked: its variables may not be created, changed or moved.",
    Result.ERROR_INVALID_PARAMETERS: "A parameter is missing or malformed.",
    Result.ERROR_INVALID_TYPE: "Unknown variable type (int, float, bool or string).",
    Result.ERROR_INVALID_FORMAT: "Unknown image format (png, jpg, gif or bmp).",
    Result.ERROR_USER_NOT_FOUND: "No account can receive the variable at that email address.",
    Result.ERROR_INVALID_ID: "No such variable.",
    Result.ERROR_NOT_BOOL: "Only a bool variable can be toggled.",
    Result.ERROR_IS_STRING: "A string variable has no graph.",
    Result.ERROR_ORDER_FIRST: "The variable is first already.",
    Result.ERROR_ORDER_LAST: "The variable is last already.",
    Result.ERROR_MAX_VARIABLES: "The account holds as many variables as its plan allows.",
    Result.ERROR_TRANSFER_DISABLED: "The target account does not accept transfers.",
    Result.ERROR_EMPTY_VARIABLE: "The variable holds no value yet.",
    Result.ERROR_COOLDOWN: "Too soon: wait for Retry-After seconds.",
    Result.ERROR_DB: "The database is unavailable; try again.",
}
FORBIDDEN_MESSAGE = "This key may not do that (its scope)."
MALFORMED_MESSAGE = "The body is not valid JSON."
TOO_LARGE_MESSAGE = "The body is too large."
FLOOD_MESSAGE = "Too many requests: wait for Retry-After seconds."
METHOD_MESSAGE = "This route does not take that method."
# Basic for people, Bearer for keys and tokens: both are offered (RFC 9110 §11.6.1).
CHALLENGE = 'Bearer realm="varistore", Basic realm="varistore", charset="UTF-8"'

JSON_TYPE = "application/json"


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()


def answer(result: Result, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    return Response(error_body(result.value, message), status, headers, media_type=JSON_TYPE)


def status_of(exc: VariPassError) -> int:
    """The HTTP status of a failure: its own (413, 429 of a flood limit, 400), else the table's."""
    if exc.status != 200:
        return exc.status
    return 403 if isinstance(exc, Forbidden) else STATUS[exc.result]


def message_of(exc: VariPassError) -> str:
    if exc.status == 413:
        return TOO_LARGE_MESSAGE
    if exc.status == 400:
        return MALFORMED_MESSAGE
    if exc.status == 429:
        return FLOOD_MESSAGE
    return FORBIDDEN_MESSAGE if isinstance(exc, Forbidden) else MESSAGES[exc.result]


def failure(exc: VariPassError) -> Response:
    """The answer to a failed request."""
    headers = dict(exc.headers)
    if exc.result is Result.ERROR_COOLDOWN and exc.retry_after is not None and "Retry-After" not in headers:
        headers["Retry-After"] = str(max(1, exc.retry_after))
    return answer(exc.result, status_of(exc), message_of(exc), headers)


def malformed() -> VariPassError:
    """A body that is not JSON (or not the JSON object the route takes): 400."""
    return VariPassError(Result.ERROR_INVALID_PARAMETERS, status=400)


def method_not_allowed(allowed: list[str]) -> Response:
    return answer(Result.ERROR_INVALID_ACTION, 405, METHOD_MESSAGE, {"Allow": ", ".join(allowed)})


def not_found() -> Response:
    return answer(Result.ERROR_INVALID_ACTION, 404, MESSAGES[Result.ERROR_INVALID_ACTION])


def database_failure(exc: BaseException) -> Response:
    """A lost database (503) or a statement it refused (logged with its traceback, still 503), as the
    protocol endpoint answers them."""
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, OUTAGES):
        log.exception("database failure")
    else:
        log.warning("database unavailable, answered error_db: %s: %s", type(exc).__name__, exc)
    return answer(Result.ERROR_DB, 503, MESSAGES[Result.ERROR_DB])


def bug() -> Response:
    """A bug, not bad input: logged, and still a JSON answer (500)."""
    log.exception("unexpected failure")
    return answer(Result.ERROR_DB, 500, "Internal error; it was logged.")


# InfluxDB's error codes by status, for POST /api/v2/write: its clients read InfluxDB's body.
_INFLUX_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found", 413: "request too large"}


def influx_failure(exc: VariPassError) -> Response:
    """A failure of /api/v2/write in InfluxDB's shape, `{"code", "message"}`, with the status REST gives it."""
    status = status_of(exc)
    code = _INFLUX_CODES.get(status, "too many requests" if status == 429 else "unprocessable entity")
    body = json.dumps({"code": code, "message": f"{exc.result.value}: {message_of(exc)}"}).encode()
    headers = dict(exc.headers)
    if status == 401:
        headers["WWW-Authenticate"] = 'Token realm="varistore"'
    return Response(body, status, headers, media_type=JSON_TYPE)
