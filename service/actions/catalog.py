"""Every use case with how it is called, and the one way every front door calls it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from service.actions import backfill, graph, history_query, keys, listing, reads, transfer, values, variables
from service.actions.context import Ctx, Outcome, Services, allow
from service.actions.params import (
    CreateParams,
    EditParams,
    GraphParams,
    HistoryQueryParams,
    IdParams,
    KeyIdParams,
    KeyParams,
    MoveParams,
    NoParams,
    Params,
    TransferParams,
    WriteAtParams,
    WriteParams,
    present,
)
from service.actions.reads import ReadCtx
from service.core.access import Access, Actor, check_access
from service.core.records import record
from service.core.results import Result, VariPassError
from service.db.accounts import select_access
from service.rendering import NOTHING_HELD, Conditions

# (ctx, params); ctx is a reads.ReadCtx for a use case that `reads` a variable.
Handler = Callable[[Any, Any], Awaitable[Outcome[Any]]]

# What a use case needs of a scoped key (core.access.Access.require): to read variables, to write
# them, or the whole account (every other use case: a scoped key may not).
READ, WRITE, ACCOUNT = "read", "write", "account"


@record
class UseCase:
    handler: Handler
    params: type[Params]
    public: bool = False  # may be asked without a key, for a public variable
    safe: bool = False  # changes nothing, so HTTP's HEAD may ask it too
    # The handler applies the access rule inside its own single statement (the write path, DESIGN.md §4).
    checks_access: bool = False
    # The handler reads the variable `params.id`: it comes with the access rule's columns, in one
    # statement and one round trip (service/db/reads.py), in a batch with the other lookups of the
    # moment (service/db/read_batch.py).
    reads: bool = False
    # Of those, the handler also reads the database (history, a graph's points): it gets a connection.
    fetches: bool = False
    needs: str = ACCOUNT

    def _allowed(self, services: Services, access: Access | None, params: Params | None) -> None:
        """A scoped key's limits: what the use case needs, and the variable it names."""
        var_id = params.id if isinstance(params, IdParams) else None
        allow(services, access, read=self.needs == READ, write=self.needs == WRITE, var_id=var_id)

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
        public = self.public and actor.is_public
        if self.reads and isinstance(params, IdParams):
            row, variable = await services.reads.select(actor, params.id, public=public)
            access = check_access(row, public=public)
            self._allowed(services, access, params)
            if not self.fetches:
                return await self.handler(ReadCtx(None, actor, access, services, conditions, variable), params)
            async with services.database.connection() as conn:
                return await self.handler(ReadCtx(conn, actor, access, services, conditions, variable), params)
        async with services.database.connection() as conn:
            access = check_access(await select_access(conn, actor), public=public)
            self._allowed(services, access, None)
            if params is None:
                raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
            self._allowed(services, access, params)
            return await self.handler(Ctx(conn, actor, access, services, conditions), params)

    def perform_fields(
        self, services: Services, actor: Actor, fields: Mapping[str, Any], *, conditions: Conditions = NOTHING_HELD
    ) -> Awaitable[Outcome[Any]]:
        """`perform` with the parameters as a front door received them (text from a query or a form,
        or typed JSON); those that do not validate answer error_invalid_parameters in check order."""
        try:
            params: Params | None = self.params.model_validate(present(fields))
        except ValidationError:
            params = None
        # Not a coroutine of its own: each level of a request's await chain costs at every suspension.
        return self.perform(services, actor, params, conditions=conditions)


USE_CASES: dict[str, UseCase] = {
    "create": UseCase(variables.create, CreateParams),
    "edit": UseCase(variables.edit, EditParams),
    "info": UseCase(reads.read, IdParams, public=True, safe=True, reads=True, needs=READ),
    "delete": UseCase(variables.delete, IdParams),
    "ordprev": UseCase(variables.ordprev, IdParams),
    "ordnext": UseCase(variables.ordnext, IdParams),
    "list": UseCase(listing.list_ids, NoParams, safe=True, needs=READ),
    "read": UseCase(reads.read, IdParams, public=True, safe=True, reads=True, needs=READ),
    "history": UseCase(reads.history, IdParams, public=True, safe=True, reads=True, fetches=True, needs=READ),
    "write": UseCase(values.write, WriteParams, checks_access=True, needs=WRITE),
    "toggle": UseCase(values.toggle, IdParams, checks_access=True, needs=WRITE),
    "all": UseCase(listing.all_data, NoParams, safe=True, needs=READ),
    "latest": UseCase(listing.latest, NoParams, safe=True, needs=READ),
    "names": UseCase(listing.names, NoParams, safe=True, needs=WRITE),
    "transfer": UseCase(transfer.transfer, TransferParams),
    "graph": UseCase(graph.graph, GraphParams, public=True, safe=True, reads=True, fetches=True, needs=READ),
    # Beyond the protocol (issue 14: REST v1, the dashboard, the CLI).
    "move_to": UseCase(variables.move_to, MoveParams),
    "account": UseCase(keys.account, NoParams, safe=True),
    "key_create": UseCase(keys.create_key, KeyParams),
    "key_list": UseCase(keys.list_keys, NoParams, safe=True),
    "key_revoke": UseCase(keys.revoke_key, KeyIdParams),
    "token_create": UseCase(keys.create_token, NoParams),
    "token_revoke": UseCase(keys.revoke_token, NoParams),
    "history_query": UseCase(
        history_query.query, HistoryQueryParams, public=True, safe=True, reads=True, fetches=True, needs=READ
    ),
    "write_at": UseCase(backfill.write_at, WriteAtParams, needs=WRITE),
}
