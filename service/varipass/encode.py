"""From a reply (or a failure) to the HTTP answer: compact JSON, pipe text or an image."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from service.core.compact_json import compact_json
from service.core.results import Result
from service.rendering import http_date
from service.varipass.presenter import Answer, Reply


class SimpleText(Response):
    """`text/plain` without a trailing newline.

    Arduino library versions before 1.2 skip the line after the blank line of a raw HTTP/1.1
    answer, expecting a chunk size there: so to HTTP/1.1 clients the text goes out chunked, in
    one chunk (uvicorn chunks a body that has no Content-Length). HTTP/1.0 gets a length.
    """

    media_type = "text/plain"

    def __init__(self, text: str, status_code: int, *, chunked: bool, headers: Mapping[str, str] | None = None) -> None:
        self.chunked = chunked
        super().__init__(text, status_code, headers)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        super().init_headers(headers)
        if self.chunked:
            self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]


# The JSON answers with a result alone (a write's success, every failure), made once.
_RESULT_ONLY = {result: compact_json({"result": result.value}).encode() for result in Result}


def success(reply: Reply, answer: Answer, http_version: str) -> Response:
    if reply.etag is not None and reply.modified is not None:
        # Images always carry an exact length (e-ink displays read them straight off the socket).
        headers = {"ETag": reply.etag, "Last-Modified": http_date(reply.modified), "Cache-Control": "no-cache"}
        if reply.picture is None:
            return Response(status_code=304, headers=headers)
        return Response(reply.picture.data, media_type=reply.picture.media_type, headers=headers)
    if answer is Answer.SIMPLE:
        return SimpleText("|".join((Result.SUCCESS.value, *reply.simple)), 200, chunked=http_version != "1.0")
    if not reply.fields:
        return Response(_RESULT_ONLY[Result.SUCCESS], media_type="application/json")
    return Response(
        compact_json({"result": Result.SUCCESS.value, **reply.fields}).encode(), media_type="application/json"
    )


def failure(
    result: Result, status: int, answer: Answer, http_version: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Every error body is exactly one result string, bare or as `{"result":...}`."""
    if answer is Answer.SIMPLE:
        return SimpleText(result.value, status, chunked=http_version != "1.0", headers=headers)
    return Response(_RESULT_ONLY[result], status, headers, media_type="application/json")
