"""Reading what pgbench prints and logs."""

from __future__ import annotations

import re
from pathlib import Path


def stat(output: str, pattern: str) -> float:
    match = re.search(pattern, output)
    if match is None:
        raise RuntimeError(f"no {pattern!r} in pgbench's output:\n{output}")
    return float(match.group(1))


def logged_latencies(logs: list[Path]) -> list[int]:
    """The 3rd field of pgbench's per-transaction logs (one file per thread): the latency in µs."""
    latencies: list[int] = []
    for log in logs:
        for line in log.read_text().splitlines():
            elapsed = line.split()[2]
            if elapsed.isdigit():  # "failed" or "skipped" otherwise
                latencies.append(int(elapsed))
    return latencies


def percentile(ordered: list[int], pct: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))])
