"""A Varistore (VariPass-compatible) client for a Raspberry Pi or a script: one file, standard library only.

As a command line, configured by VARISTORE_HOST, VARISTORE_KEY, VARISTORE_PORT (80; 443 with TLS),
VARISTORE_WS_PORT (the gateway's 8001; with TLS, or behind a reverse proxy, the HTTP port) and
VARISTORE_TLS=1 (https and wss):

    python varistore_client.py write ID VALUE    # prints success
    python varistore_client.py read ID           # prints the value
    python varistore_client.py history ID        # TIME<TAB>VALUE lines, newest first
    python varistore_client.py latest            # ID<TAB>VALUE<TAB>TIME lines
    python varistore_client.py watch             # prints `refresh` on every change in the account

Exit status: 0 success, 1 another result code, 2 usage, 3 network or not a Varistore answer,
4 error_cooldown, 5 error_invalid_key, 6 error_invalid_id, 7 error_invalid_parameters,
8 error_unconfirmed, 9 error_banned, 10 error_db.

As a library:

    from varistore_client import Varistore, VaristoreError
    vs = Varistore("varistore.example", "YOUR_KEY")   # or Varistore.from_env()
    vs.write("VAR_ID", 21.5)                           # VaristoreError("error_cooldown") if too soon
    vs.read("VAR_ID").value                            # 21.5 (its time: .time)
    for _ in vs.watch():                               # forever, reconnecting
        print(vs.latest())
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Value = bool | int | float | str

EXIT_OTHER_RESULT, EXIT_USAGE, EXIT_NETWORK = 1, 2, 3
# Result code: (exit status, what it means).
RESULTS: dict[str, tuple[int, str]] = {
    "error_cooldown": (4, "written too soon: wait the variable's cooldown (60 s for a new variable; `info` tells)"),
    "error_invalid_key": (5, "the API key is wrong, or this address is banned: check VARISTORE_KEY"),
    "error_invalid_id": (6, "no such variable in this account"),
    "error_invalid_parameters": (7, "the value does not fit the variable's type, or a parameter is missing"),
    "error_unconfirmed": (8, "the account is not confirmed yet: follow the link in the sign-up email"),
    "error_banned": (9, "the account is banned"),
    "error_db": (10, "the server's database is unavailable: try again later"),
}
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


class VaristoreError(Exception):
    """The server answered a result code other than success: `.result` is it."""

    def __init__(self, result: str) -> None:
        self.exit_status, meaning = RESULTS.get(result, (EXIT_OTHER_RESULT, "refused by the server"))
        super().__init__(f"{result}: {meaning}")
        self.result = result


@dataclass(frozen=True)
class Reading:
    value: Value
    time: int  # Unix seconds


class Varistore:
    ping_every = 30.0  # seconds: the gateway closes a socket that sent no `ping` for 60

    def __init__(
        self,
        host: str,
        key: str,
        port: int | None = None,
        ws_port: int | None = None,
        tls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.key, self.tls, self.timeout = host, key, tls, timeout
        self.port = port or (443 if tls else 80)
        self.ws_port = ws_port or (self.port if tls else 8001)

    @classmethod
    def from_env(cls) -> Varistore:
        """The client VARISTORE_HOST, VARISTORE_KEY, VARISTORE_PORT, VARISTORE_WS_PORT and VARISTORE_TLS describe."""
        env = os.environ.get
        host, key = env("VARISTORE_HOST", ""), env("VARISTORE_KEY", "")
        if not (host and key):
            raise ValueError("set VARISTORE_HOST and VARISTORE_KEY (VARISTORE_PORT too unless it is 80)")
        return cls(host, key, _port("VARISTORE_PORT"), _port("VARISTORE_WS_PORT"), tls=env("VARISTORE_TLS") == "1")

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/"

    def call(self, action: str, **params: str) -> dict[str, Any]:
        """A JSON action's answer, POSTed as a form (the key stays out of URLs and access logs);
        raises VaristoreError for a result code and OSError when there is no Varistore answer."""
        body = urllib.parse.urlencode({"key": self.key, "action": action, **params}).encode()
        try:
            with urllib.request.urlopen(self.url, body, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:  # 429 and 503 carry a result code too
            raw = exc.read()
        except OSError as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise OSError(f"cannot reach {self.url}: {reason}") from None
        try:
            data: dict[str, Any] = json.loads(raw)
            result = data["result"]
        except (ValueError, TypeError, KeyError):
            raise OSError(f"not a Varistore answer from {self.url}") from None
        if result != "success":
            raise VaristoreError(result)
        return data

    def write(self, var: str, value: Value) -> None:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        self.call("write", id=var, value=text)

    def read(self, var: str) -> Reading:
        data = self.call("read", id=var)
        return Reading(data["value"], data["time"])

    def history(self, var: str) -> list[Reading]:
        """The values still inside the variable's `expire` window, newest first."""
        return [Reading(point["value"], point["time"]) for point in self.call("history", id=var)["history"]]

    def latest(self) -> dict[str, Reading]:
        """Every variable's latest value, by id, in the account's order."""
        return {item["id"]: Reading(item["value"], item["time"]) for item in self.call("latest")["list"]}

    def watch(
        self, on_status: Callable[[str], None] = lambda _: None, first_delay: float = 1.0, max_delay: float = 60.0
    ) -> Iterator[str]:
        """Yields "refresh" whenever something in the account changes, forever: reconnects with back-off
        (`on_status` hears how it goes). Ends only with VaristoreError, when the key is refused."""
        delay = first_delay
        while True:
            try:
                with _WebSocket(self) as ws:
                    on_status(f"connected to {ws.url}")
                    delay = first_delay
                    while True:
                        yield ws.next_refresh()
            except OSError as exc:
                on_status(f"connection lost ({exc or type(exc).__name__}); reconnecting in {delay:g} s")
            time.sleep(delay)
            delay = min(delay * 2, max_delay)


class _WebSocket:
    """The smallest client the gateway needs (RFC 6455): a handshake, masked text frames out, unmasked
    frames in, and `ping` every `ping_every` seconds, a missing `pong` counting as a lost connection."""

    def __init__(self, client: Varistore) -> None:
        self.client = client
        self.url = f"{'wss' if client.tls else 'ws'}://{client.host}:{client.ws_port}/ws"
        self.buffer = b""

    def __enter__(self) -> _WebSocket:
        self.sock = socket.create_connection((self.client.host, self.client.ws_port), timeout=self.client.timeout)
        try:
            if self.client.tls:
                self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.client.host)
            self._handshake()
        except BaseException:
            self.sock.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def _handshake(self) -> None:
        nonce = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {self.client.host}:{self.client.ws_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        accept = base64.b64encode(hashlib.sha1(nonce + WS_GUID).digest())
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        if lines[0].split(" ")[1:2] != ["101"] or headers.get("sec-websocket-accept") != accept.decode():
            raise OSError(f"no WebSocket at {self.url}: {lines[0]}")
        self.send(f"key {self.client.key}")
        while (text := self._next_text(None)) != "ok":
            if text is not None and text.startswith("error_"):
                raise VaristoreError(text)
        self.ping_at = time.monotonic() + self.client.ping_every
        self.pong_due: float | None = None

    def next_refresh(self) -> str:
        while True:
            now = time.monotonic()
            if self.pong_due is not None and now >= self.pong_due:
                raise OSError("no pong: the connection is gone")
            if now >= self.ping_at:
                self.send("ping")
                self.ping_at = now + self.client.ping_every
                self.pong_due = self.pong_due or now + self.client.timeout
            text = self._next_text(min(self.ping_at, self.pong_due or self.ping_at) - now)
            if text == "pong":
                self.pong_due = None
            elif text == "refresh":
                return text

    def send(self, text: str, opcode: int = 1) -> None:
        payload, mask = text.encode(), os.urandom(4)
        assert len(payload) < 126, "the protocol's messages are short"
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def _receive(self) -> None:
        chunk = self.sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed by the gateway")
        self.buffer += chunk

    def _next_text(self, within: float | None) -> str | None:
        """The next text frame, or None when nothing came `within` seconds (None: the client's timeout)."""
        self.sock.settimeout(self.client.timeout if within is None else max(within, 0.01))
        while True:
            frame = self._frame()
            if frame is not None:
                opcode, payload = frame
                if opcode == 1:
                    return payload.decode().strip()
                if opcode == 8:
                    raise ConnectionResetError(f"closed by the gateway ({payload[2:].decode(errors='replace')})")
                if opcode == 9:
                    self.send(payload.decode(errors="replace"), opcode=10)
                continue
            try:
                self._receive()
            except TimeoutError:
                if within is None:
                    raise
                return None

    def _frame(self) -> tuple[int, bytes] | None:
        """Takes the next complete frame (opcode, payload) off the buffer; None while it is incomplete."""
        data = self.buffer
        if len(data) < 2:
            return None
        size, start = data[1] & 127, 2
        if size >= 126:
            start = 4 if size == 126 else 10
            if len(data) < start:
                return None
            size = int.from_bytes(data[2:start], "big")
        if len(data) < start + size:
            return None
        self.buffer = data[start + size :]
        return data[0] & 15, data[start : start + size]


def _port(name: str) -> int | None:
    text = os.environ.get(name, "")
    if text and not (text.isdigit() and 0 < int(text) < 65536):
        raise ValueError(f"{name} is not a port number: {text!r}")
    return int(text) if text else None


def _show(value: Value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="varistore_client.py", description="A Varistore client: write, read and watch variables."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write VALUE to variable ID")
    write.add_argument("id")
    write.add_argument("value")
    for name, text in (("read", "print a variable's value"), ("history", "print a variable's history")):
        commands.add_parser(name, help=text).add_argument("id")
    commands.add_parser("latest", help="print every variable's latest value")
    commands.add_parser("watch", help="print `refresh` on every change in the account, until interrupted")
    args = parser.parse_args(argv)

    def status(message: str) -> None:
        print(f"varistore_client: {message}", file=sys.stderr, flush=True)

    try:
        vs = Varistore.from_env()
        if args.command == "write":
            vs.write(args.id, args.value)
            print("success")
        elif args.command == "read":
            print(_show(vs.read(args.id).value))
        elif args.command == "history":
            for reading in vs.history(args.id):
                print(f"{_when(reading.time)}\t{_show(reading.value)}")
        elif args.command == "latest":
            for var, reading in vs.latest().items():
                print(f"{var}\t{_show(reading.value)}\t{_when(reading.time)}")
        else:
            for refresh in vs.watch(status):
                print(refresh, flush=True)
    except VaristoreError as exc:
        status(str(exc))
        return exc.exit_status
    except ValueError as exc:
        status(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        status(str(exc))
        return EXIT_NETWORK
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
