"""One pydantic model per action's parameters.

Query strings and forms carry text while JSON carries typed values, so each field type
below first turns what it accepts into its Python type and then validates strictly:
pydantic's lax mode would also take "yes", "on" or "t" for a boolean.

Every string parameter refuses NUL and lone UTF-16 surrogates (issue 8): PostgreSQL can store
neither, and the transport turns bytes that are not UTF-8 into such surrogates. They would
otherwise reach the database and fail there, as an outage (error_db) instead of a bad request.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

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
Name = Annotated[str, StringConstraints(min_length=1, max_length=128), Storable]
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


def present(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop fields a client sent as JSON null, so that they count as left out."""
    return {name: value for name, value in fields.items() if value is not None}
