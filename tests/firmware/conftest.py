"""A live Varistore for the examples and recipes of firmware_examples/: the real API and gateway
processes on loopback, and an account of each test's own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.harness import running_api, running_gateway
from tests.support import Account, Api, Db, make_account


@dataclass(frozen=True)
class Live:
    base: str  # http://127.0.0.1:PORT
    host: str
    port: int
    gateway_port: int  # the gateway answers at ws://HOST:GATEWAY_PORT/ws
    api: Api

    def env(self, key: str, var: str = "") -> dict[str, str]:
        """What every example that runs on a computer reads (firmware_examples/README.md)."""
        return {
            "VARISTORE_HOST": self.host,
            "VARISTORE_PORT": str(self.port),
            "VARISTORE_WS_PORT": str(self.gateway_port),
            "VARISTORE_KEY": key,
            "VARISTORE_ID": var,
        }


@pytest.fixture(scope="module")
def live(db_url: str) -> Iterator[Live]:
    with running_api(db_url) as (_, base), running_gateway(db_url) as (_, ws):
        api = Api(base)
        try:
            yield Live(base, "127.0.0.1", _port(base), _port(ws), api)
        finally:
            api.http.close()


@pytest.fixture
def maker(db: Db) -> Account:
    """An account of the test's own: a variable is written once per cooldown (60 s by default)."""
    return make_account(db)


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port
