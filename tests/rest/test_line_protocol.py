"""The line-protocol parser (service/rest/line_protocol.py): pure, no database.

Cases follow InfluxDB's line-protocol reference (docs-v2 reference/syntax/line-protocol.md) and the
grammar of influxdata/line-protocol (line-protocol.ebnf); the reasons are InfluxDB's own words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.rest.line_protocol import (
    MAX_LINE_BYTES,
    MAX_LINES,
    InvalidPrecision,
    LineError,
    Point,
    TooManyLines,
    parse,
    precision_factor,
)

TELEGRAF_BODY = Path(__file__).with_name("telegraf_body.txt")


def one(line: str | bytes, precision: str = "ns", **options: int) -> Point | LineError:
    parsed = parse(line.encode() if isinstance(line, str) else line, precision, **options)
    assert len(parsed) == 1, parsed
    return parsed[0]


def point(line: str, precision: str = "ns") -> Point:
    parsed = one(line, precision)
    assert isinstance(parsed, Point), parsed
    return parsed


def reason(line: str | bytes, precision: str = "ns", **options: int) -> str:
    parsed = one(line, precision, **options)
    assert isinstance(parsed, LineError), parsed
    return parsed.reason


def test_parse_full_line_every_part() -> None:
    parsed = point(
        'weather,site=roof,room=attic temp=18.5,samples=3i,count=7u,online=true,note="ok" 1556813561098000000'
    )

    assert parsed == Point(
        1,
        "weather",
        (("room", "attic"), ("site", "roof")),
        {"temp": 18.5, "samples": 3, "count": 7, "online": True, "note": "ok"},
        1556813561098000000,
    )


def test_parse_without_tags_or_timestamp() -> None:
    assert point("m f=1") == Point(1, "m", (), {"f": 1.0}, None)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1.0),
        ("1.0", 1.0),
        ("-1.234456e+78", -1.234456e78),
        ("1.", 1.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1E3", 1000.0),
        ("2e-3", 0.002),
        ("1i", 1),
        ("-12485903i", -12485903),
        ("9223372036854775807i", 2**63 - 1),
        ("-9223372036854775808i", -(2**63)),
        ("0u", 0),
        ("18446744073709551615u", 2**64 - 1),
        *[(word, True) for word in ("t", "T", "true", "True", "TRUE")],
        *[(word, False) for word in ("f", "F", "false", "False", "FALSE")],
        ('"this is a string"', "this is a string"),
        ('""', ""),
        ('"a, b = c"', "a, b = c"),
        ('"Launch 🚀"', "Launch 🚀"),
    ],
)
def test_parse_field_value_of_every_type(text: str, value: object) -> None:
    parsed = point(f"m f={text}")
    assert parsed.fields["f"] == value and type(parsed.fields["f"]) is type(value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("m f=1.5i", "invalid number"),
        ("m f=1i5", "invalid number"),
        ("m f=-", "invalid number"),
        ("m f=1.2.3", "invalid number"),
        ("m f=-1u", "invalid number"),
        ("m f=NaN", "invalid number"),
        ("m f=1e999", "invalid float"),
        ("m f=9223372036854775808i", "unable to parse integer 9223372036854775808: value out of range"),
        ("m f=18446744073709551616u", "unable to parse unsigned 18446744073709551616: value out of range"),
        (f"m f={'9' * 5000}i", f"unable to parse integer {'9' * 5000}: value out of range"),
        ("m f=yes", "invalid boolean"),
        ("m f=tRUE", "invalid boolean"),
        ("m f='single'", "invalid boolean"),
        ('m f="open', "unbalanced quotes"),
        ('m f="a"b', "invalid field format"),
        ("m", "missing fields"),
        ("m ", "missing fields"),
        ("m,t=1", "missing fields"),
        ("cpu_load_short,host=server01,region=us-west", "missing fields"),
        (",t=1 f=1", "missing measurement"),
        ("m f", "invalid field format"),
        ("m f=1 g=2", "bad timestamp"),
        ("m f=", "missing field value"),
        ("m f=,g=1", "missing field value"),
        ("m =1", "missing field key"),
        ("m f=1,=2", "missing field key"),
        ("m f=1,", "missing field key"),
        ("m, f=1", "missing tag key"),
        ("m,=v f=1", "missing tag key"),
        ("m,t f=1", "missing tag value"),
        ("m,t= f=1", "missing tag value"),
        ("m,t=a=b f=1", "invalid tag format"),
        ("m,t=1,t=2 f=1", "duplicate tags"),
        ("m f=1 12ab", "bad timestamp"),
        ("m f=1 1.5", "bad timestamp"),
        ("m f=1 123 456", "point is invalid"),
        ("m f=1 99999999999999999999", "time outside range -9223372036854775806 - 9223372036854775806"),
        ("x\x01y f=1", "invalid character in a name"),
        ("m,k=x\x01y f=1", "invalid character in a name"),
        ("m x\x7fy=1", "invalid character in a name"),
    ],
)
def test_parse_bad_line_gives_influxdb_reason(line: str, expected: str) -> None:
    assert reason(line) == expected


def test_parse_error_message_is_influxdb_wording() -> None:
    error = one("m f=")
    assert isinstance(error, LineError)
    assert error.message == "unable to parse 'm f=': missing field value"


def test_parse_error_message_shortens_a_long_line() -> None:
    error = one("m f=" + "x" * 1000)
    assert isinstance(error, LineError)
    assert error.message.startswith("unable to parse 'm f=xxx") and len(error.message) < 300
    assert error.text == "m f=" + "x" * 1000


# The special-characters table of InfluxDB's reference: what each position escapes.
@pytest.mark.parametrize(
    ("line", "measurement", "tags", "fields"),
    [
        (r"my\ Measurement f=1", "my Measurement", (), {"f": 1.0}),
        (r"my\,m f=1", "my,m", (), {"f": 1.0}),
        ("a=b f=1", "a=b", (), {"f": 1.0}),  # an equals sign needs no escape in a measurement
        (r"a\=b f=1", r"a\=b", (), {"f": 1.0}),  # ... and its backslash stays
        (
            r"m,tag\ Key1=tag\ Value1,tag\ Key2=tag\ Value2 f=1",
            "m",
            (("tag Key1", "tag Value1"), ("tag Key2", "tag Value2")),
            {"f": 1.0},
        ),
        (r"m,k\,1=v\,1 f=1", "m", (("k,1", "v,1"),), {"f": 1.0}),
        (r"m,k\=1=v\=1 f=1", "m", (("k=1", "v=1"),), {"f": 1.0}),
        (r"m,k=🍭 f=1", "m", (("k", "🍭"),), {"f": 1.0}),
        ('m,k="quoted" f=1', "m", (("k", '"quoted"'),), {"f": 1.0}),  # quotes are part of a tag value
        (r"m f\ k=1,f\,k=2,f\=k=3", "m", (), {"f k": 1.0, "f,k": 2.0, "f=k": 3.0}),
        ("m 'f'=1", "m", (), {"'f'": 1.0}),
        (r'm f="\"string\" within a string"', "m", (), {"f": '"string" within a string'}),
        (r'm f="back\\slash"', "m", (), {"f": "back\\slash"}),
        (r'm f="other \n escapes \t stay"', "m", (), {"f": r"other \n escapes \t stay"}),
        (r'm f="a\\\"b"', "m", (), {"f": 'a\\"b'}),
    ],
    ids=repr,
)
def test_parse_escapes_in_each_position(line: str, measurement: str, tags: object, fields: object) -> None:
    parsed = point(line)
    assert (parsed.measurement, parsed.tags, parsed.fields) == (measurement, tags, fields)


# "Escaping backslashes" in InfluxDB's reference: two contiguous backslashes are one.
@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("\\", "\\"),
        ("\\\\", "\\"),
        ("\\\\\\", "\\\\"),
        ("\\\\\\\\", "\\\\"),
        ("\\" * 5, "\\" * 3),
        ("\\" * 6, "\\" * 3),
    ],
)
def test_parse_backslashes_as_influxdb_reference_table(written: str, read: str) -> None:
    assert point(f"m{written}x,k=v{written}x f{written}x=1").measurement == f"m{read}x"
    parsed = point(f"mx,k=v{written}x f{written}x=1")
    assert parsed.tags == (("k", f"v{read}x"),) and list(parsed.fields) == [f"f{read}x"]


def test_parse_tags_sorted_by_key() -> None:
    assert point("m,zone=c,host=a,region=b f=1").tags == (("host", "a"), ("region", "b"), ("zone", "c"))


def test_parse_same_field_twice_last_counts() -> None:
    assert point("m f=1,g=2,f=3").fields == {"f": 3.0, "g": 2.0}


def test_parse_spaces_between_parts_and_after_the_timestamp() -> None:
    assert point("   m,t=1   f=1,g=2   1556813561098000000   ") == Point(
        1, "m", (("t", "1"),), {"f": 1.0, "g": 2.0}, 1556813561098000000
    )


def test_parse_negative_timestamp() -> None:
    assert point("m f=1 -1000").time_ns == -1000


@pytest.mark.parametrize(
    ("precision", "time_ns"),
    [
        ("ns", 1_700_000_000),
        ("", 1_700_000_000),
        ("us", 1_700_000_000_000),
        ("ms", 1_700_000_000_000_000),
        ("s", 1_700_000_000_000_000_000),
    ],
)
def test_parse_precision_scales_the_timestamp_to_nanoseconds(precision: str, time_ns: int) -> None:
    assert point("m f=1 1700000000", precision).time_ns == time_ns


def test_parse_precision_past_the_range_is_a_bad_line() -> None:
    assert reason("m f=1 9300000000", precision="s") == "time outside range -9223372036854775806 - 9223372036854775806"


@pytest.mark.parametrize("precision", ["n", "u", "h", "m", "NS", "seconds"])
def test_parse_unknown_precision_refused(precision: str) -> None:
    with pytest.raises(InvalidPrecision):
        parse(b"m f=1", precision)
    with pytest.raises(InvalidPrecision):
        precision_factor(precision)


def test_parse_comments_blank_lines_and_crlf_with_line_numbers() -> None:
    body = b"# a comment\r\n\r\nm f=1\r\n   # an indented comment\n\t\nm g=bad\r\nm h=2i 5\r\n  \n"

    parsed = parse(body)

    assert parsed == [
        Point(3, "m", (), {"f": 1.0}, None),
        LineError(6, "m g=bad", "invalid boolean"),
        Point(7, "m", (), {"h": 2}, 5),
    ]


def test_parse_bad_lines_carry_their_line_numbers() -> None:
    body = "\n".join(["m f=1", "m f=", "m f=2", "# c", "", "bad", "m f=3"]).encode()

    assert [(p.line, isinstance(p, Point)) for p in parse(body)] == [
        (1, True),
        (2, False),
        (3, True),
        (6, False),
        (7, True),
    ]


def test_parse_newline_always_ends_a_line_even_in_quotes() -> None:
    parsed = parse(b'm f="two\nlines"')
    assert parsed == [LineError(1, 'm f="two', "unbalanced quotes"), LineError(2, 'lines"', "missing fields")]


def test_parse_invalid_utf8_is_a_bad_line() -> None:
    parsed = parse(b"m f=1\nbad\xff f=1\nm f=2")
    assert [type(p).__name__ for p in parsed] == ["Point", "LineError", "Point"]
    assert isinstance(parsed[1], LineError) and parsed[1].reason == "invalid UTF-8" and parsed[1].line == 2


def test_parse_line_over_64_kilobytes_refused_the_others_kept() -> None:
    long_line = b"m f=" + b"1" * MAX_LINE_BYTES
    parsed = parse(b"m f=1\n" + long_line + b"\nm f=2")

    assert [p.line for p in parsed] == [1, 2, 3]
    assert isinstance(parsed[1], LineError) and parsed[1].reason == "line too long"
    assert isinstance(parse(b'm f="' + b"x" * (MAX_LINE_BYTES - 6) + b'"')[0], Point)


def test_parse_names_over_the_limit_refused() -> None:
    assert isinstance(one("m" * 10 + " f=1", max_name=10), Point)
    for line in ["m" * 11 + " f=1", "m," + "k" * 11 + "=v f=1", "m,k=" + "v" * 11 + " f=1", "m " + "f" * 11 + "=1"]:
        assert reason(line, max_name=10) == "name longer than 10 characters"


def test_parse_5000_lines_accepted_5001_refused() -> None:
    lines = [f"m f={n}i" for n in range(MAX_LINES)]
    assert len(parse("\n".join(lines).encode())) == MAX_LINES
    assert len(parse(("\n".join(lines) + "\n").encode())) == MAX_LINES  # a final newline ends the last line
    with pytest.raises(TooManyLines):
        parse(("\n".join([*lines, "m f=1"])).encode())
    with pytest.raises(TooManyLines):
        parse(b"\n" * (MAX_LINES + 1))


def test_parse_empty_body_has_no_points() -> None:
    assert parse(b"") == [] and parse(b"\n\n# only comments\n") == []


def test_parse_telegraf_body_every_line() -> None:
    parsed = parse(TELEGRAF_BODY.read_bytes())

    assert all(isinstance(p, Point) for p in parsed), [p for p in parsed if isinstance(p, LineError)]
    points = [p for p in parsed if isinstance(p, Point)]
    assert [p.measurement for p in points] == ["cpu", "cpu", "disk", "disk", "mem", "system", "system", "system"]
    assert all(p.time_ns is not None and p.time_ns > 1_700_000_000 * 10**9 for p in points)
    cpu = points[0]
    assert cpu.tags == (("cpu", "cpu-total"), ("host", "telegraf-host"))
    assert cpu.fields["usage_idle"] == pytest.approx(97.48743718592965) and cpu.fields["usage_steal"] == 0.0
    disk = points[2]
    assert [key for key, _ in disk.tags] == ["device", "fstype", "host", "mode", "path"]
    assert disk.fields["inodes_free"] == 14729542 and type(disk.fields["free"]) is int
    assert points[-1].fields == {"uptime_format": "14 days,  0:00"}
