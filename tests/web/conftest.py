"""The dashboard in-process: the app in the test's event loop, a real SMTP server for its emails, and a
client that behaves as a browser does with forms (cookies kept, each form's CSRF token sent back)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager

from service.app import create_app
from service.core.settings import Settings
from tests.harness import scaled
from tests.mailbox import Mailbox

BASE = "http://varistore.test"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Person:
    """One browser: its own cookies, the page it saw last, and the CSRF token that page carried."""

    def __init__(self, client: httpx.AsyncClient, mailbox: Mailbox) -> None:
        self.client = client
        self.mailbox = mailbox
        self.page = ""

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.page)
        assert found, "the last page had no form"
        return found.group(1)

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.client.get(path, **kwargs)  # type: ignore[arg-type]
        if response.headers.get("content-type", "").startswith("text/html"):
            self.page = response.text
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        """Submit a form as the browser would, with the token of the page last seen."""
        fields = {**({"csrf": self.csrf} if csrf else {}), **(data or {})}
        response = await self.client.post(path, data=fields)
        if response.headers.get("content-type", "").startswith("text/html"):
            self.page = response.text
        return response

    async def email_to(self, address: str) -> EmailMessage:
        return await anyio.to_thread.run_sync(lambda: self.mailbox.wait_for(address, within=scaled(20)))

    async def link_to(self, address: str) -> str:
        return self.mailbox.first_link(await self.email_to(address)).removeprefix(BASE)

    async def sign_up(self, email: str, password: str = PASSWORD) -> str:
        """Sign up and confirm by email: the API key the confirmation shows."""
        await self.get("/app/signup")
        response = await self.post("/app/signup", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        await self.get(await self.link_to(email))
        response = await self.post("/app/confirm", {"token": _token(self.page)})
        assert response.status_code == 200, response.text
        found = re.search(r'data-testid="api-key">([A-Za-z0-9]+)<', response.text)
        assert found
        return found.group(1)

    async def log_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/app/login")
        return await self.post("/app/login", {"email": email, "password": password})


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]*)"', page)
    assert found
    return found.group(1)


def web_settings(mailbox: Mailbox, **overrides: object) -> Settings:
    fields: dict[str, object] = {
        "pool_min_size": 1,
        "pool_max_size": 4,
        "limit_per_key": "",
        "limit_per_ip": "",
        "limit_per_ip_accounts": "",
        "limit_per_account": "",
        "public_url": BASE,
        "smtp_host": mailbox.host,
        "smtp_port": mailbox.port,
        "smtp_tls": "none",
        **overrides,
    }
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def web_app(db_url: str, mailbox: Mailbox) -> AsyncIterator[object]:
    app = create_app(web_settings(mailbox), db_url)
    async with LifespanManager(app) as manager:
        yield manager.app


def person_of(app: object, mailbox: Mailbox) -> Person:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE)  # type: ignore[arg-type]
    return Person(client, mailbox)


@pytest.fixture
async def person(web_app: object, mailbox: Mailbox) -> AsyncIterator[Person]:
    someone = person_of(web_app, mailbox)
    async with someone.client:
        yield someone


@pytest.fixture
async def other(web_app: object, mailbox: Mailbox) -> AsyncIterator[Person]:
    someone = person_of(web_app, mailbox)
    async with someone.client:
        yield someone
