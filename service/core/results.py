"""Result codes of the VariPass protocol and the one failure type that carries them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Result(StrEnum):
    """Every `result` string of seeds/varipass-api.txt, spelled exactly."""

    SUCCESS = "success"
    ERROR_NO_REQUEST = "error_no_request"
    ERROR_INVALID_KEY = "error_invalid_key"
    ERROR_INVALID_ACTION = "error_invalid_action"
    ERROR_INVALID_ID = "error_invalid_id"
    ERROR_INVALID_PARAMETERS = "error_invalid_parameters"
    ERROR_INVALID_TYPE = "error_invalid_type"
    ERROR_NOT_BOOL = "error_not_bool"
    ERROR_ORDER_FIRST = "error_order_first"
    ERROR_ORDER_LAST = "error_order_last"
    ERROR_LOCKED = "error_locked"
    ERROR_COOLDOWN = "error_cooldown"
    ERROR_MAX_VARIABLES = "error_max_variables"
    ERROR_USER_NOT_FOUND = "error_user_not_found"
    ERROR_TRANSFER_DISABLED = "error_transfer_disabled"
    ERROR_IS_STRING = "error_is_string"
    ERROR_INVALID_FORMAT = "error_invalid_format"
    ERROR_UNCONFIRMED = "error_unconfirmed"
    ERROR_BANNED = "error_banned"
    ERROR_EMPTY_VARIABLE = "error_empty_variable"
    ERROR_DB = "error_db"


class VariPassError(Exception):
    """The only way a request fails: raise it with the result code to answer."""

    def __init__(
        self,
        result: Result,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(result.value)
        self.result = result
        # 200 for every protocol result (firmware reads the body only on 200); DESIGN.md §3 names
        # the exceptions: 413 (body too large), 429 (flood) and 503 (error_db).
        self.status = status
        # Sent with the answer, e.g. Retry-After with a 429.
        self.headers: Mapping[str, str] = headers or {}
        # For error_cooldown, the seconds until the variable takes a write again, when known; the
        # protocol does not say it (its answers stay the spec's), REST sends it as Retry-After.
        self.retry_after = retry_after


class Forbidden(VariPassError):
    """The key is known but may not do this: a scoped key outside its limits (issue 14). The protocol
    answers error_invalid_key as for any key that cannot; REST tells it apart (403, not 401)."""

    def __init__(self) -> None:
        super().__init__(Result.ERROR_INVALID_KEY)
