"""InfluxDB line protocol, parsed strictly and without I/O (issue 14: POST /api/v2/write).

    measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]

The grammar is influxdata/line-protocol's `line-protocol.ebnf`, the syntax InfluxDB documents
(docs-v2 `reference/syntax/line-protocol.md`); the failure reasons are InfluxDB's own words, and
`LineError.message` is InfluxDB's `unable to parse '<line>': <reason>`.

- Lines end with LF or CRLF. Blank lines and lines whose first non-blank character is `#` are skipped.
- Escapes: a backslash before a comma or a space (measurement), before a comma, an equals sign or a
  space (tag keys, tag values, field keys), before a double quote (string field values), and before
  another backslash (everywhere) stands for that character; before any other character it is kept.
- Field values: floats (`1`, `-1.5`, `.5`, `1e9`; no NaN nor infinities), integers `1i`, unsigned
  integers `1u`, strings in double quotes, booleans `t T true True TRUE f F false False FALSE`.
- The timestamp is an integer in the request's precision (ns, us, ms or s), kept in nanoseconds.

Where InfluxDB 2's own scanner is looser than the grammar, this parser follows the grammar: control
characters are refused in names, and a newline always ends a line (InfluxDB's docs: "line protocol
does not support the newline character in tag or field values"; Telegraf writes it as `\\n`). Like
InfluxDB, it refuses duplicate tag keys; of a field key given twice, the last value counts.
"""

from __future__ import annotations

import math
import re

from service.core.records import record

FieldValue = int | float | bool | str

PRECISIONS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
MAX_LINES = 5_000
MAX_LINE_BYTES = 64 * 1024
# InfluxDB's timestamp range (docs: "Unix timestamp", minimum and maximum), in nanoseconds.
MIN_TIME_NS, MAX_TIME_NS = -9_223_372_036_854_775_806, 9_223_372_036_854_775_806
_INT64_MAX, _UINT64_MAX = 2**63 - 1, 2**64 - 1

_BOOLEANS = {
    **dict.fromkeys(("t", "T", "true", "True", "TRUE"), True),
    **dict.fromkeys(("f", "F", "false", "False", "FALSE"), False),
}
_INTEGER = re.compile(r"-?[0-9]+i")
_UNSIGNED = re.compile(r"[0-9]+u")
_FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TIMESTAMP = re.compile(r"-?[0-9]+")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SHOWN = 200  # characters of a bad line that an error message repeats


@record
class Point:
    """One parsed line: its number in the body (from 1), tags sorted by key, fields in line order."""

    line: int
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: dict[str, FieldValue]
    time_ns: int | None


@record
class LineError:
    """A line that does not parse: its number (from 1), its text and InfluxDB's reason."""

    line: int
    text: str
    reason: str

    @property
    def message(self) -> str:
        text = self.text if len(self.text) <= _SHOWN else self.text[:_SHOWN] + "…"
        return f"unable to parse '{text}': {self.reason}"


class InvalidPrecision(ValueError):
    """The request's precision is none of ns, us, ms, s."""


class TooManyLines(ValueError):
    """The body holds more than MAX_LINES lines."""


class _Bad(Exception):
    """A line's parse failure; its message is the reason."""


def precision_factor(precision: str) -> int:
    """Nanoseconds per unit of `precision` (empty: ns, InfluxDB's default).

    Raises:
        InvalidPrecision: any other precision.
    """
    try:
        return PRECISIONS[precision or "ns"]
    except KeyError:
        raise InvalidPrecision(precision) from None


def parse(body: bytes, precision: str = "ns", *, max_name: int | None = None) -> list[Point | LineError]:
    """Every line of `body` that is not blank or a comment, as a Point or a LineError, in order.

    Args:
        max_name: the longest measurement, tag key, tag value or field key a line may have.

    Raises:
        InvalidPrecision: see precision_factor.
        TooManyLines: the whole body is refused.
    """
    factor = precision_factor(precision)
    if body.count(b"\n") + (not body.endswith(b"\n")) > MAX_LINES:
        raise TooManyLines(f"more than {MAX_LINES} lines")
    parsed: list[Point | LineError] = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if len(raw) > MAX_LINE_BYTES:
            parsed.append(LineError(number, raw[:_SHOWN].decode(errors="replace"), "line too long"))
            continue
        try:
            line = raw.decode()
        except UnicodeDecodeError:
            parsed.append(LineError(number, raw.decode(errors="replace"), "invalid UTF-8"))
            continue
        text = line.lstrip(" \t")
        if not text or text.startswith("#"):
            continue
        try:
            parsed.append(_point(number, text, factor, max_name))
        except _Bad as exc:
            parsed.append(LineError(number, text, str(exc)))
    return parsed


def _point(number: int, text: str, factor: int, max_name: int | None) -> Point:
    measurement, pos, stop = _scan(text, 0, ", ", ", ")
    if not measurement:
        raise _Bad("missing measurement")
    tags: dict[str, str] = {}
    while stop == ",":
        key, pos, stop = _scan(text, pos, "=, ", ",= ")
        if not key:
            raise _Bad("missing tag key")
        if stop != "=":
            raise _Bad("missing tag value")
        tag_value, pos, stop = _scan(text, pos, ", =", ",= ")
        if stop == "=":
            raise _Bad("invalid tag format")
        if not tag_value:
            raise _Bad("missing tag value")
        if key in tags:
            raise _Bad("duplicate tags")
        tags[key] = tag_value
    pos = _skip_spaces(text, pos)
    if stop != " " or pos >= len(text):
        raise _Bad("missing fields")
    fields: dict[str, FieldValue] = {}
    while True:
        key, pos, stop = _scan(text, pos, "=, ", ",= ")
        if not key:
            raise _Bad("missing field key")
        if stop != "=":
            raise _Bad("invalid field format")
        value, pos = _field_value(text, pos)
        fields[key] = value
        if pos >= len(text) or text[pos] == " ":
            break
        if text[pos] != ",":
            raise _Bad("invalid field format")
        pos += 1
    time_ns = _timestamp(text, _skip_spaces(text, pos), factor)
    for name in (measurement, *tags, *tags.values(), *fields):
        if _CONTROL.search(name):
            raise _Bad("invalid character in a name")
        if max_name is not None and len(name) > max_name:
            raise _Bad(f"name longer than {max_name} characters")
    return Point(number, measurement, tuple(sorted(tags.items())), fields, time_ns)


def _scan(text: str, pos: int, stops: str, escapable: str) -> tuple[str, int, str]:
    """The unescaped text from `pos` up to the first unescaped character of `stops`; returns it,
    the position after the stop, and the stop ("" at the end of the line)."""
    out: list[str] = []
    end = len(text)
    while pos < end:
        char = text[pos]
        if char == "\\" and pos + 1 < end:
            following = text[pos + 1]
            if following in escapable or following == "\\":
                out.append(following)
                pos += 2
                continue
        elif char in stops:
            return "".join(out), pos + 1, char
        out.append(char)
        pos += 1
    return "".join(out), pos, ""


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _field_value(text: str, pos: int) -> tuple[FieldValue, int]:
    """The value starting at `pos` and the position just after it."""
    if pos >= len(text) or text[pos] in ", ":
        raise _Bad("missing field value")
    if text[pos] == '"':
        return _string(text, pos + 1)
    end = pos
    while end < len(text) and text[end] not in ", ":
        end += 1
    token = text[pos:end]
    if token in _BOOLEANS:
        return _BOOLEANS[token], end
    if _INTEGER.fullmatch(token):
        number = _bounded(token[:-1], -_INT64_MAX - 1, _INT64_MAX)
        if number is None:
            raise _Bad(f"unable to parse integer {token[:-1]}: value out of range")
        return number, end
    if _UNSIGNED.fullmatch(token):
        number = _bounded(token[:-1], 0, _UINT64_MAX)
        if number is None:
            raise _Bad(f"unable to parse unsigned {token[:-1]}: value out of range")
        return number, end
    if _FLOAT.fullmatch(token):
        real = float(token)
        if math.isinf(real):
            raise _Bad("invalid float")
        return real, end
    # InfluxDB's scanner reads a value that starts like a number (or NaN) as one, any other as a boolean.
    raise _Bad("invalid number" if token[0] in "-.0123456789Nn" else "invalid boolean")


def _bounded(digits: str, low: int, high: int) -> int | None:
    """The integer `digits` spell if it lies within [low, high]; None otherwise."""
    # int() of a text of over 4,300 digits raises, and no 64-bit number needs 22 characters.
    if len(digits.lstrip("-").lstrip("0")) > 21:
        return None
    number = int(digits)
    return number if low <= number <= high else None


def _string(text: str, pos: int) -> tuple[str, int]:
    """A string field value whose opening quote is just before `pos`."""
    out: list[str] = []
    end = len(text)
    while pos < end:
        char = text[pos]
        if char == "\\" and pos + 1 < end and text[pos + 1] in '"\\':
            out.append(text[pos + 1])
            pos += 2
            continue
        if char == '"':
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise _Bad("unbalanced quotes")


def _timestamp(text: str, pos: int, factor: int) -> int | None:
    if pos >= len(text):
        return None
    end = text.find(" ", pos)
    end = len(text) if end < 0 else end
    token = text[pos:end]
    if not _TIMESTAMP.fullmatch(token):
        raise _Bad("bad timestamp")
    if text[_skip_spaces(text, end) :]:
        raise _Bad("point is invalid")
    time = _bounded(token, MIN_TIME_NS, MAX_TIME_NS)
    if time is None or not MIN_TIME_NS <= time * factor <= MAX_TIME_NS:
        raise _Bad(f"time outside range {MIN_TIME_NS} - {MAX_TIME_NS}")
    return time * factor
