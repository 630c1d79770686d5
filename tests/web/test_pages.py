"""Every page and form of the dashboard, in-process: accounts by email, CSRF, tenancy, throttles,
email change, deletion, and that the protocol endpoint `/` is untouched by any of it."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from service.app import create_app
from tests.mailbox import Mailbox
from tests.support import Db
from tests.web.conftest import BASE, PASSWORD, Person, person_of, web_settings

pytestmark = pytest.mark.anyio


def new_email() -> str:
    return f"web-{uuid.uuid4().hex[:12]}@example.com"


async def value(db: Db, sql: str, *args: object) -> Any:
    """One value from the test database, off the event loop (Db runs a loop of its own)."""
    return await asyncio.to_thread(db.fetchval, sql, *args)


async def protocol(person: Person, **params: str) -> dict[str, object]:
    response = await person.client.get("/", params=params)
    assert response.status_code == 200
    data: dict[str, object] = response.json()
    return data


async def create_variable(person: Person, name: str = "Temperature", type_: str = "float") -> str:
    await person.get("/app/variables")
    response = await person.post("/app/variables", {"name": name, "type": type_, "graph": "on"})
    assert response.status_code == 303, response.text
    return response.headers["location"].split("#variable-")[1]


# -- Signing up, confirming, logging in -----------------------------------------------------------------


async def test_sign_up_confirm_by_email_then_the_key_works(person: Person) -> None:
    email = new_email()
    await person.get("/app/signup")
    response = await person.post("/app/signup", {"email": email, "password": PASSWORD})
    assert "Check your email" in response.text

    message = await person.email_to(email)
    text = message.get_body(("plain",))
    assert text is not None and "/app/confirm?token=" in text.get_content()
    link = person.mailbox.first_link(message).removeprefix(BASE)

    page = await person.get(link)
    assert page.status_code == 200 and "Confirm my account" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    shown = await person.post("/app/confirm", {"token": token.group(1)})
    key = re.search(r'data-testid="api-key">([A-Za-z0-9]{16})<', shown.text)
    assert key, shown.text
    assert (await protocol(person, key=key.group(1), action="list"))["result"] == "success"

    # The link works once.
    again = await person.get(link)
    assert again.status_code == 404 and "Confirm my account" not in again.text
    # The account page shows only the key's first characters from now on.
    account = await person.get("/app/account")
    assert key.group(1) not in account.text and key.group(1)[:4] in account.text


async def test_before_confirmation_the_api_answers_unconfirmed(person: Person, db: Db) -> None:
    email = new_email()
    await person.get("/app/signup")
    await person.post("/app/signup", {"email": email, "password": PASSWORD})
    await person.email_to(email)
    assert await value(db, "SELECT confirmed FROM accounts WHERE email = $1", email) is False
    response = await person.log_in(email)
    assert response.status_code == 303
    page = await person.get("/app/variables")
    assert "Confirm your email" in page.text


async def test_sign_up_answers_the_same_for_a_taken_email(person: Person, other: Person) -> None:
    email = new_email()
    await person.sign_up(email)
    await other.get("/app/signup")
    again = await other.post("/app/signup", {"email": email, "password": "another password"})
    fresh_email = new_email()
    await other.get("/app/signup")
    fresh = await other.post("/app/signup", {"email": fresh_email, "password": "another password"})
    assert again.status_code == fresh.status_code == 200
    assert _without(again.text, email) == _without(fresh.text, fresh_email)
    # The owner of the address hears of it instead of a second account.
    notice = await person.email_to(email)
    assert "already has an account" in (notice.get_body(("plain",)) or notice).get_content()


def _without(page: str, email: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", page.replace(email, "EMAIL"))


async def test_log_in_answers_the_same_for_an_unknown_email_and_a_wrong_password(person: Person) -> None:
    email = new_email()
    await person.sign_up(email)
    wrong = await person.log_in(email, "not the password")
    unknown = await person.log_in(new_email(), "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or the password is wrong." in wrong.text and "The email or the password is wrong." in unknown.text


async def test_log_out_kills_the_cookie(person: Person) -> None:
    await person.sign_up(new_email())
    cookie = person.client.cookies.get("varistore_session")
    assert cookie
    await person.get("/app/variables")
    await person.post("/app/logout")
    assert "varistore_session" not in person.client.cookies
    stale = await person.client.get("/app/variables", headers={"cookie": f"varistore_session={cookie}"})
    assert stale.status_code == 303 and stale.headers["location"].startswith("/app/login")


async def test_reset_the_password_by_email(person: Person) -> None:
    email = new_email()
    await person.sign_up(email)
    await person.get("/app/reset")
    answer = await person.post("/app/reset", {"email": email})
    await person.get("/app/reset")
    unknown = await person.post("/app/reset", {"email": new_email()})
    assert answer.status_code == unknown.status_code == 200
    page = await person.get(await person.link_to(email))
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    done = await person.post("/app/reset/new", {"token": token.group(1), "password": "a brand new one"})
    assert done.status_code == 303
    assert (await person.log_in(email, PASSWORD)).status_code == 401
    assert (await person.log_in(email, "a brand new one")).status_code == 303


# -- CSRF -----------------------------------------------------------------------------------------------

FORMS = [
    "/app/logout",
    "/app/account/key",
    "/app/account/settings",
    "/app/account/password",
    "/app/account/email",
    "/app/account/sessions",
    "/app/account/delete",
    "/app/socket-token",
    "/app/variables",
]


@pytest.mark.parametrize("path", FORMS)
async def test_a_form_without_its_csrf_token_is_refused(person: Person, path: str) -> None:
    key = await person.sign_up(new_email())
    await person.get("/app/variables")
    response = await person.post(path, {"password": PASSWORD, "name": "x", "type": "int"}, csrf=False)
    assert response.status_code == 403
    # Nothing changed: the key still works, the session still lives.
    assert (await protocol(person, key=key, action="list"))["result"] == "success"
    assert (await person.get("/app/variables")).status_code == 200


async def test_a_form_from_another_site_is_refused(person: Person) -> None:
    await person.sign_up(new_email())
    await person.get("/app/variables")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await person.client.post("/app/account/key", data={"csrf": person.csrf}, headers=headers)
        assert response.status_code == 403


async def test_anonymous_forms_need_their_token_too(person: Person) -> None:
    await person.get("/app/login")
    response = await person.post("/app/login", {"email": new_email(), "password": "x"}, csrf=False)
    assert response.status_code == 403


# -- Tenancy --------------------------------------------------------------------------------------------


async def test_another_accounts_variable_is_404_in_every_url(person: Person, other: Person, db: Db) -> None:
    await person.sign_up(new_email())
    var_id = await create_variable(person, "Secret sensor")
    await person.get("/app/variables")
    await other.sign_up(new_email())
    await other.get("/app/variables")
    for path in ("", "/chart.svg", "/history.csv", "/graph"):
        response = await other.get(f"/app/variables/{var_id}{path}")
        assert response.status_code == 404, path
        assert "Secret sensor" not in response.text
    for what in ("up", "down", "write", "toggle", "public", "edit", "transfer", "delete"):
        await other.get("/app/variables")
        response = await other.post(f"/app/variables/{var_id}/{what}", {"value": "1", "name": "x", "type": "int"})
        assert response.status_code == 404, what
    assert await value(db, "SELECT name FROM variables WHERE id = $1", var_id) == "Secret sensor"
    listing = await other.get("/app/variables.json")
    assert listing.json()["list"] == []


async def test_a_session_cookie_acts_only_as_its_own_account(person: Person, other: Person) -> None:
    await person.sign_up(new_email())
    var_id = await create_variable(person)
    await other.sign_up(new_email())
    theirs = other.client.cookies.get("varistore_session")
    page = await person.client.get("/app/variables", headers={"cookie": f"varistore_session={theirs}"})
    assert var_id not in page.text


# -- The variables page ---------------------------------------------------------------------------------


async def test_create_write_toggle_move_and_delete_from_the_page(person: Person) -> None:
    key = await person.sign_up(new_email())
    first = await create_variable(person, "Temperature")
    switch = await create_variable(person, "Lamp", "bool")
    await person.get("/app/variables")
    assert (await person.post(f"/app/variables/{first}/write", {"value": "21.5"})).status_code == 303
    assert (await protocol(person, key=key, action="read", id=first))["value"] == 21.5
    assert (await person.post(f"/app/variables/{switch}/toggle")).status_code == 303
    assert (await protocol(person, key=key, action="read", id=switch))["value"] is True
    # Too soon again: the page says why, and nothing changed.
    again = await person.post(f"/app/variables/{first}/write", {"value": "30"})
    assert again.status_code == 400 and "Too soon" in again.text
    assert (await person.post(f"/app/variables/{switch}/up")).status_code == 303
    assert (await protocol(person, key=key, action="list"))["list"] == [switch, first]
    assert (await person.post(f"/app/variables/{first}/public", {"public": "true"})).status_code == 303
    assert (await protocol(person, key=key, action="info", id=first))["public"] is True
    page = await person.get("/app/variables")
    assert f'data-testid="variable-{first}"' in page.text
    assert re.search(f'data-testid="value-{first}"[^>]*>21.5<', page.text)
    assert (await person.post(f"/app/variables/{first}/delete")).status_code == 303
    assert (await protocol(person, key=key, action="list"))["list"] == [switch]


async def test_edit_from_the_variable_page_keeps_what_is_left_out_and_clears_an_emptied_unit(person: Person) -> None:
    key = await person.sign_up(new_email())
    await person.get("/app/variables")
    made = await person.post("/app/variables", {"name": "Inside", "type": "float", "unit": "°C", "graph": "on"})
    var_id = made.headers["location"].split("#variable-")[1]
    await person.get(f"/app/variables/{var_id}")
    fields = {"back": "variable", "type": "float", "name": "Outside", "unit": "", "description": "north wall"}
    edited = await person.post(f"/app/variables/{var_id}/edit", {**fields, "min": "", "max": "40", "graph": "on"})
    assert edited.status_code == 303 and edited.headers["location"] == f"/app/variables/{var_id}"
    info = await protocol(person, key=key, action="info", id=var_id)
    assert (info["name"], info["unit"], info["description"], info["max"]) == ("Outside", "", "north wall", 40.0)
    assert (info["graph"], info["perc"], info["public"]) == (True, False, False)

    await person.get(f"/app/variables/{var_id}")
    refused = await person.post(f"/app/variables/{var_id}/edit", {**fields, "name": "", "back": "variable"})
    assert refused.status_code == 400 and "Outside" in refused.text
    assert (await protocol(person, key=key, action="info", id=var_id))["name"] == "Outside"


async def test_a_bad_value_is_refused_with_the_reason(person: Person) -> None:
    await person.sign_up(new_email())
    var_id = await create_variable(person, "Count", "int")
    await person.get("/app/variables")
    response = await person.post(f"/app/variables/{var_id}/write", {"value": "not a number"})
    assert response.status_code == 400 and "not valid" in response.text


async def test_the_variable_page_chart_and_csv(person: Person) -> None:
    key = await person.sign_up(new_email())
    var_id = await create_variable(person, "Humidity")
    await protocol(person, key=key, action="write", id=var_id, value="55.5")
    page = await person.get(f"/app/variables/{var_id}")
    assert page.status_code == 200 and "Humidity" in page.text
    assert key not in page.text
    chart = await person.get(f"/app/variables/{var_id}/chart.svg?range=1h&tz=Europe/Zagreb")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    csv_answer = await person.get(f"/app/variables/{var_id}/history.csv")
    lines = csv_answer.text.splitlines()
    assert lines[0] == "time,unix_time,value" and lines[1].endswith(",55.5")
    png = await person.get(f"/app/variables/{var_id}/graph?width=400&height=300")
    assert png.headers["content-type"] == "image/png"
    bmp = await person.get(f"/app/variables/{var_id}/graph?width=296&height=128&eink=true")
    assert bmp.headers["content-type"] == "image/bmp"
    # The previews at sizes of one's choosing, with the URL for that size; an unknown size is the first.
    sized = await person.get(f"/app/variables/{var_id}?eink=800x480&png=999x1")
    assert f"action=sgraph&amp;id={var_id}&amp;width=800&amp;height=480&amp;eink=true" in sized.text
    assert f"action=sgraph&amp;id={var_id}&amp;width=256&amp;height=280<" in sized.text


# -- The account page -----------------------------------------------------------------------------------


async def test_change_the_email_after_confirming_the_new_address(person: Person, db: Db) -> None:
    email, new = new_email(), new_email()
    await person.sign_up(email)
    await person.get("/app/account")
    wrong = await person.post("/app/account/email", {"email": new, "password": "wrong password"})
    assert wrong.status_code == 401
    assert (await person.post("/app/account/email", {"email": new, "password": PASSWORD})).status_code == 303
    page = await person.get(await person.link_to(new))
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    done = await person.post("/app/email", {"token": token.group(1)})
    assert new in done.text
    assert await value(db, "SELECT count(*) FROM accounts WHERE email = $1", new) == 1
    assert (await person.log_in(new)).status_code == 303


async def test_change_the_password_ends_other_sessions(person: Person, other: Person) -> None:
    email = new_email()
    await person.sign_up(email)
    await other.log_in(email)
    assert (await other.get("/app/variables")).status_code == 200
    await person.get("/app/account")
    assert (
        await person.post("/app/account/password", {"password": PASSWORD, "new_password": "brand new pw"})
    ).status_code == 303
    assert (await other.get("/app/variables")).status_code == 303  # logged out
    assert (await person.get("/app/variables")).status_code == 200  # this one kept


async def test_sessions_are_listed_and_can_be_ended(person: Person, other: Person) -> None:
    email = new_email()
    await person.sign_up(email)
    await other.log_in(email)
    page = await person.get("/app/account")
    ids = re.findall(r'data-testid="session-(\d+)"', page.text)
    assert len(ids) == 2
    await person.post("/app/account/sessions", {"session": "others"})
    assert (await other.get("/app/account")).status_code == 303


async def test_lock_and_transfers_settings(person: Person) -> None:
    key = await person.sign_up(new_email())
    await person.get("/app/account")
    await person.post("/app/account/settings", {"locked": "on", "transfers": "on"})
    assert (await protocol(person, key=key, action="create", type="int", name="x"))["result"] == "error_locked"
    page = await person.get("/app/variables")
    assert "locked" in page.text


async def test_delete_the_account_removes_everything(person: Person, db: Db) -> None:
    email = new_email()
    key = await person.sign_up(email)
    var_id = await create_variable(person)
    await protocol(person, key=key, action="write", id=var_id, value="1.5")
    account_id = await value(db, "SELECT id FROM accounts WHERE email = $1", email)
    await person.get("/app/account")
    assert (await person.post("/app/account/delete", {"password": "wrong"})).status_code == 401
    assert await value(db, "SELECT count(*) FROM accounts WHERE id = $1", account_id) == 1
    done = await person.post("/app/account/delete", {"password": PASSWORD})
    assert done.status_code == 200 and "deleted" in done.text
    for table in ("accounts", "variables", "history", "variable_ids", "sessions", "email_tokens"):
        column = "id" if table == "accounts" else "account_id"
        assert await value(db, f"SELECT count(*) FROM {table} WHERE {column} = $1", account_id) == 0, table
    assert (await protocol(person, key=key, action="list"))["result"] == "error_invalid_key"


# -- Throttles ------------------------------------------------------------------------------------------


async def test_log_in_is_throttled_per_account_and_per_address(db_url: str, mailbox: Mailbox) -> None:
    settings = web_settings(mailbox, limit_per_ip_accounts="6/minute", limit_per_account="3/minute")
    app = create_app(settings, db_url)
    async with LifespanManager(app) as manager:
        someone = person_of(manager.app, mailbox)
        async with someone.client:
            target = new_email()
            statuses = [(await someone.log_in(target, "guess")).status_code for _ in range(4)]
            assert statuses == [401, 401, 401, 429]
            # Another email from the same address: the address's own limit comes next.
            statuses = [(await someone.log_in(new_email(), "guess")).status_code for _ in range(3)]
            assert statuses == [401, 401, 429]


# -- The protocol endpoint is untouched -------------------------------------------------------------------


async def test_root_is_a_page_for_browsers_and_the_protocol_for_everything_else(person: Person) -> None:
    page = await person.client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and "/app/signup" in page.text
    device = await person.client.get("/")
    assert device.status_code == 200 and device.json() == {"result": "error_no_request"}
    with_query = await person.client.get("/?action=list", headers={"Accept": "text/html"})
    assert with_query.json() == {"result": "error_invalid_key"}
    assert "set-cookie" not in device.headers and "set-cookie" not in with_query.headers


async def test_unknown_pages_are_404_pages(person: Person) -> None:
    response = await person.get("/app/nothing-here")
    assert response.status_code == 404 and "Not found" in response.text
