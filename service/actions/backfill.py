"""write_at (issue 14): a value measured at a given time, which a device buffered while offline.

Where the point goes
    Into history at its own time, when the variable keeps history (expire > 0). When it is newer
    than the latest value (or the variable was never written) it also becomes the latest value,
    and WebSocket clients get `refresh`; an older point changes history alone.

Which times are taken (error_invalid_parameters otherwise)
    No later than 60 s past the server's clock (device clocks drift), and inside what the variable
    keeps: later than now - expire. A variable with expire 0 keeps no history, only its latest
    value, so a point there must be newer than that value and within the 60 s of clock drift either
    side of now: an older one would have nowhere to go.

Cooldown (error_cooldown), on the points' own timeline
    The invariant: no two points of a variable's history (the latest value included) are less than
    its cooldown apart. Any span of time then holds at most span / cooldown + 1 points, what live
    writes could put there, so buffered points cannot get around the plan's history limit, and the
    expire window holds no more than the plan allows. So a point is refused when

    1. it lies less than a cooldown from the latest value or from any point in history (either
       side: an older point must fit between its neighbours); or
    2. it is dated after the last write while the live cooldown runs (last write + cooldown > now):
       the time after the last write belongs to the live path, and a point dated up to 60 s ahead
       must not be a way round its cooldown.

    Points at or before the last write are back-fill: the live cooldown does not apply to them. A
    device flushing its buffer oldest first thus gets every point that is a cooldown from the
    others, and is not made to send newest first. The last write becomes the later of itself and
    the point's time, never the clock: then every point is at or before the last write, and the
    live path's own rule (last write + cooldown <= now) keeps its next point a cooldown after every
    one of them; nor does a flush push the device's next live write back.

    The variable's row is locked for the check and the write, so two concurrent back-fills (or a
    back-fill and a live write) cannot both pass (service/db/backfill.py).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from service.actions.context import Ctx, Outcome
from service.actions.params import WriteAtParams
from service.actions.values import Written
from service.core.changes import Change, ChangeKind
from service.core.results import Result, VariPassError
from service.core.values import Candidates
from service.db import backfill as db_backfill
from service.db.backfill import Locked

CLOCK_DRIFT = timedelta(seconds=60)  # how far ahead of the server's clock a device's time may be


def _kept(locked: Locked, time: datetime) -> bool:
    """Whether the variable can hold a point at `time`."""
    if time > locked.now + CLOCK_DRIFT:
        return False
    if locked.expire > 0:
        return time > locked.now - timedelta(seconds=locked.expire)
    return time >= locked.now - CLOCK_DRIFT and (locked.last_write is None or time > locked.value_time)


def _check_cooldown(locked: Locked, time: datetime, *, latest: bool) -> None:
    """Rules 1 (against the latest value; history is the write statement's) and 2 of the docstring."""
    if locked.last_write is None:
        return  # never written: the first write is never refused by a cooldown
    cooldown = timedelta(seconds=locked.cooldown)
    if abs(time - locked.value_time) < cooldown:
        raise VariPassError(Result.ERROR_COOLDOWN)
    if latest and time > locked.last_write and locked.last_write + cooldown > locked.now:
        wait = (locked.last_write + cooldown - locked.now).total_seconds()
        raise VariPassError(Result.ERROR_COOLDOWN, retry_after=math.ceil(wait))


async def write_at(ctx: Ctx, p: WriteAtParams) -> Outcome[Written]:
    """Write a point measured at `p.time`.

    Raises:
        VariPassError: error_invalid_id (not the account's variable), error_invalid_parameters (the
            value does not fit the variable's type, or the time is outside what it keeps), then
            error_cooldown; each changes nothing.
    """
    account_id = ctx.account.account_id
    async with ctx.conn.transaction():
        locked = await db_backfill.lock_variable(ctx.conn, account_id, p.id)
        if locked is None:
            raise VariPassError(Result.ERROR_INVALID_ID)
        value = Candidates.of(p.value).as_type(locked.type)
        if value is None or not _kept(locked, p.time):
            raise VariPassError(Result.ERROR_INVALID_PARAMETERS)
        latest = locked.last_write is None or p.time > locked.value_time
        _check_cooldown(locked, p.time, latest=latest)
        if not await db_backfill.insert_point(ctx.conn, account_id, p.id, locked, p.time, value, latest=latest):
            raise VariPassError(Result.ERROR_COOLDOWN)
    written = Written(value, int(p.time.timestamp()))
    changes = (Change(account_id, p.id, ChangeKind.WRITTEN, value, written.time),) if latest else ()
    return Outcome(written, changes)
