"""The API process's metrics (`GET /metrics`, service/core/metrics.py says who may read it).

Requests are counted at the protocol endpoint's one hook (service/varipass/endpoint.py), so every
device request counts, keyed by action and result. Recording one costs a dictionary lookup and a
few additions to plain numbers, which a collector reads at each scrape: prometheus_client's own
metrics take a lock at each increment, 1.4 µs a request against 0.4 (issue 13). Requests are counted
and scraped on the event loop's thread alone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

# Seconds: a cached read answers in well under a millisecond, a graph or a database outage takes longer.
REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
NO_ACTION = "none"  # a request that named no action (or a body that could not be read)
OTHER_ACTION = "other"  # an action the protocol does not have: a client's text is no label (unbounded)


class _Requests:
    """The requests answered, by (action, result), and their seconds, by action, as a collector."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        # By action: the count in each of REQUEST_BUCKETS and past the last, then the sum of the seconds.
        self.timings: dict[str, list[float]] = {}

    def add(self, action: str, result: str, seconds: float) -> None:
        key = (action, result)
        self.counts[key] = self.counts.get(key, 0) + 1
        timing = self.timings.get(action)
        if timing is None:
            timing = self.timings[action] = [0.0] * (len(REQUEST_BUCKETS) + 2)
        timing[bisect_left(REQUEST_BUCKETS, seconds)] += 1  # the first bound >= seconds: Prometheus' `le`
        timing[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "varistore_requests", "Protocol requests answered, by action and result code.", labels=["action", "result"]
        )
        for labels, count in self.counts.items():
            requests.add_metric(labels, count)
        yield requests
        seconds = HistogramMetricFamily(
            "varistore_request_seconds", "Time to answer a protocol request, by action.", labels=["action"]
        )
        bounds = [*map(floatToGoString, REQUEST_BUCKETS), "+Inf"]
        for action, timing in self.timings.items():
            seconds.add_metric([action], list(zip(bounds, accumulate(timing[:-1]), strict=True)), timing[-1])
        yield seconds


class ApiMetrics:
    """The API process's registry and what it counts."""

    def __init__(self, actions: Iterable[str]) -> None:
        self._actions = frozenset(actions)
        self.registry = CollectorRegistry()
        self._requests = _Requests()
        self.registry.register(self._requests)
        self.renders = Counter("varistore_renders", "Graphs drawn (not found in the cache).", registry=self.registry)
        self.render_seconds = Histogram(
            "varistore_render_seconds", "Time to draw a graph.", buckets=RENDER_BUCKETS, registry=self.registry
        )
        self.pool_in_use = Gauge(
            "varistore_db_pool_in_use", "Database connections lent out of the pool.", registry=self.registry
        )

    def watch_pool(self, in_use: Callable[[], float]) -> None:
        """Read the pool's connections in use at each scrape."""
        self.pool_in_use.set_function(in_use)

    def request(self, action: str | None, result: str, seconds: float) -> None:
        """One protocol request answered."""
        named = action if action in self._actions else OTHER_ACTION if action else NO_ACTION
        self._requests.add(named, result, seconds)

    def rendered(self, seconds: float) -> None:
        self.renders.inc()
        self.render_seconds.observe(seconds)
