"""The dashboard's emails (sign-up confirmation, password reset, email change), sent over SMTP.

With no SMTP host set, an email is written to the log at WARNING instead, so that someone running
Varistore for themselves reads the link in the terminal (`varistore serve` shows warnings only).
Only the API process sends mail; the gateway never imports this module.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from service.core.logs import UNREDACTED
from service.core.records import record
from service.core.settings import Settings

log = logging.getLogger("varistore.mail")

# Port 0 in the settings means the usual one for the TLS mode: RFC 5321 (relay), RFC 6409
# (submission with STARTTLS) and RFC 8314 (submission over implicit TLS).
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}

# What a server that is down, slow, refusing or misconfigured raises; aiosmtplib's connection and
# timeout errors are OSError and TimeoutError too, and ssl.SSLError (a bad certificate) is an OSError.
SEND_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


class MailError(Exception):
    """An email was not sent. The reason is logged already; the caller decides what to tell the person."""


@record
class Message:
    to: str
    subject: str
    text: str  # always sent, and carries every link: mail clients that show no HTML exist
    html: str | None = None


class Mailer:
    """Sends a Message as the settings say: over SMTP, or into the log when `smtp_host` is empty."""

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        # Tests pass a context that trusts their own certificate; otherwise aiosmtplib builds the
        # default one, which trusts the system's CAs (and SSL_CERT_FILE when it is set).
        self._tls_context = tls_context

    @property
    def port(self) -> int:
        """The SMTP server's port: `smtp_port`, or the default of the TLS mode when it is 0."""
        return self._settings.smtp_port or DEFAULT_PORTS[self._settings.smtp_tls]

    def build(self, message: Message) -> EmailMessage:
        """`message` as it goes on the wire: headers, a plain-text part and, when given, an HTML alternative."""
        email = EmailMessage()
        email["From"] = self._settings.mail_from
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        # make_msgid's default domain is socket.getfqdn(), a DNS lookup that may hang: use ours.
        domain = parseaddr(self._settings.mail_from)[1].rpartition("@")[2] or "localhost"
        email["Message-ID"] = make_msgid(domain=domain)
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: Message) -> None:
        """Send `message`, or log it at WARNING when no SMTP host is set.

        Each step (connecting, the TLS handshake, every command) waits at most `smtp_timeout` seconds.

        Raises:
            MailError: the server could not be reached, refused the login or the message, or did
                not answer in time. The reason is logged, never the password.
        """
        settings = self._settings
        if not settings.smtp_host:
            log.warning(
                "no SMTP host set (VARISTORE_SMTP_HOST): the email to %s is written here instead:\n"
                "To: %s\nSubject: %s\n\n%s",
                message.to,
                message.to,
                message.subject,
                message.text,
                # Its link is for the person reading this log: not redacted (service/core/logs.py).
                extra={UNREDACTED: True},
            )
            return
        login = bool(settings.smtp_user)
        password = settings.smtp_password.get_secret_value() if login and settings.smtp_password else ""
        try:
            await aiosmtplib.send(
                self.build(message),
                hostname=settings.smtp_host,
                port=self.port,
                username=settings.smtp_user if login else None,
                password=password if login else None,
                use_tls=settings.smtp_tls == "tls",
                # False, not None: aiosmtplib's None upgrades whenever the server offers STARTTLS.
                start_tls=settings.smtp_tls == "starttls",
                tls_context=self._tls_context,
                timeout=settings.smtp_timeout,
            )
        except SEND_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.error(
                "could not send the email to %s through %s:%d (tls %s%s): %s",
                message.to,
                settings.smtp_host,
                self.port,
                settings.smtp_tls,
                f", user {settings.smtp_user}" if login else "",
                reason,
            )
            raise MailError(f"could not send the email to {message.to}: {reason}") from exc
