"""/app/docs: every action with GET, JSON and form examples filled in with the signed-in account's own
variables, and the WebSocket protocol. The key is a placeholder: a page never holds it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from service.core.records import record
from service.db import variables as db_variables
from service.db.pool import Connection
from service.db.variables import Variable
from service.varipass.dispatch import ACTIONS
from service.web.app import page, web_of
from service.web.auth import SignedIn

KEY = "YOUR_KEY"

WHAT = {
    "create": "Make a variable; answers its id.",
    "edit": "Change a variable's settings (type and name are required).",
    "info": "A variable's settings.",
    "delete": "Delete a variable and its history.",
    "ordprev": "Move a variable one place up.",
    "ordnext": "Move a variable one place down.",
    "list": "The ids of your variables, in order.",
    "read": "A variable's latest value and its time.",
    "sread": "The latest value as plain text: success|value.",
    "history": "A variable's history, newest first.",
    "write": "Write a value (within the variable's cooldown).",
    "swrite": "Write, answered as plain text.",
    "toggle": "Flip a bool variable.",
    "stoggle": "Flip a bool variable, answered as plain text.",
    "all": "Every variable with its settings and history.",
    "latest": "Every variable's latest value.",
    "slatest": "Every latest value as plain text: success|count|id|value|…|",
    "transfer": "Give a variable to another account that allows transfers.",
    "graph": "The variable's graph as a PNG (or a 1-bit BMP with eink=true).",
    "sgraph": "The graph, with errors as plain text.",
}


@record
class Example:
    action: str
    what: str
    get: str
    json_body: str
    form_body: str


def _params(action: str, var: Variable | None, bool_var: Variable | None) -> dict[str, str]:
    var_id = var.id if var is not None else "VARIABLE_ID"
    params: dict[str, dict[str, str]] = {
        "create": {"type": "float", "name": "Temperature", "unit": "°C"},
        "edit": {"id": var_id, "type": var.type.value if var else "float", "name": var.name if var else "Temperature"},
        "write": {"id": var_id, "value": "21.5"},
        "swrite": {"id": var_id, "value": "21.5"},
        "toggle": {"id": bool_var.id if bool_var else var_id},
        "stoggle": {"id": bool_var.id if bool_var else var_id},
        "transfer": {"id": var_id, "target": "friend@example.com"},
        "graph": {"id": var_id, "width": "400", "height": "300"},
        "sgraph": {"id": var_id, "eink": "true", "width": "296", "height": "128"},
    }
    if action in ("list", "all", "latest", "slatest"):
        return {}
    return params.get(action, {"id": var_id})


def examples(var: Variable | None, bool_var: Variable | None) -> list[Example]:
    listed = []
    for action in ACTIONS:
        fields = {"key": KEY, "action": action, **_params(action, var, bool_var)}
        listed.append(
            Example(
                action,
                WHAT.get(action, ""),
                urlencode(fields),
                json.dumps(fields, ensure_ascii=False),
                urlencode(fields),
            )
        )
    return listed


async def docs(request: Request, conn: Connection, who: SignedIn) -> Response:
    variables = await db_variables.select_variables(conn, who.account.id)
    web = web_of(request)
    var = variables[0] if variables else None
    bool_var = next((v for v in variables if v.type.value == "bool"), None)
    return page(
        request,
        "docs.html",
        {
            "examples": examples(var, bool_var),
            "base": web.public_url(request),
            "ws": web.gateway_url(request),
            "key": KEY,
            "prefix": who.account.key_prefix,
        },
        who=who,
    )
