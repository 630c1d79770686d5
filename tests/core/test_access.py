"""The access rule, written once: its Python check over rows shaped like ACCESS_COLUMNS."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from service.core.access import BY_ACCOUNT, BY_KEY, Access, Actor, check_access
from service.core.results import Result, VariPassError

IP = ipaddress.ip_address("192.0.2.7")


def row(**overrides: Any) -> dict[str, Any]:
    usable = {"account_id": 3, "banned": False, "confirmed": True, "locked": True, "transfers_enabled": False}
    unscoped = {"scope_id": None, "scope_can_read": None, "scope_can_write": None, "scope_variable_ids": None}
    return {**usable, "ip_banned": False, **unscoped, **overrides}


NOBODY = {"account_id": None, "banned": None, "confirmed": None, "locked": None, "transfers_enabled": None}


@pytest.mark.parametrize(
    ("columns", "public", "result"),
    [
        pytest.param({"ip_banned": True}, False, Result.ERROR_INVALID_KEY, id="banned-ip"),
        pytest.param({"ip_banned": True}, True, Result.ERROR_INVALID_KEY, id="banned-ip-public"),
        pytest.param(NOBODY, False, Result.ERROR_INVALID_KEY, id="no-account"),
        pytest.param({"banned": True, "confirmed": False}, False, Result.ERROR_BANNED, id="banned-first"),
        pytest.param({"confirmed": False}, False, Result.ERROR_UNCONFIRMED, id="unconfirmed"),
    ],
)
def test_check_access_refusals_in_order(columns: dict[str, Any], public: bool, result: Result) -> None:
    with pytest.raises(VariPassError) as refused:
        check_access(row(**columns), public=public)  # type: ignore[arg-type]
    assert refused.value.result is result and refused.value.status == 200


def test_check_access_usable_account_and_public_request() -> None:
    assert check_access(row(), public=False) == Access(3, locked=True, transfers_enabled=False)  # type: ignore[arg-type]
    assert check_access(row(**NOBODY), public=True) is None  # type: ignore[arg-type]


def test_actor_names_its_account_by_key_or_by_id() -> None:
    by_key, by_account, public = Actor.by_key(b"h" * 32, IP), Actor.by_account(7, IP), Actor.public(IP)
    assert (by_key.who, by_key.credential, by_key.is_public) == (BY_KEY, b"h" * 32, False)
    assert (by_account.who, by_account.credential, by_account.is_public) == (BY_ACCOUNT, 7, False)
    assert (public.who, public.credential, public.is_public) == (BY_KEY, None, True)


def test_error_carries_headers() -> None:
    error = VariPassError(Result.ERROR_COOLDOWN, status=429, headers={"Retry-After": "5"})
    assert (error.status, dict(error.headers)) == (429, {"Retry-After": "5"})
    assert dict(VariPassError(Result.ERROR_DB).headers) == {}
