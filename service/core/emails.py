"""The email address of an account (DESIGN.md §3 "Accounts and limits"): one rule for every door
that makes an account — `varistore account create` now, the dashboard's sign-up later."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    """Not an email address an account may have; the message says why, in one sentence."""


def checked_email(text: str) -> str:
    """`text` as an account stores it: a valid address, normalised as email-validator does (the
    domain in lower case, Unicode in NFC). Only the syntax is checked, never DNS. Emails are unique
    case-insensitively; the database sees to that.

    Raises:
        InvalidEmail: `text` is not an email address (or names a domain that takes no mail, such
            as `localhost`).
    """
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
