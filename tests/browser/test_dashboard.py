"""The dashboard in a real headless Chromium against the real `varistore serve` and a real SMTP server:
a new user's whole first visit, and a screenshot of every page on a phone and on a desktop.

Debian's chromium is driven by Playwright (no browser download). Screenshots go to
$VARISTORE_SCREENSHOTS (default .artifacts/screenshots) for people to look at.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.harness import (
    ROOT,
    Running,
    debian_package,
    free_port,
    http_client,
    scaled,
    settings_env,
    throwaway_database,
    varistore,
)
from tests.mailbox import Mailbox

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# What works on a machine without a network (Chromium's background services would dial out).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE, DESKTOP = (390, 844), (1280, 900)
SHOTS = Path(os.environ.get("VARISTORE_SCREENSHOTS", ROOT / ".artifacts" / "screenshots"))
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Browser]:
    """Headless Chromium, opened after `served` and closed before it: Playwright's sync API runs an event
    loop on this thread while it is open, and the server's set-up and tear-down call asyncio.run."""
    chromium = debian_package(CHROMIUM, "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Served:
    def __init__(self, base: str, process: Running, mailbox: Mailbox) -> None:
        self.base = base
        self.process = process
        self.mailbox = mailbox
        self.http = http_client(base)

    def call(self, **params: str) -> dict[str, object]:
        answer = self.http.get("/", params=params)
        assert answer.status_code == 200, answer.text
        data: dict[str, object] = answer.json()
        return data

    def link_to(self, email: str) -> str:
        message = self.mailbox.wait_for(email, within=scaled(30))
        link = self.mailbox.first_link(message)
        assert link.startswith(self.base), link
        return link


def sign_up_and_confirm(page: Page, served: Served, email: str) -> None:
    """Sign up with `email` and PASSWORD and follow the emailed link: the page then shows the key."""
    page.goto(served.base + "/app/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.goto(served.link_to(email))
    page.get_by_role("button", name="Confirm my account").click()


@contextlib.contextmanager
def serving(admin_url: str, mailbox: Mailbox, **settings: Any) -> Iterator[Served]:
    """`varistore serve` on a database of its own, sending mail to `mailbox`, with `settings`."""
    port, gateway_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    with throwaway_database(admin_url, migrate=False) as url:
        env = {
            "DATABASE_URL": url,
            **settings_env(public_url=base, log_level="warning", **settings),
            **mailbox.env(),
        }
        process = Running(
            varistore("serve", "--port", str(port), "--gateway-port", str(gateway_port)), env, name="varistore serve"
        )
        try:
            process.line_starting("Varistore is ready", within=60)
            served = Served(base, process, mailbox)
            yield served
            served.http.close()
        finally:
            process.stop()


@pytest.fixture(scope="module")
def served(admin_url: str, mailbox: Mailbox) -> Iterator[Served]:
    # One write a second, so that a test can write several values (cooldown = expire / points).
    with serving(admin_url, mailbox, plan_max_history_points=100_000, plan_min_cooldown=1) as served:
        yield served


# Every chart drawn for about the width it shows at, and loaded: app.js draws a chart again after a resize.
CHARTS_FIT = """() => [...document.querySelectorAll("img[data-chart]")].every((img) => {
  const drawn = Number(new URL(img.src).searchParams.get("w"));
  return img.complete && img.naturalWidth > 0 && Math.abs(img.clientWidth - drawn) <= drawn / 6;
})"""


NATURAL_SIZE = "img => img.complete && img.naturalWidth > 0 && img.clientWidth === img.naturalWidth"


def shoot(page: Page, name: str) -> None:
    """The page as it looks now, at a phone's width and at a desktop's."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(CHARTS_FIT, timeout=scaled(10) * 1000)
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})


def test_a_new_users_first_visit(browser: Browser, served: Served) -> None:
    email = f"maker-{os.urandom(4).hex()}@example.com"
    context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]}, accept_downloads=True)
    context.set_default_timeout(scaled(15) * 1000)
    page = context.new_page()

    # The root URL, opened by a browser, leads to the dashboard; devices still get the protocol there.
    page.goto(served.base + "/")
    shoot(page, "landing")
    assert served.http.get("/").json() == {"result": "error_no_request"}

    # Sign up, and confirm with the link the SMTP server received.
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    shoot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    shoot(page, "check-email")
    page.goto(served.link_to(email))
    shoot(page, "confirm")
    page.get_by_role("button", name="Confirm my account").click()
    key = page.get_by_test_id("api-key").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{16}", key)
    shoot(page, "key")

    # Create a variable on the page, write to it from "a device", and watch the open page follow.
    page.goto(served.base + "/app/variables")
    page.get_by_label("Name").fill("Temperatura – Đakovo")
    page.get_by_label("Type").select_option("float")
    page.get_by_label("Unit").fill("°C")
    page.get_by_role("button", name="Create").click()
    row = page.locator("[data-testid^='variable-']").first
    var_id = (row.get_attribute("data-testid") or "").removeprefix("variable-")
    expect(page.locator("[data-live-state]")).to_have_text("Values update live.")
    assert served.call(key=key, action="write", id=var_id, value="21.5")["result"] == "success"
    expect(page.get_by_test_id(f"value-{var_id}")).to_have_text("21.5", timeout=scaled(1) * 1000)
    shoot(page, "variables")

    # A second value a second later, written by hand on the page.
    page.wait_for_timeout(1100)
    page.get_by_label("New value of Temperatura – Đakovo").fill("22.25")
    page.get_by_role("button", name="Write").click()
    expect(page.get_by_test_id(f"value-{var_id}")).to_have_text("22.25")

    # The variable's page: its chart, its values, and the CSV of its history.
    page.get_by_role("link", name="Temperatura – Đakovo").click()
    chart = page.locator("img[data-chart]")
    expect(chart).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
    shoot(page, "variable")
    # The device graphs show at their own pixels on a phone too: a scaled 1-bit picture loses columns of its text.
    for width, height in (PHONE, DESKTOP):
        page.set_viewport_size({"width": width, "height": height})
        for preview in page.locator(".previews img").element_handles():
            preview.scroll_into_view_if_needed()
            page.wait_for_function(NATURAL_SIZE, arg=preview)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the history (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert rows[0] == ["time", "unix_time", "value"]
    assert [r[2] for r in rows[1:]] == ["21.5", "22.25"]

    page.goto(served.base + "/app/docs")
    expect(page.get_by_role("heading", name="API", exact=True)).to_be_visible()
    assert key not in page.content()  # examples name the key, never show it
    shoot(page, "docs")

    # A new key: shown once, and the old one stops working at once.
    page.goto(served.base + "/app/account")
    shoot(page, "account")
    page.get_by_role("button", name="Regenerate key").click()
    new_key = page.get_by_test_id("api-key").inner_text().strip()
    assert new_key != key
    assert served.call(key=key, action="read", id=var_id)["result"] == "error_invalid_key"
    assert served.call(key=new_key, action="read", id=var_id)["value"] == 22.25

    # Log out: the old cookie is dead.
    cookie = next(c for c in context.cookies() if c["name"] == "varistore_session")
    page.goto(served.base + "/app/variables")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shoot(page, "login")
    stale = served.http.get("/app/variables", headers={"cookie": f"varistore_session={cookie['value']}"})
    assert stale.status_code == 303 and stale.headers["location"].startswith("/app/login")

    # Forgot the password: reset it by email, and log in with the new one.
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    shoot(page, "reset")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(served.link_to(email))
    page.get_by_label("Password").fill("a new password 2")
    shoot(page, "new-password")
    page.get_by_role("button", name="Set the password").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a new password 2")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Variables")).to_be_visible()
    context.close()


def test_pages_work_with_javascript_off(browser: Browser, served: Served) -> None:
    """Everything but the live values: sign up, confirm, create, write, see the value, the chart."""
    email = f"nojs-{os.urandom(4).hex()}@example.com"
    context = browser.new_context(java_script_enabled=False, viewport={"width": PHONE[0], "height": PHONE[1]})
    context.set_default_timeout(scaled(15) * 1000)
    page = context.new_page()
    sign_up_and_confirm(page, served, email)
    expect(page.get_by_test_id("api-key")).to_be_visible()

    page.goto(served.base + "/app/variables")
    page.get_by_label("Name").fill("Lamp")
    page.get_by_label("Type").select_option("bool")
    page.get_by_role("button", name="Create").click()
    var_id = (page.locator("[data-testid^='variable-']").first.get_attribute("data-testid") or "")[9:]
    page.get_by_role("button", name="Toggle").click()
    expect(page.get_by_test_id(f"value-{var_id}")).to_have_text("true")
    page.get_by_role("link", name="Lamp").click()
    chart = page.locator("img[data-chart]")
    expect(chart).to_be_visible()
    # The page's own scripts are off (and with them Playwright's polling in the page): fetch what it shows.
    drawn = page.request.get(served.base + (chart.get_attribute("src") or ""))
    assert drawn.ok and drawn.headers["content-type"].startswith("image/svg+xml")
    context.close()
