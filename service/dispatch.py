"""The table of actions and the one path every request takes through it (DESIGN.md §3 check order)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import ValidationError

from service.actions import graph, listing, transfer, values, variables
from service.auth import check_access, key_hash
from service.context import Ctx, Services
from service.db.accounts import select_access
from service.params import (
    CreateParams,
    EditParams,
    GraphParams,
    IdParams,
    NoParams,
    Params,
    TransferParams,
    WriteParams,
    present,
)
from service.results import Outcome, Result, VariPassError
from service.transport import RawRequest

Handler = Callable[[Ctx, Any], Awaitable[Outcome]]


class Answer(Enum):
    JSON = "json"
    SIMPLE = "simple"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    handler: Handler
    params: type[Params]
    answer: Answer = Answer.JSON
    public: bool = False  # may be asked without a key, for a public variable
    # The handler checks the key inside its own single statement (the write path, DESIGN.md §4).
    checks_key: bool = False


ACTIONS: dict[str, ActionSpec] = {
    "create": ActionSpec(variables.create, CreateParams),
    "edit": ActionSpec(variables.edit, EditParams),
    "info": ActionSpec(variables.info, IdParams, public=True),
    "delete": ActionSpec(variables.delete, IdParams),
    "ordprev": ActionSpec(variables.ordprev, IdParams),
    "ordnext": ActionSpec(variables.ordnext, IdParams),
    "list": ActionSpec(listing.list_ids, NoParams),
    "read": ActionSpec(values.read, IdParams, public=True),
    "sread": ActionSpec(values.sread, IdParams, Answer.SIMPLE, public=True),
    "history": ActionSpec(values.history, IdParams, public=True),
    "write": ActionSpec(values.write, WriteParams, checks_key=True),
    "swrite": ActionSpec(values.write, WriteParams, Answer.SIMPLE, checks_key=True),
    "toggle": ActionSpec(values.toggle, IdParams, checks_key=True),
    "stoggle": ActionSpec(values.toggle, IdParams, Answer.SIMPLE, checks_key=True),
    "all": ActionSpec(listing.all_data, NoParams),
    "latest": ActionSpec(listing.latest, NoParams),
    "slatest": ActionSpec(listing.latest, NoParams, Answer.SIMPLE),
    "transfer": ActionSpec(transfer.transfer, TransferParams),
    # Both answer an image; they differ in how they answer errors.
    "graph": ActionSpec(graph.graph, GraphParams, public=True),
    "sgraph": ActionSpec(graph.graph, GraphParams, Answer.SIMPLE, public=True),
}


def answer_of(action: str | None) -> Answer:
    """How errors of this action are written: simple actions answer a bare result string."""
    spec = ACTIONS.get(action) if action else None
    return spec.answer if spec is not None else Answer.JSON


async def dispatch(raw: RawRequest, services: Services) -> Outcome:
    """Run one request through the checks of DESIGN.md §3, first failure wins."""
    if raw.action is None:
        raise VariPassError(Result.ERROR_NO_REQUEST)
    spec = ACTIONS.get(raw.action)
    if spec is None:
        raise VariPassError(Result.ERROR_INVALID_ACTION)
    public = spec.public and raw.key is None
    try:
        params: Params | None = spec.params.model_validate(present(raw.fields))
    except ValidationError:
        params = None
    hashed = key_hash(raw.key) if raw.key is not None else None
    async with services.database.connection() as conn:
        if spec.checks_key and hashed is not None and params is not None:
            return await spec.handler(Ctx(conn, None, hashed, raw.client_ip, raw.if_none_match, services), params)
        access = check_access(await select_access(conn, hashed, raw.client_ip), public=public)
        if params is None:
            raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
        return await spec.handler(Ctx(conn, access, hashed, raw.client_ip, raw.if_none_match, services), params)
