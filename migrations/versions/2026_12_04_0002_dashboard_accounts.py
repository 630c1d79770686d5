"""The dashboard's sessions and single-use tokens, and what an account shows of its key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Secrets are stored as SHA-256 hashes only, as API keys are (DESIGN.md §3): the session cookie,
the emailed links' tokens and the WebSocket tokens. Every table leads with account_id or is keyed
by a hash that names its account (DESIGN.md §4).
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

SCHEMA = [
    # The key's first characters, shown after it was shown once in full; '' for keys made before.
    "ALTER TABLE accounts ADD COLUMN key_prefix text NOT NULL DEFAULT ''",
    """
    CREATE TABLE sessions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL,
        csrf_token text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        user_agent text NOT NULL DEFAULT '',
        ip inet
    )
    """,
    "CREATE UNIQUE INDEX sessions_token_idx ON sessions (token_hash)",
    "CREATE INDEX sessions_account_idx ON sessions (account_id, last_seen DESC)",
    """
    CREATE TABLE email_tokens (
        token_hash bytea PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        purpose text NOT NULL CHECK (purpose IN ('confirm', 'reset', 'email')),
        email text NOT NULL,
        expires_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX email_tokens_account_idx ON email_tokens (account_id, purpose)",
    """
    CREATE TABLE socket_tokens (
        token_hash bytea PRIMARY KEY,
        account_id bigint NOT NULL,
        session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL
    )
    """,
]


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE socket_tokens, email_tokens, sessions")
    op.execute("ALTER TABLE accounts DROP COLUMN key_prefix")
