"""Who a `key <key>` is: the service's own access rule (service/core/access.py), over a small pool."""

from __future__ import annotations

import asyncio
import functools
import ipaddress

from websockets.datastructures import Headers

from service.core.access import Actor, IPAddress, IPNetwork, check_access
from service.core.results import Result, VariPassError
from service.core.settings import Settings
from service.db.accounts import select_access
from service.db.pool import Database, create_database
from service.db.sessions import take_socket_token
from ws_gateway.registry import Grant

# A dashboard page authenticates with a short-lived token of its session (service/actions/accounts.py),
# never with the API key; API keys are letters and digits only, so the prefix cannot clash.
SOCKET_TOKEN_PREFIX = "s."


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def _proxies(trusted: str) -> tuple[bool, frozenset[str], tuple[IPNetwork, ...]]:
    """settings.forwarded_allow_ips as uvicorn reads it: "*", addresses and networks, and other
    literals (a Unix socket's name); (any peer, the literals, the networks)."""
    parts = [part.strip() for part in trusted.split(",") if part.strip()]
    networks: list[IPNetwork] = []
    literals: set[str] = set()
    for part in parts:
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            literals.add(part)
    return "*" in literals, frozenset(literals - {"*"}), tuple(networks)


def _is_proxy(host: str, literals: frozenset[str], networks: tuple[IPNetwork, ...]) -> bool:
    address = _address(host)
    return host in literals or (address is not None and any(address in network for network in networks))


def client_ip(peer: str | None, headers: Headers, trusted: str) -> IPAddress | None:
    """The client's address for the banned-IP check.

    Behind a reverse proxy the peer is the proxy, so X-Forwarded-For (all of them, joined as one
    list) is believed when the peer is one of `trusted` (settings.forwarded_allow_ips, "*" for any):
    its rightmost address that is not itself a trusted proxy, as uvicorn reads it for the API.
    """
    any_peer, literals, networks = _proxies(trusted)
    forwarded = headers.get_all("X-Forwarded-For")
    if peer is None or not forwarded or not (any_peer or _is_proxy(peer, literals, networks)):
        return _address(peer) if peer is not None else None
    hops = [hop.strip() for hop in ",".join(forwarded).split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_proxy(hop, literals, networks):
            return _address(hop)
    return _address(hops[0]) if hops else _address(peer)


class Keys:
    """Checks keys against the database, over a pool made on first use (it reconnects by itself)."""

    def __init__(self, settings: Settings, url: str) -> None:
        self._settings = settings
        self._url = url
        self._db: Database | None = None
        self._connecting = asyncio.Lock()

    async def account(self, key: str, ip: IPAddress | None) -> Grant:
        """The account the key (or a page's socket token) acts as, and what revokes it.

        Raises:
            VariPassError: error_invalid_key, error_banned or error_unconfirmed.
            One of service.db.pool.DATABASE_ERRORS: the database could not answer (TimeoutError past
                settings.db_deadline).
        """
        db = self._db
        if db is None:
            # Bounded as a request is (settings.db_deadline): making the pool, then the check.
            async with asyncio.timeout(self._settings.db_deadline):
                db = await self._database()
        session_id: int | None = None
        async with db.connection() as conn:
            actor = Actor.of_secret(key, ip)
            if key.startswith(SOCKET_TOKEN_PREFIX):
                taken = await take_socket_token(conn, key)
                if taken is None:
                    raise VariPassError(Result.ERROR_INVALID_KEY)
                actor, session_id = Actor.by_account(taken[0], ip), taken[1]
            access = check_access(await select_access(conn, actor), public=False)
        if access is None:  # only for public requests, which a socket never is
            raise VariPassError(Result.ERROR_INVALID_KEY)
        access.require(read=True)  # a scoped key that may not read hears of no change either
        return Grant(access.account_id, session_id, access.scope.key_id if access.scope is not None else None)

    async def _database(self) -> Database:
        # Made lazily so that the gateway starts, and answers /healthz, while PostgreSQL is down.
        async with self._connecting:
            if self._db is None:
                self._db = await create_database(
                    self._url,
                    min_size=self._settings.gateway_pool_min_size,
                    max_size=self._settings.gateway_pool_max_size,
                    deadline=self._settings.db_deadline,
                )
            return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
