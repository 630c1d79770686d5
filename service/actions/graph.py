"""graph and sgraph: a variable's history as an image (render/ draws it)."""

from __future__ import annotations

from render import InvalidFormat, InvalidOption, Picture, RenderOptions, make_options
from service.actions.context import Outcome
from service.actions.params import GraphParams
from service.actions.reads import ReadCtx
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.values import VarType
from service.db import history as db_history
from service.rendering import etag_of, series_of


@record
class Graph:
    """A picture of a variable's history, its ETag and Last-Modified; no picture when the caller holds it already."""

    etag: str
    modified: int  # the time of the latest value (whole Unix seconds)
    picture: Picture | None


def _options(p: GraphParams) -> RenderOptions | None:
    """The drawing options, or None for an unknown format (refused later: DESIGN.md §3 check 6).

    Raises:
        VariPassError: error_invalid_parameters for a size or colour out of range (check 4).
    """
    try:
        return make_options(**p.given())
    except InvalidOption:
        raise VariPassError(Result.ERROR_INVALID_PARAMETERS) from None
    except InvalidFormat:
        return None


async def graph(ctx: ReadCtx, p: GraphParams) -> Outcome[Graph]:
    options = _options(p)
    variable = ctx.variable
    if variable.type is VarType.STRING:
        raise VariPassError(Result.ERROR_IS_STRING)
    if options is None:
        raise VariPassError(Result.ERROR_INVALID_FORMAT)
    # The ETag comes from the history's extent: a screen whose copy is current, or a picture
    # already drawn, costs one small query and no transfer of the points.
    etag = etag_of(variable, await db_history.select_extent(ctx.conn, variable), options)
    if ctx.conditions.hold(etag, variable.time):
        return Outcome(Graph(etag, variable.time, None))
    renderer = ctx.services.renderer
    picture = renderer.cached(etag)
    if picture is None:
        series = series_of(variable, await db_history.select_history(ctx.conn, variable))
        picture = await renderer.draw(etag, series, options)
    return Outcome(Graph(etag, variable.time, picture))
