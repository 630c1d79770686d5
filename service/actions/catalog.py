"""Every use case with how it is called, and the one way every front door calls it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from service.actions import graph, listing, reads, transfer, values, variables
from service.actions.context import Ctx, Outcome, Services
from service.actions.params import (
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
from service.actions.reads import ReadCtx
from service.core.access import Actor, check_access
from service.core.results import Result, VariPassError
from service.db.accounts import select_access
from service.db.reads import select_access_and_variable
from service.rendering import NOTHING_HELD, Conditions

# (ctx, params); ctx is a reads.ReadCtx for a use case that `reads` a variable.
Handler = Callable[[Any, Any], Awaitable[Outcome[Any]]]


@dataclass(frozen=True, slots=True)
class UseCase:
    handler: Handler
    params: type[Params]
    public: bool = False  # may be asked without a key, for a public variable
    safe: bool = False  # changes nothing, so HTTP's HEAD may ask it too
    # The handler applies the access rule inside its own single statement (the write path, DESIGN.md §4).
    checks_access: bool = False
    # The handler reads the variable `params.id`: it comes with the access rule's columns, in one
    # statement and one round trip (service/db/reads.py).
    reads: bool = False

    async def perform(
        self, services: Services, actor: Actor, params: Params | None, *, conditions: Conditions = NOTHING_HELD
    ) -> Outcome[Any]:
        """Run the action as `actor`: the access rule, then the parameters, then the action's own
        checks (DESIGN.md §3, checks 3 to 7; `params` None means they were malformed).

        Raises:
            VariPassError: the first check that fails.
        """
        if self.checks_access and params is not None and not actor.is_public:
            # Its statement goes through the write batcher, which lends the connection (issue 13).
            return await self.handler(Ctx(None, actor, None, services, conditions), params)
        async with services.database.connection() as conn:
            public = self.public and actor.is_public
            if self.reads and isinstance(params, IdParams):
                row, variable = await select_access_and_variable(conn, actor, params.id, public=public)
                access = check_access(row, public=public)
                return await self.handler(ReadCtx(conn, actor, access, services, conditions, variable), params)
            access = check_access(await select_access(conn, actor), public=public)
            if params is None:
                raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
            return await self.handler(Ctx(conn, actor, access, services, conditions), params)

    async def perform_fields(
        self, services: Services, actor: Actor, fields: Mapping[str, Any], *, conditions: Conditions = NOTHING_HELD
    ) -> Outcome[Any]:
        """`perform` with the parameters as a front door received them (text from a query or a form,
        or typed JSON); those that do not validate answer error_invalid_parameters in check order."""
        try:
            params: Params | None = self.params.model_validate(present(dict(fields)))
        except ValidationError:
            params = None
        return await self.perform(services, actor, params, conditions=conditions)


USE_CASES: dict[str, UseCase] = {
    "create": UseCase(variables.create, CreateParams),
    "edit": UseCase(variables.edit, EditParams),
    "info": UseCase(reads.read, IdParams, public=True, safe=True, reads=True),
    "delete": UseCase(variables.delete, IdParams),
    "ordprev": UseCase(variables.ordprev, IdParams),
    "ordnext": UseCase(variables.ordnext, IdParams),
    "list": UseCase(listing.list_ids, NoParams, safe=True),
    "read": UseCase(reads.read, IdParams, public=True, safe=True, reads=True),
    "history": UseCase(reads.history, IdParams, public=True, safe=True, reads=True),
    "write": UseCase(values.write, WriteParams, checks_access=True),
    "toggle": UseCase(values.toggle, IdParams, checks_access=True),
    "all": UseCase(listing.all_data, NoParams, safe=True),
    "latest": UseCase(listing.latest, NoParams, safe=True),
    "transfer": UseCase(transfer.transfer, TransferParams),
    "graph": UseCase(graph.graph, GraphParams, public=True, safe=True, reads=True),
}
