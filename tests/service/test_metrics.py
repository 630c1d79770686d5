"""GET /metrics on the API and on the gateway (issue 11): Prometheus text that parses, counters that move
as requests are made, and a 404 for an address outside VARISTORE_METRICS_ALLOW_IPS."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.harness import running_api, scaled
from tests.support import Api, Db, make_account, moved, samples
from tests.ws_gateway.support import client, gateway_process, next_message


def test_api_metrics_count_each_request_by_action_and_result(db_url: str, db: Db) -> None:
    with running_api(db_url) as (_, base):
        api = Api(base)
        account = make_account(db)
        var_id = api.create(account.key)
        before = samples(base)
        for _ in range(3):
            api.call("read", account.key, id=var_id)
        api.call("read", "not-a-key", id=var_id)
        api.call("no-such-action", account.key)
        graph = api.http.get("/", params={"key": account.key, "action": "graph", "id": var_id})
        assert graph.status_code == 200
        after = samples(base)
        api.http.close()

    assert moved(before, after, "read", "success") == 3
    assert moved(before, after, "read", "error_invalid_key") == 1
    # A client's made-up action is not a label of its own.
    assert moved(before, after, "other", "error_invalid_action") == 1
    assert not any("no-such-action" in str(key) for key in after)
    count = ("varistore_request_seconds_count", (("action", "read"),))
    assert after[count] - before.get(count, 0.0) == 4
    assert after[("varistore_renders_total", ())] - before.get(("varistore_renders_total", ()), 0.0) == 1
    assert after[("varistore_render_seconds_count", ())] >= 1
    assert ("varistore_db_pool_in_use", ()) in after


def test_api_metrics_are_404_to_an_address_not_allowed(db_url: str) -> None:
    with running_api(db_url, metrics_allow_ips="10.0.0.0/8, 192.0.2.7") as (_, base):
        answer = httpx.get(f"{base}/metrics", timeout=scaled(5))
        assert answer.status_code == 404 and "varistore_" not in answer.text
        assert httpx.get(f"{base}/healthz", timeout=scaled(5)).status_code == 200


@pytest.mark.anyio
async def test_gateway_metrics_count_sockets_and_refreshes(db_url: str, db: Db, api: Api) -> None:
    account = await asyncio.to_thread(make_account, db)
    var_id = await asyncio.to_thread(api.create, account.key)
    with gateway_process(db_url) as gateway:
        before = await asyncio.to_thread(samples, gateway.base)
        assert before[("varistore_ws_connections", ())] == 0
        async with client(gateway.url, account.key) as ws:
            during = await asyncio.to_thread(samples, gateway.base)
            assert during[("varistore_ws_connections", ())] == 1
            await asyncio.to_thread(api.call, "write", account.key, id=var_id, value="1.5")
            assert await next_message(ws, 5) == "refresh"
            after = await asyncio.to_thread(samples, gateway.base)
        sent = ("varistore_refreshes_sent_total", ())
        assert after[sent] - before[sent] == 1
        # The write's commit to the gateway's receipt: at least one notification measured, and in
        # well under a second (the notifier gathers for 5 ms).
        lags = ("varistore_notify_lag_seconds_count", ())
        assert after[lags] - before.get(lags, 0.0) >= 1
        assert 0 <= after[("varistore_notify_lag_seconds_sum", ())] / after[lags] < scaled(1)


def test_gateway_metrics_are_404_to_an_address_not_allowed(db_url: str) -> None:
    with gateway_process(db_url, metrics_allow_ips="10.0.0.0/8") as gateway:
        answer = gateway.get("/metrics")
        assert answer.status_code == 404 and "varistore_" not in answer.text
