"""The ingest behind POST /api/v2/write (issue 14): InfluxDB line protocol in, one variable per field.

Every field of every point becomes one variable of the acting account, found by its exact name:

    measurement.field                           a point without tags
    measurement.field{tag1=v1,tag2=v2}          with its tags, sorted by key (as InfluxDB sorts them)

so `cpu,cpu=cpu-total,host=web1 usage_idle=97.5` writes `cpu.usage_idle{cpu=cpu-total,host=web1}`.
Of several variables with the name, the first in the account's order takes the value. A name longer
than a variable's name may be is refused. A missing variable is created on its first write, typed
after the field (integer and unsigned: int, float: float, boolean: bool, string: string) with every
other setting at its default, when the key may create variables (the create use case decides: an
account key may, a scoped key may not). The value goes through the write use case, or write_at for
a point with a timestamp: every rule (the value's fit to the type, cooldowns, a key's scope, the
plan's limits) is theirs, and each field gets their result.

The answer is InfluxDB's (`{"code": ..., "message": ...}`, the status Telegraf's influxdb_v2 output
acts on):
- 204: every value written.
- 400 `invalid`: lines that do not parse, the first one named ("unable to parse '<line>': <reason>").
  The lines that parse are still written, and the message then starts "partial write:" and ends
  with "dropped=<lines not parsed + values refused>", as InfluxDB 1.8's /api/v2/write and InfluxDB 3
  answer (InfluxDB 2 OSS writes none of such a batch). Also an empty body ("writing requires
  points") and a precision other than ns, us, ms, s. Telegraf logs it and drops the batch.
- 413 `request too large`: more than 5,000 lines; nothing written. Telegraf halves its batch and
  sends both halves again.
- 422 `unprocessable entity`: values our rules refused (a cooldown, a value that does not fit its
  variable's type, the plan's variable limit, a locked account, a key that may not create),
  "partial write: <variable> (line n): <result code> ... dropped=<values refused>"; the other values
  are written. InfluxDB answers 422 for points it will not store (a schema conflict, outside the
  retention period); Telegraf drops them and does not send them again, which is right here: sending
  a batch again would meet the cooldowns its first sending started (a 429 would have it retry).

An unknown key, a banned or unconfirmed account, or a key that may not write
is refused before anything is parsed: that VariPassError is the route's to answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.actions.catalog import USE_CASES
from service.actions.context import Services
from service.actions.params import NAME_MAX
from service.core.access import Actor
from service.core.changes import Change
from service.core.records import record
from service.core.results import Forbidden, Result, VariPassError
from service.core.values import VarType
from service.rest import line_protocol
from service.rest.line_protocol import FieldValue, LineError, Point

# Values written at once. Live writes share the process's group commit (service/db/write_batch.py),
# so more at once is cheaper: 5,100 writes took 1.7 s one by one, 0.3 s 32 at a time. Each back-filled
# point (write_at) holds a pooled connection for its own transaction: past 4 at once it was no faster
# (4.8 s for 5,100 at 4, 5.4 s at 32), and the pool stays free for other requests.
WRITES_AT_ONCE = 32
BACKFILLS_AT_ONCE = 4


def variable_name(point: Point, field_key: str) -> str:
    """The name of the variable that a field of a point writes."""
    name = f"{point.measurement}.{field_key}"
    if point.tags:
        name += "{" + ",".join(f"{key}={value}" for key, value in point.tags) + "}"
    return name


def variable_type(value: FieldValue) -> VarType:
    """The type of a variable made for a field's first value."""
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return VarType.BOOL
    if isinstance(value, int):
        return VarType.INT
    if isinstance(value, float):
        return VarType.FLOAT
    return VarType.STRING


@record
class FieldResult:
    """What became of one field: its variable's name and id (when known), and the use cases' result."""

    field: str
    name: str
    result: Result
    id: str | None = None
    created: bool = False  # this field's write made the variable
    retry_after: int | None = None  # with error_cooldown: seconds until the variable takes a write
    note: str = ""  # why, where the result code alone does not say it

    @property
    def written(self) -> bool:
        return self.result is Result.SUCCESS

    def describe(self, line: int) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.name} (line {line}): {self.result}{note}"


@record
class PointResult:
    line: int
    fields: tuple[FieldResult, ...]


@record
class IngestResult:
    """The answer, for the route to present as it is: status, InfluxDB's error body (None with 204),
    what became of each point and each line that did not parse, and the changes to notify."""

    status: int
    body: dict[str, str] | None
    points: tuple[PointResult, ...] = ()
    errors: tuple[LineError, ...] = ()
    changes: tuple[Change, ...] = ()


async def ingest(services: Services, actor: Actor, body: bytes, precision: str) -> IngestResult:
    """Write every field of every point of `body` (line protocol, timestamps in `precision`).

    Raises:
        VariPassError: the access rule refused `actor`: nothing was parsed or written.
    """
    # The listing applies the access rule first, as InfluxDB checks the token before the body.
    listed = await USE_CASES["names"].perform_fields(services, actor, {})
    if not body:
        return _refused(400, "invalid", "writing requires points")
    try:
        lines = line_protocol.parse(body, precision, max_name=NAME_MAX)
    except line_protocol.InvalidPrecision:
        return _refused(400, "invalid", "invalid precision; valid precision units are ns, us, ms, and s")
    except line_protocol.TooManyLines as exc:
        return _refused(413, "request too large", f"points batch is too large: {exc}")
    ids: dict[str, str] = {}
    for variable in listed.value:
        ids.setdefault(variable.name, variable.id)
    run = _Run(services, actor, ids)
    points = await run.points([line for line in lines if isinstance(line, Point)])
    errors = tuple(line for line in lines if isinstance(line, LineError))
    return _answer(points, errors, tuple(run.changes))


def _refused(status: int, code: str, message: str) -> IngestResult:
    return IngestResult(status, {"code": code, "message": message})


def _answer(
    points: tuple[PointResult, ...], errors: tuple[LineError, ...], changes: tuple[Change, ...]
) -> IngestResult:
    refused = [(point.line, f) for point in points for f in point.fields if not f.written]
    if errors:
        message = f"{errors[0].message} (line {errors[0].line})" + _more(len(errors) - 1, "lines")
        if refused:
            message += "; " + refused[0][1].describe(refused[0][0]) + _more(len(refused) - 1, "values")
        if points:  # some of the batch was written (or refused by our rules)
            message = f"partial write: {message} dropped={len(errors) + len(refused)}"
        return IngestResult(400, {"code": "invalid", "message": message}, points, errors, changes)
    if refused:
        described = refused[0][1].describe(refused[0][0]) + _more(len(refused) - 1, "values")
        message = f"partial write: {described} dropped={len(refused)}"
        return IngestResult(422, {"code": "unprocessable entity", "message": message}, points, errors, changes)
    return IngestResult(204, None, points, errors, changes)


def _more(count: int, what: str) -> str:
    return f"; and {count} more {what}" if count else ""


@dataclass(slots=True)
class _Target:
    """One field of one point, on its way to a variable."""

    point: Point
    field: str
    value: FieldValue
    name: str
    id: str | None = None
    created: bool = False
    result: FieldResult | None = None


@dataclass(slots=True)
class _Run:
    """One request's ingest: the account's names, the variables it made, and the changes committed."""

    services: Services
    actor: Actor
    ids: dict[str, str]  # name → id of the variable a name writes
    refused: dict[str, FieldResult] = field(default_factory=dict)  # names whose create was refused
    changes: list[Change] = field(default_factory=list)

    async def points(self, points: Sequence[Point]) -> tuple[PointResult, ...]:
        targets = [
            [_Target(point, key, value, variable_name(point, key)) for key, value in point.fields.items()]
            for point in points
        ]
        flat = [target for of_point in targets for target in of_point]
        for target in flat:
            await self._find(target)
        for chunk in _chunks(target for target in flat if target.result is None):
            await _all(self._write(target) for target in chunk)
        return tuple(
            PointResult(point.line, tuple(t.result for t in of_point if t.result is not None))
            for point, of_point in zip(points, targets, strict=True)
        )

    async def _find(self, target: _Target) -> None:
        """The target's variable: the account's of its name, or one made now; else its result."""
        name = target.name
        if len(name) > NAME_MAX:
            note = f"name longer than {NAME_MAX} characters"
            target.result = FieldResult(target.field, name, Result.ERROR_INVALID_PARAMETERS, note=note)
            return
        if name in self.refused:
            target.result = self.refused[name]
            return
        if name in self.ids:
            target.id = self.ids[name]
            return
        try:
            fields = {"type": variable_type(target.value).value, "name": name}
            made = await USE_CASES["create"].perform_fields(self.services, self.actor, fields)
        except VariPassError as exc:
            target.result = self.refused[name] = FieldResult(target.field, name, exc.result, note=_note(exc))
            return
        self.changes.extend(made.changes)
        target.id = self.ids[name] = made.value
        target.created = True

    async def _write(self, target: _Target) -> None:
        assert target.id is not None
        point, fields = target.point, {"id": target.id, "value": target.value}
        if point.time_ns is None:
            use_case = USE_CASES["write"]
        else:
            use_case = USE_CASES["write_at"]
            fields["time"] = point.time_ns / 1_000_000_000  # Unix seconds
        try:
            outcome = await use_case.perform_fields(self.services, self.actor, fields)
        except VariPassError as exc:
            target.result = FieldResult(
                target.field, target.name, exc.result, target.id, target.created, exc.retry_after, _note(exc)
            )
            return
        self.changes.extend(outcome.changes)
        target.result = FieldResult(target.field, target.name, Result.SUCCESS, target.id, target.created)


def _note(exc: VariPassError) -> str:
    return "the key may not do this" if isinstance(exc, Forbidden) else ""


def _chunks(targets: Iterable[_Target]) -> Iterable[list[_Target]]:
    """The targets in order, a few at a time (WRITES_AT_ONCE, BACKFILLS_AT_ONCE) and a variable at
    most once in each: two values for one variable are written one after the other, the first first."""
    chunk: list[_Target] = []
    backfills = 0
    for target in targets:
        backfill = target.point.time_ns is not None
        full = len(chunk) == WRITES_AT_ONCE or (backfill and backfills == BACKFILLS_AT_ONCE)
        if full or any(t.id == target.id for t in chunk):
            yield chunk
            chunk, backfills = [], 0
        chunk.append(target)
        backfills += backfill
    if chunk:
        yield chunk


async def _all(writes: Iterable[Awaitable[Any]]) -> None:
    """Await every write; then raise the first failure that is not a result (a database outage)."""
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
