"""Connections to PostgreSQL."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.settings import Settings

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


async def create_pool(url: str, settings: Settings) -> Pool:
    pool = await asyncpg.create_pool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        # Held connections are rare; a dead server must not hang a request forever.
        command_timeout=30,
    )
    assert pool is not None
    return pool


async def connect(url: str) -> asyncpg.Connection[asyncpg.Record]:
    """A connection of its own, outside the pool (the notifier and the command line)."""
    return await asyncpg.connect(url)
