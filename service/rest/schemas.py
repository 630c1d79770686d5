"""REST v1's request and response models: the OpenAPI document is generated from them
(service/rest/openapi.py), and every JSON answer is built through them (history's rows aside: plain
JSON for speed, in the shape of service/rest/history.py's HistoryAnswer, which the schemathesis test
holds them to), so the two cannot drift.

Request bodies reuse the use cases' own field types (service/actions/params.py) so that the
documented limits are the enforced ones; the use case still validates (in the protocol's check
order: a request without a key hears 401 before it hears 422). The fields REST adds of its own (a
write's `time`, a move's `to`, a batch) are read here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from service.actions.params import Description, Expire, Name, Unit, VarId
from service.core.values import VarType, json_number
from service.db.variables import Variable as StoredVariable

# A variable's value: JSON true/false, an integer, a number or a string, as its type says.
Scalar = bool | int | float | str
# A device's time: Unix seconds, or ISO 8601 text with a zone.
Time = Annotated[int | float | str, Field(description="Unix seconds, or ISO 8601 with a zone (`2026-12-04T18:30:00Z`)")]

MAX_BATCH = 1000


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- Requests --------------------------------------------------------------------------------------


class VariableCreate(Model):
    type: VarType
    name: Name
    description: Description = ""
    unit: Unit = ""
    graph: bool = True
    perc: bool = False
    min: float = 0
    max: float = 0
    expire: Expire = Field(86400, description="Seconds of history kept (0 to a year); sets the cooldown")
    public: bool = False


class VariableEdit(Model):
    """Every field left out keeps its current value. A new type erases the history."""

    type: VarType | None = None
    name: Name | None = None
    description: Description | None = None
    unit: Unit | None = None
    graph: bool | None = None
    perc: bool | None = None
    min: float | None = None
    max: float | None = None
    expire: Expire | None = None
    public: bool | None = None


class Move(Model):
    to: Literal["previous", "next"] | Annotated[int, Field(ge=0)] = Field(
        description="`previous`, `next`, or a place in the account's order counted from 0"
    )


class Transfer(Model):
    target: str = Field(description="The email of the account receiving the variable (it must accept transfers)")


class ValueWrite(Model):
    value: Scalar
    time: Time | None = Field(
        None,
        description="When the value was measured (a buffered reading): not older than the variable's `expire`, "
        "not more than 60 s ahead. Left out: now.",
    )


class BatchItem(Model):
    id: VarId
    value: Scalar
    time: Time | None = None


class Batch(RootModel[Annotated[list[BatchItem], Field(max_length=MAX_BATCH)]]):
    """Up to 1,000 writes, to any variables of the account, answered one result each in their order."""


class Login(Model):
    email: str
    password: str


class KeyCreate(Model):
    label: Annotated[str, Field(max_length=64)] = ""
    variables: Annotated[list[VarId], Field(min_length=1, max_length=1000)] | None = Field(
        None, description="The ids the key may use; null or left out: every variable, later ones too"
    )
    read: bool = True
    write: bool = True


# -- Answers ---------------------------------------------------------------------------------------


class ErrorDetail(Model):
    code: str = Field(description="The VariPass result code, e.g. `error_invalid_id`")
    message: str


class Error(Model):
    error: ErrorDetail


class Variable(Model):
    id: str
    type: VarType
    name: str
    description: str
    unit: str
    graph: bool
    perc: bool
    min: float
    max: float
    expire: int
    cooldown: int = Field(description="Seconds between two writes (derived from `expire`)")
    public: bool
    value: Scalar
    time: int = Field(description="Unix seconds of the latest value (of its creation, before the first write)")

    @classmethod
    def of(cls, v: StoredVariable) -> Variable:
        return cls(
            id=v.id,
            type=v.type,
            name=v.name,
            description=v.description,
            unit=v.unit,
            graph=v.graph,
            perc=v.perc,
            min=json_number(v.min),
            max=json_number(v.max),
            expire=v.expire,
            cooldown=v.cooldown,
            public=v.public,
            value=v.value,
            time=v.time,
        )


class VariableList(Model):
    variables: list[Variable]


class Value(Model):
    value: Scalar
    time: int = Field(description="Unix seconds")


class Latest(Model):
    value: Scalar
    time: int


class LatestAnswer(RootModel[dict[str, Latest] | dict[str, Scalar]]):
    """Each variable's latest value and its time by id; with `fields=value`, its value alone (small
    enough for a device's buffer)."""


class BatchResults(RootModel[list["BatchResult"]]):
    """One result per item, in their order."""


class BatchResult(Model):
    status: int = Field(description="The HTTP status this write would have had alone")
    value: Scalar | None = None
    time: int | None = None
    error: ErrorDetail | None = None


class Account(Model):
    id: int
    email: str
    confirmed: bool
    locked: bool
    transfers_enabled: bool
    variables: int = Field(description="Variables the account holds")
    max_variables: int
    key_prefix: str = Field(description="The start of the account's API key")
    max_history_points: int = Field(description="The plan's history points per variable (sets cooldowns)")


class Key(Model):
    id: int
    label: str
    prefix: str = Field(description="The start of the key, to recognise it")
    variables: list[str] | None
    read: bool
    write: bool
    created: datetime
    last_used: datetime | None


class KeyList(Model):
    keys: list[Key]


class NewKey(Key):
    key: str = Field(description="The key itself: shown this once")


class Token(Model):
    token: str = Field(description="Send it as `Authorization: Bearer <token>`")
    expires: int = Field(description="Unix seconds")


def dump(model: BaseModel, *, exclude_none: bool = False) -> bytes:
    return model.__pydantic_serializer__.to_json(model, exclude_none=exclude_none)


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")
