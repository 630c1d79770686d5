"""Who a `key <key>` is: the service's own access rule (service/core/access.py), over a small pool."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping

from service.core.access import Actor, IPAddress, check_access
from service.core.ids import key_hash
from service.core.results import Result, VariPassError
from service.core.settings import Settings
from service.db.accounts import select_access
from service.db.pool import Database, create_database


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(peer: str | None, headers: Mapping[str, str], trusted: str) -> IPAddress | None:
    """The client's address for the banned-IP check.

    Behind a reverse proxy the peer is the proxy, so X-Forwarded-For is believed
    when the peer is one of `trusted` (settings.forwarded_allow_ips, "*" for any): its rightmost
    address that is not itself a trusted proxy, as uvicorn reads it for the API.
    """
    proxies = {part.strip() for part in trusted.split(",") if part.strip()}
    forwarded = headers.get("X-Forwarded-For")
    if peer is None or forwarded is None or ("*" not in proxies and peer not in proxies):
        return _address(peer) if peer is not None else None
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in proxies:
            return _address(hop)
    return _address(hops[0]) if hops else _address(peer)


class Keys:
    """Checks keys against the database, over a pool made on first use (it reconnects by itself)."""

    def __init__(self, settings: Settings, url: str) -> None:
        self._settings = settings
        self._url = url
        self._db: Database | None = None
        self._connecting = asyncio.Lock()

    async def account(self, key: str, ip: IPAddress | None) -> int:
        """The account id the key acts as.

        Raises:
            VariPassError: error_invalid_key, error_banned or error_unconfirmed.
            OSError, asyncpg.PostgresError: the database could not answer.
        """
        db = await self._database()
        async with db.connection() as conn:
            access = check_access(await select_access(conn, Actor.by_key(key_hash(key), ip)), public=False)
        if access is None:  # only for public requests, which a socket never is
            raise VariPassError(Result.ERROR_INVALID_KEY)
        return access.account_id

    async def _database(self) -> Database:
        # Made lazily so that the gateway starts, and answers /healthz, while PostgreSQL is down.
        async with self._connecting:
            if self._db is None:
                self._db = await create_database(
                    self._url,
                    min_size=self._settings.gateway_pool_min_size,
                    max_size=self._settings.gateway_pool_max_size,
                )
            return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
