"""What every process's `GET /metrics` shares: who may read it, and the Prometheus text.

Each process (an API replica, a gateway) keeps its own registry and answers for itself; Prometheus
scrapes every one. The page is answered only to the addresses of VARISTORE_METRICS_ALLOW_IPS (default
loopback); anyone else gets 404, as if there were no such page.
"""

from __future__ import annotations

import ipaddress

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from service.core.access import IPAddress, IPNetwork

CONTENT_TYPE = CONTENT_TYPE_LATEST
PATH = "/metrics"


def networks(text: str) -> tuple[IPNetwork, ...]:
    """Addresses and networks, comma-separated ("127.0.0.1,::1,10.0.0.0/8"). Raises ValueError."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def allowed(address: IPAddress | None, allow: tuple[IPNetwork, ...]) -> bool:
    """Whether the client at `address` may read the metrics."""
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allow)


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format."""
    return generate_latest(registry)
