"""Many clients at once: one cooldown, one winner."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.harness import scaled
from tests.support import Account, Api, Db, history_rows, make_account


async def _burst(base_url: str, requests: list[dict[str, Any]]) -> list[str]:
    """Send all requests at the same moment, each on its own connection."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=scaled(30)) as client:
        # Open every connection first so the requests themselves race, not the handshakes.
        await asyncio.gather(*(client.get("/healthz") for _ in requests))
        answers = await asyncio.gather(*(client.get("/", params=p) for p in requests))
    return [a.json()["result"] if a.headers["content-type"] == "application/json" else a.text for a in answers]


@pytest.mark.anyio
async def test_write_50_concurrent_inside_one_cooldown_exactly_one_succeeds(api: Api, db: Db, alice: Account) -> None:
    var = api.create(alice.key, type="int")
    requests = [{"key": alice.key, "action": "write", "id": var, "value": str(n)} for n in range(50)]

    results = await _burst(api.base_url, requests)

    assert results.count("success") == 1
    assert results.count("error_cooldown") == 49
    assert await asyncio.to_thread(history_rows, db, var) == 1
    winner = requests[results.index("success")]["value"]
    assert api.call("read", alice.key, id=var)["value"] == int(winner)


@pytest.mark.anyio
async def test_toggle_50_concurrent_exactly_one_succeeds(api: Api, alice: Account) -> None:
    # The default cooldown (60 s): the burst may take longer than a second on a busy machine.
    var = api.create(alice.key, type="bool")
    requests = [{"key": alice.key, "action": "stoggle", "id": var} for _ in range(50)]

    results = await _burst(api.base_url, requests)

    assert results.count("success|true") == 1
    assert results.count("error_cooldown") == 49, results


@pytest.mark.anyio
async def test_create_concurrent_never_passes_max_variables(api: Api, db: Db) -> None:
    account = await asyncio.to_thread(make_account, db, max_variables=5)
    requests = [{"key": account.key, "action": "create", "type": "int", "name": f"v{n}"} for n in range(20)]

    results = await _burst(api.base_url, requests)

    assert results.count("success") == 5
    assert results.count("error_max_variables") == 15
    assert len(api.call("list", account.key)["list"]) == 5
