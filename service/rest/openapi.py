"""The OpenAPI 3.1 document of REST v1, built from the route table (service/rest/app.py OPS) and the
JSON schemas of its models, so that it cannot drift from what the routes do; and the docs page at
GET /api, rendered on the server from the same document (no script, no CDN, no build step).
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.responses import HTMLResponse, Response

from service.rest.schemas import Error

if TYPE_CHECKING:
    from service.rest.app import Op

SPEC_PATH = "/api/v1/openapi.json"
REF = "#/components/schemas/{model}"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/bmp")
_PATH_PARAM = re.compile(r"\{(\w+)\}")

STATUS_TEXT = {
    200: "Success",
    201: "Created",
    204: "Done; no body",
    304: "Your copy is current (If-None-Match, If-Modified-Since)",
    400: "The body is not JSON",
    401: "Missing or unknown credentials (error_invalid_key)",
    403: "Not allowed: a banned or unconfirmed account, a locked one, or a scoped key outside its scope",
    404: "No such variable, key or route (error_invalid_id)",
    409: "The variable's state refuses it (its type, its place, the plan's limit)",
    413: "The body is too large",
    422: "A parameter is missing or malformed",
    429: "A cooldown or a flood limit: wait for Retry-After seconds",
    503: "The database is unavailable (error_db)",
}
SECURITY_SCHEMES = {
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key, scoped key or token",
    },
    "Bearer": {"type": "http", "scheme": "bearer", "description": "An API key, a scoped key (vk_…) or a token (vt_…)"},
    "Basic": {"type": "http", "scheme": "basic", "description": "The account's email and password"},
    "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key", "description": "An API key in the URL"},
}
PATH_PARAMETERS = {
    "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "A variable's id"},
    "key_id": {"type": "integer", "minimum": 1, "description": "A scoped key's id"},
}


class _Schemas:
    """The components' schemas, each model's added once with the models it refers to."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        name = model.__name__
        if name not in self.components:
            schema = _bounds(model.model_json_schema(ref_template=REF))
            self.components.update(schema.pop("$defs", {}))
            self.components[name] = schema
        return {"$ref": REF.format(model=name)}


# pydantic writes a bound given beside a BeforeValidator under its Python name.
_KEYWORDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _bounds(schema: Any) -> Any:
    """`schema` with the bounds pydantic wrote under their Python names in JSON Schema's words."""
    if isinstance(schema, dict):
        return {
            _KEYWORDS[k] if k in _KEYWORDS and isinstance(v, int | float) else k: _bounds(v) for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_bounds(item) for item in schema]
    return schema


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: without JSON null (a query string has none) and its null default."""
    options = schema.get("anyOf")
    if options:
        kept = [option for option in options if option.get("type") != "null"]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}
    return {_KEYWORDS.get(k, k): v for k, v in schema.items() if not (k == "default" and v is None)}


def _query_parameters(models: tuple[type[BaseModel], ...]) -> list[dict[str, Any]]:
    parameters = []
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        required = set(schema.get("required", ()))
        for name, prop in schema["properties"].items():
            if name == "id":
                continue  # in the path
            prop = _query_schema(prop)
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameters.append(parameter)
    return parameters


def _error(schemas: _Schemas, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": STATUS_TEXT[status],
        "content": {"application/json": {"schema": schemas.ref(Error)}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _success(schemas: _Schemas, op: Op) -> dict[str, Any]:
    response: dict[str, Any] = {"description": STATUS_TEXT[op.status]}
    if isinstance(op.answer, type):
        content = {"application/json": {"schema": schemas.ref(op.answer)}}
        if op.path.endswith("/history"):
            content["text/csv"] = {"schema": {"type": "string"}}
        response["content"] = content
    elif op.answer == "image/*":
        response["content"] = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in IMAGE_TYPES}
    if op.headers:
        response["headers"] = {name: {"schema": {"type": "string"}} for name in op.headers}
    return response


def _operation(schemas: _Schemas, op: Op) -> dict[str, Any]:
    from service.rest.app import AUTH_ERRORS

    operation: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        operation["description"] = op.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in _PATH_PARAM.findall(op.path)
    ]
    parameters += _query_parameters(op.query)
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schemas.ref(op.body)}}}
    security: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
    operation["security"] = [*security, {}] if op.public else security
    responses = {str(op.status): _success(schemas, op)}
    if op.answer == "image/*":
        responses["304"] = {"description": STATUS_TEXT[304]}
    for status in sorted({*AUTH_ERRORS, *op.errors, 503}):
        responses[str(status)] = _error(schemas, status)
    operation["responses"] = responses
    return operation


def build(ops: tuple[Op, ...]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes `ops`."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(schemas, op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Varistore REST API",
            "version": "1",
            "description": "Variables, values, history and graphs over HTTP with status codes; "
            "the same store as the VariPass protocol at `/`. Every error body is "
            '`{"error": {"code": "<VariPass result>", "message": "..."}}`.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.components.items())), "securitySchemes": SECURITY_SCHEMES},
    }


# -- The docs page -----------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;border-radius:3px}
code{padding:0 .3em}pre{padding:.6em;overflow-x:auto}
.op{border:1px solid #ddd;border-radius:4px;margin:1em 0;padding:.3em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:bold}
.GET{color:#06c}.POST{color:#080}.PATCH{color:#a60}.DELETE{color:#c00}
table{border-collapse:collapse;margin:.4em 0}td,th{border-bottom:1px solid #eee;padding:.2em .8em .2em 0;
text-align:left;vertical-align:top}h3{margin:.4em 0}
"""
_INTRO = """
<p>JSON in and out, with HTTP status codes; the same variables as the VariPass protocol at <code>/</code>.
The machine-readable description is <a href="{spec}"><code>{spec}</code></a> (OpenAPI 3.1).
Every error answers <code>{{"error": {{"code": "&lt;VariPass result&gt;", "message": "…"}}}}</code>.</p>
<h2>Authentication</h2>
<ul>
<li><code>X-API-Key: KEY</code>, <code>Authorization: Bearer KEY</code> or <code>?api_key=KEY</code>: the
account's API key, a scoped key (<code>vk_…</code>, limited to some variables, to reading or writing) or a
token (<code>vt_…</code>).</li>
<li><code>Authorization: Basic</code> with the account's email and password.</li>
<li><code>POST /api/v1/auth</code> with <code>{{"email", "password"}}</code> answers a token that expires;
<code>DELETE /api/v1/auth</code> with it revokes it.</li>
<li>No credentials: reading a public variable.</li>
</ul>
"""


# The components of the document the page shows: an enum is shown by its values, not its name.
_Components = dict[str, Any]


def _type_of(schema: dict[str, Any], components: _Components | None = None) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[1]
        target = (components or {}).get(name, {})
        return _type_of(target) if "enum" in target else name
    if "anyOf" in schema:
        return " | ".join(_type_of(s, components) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if schema.get("type") == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _fields(schema: dict[str, Any], components: _Components) -> str:
    properties = schema.get("properties")
    if not properties:
        return f"<p><code>{html.escape(_type_of(schema, components))}</code></p>"
    required = set(schema.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code>{'' if name in required else ' (optional)'}</td>"
        f"<td>{html.escape(_type_of(prop, components))}</td><td>{html.escape(prop.get('description', ''))}</td></tr>"
        for name, prop in properties.items()
    )
    return f"<table>{rows}</table>"


def _schema_of(spec: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in ref:
        return ref
    schema: dict[str, Any] = spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return schema


def page(spec: dict[str, Any]) -> str:
    """The docs page: every route with its parameters, body, answers and errors."""
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>{html.escape(spec['info']['title'])}</title><style>{_STYLE}</style>",
        f"<h1>{html.escape(spec['info']['title'])}</h1>",
        _INTRO.format(spec=SPEC_PATH),
    ]
    components: _Components = spec["components"]["schemas"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            by_tag.setdefault(operation["tags"][0], []).append((method.upper(), path, operation))
    for tag, operations in by_tag.items():
        parts.append(f"<h2>{html.escape(tag.capitalize())}</h2>")
        for method, path, operation in operations:
            parts.append(f'<div class=op id="{html.escape(operation["operationId"])}">')
            parts.append(f"<h3><span class='m {method}'>{method}</span><code>{html.escape(path)}</code></h3>")
            parts.append(f"<p>{html.escape(str(operation['summary']))}")
            if "description" in operation:
                parts.append(f"<br>{html.escape(operation['description'])}")
            parts.append("</p>")
            if {} in operation["security"]:
                parts.append("<p><i>Credentials optional for a public variable.</i></p>")
            query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            if query:
                rows = "".join(
                    f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{html.escape(_type_of(p['schema']))}</td>"
                    f"<td>{html.escape(p.get('description', ''))}</td></tr>"
                    for p in query
                )
                parts.append(f"<b>Query</b><table>{rows}</table>")
            body = operation.get("requestBody")
            if body:
                schema = _schema_of(spec, body["content"]["application/json"]["schema"])
                parts.append(f"<b>Body (JSON)</b>{_fields(schema, components)}")
            answers = []
            for status, response in operation["responses"].items():
                content = response.get("content", {})
                kinds = ", ".join(content)
                shown = ""
                if "application/json" in content and status[0] == "2":
                    shown = _fields(_schema_of(spec, content["application/json"]["schema"]), components)
                answers.append(
                    f"<tr><td>{status}</td><td>{html.escape(response['description'])}"
                    f"{' (' + html.escape(kinds) + ')' if kinds and status[0] == '2' else ''}{shown}</td></tr>"
                )
            parts.append(f"<b>Answers</b><table>{''.join(answers)}</table></div>")
    return "".join(parts)


def responses(ops: tuple[Op, ...]) -> dict[str, Response]:
    """The answers of the documentation's paths: the OpenAPI document and the docs page (at /api and /api/)."""
    spec = build(ops)
    document = Response(json.dumps(spec, separators=(",", ":")), media_type="application/json")
    docs = HTMLResponse(page(spec))
    return {SPEC_PATH: document, "/api": docs, "/api/": docs}
