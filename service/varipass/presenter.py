"""Every answer of the protocol: which JSON fields and pipe fields each action's result becomes.

Only this module knows the wire shape of results (field names and order, the simple format's
pipes, `current`); the actions return domain values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import field
from enum import Enum
from typing import Any

from render import Picture
from service.actions.graph import Graph
from service.actions.values import Written
from service.core.records import record
from service.core.values import json_number, simple_text
from service.db.history import Point
from service.db.variables import Variable


class Answer(Enum):
    """How an action answers: JSON, or the simple format (a bare result string on error)."""

    JSON = "json"
    SIMPLE = "simple"


@record
class Reply:
    """A successful answer: JSON fields after `result`, or the pipe fields after `success`."""

    fields: dict[str, Any] = field(default_factory=dict)
    simple: tuple[str, ...] = ()
    # An image (graph, sgraph) with its ETag and Last-Modified (Unix seconds); without the image: the
    # client's copy is current (304).
    picture: Picture | None = None
    etag: str | None = None
    modified: int | None = None


Present = Callable[[Any], Reply]


def now() -> int:
    """`current`: the server's time in whole Unix seconds."""
    return int(time.time())


def describe(variable: Variable) -> dict[str, Any]:
    """The fields of `info`, in the spec's order."""
    return {
        "type": variable.type.value,
        "name": variable.name,
        "description": variable.description,
        "unit": variable.unit,
        "graph": variable.graph,
        "perc": variable.perc,
        "min": json_number(variable.min),
        "max": json_number(variable.max),
        "expire": variable.expire,
        "cooldown": variable.cooldown,
        "public": variable.public,
    }


def _points(points: list[Point]) -> list[dict[str, Any]]:
    return [{"value": point.value, "time": point.time} for point in points]


def nothing(_: object) -> Reply:
    """`success` and nothing more (edit, delete, write, ...)."""
    return Reply()


def created(var_id: str) -> Reply:
    return Reply({"id": var_id})


def info(variable: Variable) -> Reply:
    return Reply(describe(variable))


def id_list(ids: list[str]) -> Reply:
    return Reply({"list": ids})


def read(variable: Variable) -> Reply:
    return Reply({"value": variable.value, "time": variable.time, "current": now()})


def sread(variable: Variable) -> Reply:
    return Reply(simple=(simple_text(variable.value),))


def history(points: list[Point]) -> Reply:
    return Reply({"history": _points(points), "current": now()})


def toggled(written: Written) -> Reply:
    return Reply({"value": written.value, "time": written.time, "current": now()})


def stoggled(written: Written) -> Reply:
    return Reply(simple=(simple_text(written.value),))


def all_data(items: list[tuple[Variable, list[Point]]]) -> Reply:
    listed = [{"id": v.id, **describe(v), "history": _points(points)} for v, points in items]
    return Reply({"list": listed, "current": now()})


def latest(variables: list[Variable]) -> Reply:
    return Reply({"list": [{"id": v.id, "value": v.value, "time": v.time} for v in variables], "current": now()})


def slatest(variables: list[Variable]) -> Reply:
    # `success|N|id|value|...|` with a trailing `|`, and `success|0|` when empty.
    simple = [str(len(variables))]
    for v in variables:
        simple += [v.id, simple_text(v.value)]
    return Reply(simple=(*simple, ""))


def graph(result: Graph) -> Reply:
    return Reply(picture=result.picture, etag=result.etag, modified=result.modified)
