"""The service's renderer: off the event loop, a bounded number at once, recent pictures kept."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from render import make_options
from service.rendering import Renderer, matches
from tests.harness import scaled
from tests.render import samples


@pytest.mark.anyio
async def test_renders_run_off_the_event_loop_and_at_most_workers_at_once() -> None:
    series = samples.day()
    options = [make_options(width=2048, height=2048, color_line=f"{n:06x}") for n in range(6)]
    busiest = 0
    longest_gap = 0.0
    renderer = Renderer(workers=2, cache_bytes=1 << 20)
    draws = asyncio.gather(*(renderer.draw(f'"{n}"', series, o) for n, o in enumerate(options)))
    last = time.perf_counter()
    while not draws.done():
        await asyncio.sleep(0.002)
        now = time.perf_counter()
        longest_gap = max(longest_gap, now - last)
        last = now
        busiest = max(busiest, sum(t.name.startswith("varistore-render") for t in threading.enumerate()))
    await draws
    renderer.close()

    assert busiest <= 2
    # Six renders of ~65 ms each took place while the loop kept ticking every few ms.
    assert longest_gap < scaled(0.05)


@pytest.mark.anyio
async def test_cache_is_bounded_by_bytes_and_keeps_the_recent() -> None:
    series = samples.day(100)
    renderer = Renderer(workers=1, cache_bytes=20_000)
    for n in range(6):
        await renderer.draw(f'"{n}"', series, make_options(color_line=f"{n:06x}"))
    kept = [n for n in range(6) if renderer.cached(f'"{n}"') is not None]
    renderer.close()
    assert kept and kept == list(range(6 - len(kept), 6))
    assert len(kept) < 6


def test_if_none_match_forms() -> None:
    assert matches('"abc"', '"abc"')
    assert matches('W/"abc", "def"', '"abc"')
    assert matches("*", '"abc"')
    assert not matches('"abd"', '"abc"')
    assert not matches(None, '"abc"')
