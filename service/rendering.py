"""Graphs drawn off the event loop, a bounded number at a time, and the recent ones remembered.

render/ is pure and CPU-bound: here its calls go to a small thread pool (its size bounds the
renders running at once per process) and their results to a byte-bounded LRU cache keyed by
ETag, so a fleet of e-ink screens asking for the same picture costs one render.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime

from render import Picture, RenderOptions, Series, render
from service.core.records import record
from service.core.values import VarType
from service.db.history import Extent, Point
from service.db.variables import Variable


def series_of(variable: Variable, points: list[Point]) -> Series:
    return Series(
        name=variable.name,
        unit=variable.unit,
        minimum=variable.min,
        maximum=variable.max,
        boolean=variable.type is VarType.BOOL,
        points=tuple((point.time, float(point.value)) for point in points),
        # The time of the latest value, not the clock: the picture depends on the history alone,
        # so that it can be cached and given an ETag.
        now=variable.time,
    )


def etag_of(variable: Variable, extent: Extent, options: RenderOptions) -> str:
    """A strong ETag for the picture of a variable's history, known before the points are read.

    History grows at its new end (a write, which moves the latest value's time) or, by a
    back-filled point (issue 14), anywhere, which adds one to its count; it shrinks at its old end
    (expiry, a lowered expire), which moves the oldest point; whatever else rewrites it (a type
    change) moves the latest value's time: so those times and the count identify the points.
    """
    drawn = (variable.id, variable.type, variable.name, variable.unit, variable.min, variable.max)
    key = repr((drawn, variable.time, variable.written, extent, options))
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak forms and `*` included)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def http_date(seconds: int) -> str:
    """Unix seconds as an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`), for Last-Modified."""
    return formatdate(seconds, usegmt=True)


def _seconds(http_date: str) -> float | None:
    """An HTTP-date (any of RFC 9110's three forms) as Unix seconds; None if it is not one."""
    try:
        when = parsedate_to_datetime(http_date)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@record
class Conditions:
    """What a request says of the copy it holds: If-None-Match, and If-Modified-Since (GET and HEAD only)."""

    if_none_match: str | None = None
    if_modified_since: str | None = None

    def hold(self, etag: str, modified: int) -> bool:
        """Whether the caller's copy is current, for a 304.

        As RFC 9110 §13.2.2 orders: If-None-Match, when sent, decides alone; If-Modified-Since
        counts only without it, and is ignored when it is not a date.
        """
        if self.if_none_match:
            return matches(self.if_none_match, etag)
        since = _seconds(self.if_modified_since) if self.if_modified_since else None
        return since is not None and modified <= since


NOTHING_HELD = Conditions()


class Renderer:
    def __init__(self, workers: int, cache_bytes: int, on_render: Callable[[float], None] | None = None) -> None:
        """`on_render` is told each render's seconds (the metrics), on the event loop's thread."""
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="varistore-render")
        self._on_render = on_render
        self._cache: OrderedDict[str, Picture] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._held = 0

    def cached(self, etag: str) -> Picture | None:
        picture = self._cache.get(etag)
        if picture is not None:
            self._cache.move_to_end(etag)
        return picture

    async def draw(self, etag: str, series: Series, options: RenderOptions) -> Picture:
        """The picture for these inputs, from the cache or rendered in the pool."""
        picture = self.cached(etag)
        if picture is None:
            started = time.perf_counter()
            picture = await asyncio.get_running_loop().run_in_executor(self._executor, render, series, options)
            if self._on_render is not None:
                self._on_render(time.perf_counter() - started)
            self._remember(etag, picture)
        return picture

    def _remember(self, etag: str, picture: Picture) -> None:
        if etag in self._cache or len(picture.data) > self._cache_bytes:
            return
        self._cache[etag] = picture
        self._held += len(picture.data)
        while self._held > self._cache_bytes:
            _, dropped = self._cache.popitem(last=False)
            self._held -= len(dropped.data)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
