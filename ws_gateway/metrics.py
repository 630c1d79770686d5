"""The gateway's metrics (`GET /metrics` on its port; service/core/metrics.py says who may read it).

Sockets are counted from the registry at each scrape, so the sockets' hot paths only bump an integer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ws_gateway.registry import Client, Registry


class _Sockets(Collector):
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily(
            "varistore_ws_connections", "Open WebSockets, authenticated or not.", value=self._registry.connections
        )
        yield CounterMetricFamily(
            "varistore_refreshes_sent", "`refresh` messages sent to sockets.", value=Client.refreshes_sent
        )


# Seconds from a change's commit in the API to its NOTIFY here: the notifier gathers for 5 ms.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class GatewayMetrics:
    """The gateway's registry: its sockets, read at each scrape, and how late changes arrive."""

    def __init__(self, registry: Registry) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_Sockets(registry))
        self._lag = Histogram(
            "varistore_notify_lag_seconds",
            "From a change's commit in the API to the gateway's receipt of its notification.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )

    def notified(self, committed_at: float | None) -> None:
        if committed_at is not None:
            # Wall clocks of two processes (or hosts): a clock step may make it negative, which says nothing.
            self._lag.observe(max(0.0, time.time() - committed_at))
