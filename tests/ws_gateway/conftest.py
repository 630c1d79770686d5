"""One gateway process for the session, on the suite's database and beside its service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ws_gateway.support import Gateway, gateway_process


@pytest.fixture(scope="session")
def gateway(db_url: str) -> Iterator[Gateway]:
    with gateway_process(db_url) as process:
        yield process
