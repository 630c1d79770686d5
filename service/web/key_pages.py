"""The scoped keys page (issue 14): the account's keys, a form that makes one and shows it once, and a
revoke button per key. Every step is a use case of the catalog (key_list, key_create, key_revoke), run
as the signed-in account, as REST and the CLI run them."""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.actions.context import Outcome
from service.actions.keys import NewKey
from service.core.results import Result, VariPassError
from service.db.keys import ScopedKey
from service.db.pool import Connection
from service.db.variables import Variable
from service.web.app import page, redirect, result_message, signed, signed_form, web_of
from service.web.auth import SignedIn
from service.web.variable_pages import perform

# What a key's failure means on this page, where the generic messages speak of variables.
MESSAGES = {
    Result.ERROR_INVALID_PARAMETERS: "Choose some variables (or all of them), and reading, writing or both. "
    "A label has at most 64 characters.",
    Result.ERROR_INVALID_ID: "One of the chosen variables is no longer yours: reload the page and choose again.",
}


def _message(exc: VariPassError) -> str:
    return MESSAGES.get(exc.result) or result_message(exc)


def _variable_names(key: ScopedKey, names: dict[str, str]) -> list[str] | None:
    """The names of the variables a key may reach (the id of one deleted since), or None for all."""
    if key.variables is None:
        return None
    return [names.get(var_id, var_id) for var_id in key.variables]


def _example(base: str, new: NewKey, variables: list[Variable]) -> str:
    """One curl line that works with the new key: a read if it may read, else a write."""
    info = new.info
    var_id = info.variables[0] if info.variables else (variables[0].id if variables else "ID")
    if info.read:
        return f"curl '{base}/?key={new.key}&action=read&id={var_id}'"
    return f"curl '{base}/?key={new.key}&action=write&id={var_id}&value=1'"


async def _keys_page(request: Request, who: SignedIn, *, status: int = 200, **context: Any) -> Response:
    if not who.account.confirmed:
        return page(request, "unconfirmed.html", {}, who=who)
    listed: Outcome[list[ScopedKey]] = await perform(request, who, "key_list", {})
    latest: Outcome[list[Variable]] = await perform(request, who, "latest", {})
    variables = latest.value
    names = {v.id: v.name for v in variables}
    keys = [(key, _variable_names(key, names)) for key in listed.value]
    new: NewKey | None = context.get("new")
    example = _example(web_of(request).public_url(request), new, variables) if new is not None else None
    form = {"scope": "all", "read": True, "write": True, "variables": [], **context.pop("form", {})}
    return page(
        request,
        "keys.html",
        {"keys": keys, "variables": variables, "now": time.time(), "example": example, "form": form, **context},
        who=who,
        status=status,
    )


async def keys_page(request: Request, conn: Connection, who: SignedIn) -> Response:
    return await _keys_page(request, who, done=request.query_params.get("done"))


async def create(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    """Make a key and show it, once: the page answers the form itself, nothing to reload or bookmark."""
    scope = "some" if form.get("scope") == "some" else "all"
    chosen = [v for v in form.getlist("variable") if isinstance(v, str)]
    label = form.get("label")
    fields: dict[str, Any] = {
        "label": label.strip() if isinstance(label, str) else "",
        "read": form.get("read") == "on",
        "write": form.get("write") == "on",
    }
    if scope == "some":
        fields["variables"] = chosen  # none chosen fails validation: error_invalid_parameters
    try:
        outcome: Outcome[NewKey] = await perform(request, who, "key_create", fields)
    except VariPassError as exc:
        shown = {**fields, "scope": scope, "variables": chosen}
        return await _keys_page(request, who, status=400, error=_message(exc), form=shown)
    return await _keys_page(request, who, new=outcome.value)


async def revoke(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    try:
        await perform(request, who, "key_revoke", {"key_id": request.path_params["key_id"]})
    except VariPassError as exc:
        if exc.result in (Result.ERROR_INVALID_ID, Result.ERROR_INVALID_PARAMETERS):
            # Another account's key, one revoked already, or not a key's id at all: the same answer.
            raise HTTPException(404, "There is no such key.") from None
        return await _keys_page(request, who, status=400, error=_message(exc))
    return redirect("/app/keys?done=revoked")


ROUTES = [
    Route("/app/keys", signed(keys_page), methods=["GET"]),
    Route("/app/keys", signed_form(create), methods=["POST"]),
    Route("/app/keys/{key_id}/revoke", signed_form(revoke), methods=["POST"]),
]
