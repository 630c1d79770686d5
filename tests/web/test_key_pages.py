"""The scoped keys page (issue 14), in-process: a key made on the page is shown once and works over the
VariPass protocol within its limits, the list shows only its prefix, revoking ends it at once, and the
forms keep the dashboard's CSRF and tenancy rules."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass

import pytest

from tests.support import Db
from tests.web.conftest import Person
from tests.web.test_pages import create_variable, new_email, protocol, value

pytestmark = pytest.mark.anyio

_SHOWN_KEY = re.compile(r'data-testid="scoped-key">(vk_[A-Za-z0-9]+)<')
_ROW = re.compile(r'data-testid="key-(\d+)"')


Form = dict[str, str | list[str]]  # a field sent several times (the variables' checkboxes) as a list


async def create_key(person: Person, fields: Form) -> tuple[str, int]:
    """Make a key on the page: the key shown once, and its id (its row is the newest)."""
    await person.get("/app/keys")
    response = await person.client.post("/app/keys", data={"csrf": person.csrf, **fields})
    person.page = response.text
    assert response.status_code == 200, response.text
    shown = _SHOWN_KEY.search(response.text)
    assert shown, response.text
    return shown.group(1), max(int(found) for found in _ROW.findall(response.text))


@dataclass(frozen=True)
class Owner:
    person: Person
    email: str
    first: str  # "Greenhouse", 21.5
    second: str  # "Garage", never written


@pytest.fixture
async def alice(person: Person) -> Owner:
    """A signed-up account with two variables, a value in the first."""
    email = new_email()
    key = await person.sign_up(email)
    first, second = await create_variable(person, "Greenhouse"), await create_variable(person, "Garage")
    assert (await protocol(person, key=key, action="write", id=first, value="21.5"))["result"] == "success"
    return Owner(person, email, first, second)


def row_of(page: str, key_id: int) -> str:
    return page.split(f'data-testid="key-{key_id}"')[1].split("</tr>")[0]


async def test_key_create_shown_once_and_works_over_the_protocol(alice: Owner) -> None:
    person, first, second = alice.person, alice.first, alice.second
    key, key_id = await create_key(
        person, {"label": "Greenhouse sensor", "scope": "some", "variable": [first], "read": "on"}
    )
    assert re.fullmatch(r"vk_[A-Za-z0-9]{32}", key)
    page = html.unescape(person.page)
    assert f"curl 'http://varistore.test/?key={key}&action=read&id={first}'" in page

    # The key reads its variable, and only that, and may not write.
    assert (await protocol(person, key=key, action="read", id=first))["value"] == 21.5
    assert await protocol(person, key=key, action="read", id=second) == {"result": "error_invalid_id"}
    assert await protocol(person, key=key, action="write", id=first, value="1") == {"result": "error_invalid_key"}

    # From now on the list shows its prefix, never the key.
    listed = await person.get("/app/keys")
    assert listed.status_code == 200
    assert key not in listed.text and f"{key[:7]}…" in listed.text
    row = row_of(listed.text, key_id)
    assert "Greenhouse sensor" in row and "Greenhouse" in row and "Garage" not in row
    assert ">read<" in row and "never" in row


async def test_key_create_all_variables_write_only(alice: Owner) -> None:
    person, first, second = alice.person, alice.first, alice.second
    key, key_id = await create_key(person, {"scope": "all", "write": "on"})
    assert "action=write" in html.unescape(person.page)
    assert (await protocol(person, key=key, action="write", id=second, value="5"))["result"] == "success"
    assert await protocol(person, key=key, action="read", id=first) == {"result": "error_invalid_key"}
    row = row_of((await person.get("/app/keys")).text, key_id)
    assert "all variables" in row and ">write<" in row


async def test_key_list_shows_when_a_key_was_last_used(alice: Owner, db: Db) -> None:
    person = alice.person
    _, key_id = await create_key(person, {"scope": "all", "read": "on"})
    # The API writes last-used times every 30 s; here, one written as it would be.
    await asyncio.to_thread(
        db.execute, "UPDATE scoped_keys SET last_used_at = now() - interval '5 minutes' WHERE id = $1", key_id
    )
    row = row_of((await person.get("/app/keys")).text, key_id)
    assert "5 min ago" in row and "never" not in row


@pytest.mark.parametrize(
    "fields",
    [
        {"scope": "some", "read": "on"},  # some variables, but none chosen
        {"scope": "all"},  # neither reading nor writing
        {"scope": "some", "variable": ["nosuchvariable1"], "read": "on"},
        {"label": "x" * 65, "read": "on"},
    ],
    ids=["no-variable", "no-access", "unknown-variable", "long-label"],
)
async def test_key_create_invalid_form_refused(alice: Owner, db: Db, fields: Form) -> None:
    person = alice.person
    await person.get("/app/keys")
    response = await person.client.post("/app/keys", data={"csrf": person.csrf, **fields})
    assert response.status_code == 400
    assert 'class="message error"' in response.text and "vk_" not in response.text.split("<h2")[0]
    assert _SHOWN_KEY.search(response.text) is None
    owner = await value(db, "SELECT id FROM accounts WHERE lower(email) = lower($1)", alice.email)
    assert await value(db, "SELECT count(*) FROM scoped_keys WHERE account_id = $1", owner) == 0


async def test_key_revoke_ends_it_at_once(alice: Owner) -> None:
    person, first = alice.person, alice.first
    key, key_id = await create_key(person, {"scope": "all", "read": "on", "write": "on"})
    assert (await protocol(person, key=key, action="read", id=first))["result"] == "success"

    response = await person.post(f"/app/keys/{key_id}/revoke")
    assert response.status_code == 303 and response.headers["location"] == "/app/keys?done=revoked"
    assert await protocol(person, key=key, action="read", id=first) == {"result": "error_invalid_key"}
    page = await person.get(response.headers["location"])
    assert "Key revoked" in page.text and f'data-testid="key-{key_id}"' not in page.text
    # Twice: there is no such key any more.
    assert (await person.post(f"/app/keys/{key_id}/revoke")).status_code == 404


async def test_key_forms_refused_without_csrf_token(alice: Owner, db: Db) -> None:
    person, first = alice.person, alice.first
    key, key_id = await create_key(person, {"scope": "all", "read": "on"})

    made = await person.client.post("/app/keys", data={"scope": "all", "read": "on"})
    assert made.status_code == 403 and "vk_" not in made.text
    revoked = await person.client.post(f"/app/keys/{key_id}/revoke")
    assert revoked.status_code == 403
    wrong = await person.client.post(f"/app/keys/{key_id}/revoke", data={"csrf": "not-the-token"})
    assert wrong.status_code == 403
    # Another site's form, with the right token (a browser says where it came from).
    await person.get("/app/keys")
    elsewhere = await person.client.post(
        f"/app/keys/{key_id}/revoke", data={"csrf": person.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403

    assert await value(db, "SELECT count(*) FROM scoped_keys WHERE id = $1", key_id) == 1
    assert (await protocol(person, key=key, action="read", id=first))["result"] == "success"


async def test_key_revoke_of_another_accounts_key_not_found(alice: Owner, other: Person, db: Db) -> None:
    person, first = alice.person, alice.first
    key, key_id = await create_key(person, {"scope": "all", "read": "on"})
    await other.sign_up(new_email())

    await other.get("/app/keys")
    assert f"{key[:7]}" not in other.page and f'data-testid="key-{key_id}"' not in other.page
    refused = await other.post(f"/app/keys/{key_id}/revoke")
    assert refused.status_code == 404 and "There is no such key." in refused.text
    for nonsense in ("0", "abc", "99999999999999999999999"):
        await other.get("/app/keys")
        assert (await other.post(f"/app/keys/{nonsense}/revoke")).status_code == 404

    assert await value(db, "SELECT count(*) FROM scoped_keys WHERE id = $1", key_id) == 1
    assert (await protocol(person, key=key, action="read", id=first))["result"] == "success"


async def test_scoped_key_cannot_reach_the_pages(alice: Owner, other: Person) -> None:
    person, first = alice.person, alice.first
    key, key_id = await create_key(person, {"scope": "all", "read": "on", "write": "on"})
    # `other` has no session: a key in the query, a header or the session cookie opens no page.
    for path in ("/app/keys", "/app/variables", "/app/account", f"/app/variables/{first}"):
        for response in (
            await other.client.get(path, params={"key": key}),
            await other.client.get(path, headers={"X-API-Key": key, "Authorization": f"Bearer {key}"}),
        ):
            assert response.status_code == 303 and response.headers["location"].startswith("/app/login"), path
    other.client.cookies.set("varistore_session", key, path="/app")
    assert (await other.client.get("/app/keys")).headers["location"].startswith("/app/login")
    revoke = await other.client.post(f"/app/keys/{key_id}/revoke", params={"key": key}, data={"key": key})
    assert revoke.status_code == 303 and revoke.headers["location"].startswith("/app/login")
    assert (await protocol(person, key=key, action="read", id=first))["result"] == "success"
