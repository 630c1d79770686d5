"""REST v1 (issue 14): one more front door over the same use cases as the protocol and the dashboard.

Each route turns HTTP into a use case's parameters and an Actor (service/rest/auth.py), runs the use
case (service/actions/catalog.py, where every rule lives), and presents its domain result as JSON
with an HTTP status (service/rest/errors.py). The route table below is also what the OpenAPI
document is built from (service/rest/openapi.py).

Every request is bounded as the protocol's are: the body cap (`max_body_bytes`; a batch may carry
more), the flood limits of the protocol endpoint (the same counters, checked before any database
work), and each use case's database deadline.
"""

from __future__ import annotations

import asyncio
import json
import re
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import State
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from service.actions.catalog import USE_CASES
from service.actions.params import GraphParams, present
from service.core.access import Actor, IPAddress
from service.core.records import record
from service.core.results import Forbidden, Result, VariPassError
from service.db.notify import Notifier
from service.db.pool import DATABASE_ERRORS
from service.rendering import NOTHING_HELD, Conditions, http_date
from service.rest import errors, history, influx, schemas
from service.rest.auth import Credentials, Passwords, actor_of, credentials
from service.varipass.endpoint import Endpoint
from service.varipass.floods import FloodLimits
from service.varipass.transport import client_ip, read_body

PREFIX = "/api"
V1 = "/api/v1"
BATCH_BODY = 256 * 1024  # bytes: 1,000 timed writes fit (the protocol's cap is 64 KiB by default)
JSON_TYPE = "application/json"
# What a page's script on another origin may read of an answer.
EXPOSED_HEADERS = ["Location", "Retry-After", "ETag", "Last-Modified", "WWW-Authenticate", "Link", "X-Next-Cursor"]
# The failures every route with credentials may answer, besides its own.
AUTH_ERRORS = (401, 403, 429)


@record
class Rest:
    """What REST shares with the protocol endpoint in one process: its services, notifier, flood limits
    and body cap."""

    endpoint: Endpoint
    passwords: Passwords

    @property
    def floods(self) -> FloodLimits:
        return self.endpoint.floods

    @property
    def notifier(self) -> Notifier:
        return self.endpoint.notifier


def rest_of(state: State) -> Rest:
    """The REST services of the app whose state is `state`, made once its lifespan made the endpoint
    and the dashboard's throttles."""
    endpoint: Endpoint = state.endpoint
    return Rest(endpoint, Passwords(endpoint.services, state.web.throttles))


@dataclass(slots=True)
class Call:
    """One request on its way: what a route's handler reads and runs use cases with."""

    request: Request
    rest: Rest
    found: Credentials
    client_ip: IPAddress | None
    actor: Actor

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    async def perform(
        self, use_case: str, fields: Mapping[str, Any] | None, conditions: Conditions = NOTHING_HELD
    ) -> Any:
        """The use case's domain result, run as the request's actor; what it changed is announced.
        `fields` None: the request's parameters were malformed (answered in the use case's check order)."""
        case = USE_CASES[use_case]
        services = self.rest.endpoint.services
        if fields is None:
            outcome = await case.perform(services, self.actor, None, conditions=conditions)
        else:
            outcome = await case.perform_fields(services, self.actor, fields, conditions=conditions)
        self.rest.notifier.notify(outcome.changes)
        return outcome.value

    async def json(self, limit: int | None = None) -> Any:
        """The body as JSON (an empty body: an empty object).

        Raises:
            VariPassError: 413 past the body cap, 400 for a body that is not JSON.
        """
        body = await read_body(self.request, limit or self.rest.endpoint.max_body)
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise errors.malformed() from None

    async def fields(self) -> dict[str, Any] | None:
        """The body as a JSON object, JSON nulls left out; None when it is JSON of another shape."""
        data = await self.json()
        return present(data) if isinstance(data, dict) else None


Handler = Callable[[Call], Awaitable[Response]]


@record
class Op:
    """A route and method: its handler, and what the OpenAPI document says of it."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    status: int = 200
    answer: type[BaseModel] | str | None = None  # a model, a media type (images, CSV), or None (no body)
    body: type[BaseModel] | None = None
    query: tuple[type[BaseModel], ...] = ()  # models whose fields are the query's parameters
    errors: tuple[int, ...] = ()
    public: bool = False  # answers without credentials for a public variable
    influx: bool = False  # answers failures as InfluxDB does (/api/v2/write)
    description: str = ""
    headers: tuple[str, ...] = field(default=())  # response headers of success, e.g. Location

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


def answer(
    model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None, *, exclude_none: bool = False
) -> Response:
    return Response(schemas.dump(model, exclude_none=exclude_none), status, headers, media_type=JSON_TYPE)


def no_content() -> Response:
    return Response(status_code=204)


def variable_url(var_id: str) -> str:
    return f"{V1}/variables/{var_id}"


# -- Variables -------------------------------------------------------------------------------------


async def list_variables(call: Call) -> Response:
    variables = await call.perform("latest", {})
    return answer(schemas.VariableList(variables=[schemas.Variable.of(v) for v in variables]))


async def create_variable(call: Call) -> Response:
    var_id = await call.perform("create", await call.fields())
    variable = await call.perform("info", {"id": var_id})
    return answer(schemas.Variable.of(variable), 201, {"Location": variable_url(var_id)})


async def get_variable(call: Call) -> Response:
    return answer(schemas.Variable.of(await call.perform("info", {"id": call.path("id")})))


async def edit_variable(call: Call) -> Response:
    var_id = call.path("id")
    fields = await call.fields()
    if call.actor.is_public:  # `info` would answer a public variable: let `edit` refuse the request
        await call.perform("edit", fields)
    # `edit` needs the type and the name: what the request leaves out is what the variable has.
    current = await call.perform("info", {"id": var_id})
    if fields is not None:
        fields = {"type": current.type.value, "name": current.name, **fields, "id": var_id}
    await call.perform("edit", fields)
    return answer(schemas.Variable.of(await call.perform("info", {"id": var_id})))


async def delete_variable(call: Call) -> Response:
    await call.perform("delete", {"id": call.path("id")})
    return no_content()


async def move_variable(call: Call) -> Response:
    var_id = call.path("id")
    fields = await call.fields()
    to = fields.get("to") if fields is not None else None
    if to == "previous":
        await call.perform("ordprev", {"id": var_id})
    elif to == "next":
        await call.perform("ordnext", {"id": var_id})
    else:
        await call.perform("move_to", None if fields is None else {"id": var_id, "to": to})
    return no_content()


async def transfer_variable(call: Call) -> Response:
    fields = await call.fields()
    await call.perform("transfer", None if fields is None else {**fields, "id": call.path("id")})
    return no_content()


# -- Values ----------------------------------------------------------------------------------------


async def read_value(call: Call) -> Response:
    variable = await call.perform("read", {"id": call.path("id")})
    return answer(schemas.Value(value=variable.value, time=variable.time))


async def write_value(call: Call) -> Response:
    fields = await call.fields()
    if fields is None:
        await call.perform("write", None)
    assert fields is not None
    fields["id"] = call.path("id")
    written = await call.perform("write_at" if "time" in fields else "write", fields)
    return answer(schemas.Value(value=written.value, time=written.time))


async def toggle_value(call: Call) -> Response:
    written = await call.perform("toggle", {"id": call.path("id")})
    return answer(schemas.Value(value=written.value, time=written.time))


async def read_history(call: Call) -> Response:
    return await history.answer(call, call.path("id"))


async def draw_graph(call: Call) -> Response:
    fields: dict[str, Any] = {**call.request.query_params, "id": call.path("id")}
    fields.pop("api_key", None)
    headers = call.request.headers
    conditions = Conditions(headers.get("if-none-match"), headers.get("if-modified-since"))
    graph = await call.perform("graph", fields, conditions)
    cache = {"ETag": graph.etag, "Last-Modified": http_date(graph.modified), "Cache-Control": "no-cache"}
    if graph.picture is None:
        return Response(status_code=304, headers=cache)
    return Response(graph.picture.data, media_type=graph.picture.media_type, headers=cache)


# Failures that are the actor's, not the item's: they fail the whole batch.
_ACCESS_RESULTS = (Result.ERROR_INVALID_KEY, Result.ERROR_BANNED, Result.ERROR_UNCONFIRMED)


async def write_values(call: Call) -> Response:
    if call.found.anonymous:
        raise VariPassError(Result.ERROR_INVALID_KEY)
    items = await call.json(max(BATCH_BODY, call.rest.endpoint.max_body))
    if not isinstance(items, list) or len(items) > schemas.MAX_BATCH:
        raise VariPassError(Result.ERROR_INVALID_PARAMETERS)

    async def one(item: Any) -> schemas.BatchResult:
        try:
            if not isinstance(item, dict):
                raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
            fields = present(item)
            written = await call.perform("write_at" if "time" in fields else "write", fields)
        except VariPassError as exc:
            if exc.result in _ACCESS_RESULTS and not isinstance(exc, Forbidden):
                raise
            detail = schemas.ErrorDetail(code=exc.result.value, message=errors.message_of(exc))
            return schemas.BatchResult(status=errors.status_of(exc), error=detail)
        return schemas.BatchResult(status=200, value=written.value, time=written.time)

    # Writes without a time run together, so that the write batcher commits them as one; timed ones
    # (back-filled points) one after another, in the order sent.
    results: list[schemas.BatchResult] = []
    group: list[Any] = []
    for item in [*items, None]:
        timed = item is None or not isinstance(item, dict) or item.get("time") is not None
        if timed and group:
            results += await asyncio.gather(*(one(i) for i in group))
            group = []
        if item is None:
            break
        if timed:
            results.append(await one(item))
        else:
            group.append(item)
    return answer(schemas.BatchResults(results), exclude_none=True)


# -- The account, its keys and tokens -------------------------------------------------------------------


async def latest(call: Call) -> Response:
    wanted = call.request.query_params.get("fields", "value,time")
    if wanted not in ("value", "value,time", "time,value"):
        await call.perform("latest", None)
    variables = await call.perform("latest", {})
    if wanted == "value":
        return answer(schemas.LatestAnswer({v.id: v.value for v in variables}))
    return answer(schemas.LatestAnswer({v.id: schemas.Latest(value=v.value, time=v.time) for v in variables}))


async def account(call: Call) -> Response:
    info = await call.perform("account", {})
    a = info.account
    return answer(
        schemas.Account(
            id=a.id,
            email=a.email,
            confirmed=a.confirmed,
            locked=a.locked,
            transfers_enabled=a.transfers_enabled,
            variables=info.variables,
            max_variables=a.max_variables,
            key_prefix=a.key_prefix,
            max_history_points=info.plan.max_history_points,
        )
    )


async def log_in(call: Call) -> Response:
    """Email and password (a JSON body, or Basic) to a token: every attempt counts against the throttles."""
    email, password = call.found.email, call.found.password
    if email is None or password is None:
        fields = await call.fields() or {}
        email, password = fields.get("email"), fields.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email.strip():
        raise VariPassError(Result.ERROR_INVALID_KEY)
    call.actor = await call.rest.passwords.check(email.strip(), password, call.client_ip, remember=False)
    token = await call.perform("token_create", {})
    return answer(schemas.Token(token=token.token, expires=token.expires), 201)


async def log_out(call: Call) -> Response:
    await call.perform("token_revoke", {})
    return no_content()


def _key(info: Any) -> dict[str, Any]:
    return {
        "id": info.id,
        "label": info.label,
        "prefix": info.prefix,
        "variables": None if info.variables is None else list(info.variables),
        "read": info.read,
        "write": info.write,
        "created": info.created,
        "last_used": info.last_used,
    }


async def create_key(call: Call) -> Response:
    made = await call.perform("key_create", await call.fields())
    key = schemas.NewKey(key=made.key, **_key(made.info))
    return answer(key, 201, {"Location": f"{V1}/keys/{made.info.id}"})


async def list_keys(call: Call) -> Response:
    return answer(schemas.KeyList(keys=[schemas.Key(**_key(k)) for k in await call.perform("key_list", {})]))


async def revoke_key(call: Call) -> Response:
    await call.perform("key_revoke", {"key_id": call.path("key_id")})
    return no_content()


# -- InfluxDB line protocol ----------------------------------------------------------------------------

INFLUX_BODY = 4 * 1024 * 1024  # bytes of line protocol, gzip-decoded: InfluxDB's 5,000-line cap with room


def _gunzip(body: bytes) -> bytes:
    """A gzip body (Telegraf's influxdb_v2 output sends one by default), decoded up to INFLUX_BODY.

    Raises:
        VariPassError: 413 past the cap (a small body can decode to gigabytes), 400 for one that is not gzip.
    """
    decoder = zlib.decompressobj(wbits=31)
    try:
        data = decoder.decompress(body, INFLUX_BODY)
    except zlib.error:
        raise errors.malformed() from None
    if decoder.unconsumed_tail:
        raise VariPassError(Result.ERROR_INVALID_PARAMETERS, status=413)
    return data


async def influx_write(call: Call) -> Response:
    """POST /api/v2/write: InfluxDB 2's write path (service/rest/influx.py maps it onto the use cases)."""
    body = await read_body(call.request, INFLUX_BODY)
    if call.request.headers.get("content-encoding", "").strip().lower() == "gzip":
        body = _gunzip(body)
    precision = call.request.query_params.get("precision", "ns")
    result = await influx.ingest(call.rest.endpoint.services, call.actor, body, precision)
    call.rest.notifier.notify(result.changes)
    if result.body is None:
        return no_content()
    return Response(json.dumps(result.body), result.status, media_type=JSON_TYPE)


# -- The table -------------------------------------------------------------------------------------------

_ONE = f"{V1}/variables/{{id}}"
_ID_ERRORS = (404, 422)

OPS: tuple[Op, ...] = (
    Op("GET", f"{V1}/variables", list_variables, "List the variables, in the account's order", "variables",
       answer=schemas.VariableList),
    Op("POST", f"{V1}/variables", create_variable, "Create a variable", "variables", status=201,
       answer=schemas.Variable, body=schemas.VariableCreate, errors=(400, 409, 413, 422), headers=("Location",)),
    Op("GET", _ONE, get_variable, "A variable's settings and latest value", "variables", answer=schemas.Variable,
       errors=_ID_ERRORS, public=True),
    Op("PATCH", _ONE, edit_variable, "Change a variable's settings (what is left out is kept)", "variables",
       answer=schemas.Variable, body=schemas.VariableEdit, errors=(400, 404, 413, 422)),
    Op("DELETE", _ONE, delete_variable, "Delete a variable and its history", "variables", status=204,
       errors=_ID_ERRORS),
    Op("POST", f"{_ONE}/move", move_variable, "Move a variable in the account's order", "variables", status=204,
       body=schemas.Move, errors=(400, 404, 409, 413, 422)),
    Op("POST", f"{_ONE}/transfer", transfer_variable, "Give a variable, with its history, to another account",
       "variables", status=204, body=schemas.Transfer, errors=(400, 404, 409, 413, 422)),
    Op("GET", f"{_ONE}/value", read_value, "A variable's latest value", "values", answer=schemas.Value,
       errors=_ID_ERRORS, public=True),
    Op("POST", f"{_ONE}/value", write_value, "Write a value, now or at a past time", "values",
       answer=schemas.Value, body=schemas.ValueWrite, errors=(400, 404, 413, 422),
       description="A `time` back-fills a buffered reading (see the docs for how cooldowns apply)."),
    Op("POST", f"{_ONE}/toggle", toggle_value, "Flip a bool variable", "values", answer=schemas.Value,
       errors=(404, 409, 422)),
    Op("GET", f"{_ONE}/history", read_history, "A variable's history: a range, pages, aggregates, CSV",
       "values", answer=history.HistoryAnswer, query=history.QUERY, errors=_ID_ERRORS, public=True,
       description=history.DESCRIPTION),
    Op("GET", f"{_ONE}/graph", draw_graph, "A variable's history as an image", "values", answer="image/*",
       query=(GraphParams,), errors=(404, 409, 422), public=True, headers=("ETag", "Last-Modified")),
    Op("POST", f"{V1}/values", write_values, "Write up to 1,000 values to any variables at once", "values",
       answer=schemas.BatchResults, body=schemas.Batch, errors=(400, 413, 422),
       description="Answers 200 with one result per item, in their order, each with the status it would have "
       "had alone."),
    Op("GET", f"{V1}/latest", latest, "Every variable's latest value, by id", "values", answer=schemas.LatestAnswer,
       query=(history.LatestQuery,), errors=(422,)),
    Op("GET", f"{V1}/account", account, "The account and its plan", "account", answer=schemas.Account),
    Op("POST", f"{V1}/auth", log_in, "Email and password (JSON or Basic) for a token that expires", "account",
       status=201, answer=schemas.Token, body=schemas.Login, errors=(400, 413)),
    Op("DELETE", f"{V1}/auth", log_out, "Revoke the token the request is made with", "account", status=204),
    Op("POST", f"{V1}/keys", create_key, "Make a scoped key (shown this once)", "account", status=201,
       answer=schemas.NewKey, body=schemas.KeyCreate, errors=(400, 404, 413, 422), headers=("Location",)),
    Op("GET", f"{V1}/keys", list_keys, "The account's scoped keys (without their secrets)", "account",
       answer=schemas.KeyList),
    Op("DELETE", f"{V1}/keys/{{key_id}}", revoke_key, "Revoke a scoped key, at once", "account", status=204,
       errors=(404, 422)),
)  # fmt: skip
# Not in the OpenAPI document: it is InfluxDB's API, for InfluxDB's clients (docs/rest.md).
INFLUX_OPS = (Op("POST", "/api/v2/write", influx_write, "InfluxDB line protocol", "influx", status=204, influx=True),)


async def _serve(op: Op, request: Request, rest: Rest) -> Response:
    try:
        ip = client_ip(request)
        try:
            found = credentials(request)
        except VariPassError:
            await rest.floods.check(None, ip)  # malformed credentials still count against the address
            raise
        # The flood limits, as the protocol endpoint applies them: before any database work.
        await rest.floods.check(found.flood_identity, ip)
        if op.handler is log_in:  # it checks the password itself, counting every attempt
            actor = Actor.public(ip)
        else:
            actor = await actor_of(rest.passwords, found, ip)
        return await op.handler(Call(request, rest, found, ip, actor))
    except VariPassError as exc:
        return errors.influx_failure(exc) if op.influx else errors.failure(exc)
    except DATABASE_ERRORS as exc:
        return errors.database_failure(exc)
    except Exception:
        return errors.bug()


class _Path:
    """One path's operations: the op of the request's method (HEAD as GET), else 405."""

    def __init__(self, ops: list[Op]) -> None:
        self._by_method = {op.method: op for op in ops}
        if "GET" in self._by_method:
            self._by_method.setdefault("HEAD", self._by_method["GET"])
        self._allowed = sorted(self._by_method)

    async def answer(self, scope: Scope, receive: Receive, rest: Rest) -> Response:
        op = self._by_method.get(scope["method"])
        if op is None:
            return errors.method_not_allowed(self._allowed)
        return await _serve(op, Request(scope, receive), rest)


class _Fixed:
    """A path that answers GET (and HEAD) with the same response every time: the docs."""

    def __init__(self, response: Response) -> None:
        self._response = response

    async def answer(self, scope: Scope, receive: Receive, rest: Rest) -> Response:
        if scope["method"] in ("GET", "HEAD"):
            return Response(self._response.body, headers=dict(self._response.headers))
        return errors.method_not_allowed(["GET", "HEAD"])


_VARY_ORIGIN = (b"vary", b"Origin")


class Api:
    """Every path under /api: its own small router (a dictionary for fixed paths, a few patterns for
    the others) without Starlette's per-route matching, and CORS only for requests with an Origin
    (others get the `Vary: Origin` CORSMiddleware would add). Each coroutine between the server and
    the use case costs a write a few µs (each resume of the request passes through all of them): a
    REST write should cost about what a protocol write does (tests/bench/rest_write.py)."""

    def __init__(self) -> None:
        from service.rest import openapi

        by_path: dict[str, list[Op]] = {}
        for op in OPS + INFLUX_OPS:
            by_path.setdefault(op.path, []).append(op)
        self._fixed: dict[str, _Path | _Fixed] = {p: _Path(ops) for p, ops in by_path.items() if "{" not in p}
        self._fixed.update({p: _Fixed(r) for p, r in openapi.responses(OPS).items()})
        # /api/v1/variables/{id}/value -> /api/v1/variables/(?P<id>[^/]+)/value, longest first.
        self._patterns = [
            (re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", p), re.DOTALL), _Path(ops))
            for p, ops in sorted(by_path.items(), key=lambda item: -len(item[0]))
            if "{" in p
        ]
        self._rest: Rest | None = None
        # As the protocol: keys travel in headers, never in cookies, so every origin may call.
        self._cors = CORSMiddleware(
            self._answer,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if any(name == b"origin" for name, _ in scope["headers"]):
            await self._cors(scope, receive, send)
            return
        response = await self._response(scope, receive)
        response.raw_headers.append(_VARY_ORIGIN)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._response(scope, receive)
        await response(scope, receive, send)

    async def _response(self, scope: Scope, receive: Receive) -> Response:
        rest = self._rest
        if rest is None:  # the first request: the app's lifespan has made the endpoint by now
            rest = self._rest = rest_of(scope["app"].state)
        path: str = scope["path"]
        target = self._fixed.get(path)
        if target is None:
            for pattern, found in self._patterns:
                match = pattern.fullmatch(path)
                if match is not None:
                    scope["path_params"] = match.groupdict()
                    return await found.answer(scope, receive, rest)
            return errors.not_found()
        return await target.answer(scope, receive, rest)


def routes(api: Api | None = None) -> list[BaseRoute]:
    """The routes to mount in the app: every path under /api (the docs page at /api itself), answered
    by `api` (a new one by default; the app may keep its own to call it straight, past Starlette)."""
    api = api or Api()
    anything = Route("/api/{rest:path}", api)
    # Every path under /api is REST's, one with a newline (%0A) in an id too: its 404 is REST's JSON.
    anything.path_regex = re.compile(anything.path_regex.pattern, re.DOTALL)
    return [anything, Route("/api", api)]
