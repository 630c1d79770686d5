"""Alembic environment: async, raw SQL, no metadata.

The URL comes from `config.attributes["database_url"]` (set by `varistore migrate`), else from
the service settings; a connection passed in `config.attributes["connection"]` is used as is.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from service.core.settings import load_settings

MIGRATION_LOCK = "hashtext('varistore_migrate')"


def _url() -> str:
    url = context.config.attributes.get("database_url")
    if url is None:
        secret = load_settings().database_url
        if secret is None:
            raise SystemExit("set DATABASE_URL, or run `varistore migrate`, which starts the embedded database")
        url = secret.get_secret_value()
    scheme, rest = str(url).split("://", 1)
    return f"postgresql+asyncpg://{rest}" if scheme in ("postgres", "postgresql") else str(url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=NullPool)
    async with engine.connect() as lock, engine.connect() as connection:
        # One migration at a time, however many replicas start at once (systemd runs `varistore migrate`
        # before each): a second waits here, then finds the schema current. Held by a session of its own,
        # beside the migrations' transactions.
        await lock.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        await lock.commit()
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=None, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := context.config.attributes.get("connection")) is not None:
    _run(given)
else:
    asyncio.run(_run_async())
