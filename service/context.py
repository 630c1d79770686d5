"""What a handler gets besides its parameters, and the checks several handlers share."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from service.auth import Access
from service.db import variables as db_variables
from service.db.accounts import IPAddress
from service.db.pool import Connection, Database
from service.db.variables import Variable
from service.rendering import Renderer
from service.results import Result, VariPassError
from service.settings import Plan
from service.values import VarType, json_number


@dataclass(frozen=True, slots=True)
class Services:
    """What the process holds for every request: the database, the plan and the renderer."""

    database: Database
    plan: Plan
    renderer: Renderer


@dataclass(frozen=True, slots=True)
class Ctx:
    conn: Connection
    # The account acting, or None for a public request, and for a handler that checks the key
    # inside its own statement (ActionSpec.checks_key) with key_hash and client_ip.
    access: Access | None
    key_hash: bytes | None
    client_ip: IPAddress | None
    if_none_match: str | None  # the client's cached ETags, for graph answers
    services: Services

    @property
    def plan(self) -> Plan:
        return self.services.plan

    @property
    def account(self) -> Access:
        """The acting account, for handlers of actions that are never public."""
        assert self.access is not None
        return self.access


async def find_variable(ctx: Ctx, var_id: str) -> Variable:
    """The caller's variable, or a public one for a request without a key.

    Raises:
        VariPassError: error_invalid_id, whether the id is unknown, another account's, or
            private; the answer never reveals that an id exists.
    """
    if ctx.access is None:
        variable = await db_variables.select_public_variable(ctx.conn, var_id)
    else:
        variable = await db_variables.select_variable(ctx.conn, ctx.access.account_id, var_id)
    if variable is None:
        raise VariPassError(Result.ERROR_INVALID_ID)
    return variable


def require_unlocked(ctx: Ctx) -> None:
    if ctx.account.locked:
        raise VariPassError(Result.ERROR_LOCKED)


def var_type(name: str) -> VarType:
    try:
        return VarType(name)
    except ValueError:
        raise VariPassError(Result.ERROR_INVALID_TYPE) from None


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
