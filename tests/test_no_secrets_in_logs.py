"""No API key and no password in any log line (issue 8; DESIGN.md §8; service/core/logs.py).

The full run drives the real processes with access logging on at debug level — every action over
the three transports with the keys of two accounts, bad requests, the WebSocket `key` frames, a
database outage that logs tracebacks, and the account commands that take a password — then
searches all of their output for every secret it used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from service.core.ids import new_key
from service.core.logs import REDACTED, JsonFormatter, redact
from service.varipass.dispatch import ACTIONS
from tests.harness import (
    eventually,
    execute,
    healthy,
    running_api,
    running_gateway,
    scaled,
    stop_process,
    throwaway_database,
)
from tests.support import Api, random_email

# -- The redaction itself -------------------------------------------------------------------------

KEY = "AbCdEfGh12345678"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # uvicorn's access line, whatever the parameter's spelling or place.
        (
            f'1.2.3.4:5 - "GET /?key={KEY}&action=read HTTP/1.1" 200',
            '1.2.3.4:5 - "GET /?key=***&action=read HTTP/1.1" 200',
        ),
        (f'"GET /?action=list&k%65y={KEY} HTTP/1.1"', '"GET /?action=list&k%65y=*** HTTP/1.1"'),
        (f'"GET /?action=list&%6B%65%79={KEY} HTTP/1.1"', '"GET /?action=list&%6B%65%79=*** HTTP/1.1"'),
        (f"KEY={KEY}&api_key={KEY}&key=={KEY}", "KEY=***&api_key=***&key=***"),
        # uvicorn's trace of an ASGI scope.
        (f"{{'query_string': b'action=read&key={KEY}', 'headers': '<...>'}}", "{'query_string': b'action=read&key=***"),
        # JSON bodies and Python reprs.
        (f'{{"key": "{KEY}", "action": "read"}}', '{"key": "***", "action": "read"}'),
        ('{"key":12345678, "password" : "a\\"b"}', '{"key":"***", "password" : "***"}'),
        (f"{{'api_key': '{KEY}'}}", "{'api_key': \"***\"}"),
        # WebSocket frames as websockets logs them, and their text anywhere else.
        (f"< TEXT 'key {KEY}' [20 bytes]", "< TEXT 'key ***' [20 bytes]"),
        (f"< TEXT ' key {KEY}\\r\\n' [22 bytes]", "< TEXT ' key ***' [22 bytes]"),
        (f'< TEXT "key it\'s {KEY}" [26 bytes]', '< TEXT "key ***" [26 bytes]'),
        (f"got KEY {KEY[:8]} {KEY[8:]}", "got KEY ***"),
        (f"< TEXT {' '.join(f'{b:02x}' for b in f'key {KEY}'.encode())} ff [21 bytes]", "< TEXT 6b 65 79 20 *** [21"),
        # Passwords on a command line and in URLs.
        (
            "account create --email a@b --password hunter2 --confirmed",
            "account create --email a@b --password *** --confirmed",
        ),
        ("account create --password=hunter2", "account create --password=***"),
        ("postgresql://varistore:hunter2@db:5432/varistore", "postgresql://varistore:***@db:5432/varistore"),
        ("redis://:hunter2@cache:6379", "redis://:***@cache:6379"),
    ],
)
def test_redact_hides_keys_and_passwords(line: str, expected: str) -> None:
    assert redact(line).startswith(expected)
    assert KEY not in redact(line) and "hunter2" not in redact(line)


@pytest.mark.parametrize(
    "line",
    [
        "WARNING ws_gateway.server: cannot check a key: connection refused",
        "> CLOSE 1008 (policy violation) authenticate first: send `key <key>` [38 bytes]",
        '    action, key = _text(fields.pop("action", None)), _text(fields.pop("key", None))',
        '1.2.3.4:5 - "GET /?action=read&id=abcdefgh&monkey=1&keyboard=2 HTTP/1.1" 200',
        "postgresql://localhost/varistore",
    ],
)
def test_redact_leaves_other_text_alone(line: str) -> None:
    assert redact(line) == line


# -- A full run -----------------------------------------------------------------------------------


@dataclass
class Secrets:
    """Every key and password the run used."""

    values: set[str] = field(default_factory=set)

    def new_key(self) -> str:
        key = new_key()
        self.values.add(key)
        return key

    def leaks(self, output: str) -> list[str]:
        """The lines of `output` that hold a secret, or half of one (a truncated copy is a leak too)."""
        pieces = {
            piece
            for secret in self.values
            for piece in (secret, secret[: len(secret) // 2], secret[len(secret) // 2 :])
        }
        return [line for line in output.splitlines() if any(piece in line for piece in pieces)]


@dataclass(frozen=True)
class Cli:
    stdout: str
    stderr: str


def cli(db_url: str, *args: str) -> Cli:
    """`varistore ARGS`, its output (the command line logs warnings only, whatever the level: the
    debug level here is for the day it does not)."""
    done = subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**os.environ, "DATABASE_URL": db_url, "VARISTORE_LOG_LEVEL": "debug"},
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )
    return Cli(done.stdout, done.stderr)


@pytest.fixture
def run_db(admin_url: str) -> Iterator[str]:
    """A database of this test's own: the run takes it away from every connection for a while."""
    with throwaway_database(admin_url) as url:
        yield url


def test_full_run_logs_no_key_and_no_password(run_db: str, admin_url: str) -> None:
    secrets = Secrets()
    if database_password := urlsplit(run_db).password:
        secrets.values.add(database_password)
    passwords = [f"pw-{new_key()}", f"pw-{new_key()}"]
    secrets.values.update(passwords)

    # The account commands, the passwords on their command lines (the keys they print are theirs to show).
    alice_email, bob_email = random_email(), random_email()
    commands = [
        cli(run_db, "account", "create", "--email", alice_email, "--password", passwords[0], "--confirmed"),
        cli(run_db, "account", "create", "--email", bob_email, f"--password={passwords[1]}"),
        cli(run_db, "account", "create", "--email", alice_email, "--password", passwords[0]),  # exists: fails
        cli(run_db, "account", "set", bob_email, "--confirmed"),
        cli(run_db, "account", "regenerate-key", alice_email),
    ]
    printed = [command.stdout.split()[-1] for command in commands if "API key" in command.stdout]
    secrets.values.update(printed)
    old_alice, bob, alice = printed
    for command in commands:
        assert not secrets.leaks(command.stderr), command.stderr
        assert not Secrets(set(passwords)).leaks(command.stdout), command.stdout

    with (
        running_api(run_db, access_log=True, log_level="debug") as (api_process, base),
        running_gateway(run_db, log_level="debug") as (gateway_process, ws_url),
    ):
        api = Api(base)
        try:
            _every_action(api, secrets, [(alice, bob_email), (bob, alice_email), (old_alice, bob_email)])
            _bad_requests(api, base, secrets, alice)
            asyncio.run(_sockets(ws_url, api, secrets, alice, bob))
            _database_outage(api, run_db, admin_url, ws_url, secrets, alice)
        finally:
            api.http.close()
        # Stopped here, so that their output includes what they log on the way out.
        stop_process(api_process.process)
        stop_process(gateway_process.process)
        api_log, gateway_log = api_process.output(), gateway_process.output()

    for name, log in (("API", api_log), ("gateway", gateway_log)):
        leaked = secrets.leaks(log)
        assert not leaked, f"the {name} logged {len(leaked)} lines with a secret, e.g.:\n" + "\n".join(leaked[:10])
    # What was redacted was there: the access lines, the frames and the tracebacks.
    access = [line for line in api_log.splitlines() if "uvicorn.access" in line]
    assert any(f'"GET /?action=list&key={REDACTED}' in line for line in access), api_log[-3000:]
    assert any('"POST / HTTP/1.1" 200' in line for line in access), api_log[-3000:]
    assert any('" 503' in line and f"key={REDACTED}" in line for line in access), api_log[-3000:]
    assert "Traceback (most recent call last)" in api_log, api_log[-3000:]
    assert f"'key {REDACTED}'" in gateway_log, gateway_log[-3000:]


def _every_action(api: Api, secrets: Secrets, callers: list[tuple[str, str]]) -> None:
    """Every action of the table, over the three transports, for each (key, another account's email)."""
    # delete and transfer last: they take the variable away.
    actions = sorted(ACTIONS, key=lambda action: action in ("delete", "transfer"))
    for key, other_email in callers:
        for transport in ("get", "json", "form"):
            created = api.request(transport, action="create", key=key, type="float", name="T").json()
            var = created.get("id", "nOsUcH00")
            flag = api.request(transport, action="create", key=key, type="bool", name="B").json().get("id", var)
            for action in actions:
                params: dict[str, Any] = {"id": flag if "toggle" in action else var, "type": "float", "name": "T"}
                params |= {"value": 21.5, "target": other_email, "width": 200, "height": 100}
                # Not a protocol parameter: a password in a body is not logged either.
                params["password"] = password = f"pw-{new_key()}"
                secrets.values.add(password)
                response = api.request(transport, action=action, key=key, **params)
                assert response.status_code == 200, (action, transport, response.text)


def _bad_requests(api: Api, base: str, secrets: Secrets, key: str) -> None:
    wrong, spaced, in_json = secrets.new_key(), secrets.new_key(), secrets.new_key()
    http = api.http
    http.get("/", params={"action": "list", "key": wrong})
    http.get("/", params={"action": "nosuchaction", "key": key})
    http.get("/", params={"key": key})  # no action
    http.get("/", params={"action": "list", "key": f" {spaced[:8]} {spaced[8:]} "})
    http.get(f"/?action=list&k%65y={key}")  # the name percent-encoded: parse_qsl decodes it
    http.get(f"/?action=read&key={key}&id=%00")
    http.get(f"/?action=write&key={key}&id=nOsUcH00&value=caf%E9")
    http.post(
        "/", content=json.dumps({"action": "list", "key": [in_json]}), headers={"Content-Type": "application/json"}
    )
    http.post("/", content=f'{{"action": "list", "key": "{key}", ', headers={"Content-Type": "application/json"})
    http.post("/", content=f"action=list&key={key}", headers={"Content-Type": "text/plain"})
    with contextlib.suppress(httpx.TransportError):  # a 413 may close before the body is sent
        http.post(f"/?action=list&key={key}", content=b"x" * 70_000)
    # Raw requests: an absolute-form target, and a malformed head after a good request line.
    host, port = base.removeprefix("http://").split(":")
    for raw in (
        f"GET {base}/?action=list&key={key} HTTP/1.0\r\n\r\n",
        f"GET /?action=list&key={key} HTTP/1.1\r\nHost: x\r\nBad header line\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=scaled(10)) as sock:
            sock.sendall(raw.encode())
            while sock.recv(65536):
                pass


async def _sockets(url: str, api: Api, secrets: Secrets, alice: str, bob: str) -> None:
    wrong, spaced = secrets.new_key(), secrets.new_key()

    async def talk(*frames: str | bytes, target: str = url) -> None:
        async with connect(target, ping_interval=None, open_timeout=scaled(10), close_timeout=scaled(2)) as ws:
            try:
                for frame in frames:
                    await ws.send(frame)
                    await asyncio.wait_for(ws.recv(), scaled(5))
            except (ConnectionClosed, TimeoutError):
                pass

    await talk("ping", f"key {alice}", "ping")
    await talk(f"key {bob}\r\n", "ping")
    await talk(f"key {wrong}")
    await talk(f"key {spaced[:8]} {spaced[8:]}")
    await talk(f"KEY {bob}")  # not the protocol's spelling: closed
    await talk(f"key {alice}".encode())  # binary: closed
    await talk(f"key {bob}".encode() + b"\xff")  # not UTF-8: websockets logs it in hex
    await talk("ping", target=f"{url}?key={alice}")
    # A change while a socket listens: the gateway sends `refresh`.
    async with connect(url, ping_interval=None, open_timeout=scaled(10)) as ws:
        await ws.send(f"key {alice}")
        assert await asyncio.wait_for(ws.recv(), scaled(5)) == "ok"
        await asyncio.to_thread(api.request, "get", action="create", key=alice, type="int", name="N")
        assert await asyncio.wait_for(ws.recv(), scaled(10)) == "refresh"


def _database_outage(api: Api, db_url: str, admin_url: str, ws_url: str, secrets: Secrets, key: str) -> None:
    """The database refuses every connection for a while: the API logs its failures with their
    tracebacks (error_db) and the gateway its key checks and its LISTEN connection."""
    name = urlsplit(db_url).path.lstrip("/")
    asyncio.run(execute(admin_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
    try:
        asyncio.run(
            execute(admin_url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        )
        for transport in ("get", "json", "form"):
            response = api.request(transport, action="list", key=key, password=secrets.new_key())
            assert response.status_code == 503, response.text
        asyncio.run(_refused_socket(ws_url, key))
    finally:
        asyncio.run(execute(admin_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
    eventually(lambda: healthy(ws_url.replace("ws://", "http://").removesuffix("/ws")), 30, "the gateway LISTENs again")
    assert api.request("get", action="list", key=key).json()["result"] == "success"


async def _refused_socket(url: str, key: str) -> None:
    async with connect(url, ping_interval=None, open_timeout=scaled(10), close_timeout=scaled(2)) as ws:
        await ws.send(f"key {key}")
        try:
            await asyncio.wait_for(ws.recv(), scaled(10))
        except ConnectionClosed:
            pass


def test_access_log_only_when_asked_and_levels_kept(db_url: str) -> None:
    with running_api(db_url, log_level="info") as (process, base):
        httpx.get(base, params={"action": "list", "key": new_key()}, timeout=scaled(10))
        stop_process(process.process)
        output = process.output()
    assert "INFO uvicorn.error: Application startup complete." in output, output
    assert "uvicorn.access" not in output, output


def test_json_format_is_one_redacted_object_per_line_with_the_access_fields() -> None:
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/?key={KEY}&action=read", "1.1", 200),
        None,
    )
    line = json.loads(JsonFormatter().format(access))
    assert line["path"] == "/?key=***&action=read" and KEY not in json.dumps(line)
    assert (line["client"], line["method"], line["http_version"], line["status"]) == ("1.2.3.4:5", "GET", "1.1", 200)
    assert (line["level"], line["logger"]) == ("INFO", "uvicorn.access") and line["time"].endswith("+00:00")
    try:
        raise ValueError(f"bad key={KEY}")
    except ValueError:
        failure = logging.LogRecord("varistore", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert KEY not in JsonFormatter().format(failure)
    assert "key=***" in json.loads(JsonFormatter().format(failure))["exception"]


def test_json_access_log_of_the_real_api(db_url: str) -> None:
    key = new_key()
    with running_api(db_url, log_level="info", access_log=True, log_format="json") as (process, base):
        httpx.get(base, params={"action": "list", "key": key}, timeout=scaled(10))
        stop_process(process.process)
        output = process.output()
    assert key not in output
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    others = [line for line in output.splitlines() if line and not line.startswith("{")]
    # Only the command's own words to a person (which database, where it listens) are not log records.
    assert all(line.startswith(("varistore: using the database", "Varistore API on ")) for line in others), others
    [access] = [
        line
        for line in logged
        if line["logger"] == "uvicorn.access" and line["method"] == "GET" and line["path"].startswith("/?")
    ]
    assert access["status"] == 200 and "key=***" in access["path"]
