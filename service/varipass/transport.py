"""From an HTTP request to one RawRequest, whatever way the client sent its parameters.

DESIGN.md §3 "Transport": GET query, JSON body or form body; a POST with no or an unknown
content type is tried as JSON, then as form. Devices in the field send sloppy bodies (raw
spaces, empty `&&` segments, unknown parameters), which the stdlib's parse_qsl takes as is.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from service.core.access import IPAddress
from service.core.results import Result, VariPassError


@dataclass(frozen=True, slots=True)
class RawRequest:
    action: str | None
    key: str | None
    fields: dict[str, Any]
    client_ip: IPAddress | None
    if_none_match: str | None = None


def _form(body: bytes) -> dict[str, Any]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def body_fields(body: bytes, content_type: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        return _form(body)
    data = _json(body)
    return data if data is not None else _form(body)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes without reading the rest."""
    too_large = VariPassError(Result.ERROR_INVALID_PARAMETERS, status=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
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


def query_fields(request: Request) -> dict[str, Any]:
    return dict(parse_qsl(request.scope["query_string"].decode("utf-8", "replace"), keep_blank_values=True))


async def parse(request: Request, fields: dict[str, Any], max_body: int) -> RawRequest:
    """Merge the query string's `fields` and the body (the body wins) into one RawRequest.

    Raises:
        VariPassError: error_invalid_parameters with HTTP 413 for a body over `max_body`.
    """
    if request.method == "POST":
        body = await read_body(request, max_body)
        fields.update(body_fields(body, request.headers.get("content-type", "")))
    ip = _ip_address(request.client.host) if request.client else None
    action, key = _text(fields.pop("action", None)), _text(fields.pop("key", None))
    return RawRequest(action, key, fields, ip, request.headers.get("if-none-match"))
