"""service/mail.py against a real SMTP server (tests/mailbox.py): each TLS mode, logging in, the
message's parts and headers, no SMTP host (the log instead), and servers that fail."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import psutil
import pytest

from service.core.logs import FORMAT, RedactingFormatter
from service.core.settings import Settings
from service.mail import Mailer, MailError, Message
from tests.harness import eventually_async, free_port, scaled
from tests.mailbox import Mailbox, first_link, html_of, text_of

pytestmark = pytest.mark.anyio

PASSWORD = "s3cret-Pa55-do-not-log"
LINK = "https://varistore.example/app/confirm?token=Tok3n-abc_DEF"
SUBJECT = "Potvrdite račun – Đakovo"
TEXT = f"Dobrodošli u Varistore! Čćžšđ ČĆŽŠĐ, «quotes» and an emoji 📈.\n\n{LINK}\n\nThe link works once.\n"


def new_address() -> str:
    return f"mail-{uuid.uuid4().hex[:10]}@example.com"


def settings_for(box: Mailbox | None = None, **overrides: Any) -> Settings:
    """Settings pointing at `box` (or at no SMTP host), whatever VARISTORE_SMTP_* says in the environment."""
    fields: dict[str, Any] = {
        "smtp_host": "",
        "smtp_port": 0,
        "smtp_tls": "none",
        "smtp_user": "",
        "smtp_password": None,
        "smtp_timeout": scaled(5),
        "mail_from": "Varistore <varistore@varistore.example>",
        **(box.settings() if box else {}),
        **overrides,
    }
    return Settings(_env_file=None, **fields)


def connected_to(port: int) -> bool:
    """Whether this process still has a TCP connection to `port`."""
    return any(c.raddr and c.raddr.port == port for c in psutil.Process().net_connections("tcp"))


def mailer_for(box: Mailbox, **overrides: Any) -> Mailer:
    context = box.client_tls_context() if box.certificate else None
    return Mailer(settings_for(box, **overrides), tls_context=context)


@pytest.fixture(params=["none", "starttls", "tls"])
def tls(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def secure_box(tls: str) -> Iterator[Mailbox]:
    with Mailbox(tls=tls, login=("postmaster", PASSWORD)) as box:  # type: ignore[arg-type]
        yield box


# -- Sending ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("login", [False, True], ids=["anonymous", "login"])
async def test_send_over_each_tls_mode_arrives(tls: str, login: bool) -> None:
    with Mailbox(tls=tls, login=("postmaster", PASSWORD) if login else None) as box:  # type: ignore[arg-type]
        to = new_address()
        await mailer_for(box).send(Message(to, "Confirm your Varistore account", f"Follow {LINK}\n"))
        received = box.received_by(to)
    assert received.encrypted is (tls != "none")
    assert received.login == ("postmaster" if login else None)
    assert received.recipients == (to,)
    assert received.sender == "varistore@varistore.example"
    assert first_link(received.message) == LINK


async def test_send_with_tls_none_never_starts_tls_though_offered() -> None:
    with Mailbox(tls="starttls", require_starttls=False) as box:
        to = new_address()
        await Mailer(settings_for(box, smtp_tls="none")).send(Message(to, "Plain", "text"))
        assert box.received_by(to).encrypted is False


async def test_send_with_tls_none_to_a_server_requiring_starttls_fails() -> None:
    with Mailbox(tls="starttls") as box:
        with pytest.raises(MailError):
            await Mailer(settings_for(box, smtp_tls="none")).send(Message(new_address(), "Plain", "text"))
        assert box.received == []


async def test_send_without_login_to_a_server_requiring_one_fails(secure_box: Mailbox) -> None:
    with pytest.raises(MailError, match="530"):
        await mailer_for(secure_box, smtp_user="", smtp_password=None).send(Message(new_address(), "S", "T"))
    assert secure_box.received == []


@pytest.mark.parametrize("tls", ["starttls", "tls"])
async def test_send_to_an_untrusted_certificate_fails(tls: str) -> None:
    with Mailbox(tls=tls) as box:  # type: ignore[arg-type]
        # No tls_context: the system's CAs, which never signed the test's certificate.
        with pytest.raises(MailError, match="(?i)certificate"):
            await Mailer(settings_for(box)).send(Message(new_address(), "S", "T"))
        assert box.received == []


@pytest.mark.parametrize(("tls", "port"), [("none", 25), ("starttls", 587), ("tls", 465)])
def test_port_zero_means_the_default_of_the_tls_mode(tls: str, port: int) -> None:
    assert Mailer(settings_for(smtp_tls=tls, smtp_port=0)).port == port
    assert Mailer(settings_for(smtp_tls=tls, smtp_port=2525)).port == 2525


# -- The message ------------------------------------------------------------------------------------


async def test_message_has_the_headers_and_one_plain_text_part(mailbox: Mailbox) -> None:
    to = new_address()
    mailer = Mailer(settings_for(mailbox))
    await mailer.send(Message(to, "Reset your Varistore password", TEXT))
    await mailer.send(Message(to, "Reset your Varistore password", TEXT))
    first, second = await mailbox.next_to(to), await mailbox.next_to(to)

    assert first["From"] == "Varistore <varistore@varistore.example>"
    assert first["To"] == to
    assert first["Subject"] == "Reset your Varistore password"
    assert abs(time.time() - parsedate_to_datetime(first["Date"]).timestamp()) < scaled(60)
    assert first["Message-ID"].startswith("<") and first["Message-ID"].endswith("@varistore.example>")
    assert first["Message-ID"] != second["Message-ID"]
    assert first.get_content_type() == "text/plain"
    assert LINK in text_of(first)
    assert html_of(first) is None


async def test_message_with_html_has_it_as_an_alternative_to_the_text(mailbox: Mailbox) -> None:
    to = new_address()
    html = f'<p>Dobrodošli! <a href="{LINK}">Potvrdite račun</a></p>'
    await Mailer(settings_for(mailbox)).send(Message(to, SUBJECT, TEXT, html))
    message = await mailbox.next_to(to)

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert text_of(message) == TEXT
    assert html_of(message) == html + "\n"  # set_content ends text with a newline
    assert first_link(message) == LINK


async def test_message_in_unicode_survives(tls: str) -> None:
    with Mailbox(tls=tls) as box:  # type: ignore[arg-type]
        to = new_address()
        mailer = mailer_for(box, mail_from="Varistore Đakovo <varistore@varistore.example>")
        await mailer.send(Message(to, SUBJECT, TEXT, f"<p>{TEXT}</p>"))
        message = await box.next_to(to)
    assert message["Subject"] == SUBJECT
    assert message["From"] == "Varistore Đakovo <varistore@varistore.example>"
    assert text_of(message) == TEXT
    assert html_of(message) == f"<p>{TEXT}</p>\n"


# -- No SMTP host: the log ----------------------------------------------------------------------------


async def test_send_without_smtp_host_logs_the_whole_email_at_warning(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="varistore.mail")
    to = new_address()
    before = len(mailbox.received)
    await Mailer(settings_for(None)).send(Message(to, SUBJECT, TEXT, "<p>not logged: the text has it all</p>"))

    [record] = [r for r in caplog.records if r.name == "varistore.mail"]
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert line.startswith(f"no SMTP host set (VARISTORE_SMTP_HOST): the email to {to} is written here instead:\n")
    assert f"To: {to}\nSubject: {SUBJECT}\n\n{TEXT}" in line
    assert LINK in line
    # As the service's log writes it: the link survives the redaction of secrets (the token is the
    # operator's to follow), while the same link in any other line is redacted.
    formatter = RedactingFormatter(FORMAT)
    assert LINK in formatter.format(record)
    other = logging.LogRecord("varistore", logging.INFO, __file__, 1, "GET %s", (LINK,), None)
    assert LINK not in formatter.format(other) and "token=***" in formatter.format(other)
    assert len(mailbox.received) == before


# -- Failures -----------------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog does) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("server", ["refusing", "silent"])
async def test_send_to_an_unreachable_server_raises_mail_error_in_time_and_logs_no_password(
    server: str, silent_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    timeout = scaled(0.5)
    port = silent_server if server == "silent" else free_port()
    mailer = Mailer(
        settings_for(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_tls="starttls",
            smtp_user="postmaster",
            smtp_password=PASSWORD,
            smtp_timeout=timeout,
        )
    )
    to = new_address()
    started = time.monotonic()
    with pytest.raises(MailError) as raised:
        # The outer bound only keeps a broken timeout from hanging the suite.
        await asyncio.wait_for(mailer.send(Message(to, "S", LINK)), timeout + scaled(5))
    assert time.monotonic() - started < timeout + scaled(2)

    assert to in str(raised.value)
    [record] = [r for r in caplog.records if r.name == "varistore.mail"]
    assert record.levelno == logging.ERROR
    assert f"to {to} through 127.0.0.1:{port} (tls starttls, user postmaster)" in record.getMessage()
    assert PASSWORD not in caplog.text and PASSWORD not in str(raised.value)


async def test_send_with_a_wrong_password_raises_mail_error_and_logs_no_password(
    secure_box: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + PASSWORD
    with pytest.raises(MailError) as raised:
        await mailer_for(secure_box, smtp_password=wrong).send(Message(new_address(), "S", "T"))
    # A TLS connection closes over a few more turns of the loop (the close_notify exchange): let it,
    # or the loop ends with the socket open and Python warns of it.
    await eventually_async(lambda: not connected_to(secure_box.port), 5, "the client's connection closed")
    assert "SMTPAuthenticationError" in str(raised.value)
    assert secure_box.received == []
    assert "varistore.mail" in {record.name for record in caplog.records}
    for secret in (wrong, PASSWORD):
        assert secret not in caplog.text


# -- The mailbox itself -------------------------------------------------------------------------------


def test_mailbox_wait_for_takes_each_message_once_and_times_out_listing_what_came(mailbox: Mailbox) -> None:
    to = new_address()
    asyncio.run(Mailer(settings_for(mailbox)).send(Message(to, "Only one", "text")))
    assert mailbox.wait_for(to.upper())["Subject"] == "Only one"
    with pytest.raises(AssertionError, match="Only one"):
        mailbox.wait_for(to, within=0.2)


def test_mailbox_env_points_a_process_at_it() -> None:
    with Mailbox(tls="tls", login=("postmaster", PASSWORD)) as box:
        env = box.env()
        assert box.certificate is not None
        assert env == {
            "VARISTORE_SMTP_HOST": "127.0.0.1",
            "VARISTORE_SMTP_PORT": str(box.port),
            "VARISTORE_SMTP_TLS": "tls",
            "VARISTORE_SMTP_USER": "postmaster",
            "VARISTORE_SMTP_PASSWORD": PASSWORD,
            "SSL_CERT_FILE": str(box.certificate.ca),
        }
        assert box.port > 0
