"""Variable types and their values: parsing what devices send, and the text of the simple format."""

from __future__ import annotations

import json
import math
import re
from enum import StrEnum

from service.core.records import record

Value = int | float | bool | str

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_STRING_LENGTH = 1024

# Bounded: int() raises on a text of over 4,300 digits, and no int64 needs more than 19 (leading zeros aside).
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,100}")
# ESPHome prints numbers with %f ("21.000000"): an int variable's value may have a fraction of zeros.
_WHOLE_TEXT = re.compile(r"([+-]?[0-9]{1,100})(?:\.0*)?")
# Python's float() also takes "1_000", "inf" and "nan"; the protocol takes plain decimal numbers only.
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


class VarType(StrEnum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STRING = "string"


# A type by its name as stored: a dict lookup costs a sixth of VarType(name) (issue 13).
TYPES: dict[str, VarType] = {type_.value: type_ for type_ in VarType}
ZERO: dict[VarType, Value] = {VarType.INT: 0, VarType.FLOAT: 0.0, VarType.BOOL: False, VarType.STRING: ""}


def parse_flag(raw: object) -> bool | None:
    """A boolean as JSON `true/false` or text/number `true/false/1/0` in any case; None if it is not one."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def parse_int(raw: object) -> int | None:
    if isinstance(raw, str):
        text = raw.strip()
        raw = int(text) if _INT_TEXT.fullmatch(text) else None
    elif isinstance(raw, bool):
        return None
    if isinstance(raw, int) and INT64_MIN <= raw <= INT64_MAX:
        return raw
    return None


def parse_whole(raw: object) -> int | None:
    """An int variable's value: what parse_int takes, or the text of a whole number with a fraction of zeros."""
    if isinstance(raw, str):
        whole = _WHOLE_TEXT.fullmatch(raw.strip())
        raw = int(whole.group(1)) if whole else None
    return parse_int(raw)


def parse_float(raw: object) -> float | None:
    if isinstance(raw, str):
        text = raw.strip()
        if not _FLOAT_TEXT.fullmatch(text):
            return None
        number = float(text)
    elif isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    else:
        try:
            number = float(raw)
        except OverflowError:
            return None
    return number if math.isfinite(number) else None


def parse_string(raw: object) -> str | None:
    # A number or bool sent to a string variable is kept as its JSON text, as a device would print it.
    if isinstance(raw, float) and not math.isfinite(raw):
        return None
    if isinstance(raw, bool | int | float):
        raw = json.dumps(raw)
    if isinstance(raw, str) and len(raw) <= MAX_STRING_LENGTH:
        return raw
    return None


@record
class Candidates:
    """A written value read as each type at once, so one SQL statement can pick by the variable's type."""

    as_int: int | None
    as_float: float | None
    as_bool: bool | None
    as_string: str | None

    @classmethod
    def of(cls, raw: object) -> Candidates:
        return cls(parse_whole(raw), parse_float(raw), parse_flag(raw), parse_string(raw))

    def as_type(self, type_: VarType) -> Value | None:
        """The value as a variable of this type stores it; None if it does not fit."""
        return {
            VarType.INT: self.as_int,
            VarType.FLOAT: self.as_float,
            VarType.BOOL: self.as_bool,
            VarType.STRING: self.as_string,
        }[type_]


def simple_text(value: Value) -> str:
    """A value as the simple format writes it: bools `true/false`, floats their shortest repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, float) else repr(value)


def json_number(number: float) -> int | float:
    """min/max are stored as doubles but read back as the integers devices usually send."""
    return int(number) if number.is_integer() and abs(number) < 2**53 else number
