"""Accounts, variables, history and banned IP addresses.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Every tenant table carries account_id and every key and index on tenant data leads with it
(DESIGN.md §4), so the schema can be sharded by account later. variable_ids is the one
directory keyed by id alone: public requests carry no key, only a variable id.
"""

from __future__ import annotations

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


# The asyncpg driver runs one statement per execute.
SCHEMA = [
    """
    CREATE TABLE accounts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        email text NOT NULL,
        password_hash text,
        key_hash bytea NOT NULL,
        confirmed boolean NOT NULL DEFAULT false,
        banned boolean NOT NULL DEFAULT false,
        locked boolean NOT NULL DEFAULT false,
        transfers_enabled boolean NOT NULL DEFAULT false,
        max_variables integer NOT NULL DEFAULT 100 CHECK (max_variables >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX accounts_email_idx ON accounts (lower(email))",
    "CREATE UNIQUE INDEX accounts_key_hash_idx ON accounts (key_hash)",
    """
    CREATE TABLE banned_ips (
        ip inet PRIMARY KEY,
        banned_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE variable_ids (
        id text PRIMARY KEY,
        account_id bigint NOT NULL
    )
    """,
    """
    CREATE TABLE variables (
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        id text NOT NULL,
        position integer NOT NULL,
        type text NOT NULL CHECK (type IN ('int', 'float', 'bool', 'string')),
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        unit text NOT NULL DEFAULT '',
        graph boolean NOT NULL DEFAULT true,
        perc boolean NOT NULL DEFAULT false,
        min double precision NOT NULL DEFAULT 0,
        max double precision NOT NULL DEFAULT 0,
        expire integer NOT NULL DEFAULT 86400 CHECK (expire BETWEEN 0 AND 31536000),
        cooldown integer NOT NULL CHECK (cooldown > 0),
        public boolean NOT NULL DEFAULT false,
        -- The latest value, in the column of its type, NULL (the type's zero) until the first write.
        value_int bigint,
        value_float double precision,
        value_bool boolean,
        value_text text,
        value_time timestamptz NOT NULL,
        last_write timestamptz,
        PRIMARY KEY (account_id, id)
    )
    """,
    "CREATE INDEX variables_position_idx ON variables (account_id, position)",
    """
    CREATE TABLE history (
        account_id bigint NOT NULL,
        variable_id text NOT NULL,
        time timestamptz NOT NULL,
        value_int bigint,
        value_float double precision,
        value_bool boolean,
        value_text text
    )
    """,
    "CREATE INDEX history_newest_idx ON history (account_id, variable_id, time DESC)",
]


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE history, variables, variable_ids, banned_ips, accounts")
