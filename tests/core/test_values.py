"""Reading written values: numbers as text, exactly (docs/api.md, Values)."""

from __future__ import annotations

import pytest

from service.core.values import parse_int, parse_whole


@pytest.mark.parametrize(
    ("raw", "whole"),
    [("42", 42), (" 42", 42), ("42 ", 42), ("21.0", 21), ("21.000000", 21), ("-7.", -7), ("+5.00", 5), (21, 21)],
)
def test_parse_whole_integer_or_fraction_of_zeros(raw: object, whole: int) -> None:
    assert parse_whole(raw) == whole


@pytest.mark.parametrize("raw", ["21.5", "21.000001", "2.1e1", ".0", "21.0.0", "1" * 5000, "9" * 19 + ".0", 21.0, True])
def test_parse_whole_anything_else_none(raw: object) -> None:
    assert parse_whole(raw) is None


def test_parse_int_parameters_keep_digits_only() -> None:
    # expire, width and height: the fraction of zeros is for values only.
    assert parse_int("21.0") is None
    assert parse_int("1" * 5000) is None
