"""The read path's one statement: the access rule's columns and the variable, in one round trip.

It is the access statement (service/db/accounts.py) with the variable joined: the caller's own
variable for a key or a signed-in account, a public one by id alone for a request without a key
(DESIGN.md §3, check 5). $1 and $2 are the access rule's, $3 the variable's id.

Many lookups of one statement go as one (service/db/read_batch.py): that very statement, once for
each row of arrays of its parameters, in their order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from asyncpg import Record

from service.core.access import BY_ACCOUNT, BY_KEY, WHO, Actor
from service.db.accounts import access_sql
from service.db.pool import Connection
from service.db.variables import VARIABLE_COLUMNS, Variable, variable_of

_OWN = " LEFT JOIN variables v ON v.account_id = a.id AND v.id = $3"
# Through the directory of ids; a public actor's `who` (BY_KEY with $1 NULL) matches no account.
_PUBLIC = """
    LEFT JOIN variable_ids d ON d.id = $3
    LEFT JOIN variables v ON v.account_id = d.account_id AND v.id = d.id AND v.public
"""

READ_SQL = {who: access_sql(who, f", {VARIABLE_COLUMNS}", _OWN) for who in WHO}
READ_BY_KEY_SQL = READ_SQL[BY_KEY]
READ_PUBLIC_SQL = access_sql(BY_KEY, f", {VARIABLE_COLUMNS}", _PUBLIC)

# A lookup's statement, one of the above: what a batch of lookups shares (service/db/read_batch.py).
Lookup = str


def _many(sql: str, who: str) -> str:
    """`sql` for each row of arrays of its three parameters, in their order (WITH ORDINALITY)."""
    if set(re.findall(r"\$(\d+)", sql)) != {"1", "2", "3"}:
        raise RuntimeError(f"a lookup takes $1, $2 and $3: {sql}")
    each = sql.replace("$1", "i.cred").replace("$2", "i.ip").replace("$3", "i.var_id")
    credential = "bigint" if who == BY_ACCOUNT else "bytea"
    return f"""
SELECT r.* FROM unnest($1::{credential}[], $2::inet[], $3::text[]) WITH ORDINALITY AS i (cred, ip, var_id, n)
CROSS JOIN LATERAL ({each}) AS r
ORDER BY i.n"""


_READ_MANY_SQL = {READ_SQL[who]: _many(READ_SQL[who], who) for who in WHO} | {
    READ_PUBLIC_SQL: _many(READ_PUBLIC_SQL, BY_KEY)
}


def lookup_sql(actor: Actor, *, public: bool) -> Lookup:
    """The statement that looks up a variable for `actor`; with `public`, a public one by id alone."""
    return READ_PUBLIC_SQL if public else READ_SQL[actor.who]


def found(row: Record) -> tuple[Record, Variable | None]:
    """A lookup's row as the access rule's columns (core.access.check_access judges them) and the
    variable it may read: its own, or for a public request a public one; None when there is none."""
    return row, variable_of(row) if row["id"] is not None else None


async def select_many(conn: Connection, lookup: Lookup, reads: Sequence[tuple[Actor, str]]) -> list[Record]:
    """The rows of `lookup` for each (actor, variable id) of `reads`, in their order, in one statement;
    a lone one is the lookup itself."""
    if len(reads) == 1:
        actor, var_id = reads[0]
        row = await conn.fetchrow(lookup, actor.credential, actor.address, var_id)
        assert row is not None
        return [row]
    return await conn.fetch(
        _READ_MANY_SQL[lookup],
        [actor.credential for actor, _ in reads],
        [actor.address for actor, _ in reads],
        [var_id for _, var_id in reads],
    )
