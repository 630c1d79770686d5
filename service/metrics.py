"""The API process's metrics (`GET /metrics`, service/core/metrics.py says who may read it).

Requests are counted at the protocol endpoint's one hook (service/varipass/endpoint.py), so every
device request counts, keyed by action and result. Recording one costs a dictionary lookup and two
increments: the labelled children are made once per (action, result) and kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: a cached read answers in well under a millisecond, a graph or a database outage takes longer.
REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
NO_ACTION = "none"  # a request that named no action (or a body that could not be read)
OTHER_ACTION = "other"  # an action the protocol does not have: a client's text is no label (unbounded)


class ApiMetrics:
    """The API process's registry and what it counts."""

    def __init__(self, actions: Iterable[str]) -> None:
        self._actions = frozenset(actions)
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "varistore_requests",
            "Protocol requests answered, by action and result code.",
            ["action", "result"],
            registry=self.registry,
        )
        self._seconds = Histogram(
            "varistore_request_seconds",
            "Time to answer a protocol request, by action.",
            ["action"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.renders = Counter("varistore_renders", "Graphs drawn (not found in the cache).", registry=self.registry)
        self.render_seconds = Histogram(
            "varistore_render_seconds", "Time to draw a graph.", buckets=RENDER_BUCKETS, registry=self.registry
        )
        self.pool_in_use = Gauge(
            "varistore_db_pool_in_use", "Database connections lent out of the pool.", registry=self.registry
        )
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def watch_pool(self, in_use: Callable[[], float]) -> None:
        """Read the pool's connections in use at each scrape."""
        self.pool_in_use.set_function(in_use)

    def request(self, action: str | None, result: str, seconds: float) -> None:
        """One protocol request answered."""
        key = (action if action in self._actions else OTHER_ACTION if action else NO_ACTION, result)
        children = self._children.get(key)
        if children is None:
            children = (self._requests.labels(*key), self._seconds.labels(key[0]))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def rendered(self, seconds: float) -> None:
        self.renders.inc()
        self.render_seconds.observe(seconds)
