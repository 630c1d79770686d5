"""One pydantic model per action's parameters.

Query strings and forms carry text while JSON carries typed values, so each field type
below first turns what it accepts into its Python type and then validates strictly:
pydantic's lax mode would also take "yes", "on" or "t" for a boolean.

Every string parameter refuses NUL and lone UTF-16 surrogates (issue 8): PostgreSQL can store
neither, and the transport turns bytes that are not UTF-8 into such surrogates. They would
otherwise reach the database and fail there, as an outage (error_db) instead of a bad request.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from service.core.values import parse_flag, parse_float, parse_int

MAX_EXPIRE = 31_536_000

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(raw: object) -> object:
    if isinstance(raw, str) and _UNSTORABLE.search(raw):
        raise ValueError("NUL or a lone surrogate")
    return raw


# Placed last, so that it runs before the constraints (and before pydantic sees the string).
Storable = BeforeValidator(_storable)

Flag = Annotated[bool, BeforeValidator(parse_flag)]
Number = Annotated[float, BeforeValidator(parse_float)]
Expire = Annotated[int, BeforeValidator(parse_int), Field(ge=0, le=MAX_EXPIRE)]
VarId = Annotated[str, StringConstraints(min_length=1, max_length=64), Storable]
NAME_MAX = 128  # characters of a variable's name
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX), Storable]
Description = Annotated[str, StringConstraints(max_length=1024), Storable]
Unit = Annotated[str, StringConstraints(max_length=32), Storable]
TypeName = Annotated[str, StringConstraints(min_length=1, max_length=16, to_lower=True), Storable]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, strip_whitespace=True), Storable]


def _scalar(raw: object) -> object:
    # The value's fit to the variable's type is judged once the variable is known (values.Candidates).
    return _storable(raw) if isinstance(raw, str | int | float | bool) else None


Scalar = Annotated[str | int | float | bool, BeforeValidator(_scalar)]


class Params(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class NoParams(Params):
    pass


class IdParams(Params):
    id: VarId


class CreateParams(Params):
    type: TypeName
    name: Name
    description: Description = ""
    unit: Unit = ""
    graph: Flag = True
    perc: Flag = False
    min: Number = 0.0
    max: Number = 0.0
    expire: Expire = 86400
    public: Flag = False


class EditParams(IdParams):
    """`edit` needs id, type and name; every other field left out keeps its current value."""

    type: TypeName
    name: Name
    description: Description | None = None
    unit: Unit | None = None
    graph: Flag | None = None
    perc: Flag | None = None
    min: Number | None = None
    max: Number | None = None
    expire: Expire | None = None
    public: Flag | None = None


class WriteParams(IdParams):
    value: Scalar


class TransferParams(IdParams):
    target: Email


Size = Annotated[int, BeforeValidator(parse_int)]
Option = Annotated[str, StringConstraints(max_length=16), Storable]


class GraphParams(IdParams):
    """graph/sgraph options, typed. Left out, they take render.RenderOptions' defaults (the
    spec's); their ranges and the format are render.make_options' to judge."""

    eink: Flag | None = None
    thick: Flag | None = None
    format: Option | None = None
    title: Flag | None = None
    width: Size | None = None
    height: Size | None = None
    color_line: Option | None = None
    color_background: Option | None = None
    color_title: Option | None = None
    color_axes: Option | None = None
    invert: Flag | None = None  # ours, not the spec's (docs/api.md, Graphs)

    def given(self) -> dict[str, bool | int | str]:
        """The options the request sets."""
        return self.model_dump(exclude={"id"}, exclude_none=True)


def present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields but those a client sent as JSON null, so that they count as left out (a new dict)."""
    return {name: value for name, value in fields.items() if value is not None}


class MoveParams(IdParams):
    to: Annotated[int, BeforeValidator(parse_int), Field(ge=0)]  # a place in the account's order, from 0


Label = Annotated[str, StringConstraints(max_length=64), Storable]


class KeyParams(Params):
    """A scoped key's limits: some variables (all, left out) and reading, writing or both."""

    label: Label = ""
    variables: Annotated[list[VarId], Field(min_length=1, max_length=1000)] | None = None
    read: Flag = True
    write: Flag = True


class KeyIdParams(Params):
    key_id: Annotated[int, BeforeValidator(parse_int), Field(ge=1)]


# -- history_query and write_at (issue 14): moments, bucket widths and a history page's cursor --------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The Unix seconds a datetime holds (years 1 to 9999): milliseconds sent for seconds fall outside.
_FIRST_SECOND, _LAST_SECOND = -62_135_596_800, 253_402_300_799
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_INTERVAL_TEXT = re.compile(r"([0-9]{1,12})([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CURSOR_TEXT = re.compile(r"(.+)\.(-?[0-9]{1,20})\.([0-9]{1,12})")
MAX_HISTORY_LIMIT = 10_000
MAX_INTERVAL = 3660 * 86400  # ten years; a bucket wider than every history there is
NUMERIC_AGGREGATES = frozenset({"avg", "min", "max", "minmax"})  # refused for a string (error_is_string)


def parse_time(raw: object) -> datetime:
    """A moment: Unix seconds (a number or its text, to the microsecond) or ISO 8601 text with an
    offset or Z; in UTC.

    Raises:
        ValueError: anything else, ISO 8601 without an offset, or a moment outside years 1 to 9999.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("not a time")
    try:
        if isinstance(raw, str):
            text = raw.strip()
            if len(text) > 64:
                raise ValueError("too long")
            if not _NUMBER_TEXT.fullmatch(text):
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    raise ValueError("an ISO 8601 time needs an offset or Z")
                return moment.astimezone(UTC)
            seconds = Decimal(text)
        elif isinstance(raw, float):
            if not math.isfinite(raw):
                raise ValueError("not finite")
            seconds = Decimal(repr(raw))  # its shortest text: 1764781200.123456 keeps its microseconds
        else:
            seconds = Decimal(raw)
        # Compared before int(): "1e999999999" must not become a billion digits.
        if not _FIRST_SECOND <= seconds <= _LAST_SECOND:
            raise ValueError("out of range")
        return _EPOCH + timedelta(microseconds=int(seconds.scaleb(6).to_integral_value(ROUND_HALF_EVEN)))
    except (ArithmeticError, OverflowError) as exc:
        raise ValueError("out of range") from exc


def parse_interval(raw: object) -> int:
    """A bucket's width in whole seconds: a number, or text such as "90", "30s", "5m", "1h", "1d"."""
    if isinstance(raw, str) and (match := _INTERVAL_TEXT.fullmatch(raw.strip())):
        return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    seconds = parse_int(raw)
    if seconds is None:
        raise ValueError("not an interval")
    return seconds


def _lower(raw: object) -> object:
    return raw.strip().lower() if isinstance(raw, str) else raw


Timestamp = Annotated[datetime, BeforeValidator(parse_time)]
Limit = Annotated[int, BeforeValidator(parse_int), Field(ge=1, le=MAX_HISTORY_LIMIT)]
Interval = Annotated[int, BeforeValidator(parse_interval), Field(ge=1, le=MAX_INTERVAL)]
Order = Annotated[Literal["asc", "desc"], BeforeValidator(_lower)]
Aggregate = Annotated[Literal["avg", "min", "max", "count", "first", "last", "minmax"], BeforeValidator(_lower)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=200), Storable]


class HistoryQueryParams(IdParams):
    """A range of a variable's history: [from, to) (either left out: unbounded), a page of at most
    `limit` points, oldest (asc) or newest (desc) first, after `cursor` (the previous page's
    next_cursor); with `interval` and `agg`, buckets of `interval` seconds aligned to the Unix
    epoch, each with `agg` over its points."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Timestamp | None = Field(None, alias="from")
    to: Timestamp | None = None
    limit: Limit = 1000
    cursor: Cursor | None = None
    order: Order = "desc"
    interval: Interval | None = None
    agg: Aggregate | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (self.interval is None) != (self.agg is None):
            raise ValueError("interval and agg go together")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("from is after to")
        if self.cursor is not None and self.position is None:
            raise ValueError("not a cursor of this query")
        return self

    @property
    def _shape(self) -> str:
        # A cursor serves the query that made it (same order, interval and agg) and no other.
        return f"{self.order}.{self.interval or 0}.{self.agg or 'raw'}"

    @property
    def position(self) -> tuple[int, int] | None:
        """Where the cursor's page ended: (Unix microseconds, place among the points of that time);
        None without a cursor, or for one this query did not make."""
        if self.cursor is None:
            return None
        try:
            text = base64.urlsafe_b64decode(self.cursor + "=" * (-len(self.cursor) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            return None
        match = _CURSOR_TEXT.fullmatch(text)
        if match is None or match.group(1) != self._shape:
            return None
        micros, nth = int(match.group(2)), int(match.group(3))
        if not _FIRST_SECOND * 1_000_000 <= micros <= _LAST_SECOND * 1_000_000:
            return None
        return micros, nth

    def cursor_at(self, micros: int, nth: int) -> str:
        """The cursor of the page after one ending at (micros, nth)."""
        return base64.urlsafe_b64encode(f"{self._shape}.{micros}.{nth}".encode()).decode().rstrip("=")


class WriteAtParams(IdParams):
    """A value measured at `time` (a device's buffered reading), written later."""

    value: Scalar
    time: Timestamp
