"""The in-process tier: the ASGI app in the test's own event loop, its lifespan run (the tier the
dashboard's pages, cookies and mail will use). Bytes on the wire stay the real-process tier's."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support import Account, Db, make_account


@pytest.mark.anyio
async def test_in_process_app_answers_the_protocol(app_client: httpx.AsyncClient, db: Db) -> None:
    alice: Account = await asyncio.to_thread(make_account, db)

    created = (
        await app_client.get("/", params={"key": alice.key, "action": "create", "type": "int", "name": "n"})
    ).json()
    var = created["id"]
    written = await app_client.post("/", json={"key": alice.key, "action": "write", "id": var, "value": 7})
    sread = await app_client.get("/", params={"key": alice.key, "action": "sread", "id": var})

    assert created["result"] == "success" and written.json() == {"result": "success"}
    assert (sread.headers["content-type"], sread.text) == ("text/plain; charset=utf-8", "success|7")
    assert (await app_client.get("/healthz")).json() == {"status": "ok"}
    assert (await app_client.get("/", params={"action": "list"})).json() == {"result": "error_invalid_key"}
