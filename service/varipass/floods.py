"""Flood limits (DESIGN.md §8, issue 8): requests per API key and per client address, refused with
HTTP 429, `Retry-After` and the protocol's `error_cooldown` before any database work.

slowapi's Limiter turns the settings into a storage and a strategy of the `limits` library, and the
endpoint's hook calls that strategy itself: slowapi's own entry points (a decorator per route, or
its middleware) sit behind Starlette's router, which the protocol endpoint skips, and answer with a
body of their own. With `memory://` the counters are ours (LocalCounters), not limits' MemoryStorage:
that one starts a thread every 10 ms under traffic to sweep every counter, which cost the service
26-50 % of its `read` rate on a busy two-core machine; ours cost none measurable (tests/bench/flood.py).

The strategy is the fixed window: one counter per identity and window, so that a check is one
increment (one round trip to a shared storage) and refusing costs no more than admitting. It lets
up to twice the limit through across the edge of two windows, which a flood limit can afford.

A refused request is answered after a hold of about a second (jittered, so that held clients do not
come back together). The check is cheap, but the HTTP work around it is not: answered at once, one key
on 64 connections came back as fast as it was refused (5,500 a second), every turn of the event loop
answered all of them, and another key's `read`, which needs several turns for its database round
trips, took 132 ms at p99 (50 ms with no limits at all). Held, each flooding connection costs one
answer a second and a timer, and that p99 stayed at 6.7 ms (6.0 ms with no flood; tests/bench/flood.py).

Counts live in `limit_storage`: with `memory://` each process counts on its own, so N processes
(replicas, or workers) admit up to N times the limit; a shared storage (`redis://…`) counts across
all of them. Storages other than memory do I/O, so their checks run on a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import math
import random
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter, RateLimiter
from slowapi import Limiter
from slowapi.util import get_remote_address

from service.core.access import IPAddress
from service.core.records import record
from service.core.results import Result, VariPassError
from service.core.settings import Settings

log = logging.getLogger(__name__)

# After the storage failed, requests go unlimited (rather than refused) for this long before it is
# tried again: an outage of the limits' storage must not become an outage of the service, nor cost
# every request a timeout.
STORAGE_RETRY_SECONDS = 1.0


@record
class Limit:
    """One limit, with what counting it in this process's memory reads of it made once."""

    item: RateLimitItem
    amount: int
    seconds: int  # its window
    name: str  # in a counter's key

    @classmethod
    def of(cls, item: RateLimitItem) -> Limit:
        seconds = item.get_expiry()
        return cls(item, item.amount, seconds, f"{item.amount}/{seconds}")


# (the limits, the identity they count) for one request, checked in order.
Checks = Sequence[tuple[Sequence[Limit], tuple[str, str]]]


class LocalCounters(Storage):
    """Fixed-window counters in this process's memory, for the event loop's thread alone.

    A counter past its window starts over on its next use; the dictionary is swept of them when it
    has doubled since the last sweep, so that sweeping costs O(1) per new counter, and no thread.
    """

    STORAGE_SCHEME = None  # not one of limits' schemes: FloodLimits picks it for memory://

    def __init__(self) -> None:
        super().__init__()
        self._counters: dict[str, list[float]] = {}  # key: [count, end of its window (Unix time)]
        self._sweep_at_size = 1024

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing here fails like a storage

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        counter = self._counter(key, expiry, time.time())
        counter[0] += amount
        return int(counter[0])

    def _counter(self, key: str, expiry: float, now: float) -> list[float]:
        counter = self._counters.get(key)
        if counter is None or counter[1] <= now:
            if len(self._counters) >= self._sweep_at_size:
                self._counters = {k: c for k, c in self._counters.items() if c[1] > now}
                self._sweep_at_size = max(1024, 2 * len(self._counters))
            counter = self._counters[key] = [0, now + expiry]
        return counter

    def _live(self, key: str) -> list[float] | None:
        counter = self._counters.get(key)
        return counter if counter is not None and counter[1] > time.time() else None

    def get(self, key: str) -> int:
        counter = self._live(key)
        return int(counter[0]) if counter else 0

    def get_expiry(self, key: str) -> float:
        counter = self._live(key)
        return counter[1] if counter else time.time()

    def check(self) -> bool:
        return True

    def refusal(self, checks: Checks) -> float | None:
        """FixedWindowRateLimiter.hit over `checks`, without its key building (a third of a request's
        check): when the first spent limit renews (Unix time), or None when all admit the request.
        One clock reading and no storage wrapper for all of them (issue 13)."""
        now = time.time()
        for limits, (kind, identity) in checks:
            prefix = f"{kind}/{identity}/"
            for limit in limits:
                counter = self._counter(prefix + limit.name, limit.seconds, now)
                counter[0] += 1
                if counter[0] > limit.amount:
                    return counter[1]
        return None

    def reset(self) -> int | None:
        count = len(self._counters)
        self._counters.clear()
        return count

    def clear(self, key: str) -> None:
        self._counters.pop(key, None)


@functools.lru_cache(maxsize=4096)
def ip_identity(ip: IPAddress) -> str:
    """The address a per-IP limit counts: an IPv6 client by its /64, which one host commonly holds whole
    (privacy addresses), so that it cannot step around the limit by changing address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Counters:
    """Fixed-window counts of identities against limits, in `storage_uri` (memory://, redis://…).

    Args:
        offload: check on a thread (default: unless the storage is this process's memory).
    """

    def __init__(self, storage_uri: str, *, offload: bool | None = None) -> None:
        self._local: LocalCounters | None = None
        self._strategy: RateLimiter
        if urlsplit(storage_uri).scheme == "memory":
            self._local = LocalCounters()
            self._strategy = FixedWindowRateLimiter(self._local)
        else:
            self._strategy = Limiter(get_remote_address, strategy="fixed-window", storage_uri=storage_uri).limiter
        self._offload = self._local is None if offload is None else offload
        self._retry_at = 0.0  # monotonic time before which a failed storage is not asked

    @property
    def local(self) -> bool:
        """Whether checks count in this process's memory, on the event loop's thread."""
        return self._local is not None and not self._offload

    def local_refusal(self, checks: Checks) -> float | None:
        """`refusal` when `local`."""
        assert self._local is not None
        return self._local.refusal(checks)

    async def refusal(self, checks: Checks) -> float | None:
        """Count one request against each of `checks`: when the first spent limit renews (Unix time),
        or None when every limit admits the request."""
        return await asyncio.to_thread(self._refusal, checks) if self._offload else self._refusal(checks)

    def _refusal(self, checks: Checks) -> float | None:
        if self._local is not None:
            return self._local.refusal(checks)
        if self._retry_at and time.monotonic() < self._retry_at:
            return None
        try:
            for limits, identity in checks:
                for limit in limits:
                    if not self._strategy.hit(limit.item, *identity):
                        return self._strategy.get_window_stats(limit.item, *identity).reset_time
        except self._strategy.storage.base_exceptions as exc:  # e.g. redis' ConnectionError
            if not self._retry_at:
                log.warning("flood limits unchecked while their storage fails: %r", exc)
            self._retry_at = time.monotonic() + STORAGE_RETRY_SECONDS
            return None
        if self._retry_at:
            log.warning("flood limits checked again: their storage answers")
            self._retry_at = 0.0
        return None


def limits_of(text: str) -> tuple[Limit, ...]:
    """Limits in the `limits` notation ("25/second;600/minute"); empty for none. Raises ValueError."""
    return tuple(map(Limit.of, parse_many(text))) if text.strip() else ()


class FloodLimits:
    """Counts each request against the limit of its client address, then of its API key.

    Args:
        per_key, per_ip: limits in the `limits` notation ("25/second;600/minute"), empty for none.
        storage_uri: where the counts live, e.g. memory:// or redis://host:6379.
        hold: seconds a refusal waits for its answer, on average, between half and one and a half
            times (0: at once).
        offload: check on a thread (default: unless the storage is this process's memory).
    """

    def __init__(
        self,
        per_key: str,
        per_ip: str,
        storage_uri: str,
        *,
        hold: float = 0.0,
        offload: bool | None = None,
    ) -> None:
        self.per_key, self.per_ip = limits_of(per_key), limits_of(per_ip)
        self.hold = hold
        self._counters = Counters(storage_uri, offload=offload) if self.per_key or self.per_ip else None

    @classmethod
    def from_settings(cls, settings: Settings) -> FloodLimits:
        return cls(settings.limit_per_key, settings.limit_per_ip, settings.limit_storage, hold=settings.limit_hold)

    async def check(self, key_hash: bytes | None, client_ip: IPAddress | None) -> None:
        """Count one request with the key (or other secret) of this hash (None: a public request) from
        `client_ip`; the hash, never the key: a shared storage (redis) is no place for secrets.

        Raises:
            VariPassError: error_cooldown with HTTP 429 and Retry-After (whole seconds, at least 1)
                when either limit is spent, once the hold is over.
        """
        if self._counters is None:
            return
        checks: list[tuple[Sequence[Limit], tuple[str, str]]] = []
        # The address first: a request it refuses does not spend the key's allowance, which a
        # device of the same account elsewhere still has.
        if self.per_ip and client_ip is not None:
            checks.append((self.per_ip, ("ip", ip_identity(client_ip))))
        if self.per_key and key_hash is not None:
            checks.append((self.per_key, ("key", key_hash.hex())))
        counters = self._counters
        # In this process's memory the count needs no coroutine of its own (issue 13).
        renewal = counters.local_refusal(checks) if counters.local else await counters.refusal(checks)
        if renewal is not None:
            if self.hold:
                await asyncio.sleep(self.hold * random.uniform(0.5, 1.5))
            retry_after = max(1, math.ceil(renewal - time.time()))
            raise VariPassError(Result.ERROR_COOLDOWN, status=429, headers={"Retry-After": str(retry_after)})
