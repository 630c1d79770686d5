"""graph and sgraph: a variable's history as an image (render/ draws it)."""

from __future__ import annotations

from render import InvalidFormat, InvalidOption, RenderOptions, Series, make_options
from service.context import Ctx, find_variable
from service.db import history as db_history
from service.params import GraphParams
from service.rendering import etag_of, matches
from service.results import Outcome, Result, VariPassError
from service.values import VarType


def _options(p: GraphParams) -> RenderOptions | None:
    """The drawing options, or None for an unknown format (refused later: DESIGN.md §3 check 6).

    Raises:
        VariPassError: error_invalid_parameters for a size or colour out of range (check 4).
    """
    try:
        return make_options(**p.model_dump(exclude={"id"}))
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
    points = await db_history.select_history(ctx.conn, variable)
    series = Series(
        name=variable.name,
        unit=variable.unit,
        minimum=variable.min,
        maximum=variable.max,
        boolean=variable.type is VarType.BOOL,
        points=tuple((point.time, float(point.value)) for point in points),
        # The picture depends on the history alone, never on the clock, so that it can be cached.
        now=points[0].time if points else variable.time,
    )
    etag = etag_of(variable.id, series, options)
    if matches(ctx.if_none_match, etag):
        return Outcome(etag=etag)
    return Outcome(picture=await ctx.services.renderer.draw(etag, series, options), etag=etag)
