"""The dashboard's emails: plain text that always carries the link, as the person will read it."""

from __future__ import annotations

from service.mail import Message


def _hours(minutes: int) -> str:
    return f"{minutes // 60} hours" if minutes % 60 == 0 and minutes >= 120 else f"{minutes} minutes"


def confirm(email: str, link: str, minutes: int) -> Message:
    return Message(
        email,
        "Confirm your Varistore account",
        f"Welcome to Varistore!\n\nConfirm your email address and see your API key:\n\n{link}\n\n"
        f"The link works once, for {_hours(minutes)}. If you did not sign up, ignore this email.\n",
    )


def already_registered(email: str, base: str) -> Message:
    # Sent instead of a second account, so that the sign-up page never tells who has one.
    return Message(
        email,
        "Your Varistore account",
        "Someone, perhaps you, tried to sign up to Varistore with this address, which already has an account.\n\n"
        f"Log in: {base}/app/login\nForgot the password? {base}/app/reset\n\n"
        "If it was not you, ignore this email: nothing changed.\n",
    )


def reset(email: str, link: str, minutes: int) -> Message:
    return Message(
        email,
        "Reset your Varistore password",
        f"Choose a new password for your Varistore account:\n\n{link}\n\n"
        f"The link works once, for {_hours(minutes)}. If you did not ask, ignore this email: nothing changed.\n",
    )


def change_email(email: str, link: str, minutes: int) -> Message:
    return Message(
        email,
        "Confirm your new Varistore email address",
        f"Confirm that your Varistore account should use this address from now on:\n\n{link}\n\n"
        f"The link works once, for {_hours(minutes)}. If you did not ask, ignore this email: nothing changed.\n",
    )
