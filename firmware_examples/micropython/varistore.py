"""Varistore (VariPass-compatible) over plain sockets: the same file runs on MicroPython (ESP32,
Raspberry Pi Pico W) and on CPython.

It uses only what both have: `socket` (getaddrinfo, connect, send, recv, settimeout), `time`,
`random.getrandbits` and `binascii`; no `makefile`, `readline`, `urllib`, `json`, `hashlib` or `os` on
the board: the simple actions' `success|value` answers need no JSON. Plain HTTP only (TLS takes more
memory than many boards have).

    import varistore
    vs = varistore.Varistore("varistore.example", "YOUR_KEY")
    vs.write("VAR_ID", 21.5)          # raises VaristoreError("error_cooldown") when written too soon
    vs.read("VAR_ID")                 # "21.5"
    vs.latest()                       # {"VAR_ID": "21.5", ...}
    vs.listen(lambda: print(vs.latest()))  # forever: calls back on every change in the account

`python varistore.py [VALUE]` on a computer writes VALUE (a number by default) to VARISTORE_ID, reads
it back, parses `slatest` and waits for the WebSocket `refresh`, with VARISTORE_HOST, VARISTORE_PORT
(80), VARISTORE_WS_PORT (8001), VARISTORE_KEY and VARISTORE_ID from the environment.
"""

import binascii
import random
import socket
import time

PING_EVERY = 30  # seconds; the gateway closes a socket silent for 60
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


class VaristoreError(Exception):
    """The server answered a result code: `args[0]` is it ("error_cooldown", "error_invalid_key"...)."""


def quote(text):
    """`text` URL-encoded (UTF-8), as a query parameter."""
    out = ""
    for byte in str(text).encode():
        char = chr(byte)
        out += char if char in _UNRESERVED else f"%{byte:02X}"
    return out


def _timed_out(exc):
    # CPython raises socket.timeout (TimeoutError); MicroPython OSError(ETIMEDOUT) or OSError(EAGAIN).
    return isinstance(exc, getattr(socket, "timeout", ())) or (exc.args and exc.args[0] in (11, 110))


def _send_all(sock, data):
    while data:
        data = data[sock.send(data) :]


class Varistore:
    def __init__(self, host, key, port=80, ws_port=8001, timeout=10):
        self.host = host
        self.key = key
        self.port = port
        self.ws_port = ws_port
        self.timeout = timeout

    def connect(self, port):
        """A TCP socket to the server, with the client's timeout."""
        family, kind, proto, _, address = socket.getaddrinfo(self.host, port, 0, socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock

    def call(self, action, **params):
        """A simple action's answer without `success|`; raises VaristoreError on a result code."""
        query = f"key={quote(self.key)}&action={action}"
        for name in params:
            query += f"&{name}={quote(params[name])}"
        sock = self.connect(self.port)
        try:
            _send_all(sock, f"GET /?{query} HTTP/1.0\r\nHost: {self.host}\r\n\r\n".encode())
            answer = b""
            while True:  # HTTP/1.0: the answer ends when the server closes
                chunk = sock.recv(512)
                if not chunk:
                    break
                answer += chunk
        finally:
            sock.close()
        start = answer.find(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.") or start < 0:
            raise OSError("not an HTTP answer")
        body = answer[start + 4 :].decode()
        if body == "success" or body.startswith("success|"):
            return body[8:]
        if body.startswith("error_"):
            raise VaristoreError(body)
        raise OSError("not a Varistore answer: " + body[:40])

    def write(self, var, value):
        """swrite; a bool is sent as true/false."""
        if value is True or value is False:
            value = "true" if value else "false"
        self.call("swrite", id=var, value=value)

    def read(self, var):
        """sread: the value as text ("21.5", "true", or the string itself)."""
        return self.call("sread", id=var)

    def latest(self):
        """slatest: {id: value as text} for every variable of the account; ValueError when a string
        value holds `|`, which makes the answer ambiguous."""
        fields = self.call("slatest").split("|")  # N|id1|v1|id2|v2|...|
        count = int(fields[0])
        if len(fields) != 2 * count + 2:
            raise ValueError("slatest is ambiguous: a string value holds '|' (read it with read())")
        return {fields[i]: fields[i + 1] for i in range(1, 2 * count, 2)}

    def listen(self, on_refresh, max_delay=60):
        """Call `on_refresh()` on every change in the account, forever; reconnect with back-off.
        Stops only with VaristoreError (the key was refused)."""
        delay = 1
        while True:
            refreshes = Refreshes(self)
            try:
                refreshes.open()
                delay = 1
                while True:
                    if refreshes.wait(PING_EVERY):
                        on_refresh()
            except OSError as exc:
                print(f"varistore: websocket lost ({exc}); again in {delay} s")
            finally:
                refreshes.close()
            time.sleep(delay)
            delay = min(delay * 2, max_delay)


class Refreshes:
    """One WebSocket to the gateway: `open()`, then `wait(seconds)` for a `refresh` (pings on its own)."""

    def __init__(self, client):
        self.client = client
        self.sock = None
        self.buffer = b""
        self.ping_at = 0
        self.pong_due = 0  # 0: no `ping` waiting for its `pong`

    def open(self):
        """Connect, upgrade to a WebSocket on /ws and send the key; returns once the gateway said `ok`."""
        self.sock = self.client.connect(self.client.ws_port)
        nonce = bytes(random.getrandbits(8) for _ in range(16))
        request = (
            f"GET /ws HTTP/1.1\r\nHost: {self.client.host}:{self.client.ws_port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {binascii.b2a_base64(nonce).decode().strip()}\r\n\r\n"
        )
        _send_all(self.sock, request.encode())
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise OSError("no WebSocket at /ws: " + status.decode())
        self.send("key " + self.client.key)
        self.ping_at = time.time() + PING_EVERY
        while True:
            text = self._next_text()
            if text == "ok":
                return
            if text.startswith("error_"):
                raise VaristoreError(text)

    def wait(self, seconds):
        """True when a `refresh` arrives within `seconds`, False otherwise; OSError when the connection is lost
        (closed, or a `ping` left without `pong` for the client's timeout: Wi-Fi gone)."""
        deadline = time.time() + seconds
        while True:
            text = self._frame()
            if text == "refresh":
                return True
            if text == "pong":
                self.pong_due = 0
            if text is not None:
                continue
            now = time.time()
            if self.pong_due and now >= self.pong_due:
                raise OSError("no pong: connection lost")
            if now >= self.ping_at:
                self.send("ping")
                self.ping_at = now + PING_EVERY
                self.pong_due = self.pong_due or now + self.client.timeout
            if now >= deadline:
                return False
            self.sock.settimeout(max(min(deadline, self.ping_at, self.pong_due or deadline) - now, 0.1))
            try:
                self._receive()
            except OSError as exc:
                if not _timed_out(exc):
                    raise

    def send(self, text, opcode=1):
        """A masked frame (every client frame is masked), text unless told."""
        payload = text.encode() if isinstance(text, str) else text
        mask = bytes(random.getrandbits(8) for _ in range(4))
        # The protocol's frames are short: a one-byte length (under 126).
        masked = bytes(byte ^ mask[i & 3] for i, byte in enumerate(payload))
        _send_all(self.sock, bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _receive(self):
        chunk = self.sock.recv(256)
        if not chunk:
            raise OSError("closed by the gateway")
        self.buffer += chunk

    def _next_text(self):
        while True:
            frame = self._frame()
            if frame is not None:
                return frame
            self._receive()

    def _frame(self):
        """Take the next complete frame from the buffer: its text, "" for a control frame, None if incomplete."""
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
        opcode, payload = data[0] & 15, data[start : start + size]
        self.buffer = data[start + size :]
        if opcode == 8:
            raise OSError("closed by the gateway")
        if opcode == 9:
            self.send(payload, opcode=10)  # a protocol ping gets its pong
        return payload.decode().strip() if opcode == 1 else ""


def _self_check():
    import os
    import sys

    def env(name, default=None):
        value = os.getenv(name) or default
        if value is None:
            print("set VARISTORE_HOST, VARISTORE_KEY and VARISTORE_ID (VARISTORE_PORT: 80, VARISTORE_WS_PORT: 8001)")
            sys.exit(2)
        return value

    vs = Varistore(
        env("VARISTORE_HOST"), env("VARISTORE_KEY"), int(env("VARISTORE_PORT", 80)), int(env("VARISTORE_WS_PORT", 8001))
    )
    var = env("VARISTORE_ID")
    value = sys.argv[1] if len(sys.argv) > 1 else str(int(time.time()) % 100000)
    refreshes = Refreshes(vs)
    try:
        refreshes.open()
        print("websocket: ok")
        vs.write(var, value)
        print("write", value + ": success")
        read = vs.read(var)
        print("read:", read)
        if read != value and float(read) != float(value):
            raise OSError("read back " + read + ", not " + value)
        latest = vs.latest()
        print("slatest:", len(latest), "variables,", var, "=", latest.get(var))
        if latest.get(var) != read:
            raise OSError("slatest does not hold " + var)
        if not refreshes.wait(30):
            raise OSError("no refresh within 30 s")
        print("refresh: received")
    except VaristoreError as exc:
        print("refused:", exc.args[0])
        sys.exit(4 if exc.args[0] == "error_cooldown" else 1)
    except (OSError, ValueError) as exc:
        print("failed:", exc)
        sys.exit(3)
    finally:
        refreshes.close()
    print("self-check passed")


if __name__ == "__main__":
    _self_check()
