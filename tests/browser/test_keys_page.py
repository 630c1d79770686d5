"""The scoped keys page (issue 14) in a real headless Chromium against the real `varistore serve`: sign in,
make a key limited to one variable, see it once, use it as a device would, and revoke it.

Screenshots of the page with the new key and with the key listed go where test_dashboard.py puts its own
($VARISTORE_SCREENSHOTS), for people to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.test_dashboard import CHROMIUM, CHROMIUM_ARGS, DESKTOP, Served, serving, shoot, sign_up_and_confirm
from tests.harness import debian_package, scaled
from tests.mailbox import Mailbox

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(admin_url: str, mailbox: Mailbox) -> Iterator[Served]:
    with serving(admin_url, mailbox) as served:
        yield served


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Browser]:
    """Opened after `served` and closed before it, as in test_dashboard.py."""
    chromium = debian_package(CHROMIUM, "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_make_a_key_see_it_once_then_revoke_it(browser: Browser, served: Served) -> None:
    email = f"keys-{os.urandom(4).hex()}@example.com"
    context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    context.set_default_timeout(scaled(15) * 1000)
    page = context.new_page()

    # Sign up and confirm, then two variables: the key will reach only the first.
    sign_up_and_confirm(page, served, email)
    account_key = page.get_by_test_id("api-key").inner_text().strip()
    page.goto(served.base + "/app/variables")
    for name in ("Greenhouse", "Garage door"):
        page.get_by_label("Name").fill(name)
        page.get_by_role("button", name="Create").click()
    greenhouse = page.get_by_role("row").filter(has_text="Greenhouse").get_attribute("data-testid") or ""
    var_id = greenhouse.removeprefix("variable-")
    assert served.call(key=account_key, action="write", id=var_id, value="19.5")["result"] == "success"

    # The keys page, from the navigation: a read-only key for the greenhouse.
    page.get_by_role("navigation").get_by_role("link", name="Keys").click()
    expect(page.get_by_role("heading", name="Keys", exact=True)).to_be_visible()
    page.get_by_label("Label").fill("Greenhouse display")
    page.get_by_label("Only these:").check()
    page.get_by_label("Greenhouse").check()
    page.get_by_label("Write").uncheck()
    page.get_by_role("button", name="Create key").click()

    # Shown once, with a line to try it.
    key = page.get_by_test_id("scoped-key").inner_text().strip()
    assert re.fullmatch(r"vk_[A-Za-z0-9]{32}", key)
    expect(page.locator("pre.example")).to_have_text(
        f"curl '{served.base}/?key={key}&action=read&id={var_id}'", use_inner_text=True
    )
    row = page.locator("tbody tr").filter(has_text="Greenhouse display")
    expect(row).to_contain_text(f"{key[:7]}…")
    expect(row).to_contain_text("never")
    shoot(page, "keys-new")
    assert served.call(key=key, action="read", id=var_id)["value"] == 19.5
    assert served.call(key=key, action="write", id=var_id, value="1") == {"result": "error_invalid_key"}

    # Opened again, the page lists the key by its prefix only.
    page.goto(served.base + "/app/keys")
    expect(page.get_by_test_id("scoped-key")).to_have_count(0)
    assert key not in page.content()
    expect(row).to_contain_text("Greenhouse")
    expect(row).not_to_contain_text("Garage door")
    expect(row).to_contain_text("read")
    shoot(page, "keys-list")

    # Revoked: gone from the list, and refused at once.
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_have_text("Key revoked: it stopped working at once.")
    expect(page.locator("tbody tr")).to_have_count(0)
    assert served.call(key=key, action="read", id=var_id) == {"result": "error_invalid_key"}
    context.close()
