"""read (and info), history: one variable, fetched with the access check in one statement (graph too)."""

from __future__ import annotations

from service.actions.context import Ctx, Outcome
from service.actions.params import IdParams
from service.core.records import record
from service.core.results import Result, VariPassError
from service.db import history as db_history
from service.db.history import Point
from service.db.variables import Variable


@record
class ReadCtx(Ctx):
    """The context of an action that reads one variable: the use case fetched it with the access
    rule's columns (service/db/reads.py), before the handler runs."""

    found: Variable | None = None

    @property
    def variable(self) -> Variable:
        """The variable the request names.

        Raises:
            VariPassError: error_invalid_id, whether the id is unknown, another account's, or
                private; the answer never reveals that an id exists.
        """
        if self.found is None:
            raise VariPassError(Result.ERROR_INVALID_ID)
        return self.found


async def read(ctx: ReadCtx, p: IdParams) -> Outcome[Variable]:
    """The variable with its settings and latest value: `read` and `info` present it differently."""
    return Outcome(ctx.variable)


async def history(ctx: ReadCtx, p: IdParams) -> Outcome[list[Point]]:
    return Outcome(await db_history.select_history(ctx.conn, ctx.variable))
