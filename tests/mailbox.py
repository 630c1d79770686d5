"""A real SMTP server for tests: aiosmtpd on its own thread, on 127.0.0.1 and a port of its choosing,
keeping every message it receives, parsed, for a test to wait for by recipient.

It speaks plain SMTP, STARTTLS or implicit TLS with a certificate made for the occasion (a CA and a
server certificate for 127.0.0.1 and localhost, by the `openssl` command), and may require a login.
A Varistore in this process trusts the certificate through `client_tls_context()`; one in another
process through `env()`, which sets SSL_CERT_FILE (read by ssl.create_default_context).

    with Mailbox(tls="starttls", login=("postmaster", "secret")) as mailbox:
        ... Settings(**mailbox.settings()) or Running(..., env=mailbox.env()) ...
        message = mailbox.wait_for("alice@example.com")  # or `await mailbox.next_to(...)`
        link = first_link(message)
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.harness import eventually, eventually_async, scaled

Tls = Literal["none", "starttls", "tls"]
HOST = "127.0.0.1"
WAIT = 10.0  # seconds (scaled) a wait for a message lasts unless told
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True, slots=True)
class Received:
    """A message as the server got it, with its envelope and how the session was secured."""

    message: EmailMessage
    sender: str  # MAIL FROM
    recipients: tuple[str, ...]  # RCPT TO
    login: str | None  # the user that logged in, if one did
    encrypted: bool  # over STARTTLS or implicit TLS


def text_of(message: EmailMessage) -> str:
    """The plain-text part of `message`, decoded."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, f"no text/plain part in {message.get_content_type()} message {message['Subject']!r}"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str | None:
    """The HTML part of `message`, decoded, or None."""
    part = message.get_body(preferencelist=("html",))
    return None if part is None else str(part.get_content())


def first_link(message: EmailMessage) -> str:
    """The first http(s) URL in the plain-text part of `message`."""
    found = _URL.search(text_of(message))
    assert found, f"no link in the email {message['Subject']!r}:\n{text_of(message)}"
    return found.group(0).rstrip(".,;:)")


@dataclass(frozen=True, slots=True)
class Certificate:
    ca: Path  # PEM, the one a client trusts
    chain: Path  # PEM, the server's certificate
    key: Path


def make_certificate(directory: Path) -> Certificate:
    """A CA and a server certificate it signed for 127.0.0.1 and localhost, valid for two days, in `directory`.

    A real chain rather than one self-signed certificate, since OpenSSL's strict checks (Python 3.13's
    default) refuse a CA certificate used as a server's.
    """
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    chain, key = directory / "server.pem", directory / "server.key"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
    commands = [
        [*ec, "-keyout", ca_key, "-out", ca, "-subj", "/CN=Varistore test CA"]
        + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [*ec, "-CA", ca, "-CAkey", ca_key, "-keyout", key, "-out", chain, "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"]
        + ["-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=serverAuth"],
    ]
    for command in commands:
        subprocess.run(["openssl", "req", "-x509", *map(str, command)], check=True, capture_output=True)
    return Certificate(ca, chain, key)


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: it reads the port it got before its self-test connects."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def cancel_tasks(self, stop_loop: bool = True) -> None:
        """Cancels the sessions and stops the loop once they have closed their connections.

        aiosmtpd's own stops the loop at once, so a session cancelled before the client's QUIT
        arrived could leave its transport closing, never closed: a ResourceWarning when collected.
        """
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()

        async def stop_when_closed() -> None:
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)  # the transports' connection_lost, scheduled as they closed
            if stop_loop:
                self.loop.stop()

        self.loop.create_task(stop_when_closed())


class Mailbox:
    """A running SMTP server and the messages it received (a context manager: stopped on exit)."""

    def __init__(
        self, *, tls: Tls = "none", login: tuple[str, str] | None = None, require_starttls: bool = True
    ) -> None:
        """
        Args:
            tls: "starttls" offers STARTTLS and refuses AUTH before it; "tls" is TLS from the first byte.
            login: (user, password) that a client must log in with before MAIL; None takes mail from anyone.
            require_starttls: with "starttls", refuse everything but EHLO, NOOP and QUIT before it; False
                only offers it.
        """
        self.tls: Tls = tls
        self.user, self.password = login or ("", "")
        self._received: list[Received] = []
        self._taken: set[int] = set()
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="varistore-mailbox-")
        self.certificate = make_certificate(Path(self._tmp.name)) if tls != "none" else None
        server_tls = None
        if self.certificate is not None:
            server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_tls.load_cert_chain(self.certificate.chain, self.certificate.key)
        self._controller = _Controller(
            _Handler(self),
            hostname=HOST,
            port=0,
            ready_timeout=scaled(10),
            ssl_context=server_tls if tls == "tls" else None,
            # SMTP's own parameters; a fixed hostname spares aiosmtpd a socket.getfqdn() lookup.
            server_hostname="localhost",
            tls_context=server_tls if tls == "starttls" else None,
            require_starttls=tls == "starttls" and require_starttls,
            authenticator=self._authenticate if login else None,
            # aiosmtpd counts only STARTTLS as TLS, and warns (an error in this suite) when AUTH is
            # required without it: so _Handler.handle_MAIL requires the login, whatever the TLS.
            auth_require_tls=tls == "starttls",
        )
        self.host = HOST
        self.port = 0

    # -- Running --------------------------------------------------------------------------------

    def start(self) -> Mailbox:
        self._controller.start()
        self.port = int(self._controller.port)
        return self

    def stop(self) -> None:
        try:
            self._controller.stop(no_assert=True)
        finally:
            self._tmp.cleanup()

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- Pointing Varistore at it ---------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """Settings fields for `Settings(**mailbox.settings(), ...)` in this process."""
        fields: dict[str, Any] = {"smtp_host": self.host, "smtp_port": self.port, "smtp_tls": self.tls}
        if self.user:
            fields.update(smtp_user=self.user, smtp_password=self.password)
        return fields

    def env(self) -> dict[str, str]:
        """Environment variables pointing a `varistore serve`/`api` process at this server (and trusting
        its certificate, through SSL_CERT_FILE, which then replaces the system's CAs in that process)."""
        env = {f"VARISTORE_{name.upper()}": str(value) for name, value in self.settings().items()}
        if self.certificate is not None:
            env["SSL_CERT_FILE"] = str(self.certificate.ca)
        return env

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and nothing else)."""
        assert self.certificate is not None, "a plain SMTP mailbox has no certificate"
        return ssl.create_default_context(cafile=str(self.certificate.ca))

    # -- Reading what arrived -------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        """Every message received so far, oldest first, taken or not."""
        with self._lock:
            return list(self._received)

    def wait_for(self, address: str, within: float = WAIT) -> EmailMessage:
        """The next message to `address` not yet taken, waiting up to `within` (scaled) seconds; for sync tests."""
        return self.received_by(address, within).message

    def received_by(self, address: str, within: float = WAIT) -> Received:
        """`wait_for`, with the envelope and the session's login and encryption."""
        found: list[Received] = []
        try:
            eventually(lambda: self._take(address, found), within, f"an email to {address}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; received: {self._summary()}") from None
        return found[0]

    async def next_to(self, address: str, within: float = WAIT) -> EmailMessage:
        """`wait_for` for async tests: polls without blocking the event loop."""
        found: list[Received] = []
        try:
            await eventually_async(lambda: self._take(address, found), within, f"an email to {address}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; received: {self._summary()}") from None
        return found[0].message

    text_of = staticmethod(text_of)
    html_of = staticmethod(html_of)
    first_link = staticmethod(first_link)

    def _take(self, address: str, found: list[Received]) -> bool:
        wanted = address.lower()
        with self._lock:
            for index, received in enumerate(self._received):
                if index not in self._taken and wanted in (rcpt.lower() for rcpt in received.recipients):
                    self._taken.add(index)
                    found.append(received)
                    return True
        return False

    def _summary(self) -> str:
        lines = [f"{', '.join(r.recipients)}: {r.message['Subject']!r}" for r in self.received]
        return "; ".join(lines) or "nothing"

    def _deliver(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.user.encode(),
            self.password.encode(),
        )
        # handled=False: aiosmtpd answers a failure with 535 itself (True would leave the client waiting).
        return AuthResult(success=ok, handled=False, auth_data=self.user if ok else None)


class _Handler:
    """aiosmtpd's handler: parses each message and hands it to the Mailbox (runs on the server's thread)."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._mailbox.user and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        # SMTP's CRLF line ends become "\n", as a mail client shows the text (and as Python wrote it).
        message = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        transport = server.transport
        self._mailbox._deliver(
            Received(
                message,
                str(envelope.mail_from),
                tuple(envelope.rcpt_tos),
                session.auth_data if session.authenticated else None,
                transport is not None and transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """A plain SMTP server for the module's tests; each waits for mail to its own random addresses."""
    with Mailbox() as box:
        yield box
