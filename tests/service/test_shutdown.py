"""Stopping an API replica (issue 11, rolling restarts): SIGTERM stops accepting, finishes the requests in
flight, then exits 0; a request still in flight when VARISTORE_SHUTDOWN_TIMEOUT passes is cut."""

from __future__ import annotations

import signal
import socket
import time
from urllib.parse import urlencode, urlsplit

from tests.harness import accepts, eventually, running_api, scaled
from tests.support import Api, Db, make_account


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(scaled(30))
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_sigterm_finishes_the_request_in_flight_then_exits_0(db_url: str, db: Db) -> None:
    account = make_account(db)
    with running_api(db_url) as (process, base):
        api = Api(base)
        var = api.create(account.key)
        api.http.close()
        port = urlsplit(base).port
        assert port is not None
        body = urlencode({"key": account.key, "action": "write", "id": var, "value": "21.5"}).encode()
        head = (
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=scaled(5)) as in_flight:
            in_flight.sendall(head + body[:10])  # the request is in; its body is on its way
            time.sleep(scaled(0.2))
            process.process.send_signal(signal.SIGTERM)
            eventually(lambda: not accepts(port), 10, "the replica to stop accepting")
            in_flight.sendall(body[10:])
            answer = _answer(in_flight)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        assert answer.endswith(b'{"result":"success"}'), answer
        assert process.process.wait(scaled(30)) == 0
    assert db.fetchval("SELECT value_float FROM history WHERE variable_id = $1", var) == 21.5


def test_a_request_still_in_flight_after_the_shutdown_timeout_is_cut(db_url: str, db: Db) -> None:
    account = make_account(db)
    with running_api(db_url, shutdown_timeout=scaled(1), body_timeout=scaled(60)) as (process, base):
        port = urlsplit(base).port
        assert port is not None
        head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=scaled(5)) as stalled:
            stalled.sendall(head + b'{"key": "' + account.key.encode())  # and never the rest
            time.sleep(scaled(0.2))
            started = time.monotonic()
            process.process.send_signal(signal.SIGTERM)
            assert process.process.wait(scaled(30)) == 0
            assert time.monotonic() - started < scaled(10)
            _answer(stalled)  # closed
