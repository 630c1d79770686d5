"""The change feed: what a committed action changed, as the API sends it and the gateways read it.

Actions return `Change`s; after the commit the notifier (service/db/notify.py) coalesces them
and sends them as NOTIFY payloads on `CHANNEL`; each gateway (ws_gateway/listener.py) decodes
them here and tells the sockets of each changed account `refresh`. Later consumers (JSON events,
webhooks) read the same feed and get what changed, not just whose.

A payload is a compact JSON array of changes, each `[account_id, variable_id, kind]`, with the
value and its Unix time appended for a write: `[[3,"a1B2c3D4","written",25.3,1764781200]]`, and
a session id, if one, for a revocation: `[[3,"","revoked",17]]`, a scoped key's id for its revocation:
`[[3,"","key_revoked",5]]`. The notifier puts first the Unix
time the oldest of them committed, `[1764781200.123456,[3,…]]`, from which the gateways measure how
late they hear of changes (an older gateway skips that number as a malformed change).
PostgreSQL refuses payloads of 8,000 bytes and more, so `payloads` splits a batch to fit; one
change always fits (a string value holds at most 1,024 characters, 6 bytes each when escaped).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from enum import StrEnum

from service.core.compact_json import compact_json
from service.core.records import record
from service.core.values import Value

CHANNEL = "varistore_refresh"
MAX_PAYLOAD = 7900

log = logging.getLogger(__name__)


class ChangeKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"
    MOVED = "moved"  # ordprev, ordnext
    WRITTEN = "written"  # write, swrite, toggle, stoggle
    TRANSFERRED_OUT = "transferred_out"  # the variable left this account
    TRANSFERRED_IN = "transferred_in"  # the variable arrived in this account
    # The account's key changed or it was deleted (value None: every socket of it closes), or one
    # dashboard session ended (value: the session's id, whose sockets close). variable_id is "".
    REVOKED = "revoked"
    # One scoped key was revoked (value: its id): the sockets opened with it close. variable_id is "".
    KEY_REVOKED = "key_revoked"


@record
class Change:
    account_id: int
    variable_id: str
    kind: ChangeKind
    # For WRITTEN: the value now stored and its time (whole Unix seconds); for REVOKED, a session id
    # or None; for KEY_REVOKED, the key's id.
    value: Value | None = None
    time: int | None = None


def coalesce(changes: Iterable[Change]) -> list[Change]:
    """The changes in order, keeping of several of one kind to one variable only the latest."""
    latest: dict[tuple[int, str, ChangeKind], Change] = {}
    for change in changes:
        key = (change.account_id, change.variable_id, change.kind)
        latest.pop(key, None)
        latest[key] = change
    return list(latest.values())


def _item(change: Change) -> list[object]:
    item: list[object] = [change.account_id, change.variable_id, change.kind]  # a StrEnum: JSON writes its text
    if change.kind is ChangeKind.WRITTEN:
        item += [change.value, change.time]
    elif change.kind in (ChangeKind.REVOKED, ChangeKind.KEY_REVOKED) and change.value is not None:
        item.append(change.value)
    return item


def payloads(changes: Iterable[Change], committed_at: float | None = None) -> Iterator[str]:
    """The changes as NOTIFY payloads, each under MAX_PAYLOAD bytes; each starts with `committed_at`
    (Unix seconds, when the oldest of them committed) when it is given, for the gateways' lag metric."""
    head = "" if committed_at is None else f"{committed_at:.6f},"
    items = list(map(_item, changes))
    if not items:
        return
    # Nearly always all fit in one: one JSON text of them all costs a third of one per change.
    whole = f"[{head}{compact_json(items)[1:]}"
    if len(whole.encode()) < MAX_PAYLOAD:
        yield whole
        return
    chunk: list[str] = []
    size = 2 + len(head)
    for text in map(compact_json, items):
        length = len(text.encode()) + 1
        if chunk and size + length > MAX_PAYLOAD:
            yield f"[{head}{','.join(chunk)}]"
            chunk, size = [], 2 + len(head)
        chunk.append(text)
        size += length
    if chunk:
        yield f"[{head}{','.join(chunk)}]"


def _change(item: object) -> Change | None:
    if not isinstance(item, list) or len(item) < 3:
        return None
    account_id, variable_id, kind, *rest = item
    if type(account_id) is not int or not isinstance(variable_id, str) or kind not in ChangeKind.__members__.values():
        return None
    if kind in (ChangeKind.REVOKED, ChangeKind.KEY_REVOKED):
        if (rest or kind == ChangeKind.KEY_REVOKED) and (len(rest) != 1 or type(rest[0]) is not int):
            return None
        return Change(account_id, variable_id, ChangeKind(kind), rest[0] if rest else None)
    if kind != ChangeKind.WRITTEN:
        return Change(account_id, variable_id, ChangeKind(kind))
    if len(rest) != 2 or not isinstance(rest[0], int | float | bool | str) or type(rest[1]) is not int:
        return None
    return Change(account_id, variable_id, ChangeKind.WRITTEN, rest[0], rest[1])


def decode(payload: str) -> list[Change]:
    """The changes in one payload; whatever is not a well-formed change is skipped (and logged)."""
    return decode_timed(payload)[1]


def decode_timed(payload: str) -> tuple[float | None, list[Change]]:
    """When the payload's changes committed (None if it does not say), and the changes."""
    try:
        items = json.loads(payload)
    except (ValueError, RecursionError):
        items = None
    if not isinstance(items, list):
        log.warning("a change notification that is not a list of changes: %.80r", payload)
        return None, []
    committed_at = None
    if items and isinstance(items[0], int | float) and not isinstance(items[0], bool):
        committed_at = float(items.pop(0))
    changes = [change for change in map(_change, items) if change is not None]
    if len(changes) != len(items):
        log.warning("skipped %d malformed changes in a notification", len(items) - len(changes))
    return committed_at, changes
