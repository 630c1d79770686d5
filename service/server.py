"""The API process: uvicorn serving the app, as `varistore api` and `serve`'s API child run it."""

from __future__ import annotations

import gc
import math
import signal
import sys

from service.core.files import raise_file_limit
from service.core.settings import Settings


def base_url(host: str, port: int) -> str:
    """The URL a user on this machine reaches `host`:`port` at."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def run(settings: Settings, database_url: str, host: str, port: int) -> None:
    """Serve the API in the foreground until SIGTERM or SIGINT (then exit normally)."""
    import uvicorn

    from service.app import create_app
    from service.connections import Bounds, bounded_protocol

    raise_file_limit(settings.max_connections)
    print(f"Varistore API on {base_url(host, port)}", flush=True)
    config = uvicorn.Config(
        create_app(settings, database_url),
        host=host,
        port=port,
        # httptools parses absolute-form targets (`GET http://host/?... HTTP/1.0`); the bounds are ours.
        http=bounded_protocol(
            Bounds(settings.head_timeout, settings.body_timeout, settings.max_head_bytes, settings.max_connections)
        ),
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # No handlers of uvicorn's own: its error and access lines reach the root logger, which
        # `varistore api` set up to redact keys (service/core/logs.py). Without access_log, uvicorn
        # detaches its access logger, and no request formats a line.
        log_config=None,
        access_log=settings.access_log,
        log_level=settings.log_level,
        server_header=False,
        # SIGTERM: stop accepting, let the requests in flight finish (for this long at most), then exit.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout),
    )
    # uvicorn re-raises the signal that stopped it; turn SIGTERM into SystemExit so that what
    # we started (the embedded database) is stopped on the way out, as after Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # What the process has made so far (the modules, the app) lives as long as it: out of the cyclic
    # collector's way. Its full collections scanned all of it again and again under load, a fifth of
    # the API's CPU (issue 13). A request's objects die by reference count, not in cycles: collecting
    # the young ones every 20,000 allocations rather than 700 took the rest, 3 % of the CPU.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:
        pass
