"""Scoped keys and API tokens (issue 14).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

A scoped key acts as its account within limits: some variables (all, when `variable_ids` is NULL)
and reading, writing or both. An API token, from POST /api/v1/auth, acts as its account until it
expires. Both are stored as SHA-256 hashes only, as account keys are (DESIGN.md §3), and lead with
account_id or a hash that names their account (DESIGN.md §4).
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

SCHEMA = [
    """
    CREATE TABLE scoped_keys (
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        id bigint GENERATED ALWAYS AS IDENTITY,
        key_hash bytea NOT NULL,
        key_prefix text NOT NULL,
        label text NOT NULL DEFAULT '',
        variable_ids text[],
        can_read boolean NOT NULL,
        can_write boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        PRIMARY KEY (account_id, id)
    )
    """,
    "CREATE UNIQUE INDEX scoped_keys_hash_idx ON scoped_keys (key_hash)",
    """
    CREATE TABLE api_tokens (
        token_hash bytea PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX api_tokens_account_idx ON api_tokens (account_id)",
]


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE api_tokens, scoped_keys")
