"""The variables page (the home after log-in), a variable's page, and what they ask of the server:
every change through the protocol's own use cases, as the signed-in account (no rule written twice)."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.actions.catalog import USE_CASES
from service.actions.context import Outcome
from service.core.access import Actor
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.values import VarType, simple_text
from service.db import history as db_history, series as db_series, variables as db_variables
from service.db.pool import Connection
from service.db.variables import Variable
from service.varipass.transport import client_ip
from service.web import chart
from service.web.app import page, redirect, result_message, signed, signed_form, web_of
from service.web.auth import SignedIn

# The chart's ranges, each offered when the variable keeps that much history (its `expire`).
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
CHART_WIDTH = 800  # CSS pixels, unless the page says how wide the chart shows (its `w`)
CHART_WIDTHS = (320, 1600)  # the widths a chart may be asked for: a phone's to a wide screen's
RECENT = 20  # the newest values listed on a variable's page
# The device graph's previews: the sizes of common screens, the first of each kind shown unless chosen.
PREVIEW_SIZES = {
    "png": [(256, 280), (400, 300), (800, 480), (1024, 600)],
    # 2.9", 2.13", 4.2" and 7.5" panels, Inkplate 6 and Inkplate 10
    "eink": [(296, 128), (250, 122), (400, 300), (800, 480), (800, 600), (1200, 825)],
}


def _preview_sizes(request: Request) -> dict[str, tuple[int, int]]:
    """The size of each preview: the page's `png` and `eink` ("WxH", one of PREVIEW_SIZES), or the first."""
    chosen = {}
    for kind, sizes in PREVIEW_SIZES.items():
        asked = request.query_params.get(kind, "")
        chosen[kind] = next((size for size in sizes if f"{size[0]}x{size[1]}" == asked), sizes[0])
    return chosen


@record
class Row:
    """A variable as its row shows it."""

    variable: Variable
    value: str
    percent: float | None

    @property
    def id(self) -> str:
        return self.variable.id


def shown(variable: Variable) -> Row:
    value = simple_text(variable.value) if variable.written else ""
    percent = None
    v = variable
    if v.perc and v.max > v.min and v.written and v.type in (VarType.INT, VarType.FLOAT):
        assert isinstance(v.value, int | float)
        percent = round(max(0.0, min(100.0, (float(v.value) - v.min) / (v.max - v.min) * 100)), 1)
    return Row(variable, value, percent)


def _actor(request: Request, who: SignedIn) -> Actor:
    return Actor.by_account(who.account.id, client_ip(request))


async def perform(request: Request, who: SignedIn, action: str, fields: Mapping[str, Any]) -> Outcome[Any]:
    """Run a protocol use case as the signed-in account, and announce what it changed."""
    web = web_of(request)
    outcome = await USE_CASES[action].perform_fields(web.services, _actor(request, who), fields)
    web.notifier.notify(outcome.changes)
    return outcome


async def _variables(request: Request, who: SignedIn) -> list[Variable]:
    outcome: Outcome[list[Variable]] = await perform(request, who, "latest", {})
    return outcome.value


# -- The variables page -------------------------------------------------------------------------------


async def _list_page(request: Request, who: SignedIn, *, status: int = 200, **context: Any) -> Response:
    if not who.account.confirmed:
        return page(request, "unconfirmed.html", {}, who=who)
    rows = [shown(v) for v in await _variables(request, who)]
    return page(
        request,
        "variables.html",
        {"rows": rows, "now": int(time.time()), "types": [t.value for t in VarType], "form": {}, **context},
        who=who,
        status=status,
    )


async def variables_page(request: Request, conn: Connection, who: SignedIn) -> Response:
    return await _list_page(request, who)


SETTINGS = ("type", "name", "description", "unit", "min", "max", "expire")
TEXTS = ("description", "unit")  # an emptied field clears these; an empty number is left out (kept)
FLAGS = ("graph", "perc", "public")


def _definition(form: FormData) -> dict[str, str]:
    """The create and edit forms' fields as protocol parameters: checkboxes send "on" or nothing."""
    fields = {
        name: value for name in SETTINGS if isinstance(value := form.get(name), str) and (value != "" or name in TEXTS)
    }
    fields.update({flag: "true" if form.get(flag) == "on" else "false" for flag in FLAGS})
    return fields


async def create(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    fields = _definition(form)
    try:
        outcome: Outcome[str] = await perform(request, who, "create", fields)
    except VariPassError as exc:
        return await _list_page(request, who, status=400, error=result_message(exc), form=fields)
    return redirect(f"/app/variables#variable-{outcome.value}")


async def _find(conn: Connection, who: SignedIn, var_id: str) -> Variable:
    """The signed-in account's variable; another account's or an unknown id is 404, never its data."""
    variable = await db_variables.select_variable(conn, who.account.id, var_id) if len(var_id) <= 64 else None
    if variable is None:
        raise HTTPException(404, "There is no such variable.")
    return variable


async def change(request: Request, conn: Connection, who: SignedIn, form: FormData) -> Response:
    """One button of a variable's row or page: up, down, write, toggle, public, delete, edit, transfer."""
    var_id, what = request.path_params["id"], request.path_params["what"]
    variable = await _find(conn, who, var_id)
    back = str(form.get("back", "list"))
    target = f"/app/variables/{var_id}" if back == "variable" else f"/app/variables#variable-{var_id}"
    ident = {"id": var_id}
    steps: dict[str, tuple[str, dict[str, Any]]] = {
        "up": ("ordprev", ident),
        "down": ("ordnext", ident),
        "toggle": ("toggle", ident),
        "write": ("write", {**ident, "value": form.get("value", "")}),
        "public": ("edit", {**ident, "type": variable.type.value, "name": variable.name, "public": form.get("public")}),
        "edit": ("edit", {**ident, **_definition(form)}),
        "transfer": ("transfer", {**ident, "target": form.get("target", "")}),
        "delete": ("delete", ident),
    }
    if what not in steps:
        raise HTTPException(404, "There is no such page.")
    action, fields = steps[what]
    try:
        await perform(request, who, action, fields)
    except VariPassError as exc:
        message = result_message(exc, variable.cooldown)
        if back == "variable":
            return await _variable_page(request, conn, who, variable, status=400, error=message)
        return await _list_page(request, who, status=400, error=message, error_id=var_id)
    if what in ("delete", "transfer"):
        return redirect("/app/variables")
    return redirect(target)


async def values_json(request: Request, conn: Connection, who: SignedIn) -> Response:
    """The values a page shows, for its live updates (the page re-reads on each `refresh`)."""
    if not who.account.confirmed:
        return JSONResponse({"list": [], "current": int(time.time())}, headers={"Cache-Control": "no-store"})
    rows = [shown(v) for v in await _variables(request, who)]
    listed = [{"id": r.id, "value": r.value, "time": r.variable.time, "percent": r.percent} for r in rows]
    return JSONResponse({"list": listed, "current": int(time.time())}, headers={"Cache-Control": "no-store"})


# -- A variable's page --------------------------------------------------------------------------------


def _ranges(variable: Variable) -> list[str]:
    kept = [name for name, seconds in RANGES.items() if variable.expire == 0 or seconds <= max(variable.expire, 3600)]
    return kept or ["1h"]


def _number(text: str | None, default: int, low: int, high: int) -> int:
    """`text` as a whole number clamped to [low, high], or `default` when it is not one."""
    try:
        return min(max(int(text or ""), low), high)
    except ValueError:
        return default


def _zone(request: Request) -> zoneinfo.ZoneInfo:
    name = request.query_params.get("tz", "UTC")
    try:
        return zoneinfo.ZoneInfo(name) if 0 < len(name) <= 64 else zoneinfo.ZoneInfo("UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


async def _variable_page(
    request: Request, conn: Connection, who: SignedIn, variable: Variable, *, status: int = 200, **context: Any
) -> Response:
    ranges = _ranges(variable)
    chosen = request.query_params.get("range", "24h" if "24h" in ranges else ranges[-1])
    chosen = chosen if chosen in ranges else ranges[-1]
    recent = await db_history.select_recent(conn, variable, RECENT)
    zone = _zone(request)
    web = web_of(request)
    base = web.public_url(request)
    return page(
        request,
        "variable.html",
        {
            "row": shown(variable),
            "recent": [(simple_text(p.value), datetime.fromtimestamp(p.time, zone)) for p in recent],
            "ranges": ranges,
            "range": chosen,
            "zone": str(zone),
            "base": base,
            "sizes": PREVIEW_SIZES,
            "previews": _preview_sizes(request),
            "now": int(time.time()),
            **context,
        },
        who=who,
        status=status,
    )


async def variable_page(request: Request, conn: Connection, who: SignedIn) -> Response:
    variable = await _find(conn, who, request.path_params["id"])
    return await _variable_page(request, conn, who, variable)


async def chart_svg(request: Request, conn: Connection, who: SignedIn) -> Response:
    variable = await _find(conn, who, request.path_params["id"])
    seconds = RANGES.get(request.query_params.get("range", "24h"), RANGES["24h"])
    until = int(time.time())
    since = until - seconds
    width = _number(request.query_params.get("w"), CHART_WIDTH, *CHART_WIDTHS)
    # One bucket per pixel column; a narrow chart is a little less flat.
    reduced = await db_series.select_reduced(conn, variable, since, until, width)
    svg = await asyncio.to_thread(
        chart.history_svg,
        reduced,
        since=since,
        until=until,
        tz=_zone(request),
        unit=variable.unit,
        title=None,
        width_px=width,
        height_px=240 if width < 600 else 320,
        step=variable.type is VarType.BOOL,
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


async def history_csv(request: Request, conn: Connection, who: SignedIn) -> Response:
    """The variable's whole history (what the protocol's `history` answers), oldest first, as CSV."""
    variable = await _find(conn, who, request.path_params["id"])
    outcome: Outcome[list[db_history.Point]] = await perform(request, who, "history", {"id": variable.id})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "unix_time", "value"])
    for point in reversed(outcome.value):
        iso = datetime.fromtimestamp(point.time, UTC).isoformat().replace("+00:00", "Z")
        writer.writerow([iso, point.time, simple_text(point.value)])
    filename = f"varistore-{variable.id}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def graph_preview(request: Request, conn: Connection, who: SignedIn) -> Response:
    """The device graph (`graph`), as the account: the page shows a private variable's without its key."""
    variable = await _find(conn, who, request.path_params["id"])
    fields = {name: value for name, value in request.query_params.items() if name != "id"}
    try:
        outcome = await perform(request, who, "graph", {**fields, "id": variable.id})
    except VariPassError as exc:
        raise HTTPException(400, result_message(exc)) from None
    picture = outcome.value.picture
    if picture is None:  # only when the request named an ETag, which the page never does
        raise HTTPException(400, Result.ERROR_INVALID_FORMAT.value)
    return Response(picture.data, media_type=picture.media_type, headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/app/variables", signed(variables_page), methods=["GET"]),
    Route("/app/variables", signed_form(create), methods=["POST"]),
    Route("/app/variables.json", signed(values_json), methods=["GET"]),
    Route("/app/variables/{id}", signed(variable_page), methods=["GET"]),
    Route("/app/variables/{id}/chart.svg", signed(chart_svg), methods=["GET"]),
    Route("/app/variables/{id}/history.csv", signed(history_csv), methods=["GET"]),
    Route("/app/variables/{id}/graph", signed(graph_preview), methods=["GET"]),
    Route("/app/variables/{id}/{what}", signed_form(change), methods=["POST"]),
]
