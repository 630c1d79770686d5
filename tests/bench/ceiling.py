"""The web stack's own ceiling, for tests/bench/write_path.py: the API's stack (Starlette on uvicorn,
one process, uvloop, httptools, the API's bounded connections) answering every request with the
protocol's success, constant, with no database.

    .venv/bin/python -m tests.bench.ceiling --port 8000
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.connections import Bounds, bounded_protocol
from service.core.settings import Settings

WRITE = b'{"result":"success"}'
SREAD = b"success|0"


async def constant(request: Request) -> Response:
    """What `write` and `sread` answer when they succeed, as the service encodes them."""
    if request.query_params.get("action") == "sread":
        return Response(SREAD, media_type="text/plain; charset=utf-8")
    return Response(WRITE, media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    settings = Settings()
    bounds = Bounds(settings.head_timeout, settings.body_timeout, settings.max_head_bytes, settings.max_connections)
    print(f"ceiling on http://127.0.0.1:{port}", flush=True)
    uvicorn.run(
        Starlette(routes=[Route("/", constant)]),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=bounded_protocol(bounds),
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
