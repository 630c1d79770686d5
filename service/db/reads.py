"""The read path's one statement: the access rule's columns and the variable, in one round trip.

It is the access statement (service/db/accounts.py) with the variable joined: the caller's own
variable for a key or a signed-in account, a public one by id alone for a request without a key
(DESIGN.md §3, check 5). $1 and $2 are the access rule's, $3 the variable's id.
"""

from __future__ import annotations

from asyncpg import Record

from service.core.access import BY_ACCOUNT, BY_KEY, Actor
from service.db.accounts import access_sql
from service.db.pool import Connection
from service.db.variables import VARIABLE_COLUMNS, Variable, variable_of

_OWN = " LEFT JOIN variables v ON v.account_id = a.id AND v.id = $3"
# Through the directory of ids; a public actor's `who` (BY_KEY with $1 NULL) matches no account.
_PUBLIC = """
    LEFT JOIN variable_ids d ON d.id = $3
    LEFT JOIN variables v ON v.account_id = d.account_id AND v.id = d.id AND v.public
"""

READ_BY_KEY_SQL = access_sql(BY_KEY, f", {VARIABLE_COLUMNS}", _OWN)
READ_BY_ACCOUNT_SQL = access_sql(BY_ACCOUNT, f", {VARIABLE_COLUMNS}", _OWN)
READ_PUBLIC_SQL = access_sql(BY_KEY, f", {VARIABLE_COLUMNS}", _PUBLIC)


async def select_access_and_variable(
    conn: Connection, actor: Actor, var_id: str, *, public: bool
) -> tuple[Record, Variable | None]:
    """The access rule's columns for `actor` (core.access.check_access judges them) and the variable
    `var_id` it may read: its own, or with `public` a public one; None when there is no such variable."""
    if public:
        sql = READ_PUBLIC_SQL
    else:
        sql = READ_BY_ACCOUNT_SQL if actor.who == BY_ACCOUNT else READ_BY_KEY_SQL
    row = await conn.fetchrow(sql, actor.credential, actor.client_ip, var_id)
    assert row is not None
    return row, variable_of(row) if row["id"] is not None else None
