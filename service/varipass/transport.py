"""From an HTTP request to one RawRequest, whatever way the client sent its parameters.

DESIGN.md §3 "Transport": GET query, JSON body or form body; a POST with no or an unknown
content type is tried as JSON, then as form. Devices in the field send sloppy bodies (raw
spaces, empty `&&` segments, unknown parameters), which the stdlib's parse_qsl takes as is.

Bytes that are not UTF-8 are kept as lone surrogates (errors="surrogateescape") rather than
replaced by U+FFFD, so that service/actions/params.py refuses them (issue 8): `caf%E9` was
stored as `caf` and a replacement character.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from service.core.access import IPAddress
from service.core.records import record
from service.core.results import Result, VariPassError
from service.rendering import NOTHING_HELD, Conditions


@record
class RawRequest:
    action: str | None
    key: str | None
    fields: dict[str, Any]
    client_ip: IPAddress | None
    conditions: Conditions = NOTHING_HELD


# Connection: close makes uvicorn close the connection after the answer, instead of reading
# (and throwing away) the rest of a body the request will never use.
_CLOSE = {"Connection": "close"}


def form_fields(data: bytes) -> dict[str, Any]:
    """A query string or urlencoded body as fields; a name given twice keeps its last value."""
    # Both steps keep bad bytes as lone surrogates: raw ones in the decoding, percent-encoded ones in parse_qsl.
    text = data.decode("utf-8", "surrogateescape")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="surrogateescape"))
    # Nothing to decode, as in nearly every device's request: parse_qsl's answer, split here in a
    # third of its time (tests/service/test_transport.py compares the two).
    fields = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields[name] = value
    return fields


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        # Invalid UTF-8 inside a JSON text: read on, its bad bytes as lone surrogates that the
        # parameters refuse as they do in a form (json.loads would give up on the whole body).
        try:
            data = json.loads(body.decode("utf-8", "surrogateescape"))
        except (ValueError, RecursionError):
            return None
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def body_fields(body: bytes, content_type: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        return form_fields(body)
    data = _json(body)
    return data if data is not None else form_fields(body)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes without reading the rest.

    Raises:
        VariPassError: error_invalid_parameters, with HTTP 413 and Connection: close for a body
            over `limit`, or when the client went away before sending all of it (nobody reads
            that answer: it only names the request's end for the endpoint's hook).
    """
    too_large = VariPassError(Result.ERROR_INVALID_PARAMETERS, status=413, headers=_CLOSE)
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:  # isdigit() alone takes "²"
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        # A client that hung up, or one closed by the body deadline: an ordinary end, no traceback.
        raise VariPassError(Result.ERROR_INVALID_PARAMETERS, status=400, headers=_CLOSE) from None
    return b"".join(chunks)


def _text(value: Any) -> str | None:
    """action and key as text; empty counts as missing, and a non-string never matches."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


@functools.lru_cache(maxsize=4096)
def _ip_address(host: str) -> IPAddress | None:
    # Parsed once per client: asyncpg would parse a string on every query. Behind a Unix
    # socket, or for in-process clients, the "host" is no IP address at all.
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def client_ip(request: Request) -> IPAddress | None:
    """The client's address; uvicorn has already put the forwarded one here when the peer is a trusted proxy."""
    client = request.scope.get("client")  # Request.client would make a named tuple of it first
    return _ip_address(client[0]) if client else None


def query_fields(request: Request) -> dict[str, Any]:
    return form_fields(request.scope["query_string"])


async def parse(request: Request, fields: dict[str, Any], max_body: int) -> RawRequest:
    """Merge the query string's `fields` and the body (the body wins) into one RawRequest.

    Raises:
        VariPassError: error_invalid_parameters with HTTP 413 for a body over `max_body`.
    """
    method = request.scope["method"]
    if method == "POST":
        body = await read_body(request, max_body)
        fields.update(body_fields(body, request.headers.get("content-type", "")))
    action, key = _text(fields.pop("action", None)), _text(fields.pop("key", None))
    # The two conditional headers in one pass over the head: a lookup by name in Starlette's Headers
    # costs a scan and, when missing (nearly always), a KeyError (issue 13).
    match, since = None, None
    for name, value in request.scope["headers"]:
        if name == b"if-none-match" and match is None:
            match = value.decode("latin-1")
        elif name == b"if-modified-since" and since is None:
            since = value.decode("latin-1")
    # RFC 9110 §13.1.3: If-Modified-Since is for GET and HEAD only.
    if method not in ("GET", "HEAD"):
        since = None
    conditions = NOTHING_HELD if match is None and since is None else Conditions(match, since)
    return RawRequest(action, key, fields, client_ip(request), conditions)
