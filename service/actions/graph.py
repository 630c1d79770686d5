"""graph and sgraph: a variable's history as an image (render/ draws it)."""

from __future__ import annotations

from render import InvalidFormat, InvalidOption, RenderOptions, make_options
from service.context import Ctx, find_variable
from service.db import history as db_history
from service.params import GraphParams
from service.rendering import etag_of, matches, series_of
from service.results import Outcome, Result, VariPassError
from service.values import VarType


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


async def graph(ctx: Ctx, p: GraphParams) -> Outcome:
    options = _options(p)
    variable = await find_variable(ctx, p.id)
    if variable.type is VarType.STRING:
        raise VariPassError(Result.ERROR_IS_STRING)
    if options is None:
        raise VariPassError(Result.ERROR_INVALID_FORMAT)
    # The ETag comes from the history's extent: a screen whose copy is current, or a picture
    # already drawn, costs one small query and no transfer of the points.
    etag = etag_of(variable, await db_history.select_oldest(ctx.conn, variable), options)
    if matches(ctx.if_none_match, etag):
        return Outcome(etag=etag)
    renderer = ctx.services.renderer
    picture = renderer.cached(etag)
    if picture is None:
        series = series_of(variable, await db_history.select_history(ctx.conn, variable))
        picture = await renderer.draw(etag, series, options)
    return Outcome(picture=picture, etag=etag)
