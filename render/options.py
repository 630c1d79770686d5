"""The `graph` action's options (VariPass spec, `graph`; DESIGN.md §3 Graphs), checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

# Accepted `format` values and the canonical name each stands for.
FORMATS: dict[str, str] = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "bmp": "bmp"}

MIN_SIZE = 16
MAX_SIZE = 2048

# The spec says colours are written without '#': exactly six hex digits, nothing else.
_COLOUR = re.compile(r"[0-9a-fA-F]{6}")


class InvalidOption(ValueError):
    """A size or colour outside what the spec allows (the service answers error_invalid_parameters)."""


class InvalidFormat(ValueError):
    """A `format` not in FORMATS (the service answers error_invalid_format)."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to draw a graph; the defaults are the spec's."""

    eink: bool = False
    thick: bool = False
    format: str = "png"
    title: bool = True
    width: int = 256
    height: int = 280
    color_line: str = "9d9d9d"
    color_background: str = "222222"
    color_title: str = "aaaaaa"
    color_axes: str = "9d9d9d"
    # Not the spec's: with eink, the drawing as 1-bits (docs/api.md, Graphs). Without eink it changes nothing, so
    # make_options turns it off there and such a request shares the plain picture's ETag.
    invert: bool = False


_FIELDS: dict[str, type] = {"eink": bool, "thick": bool, "title": bool, "width": int, "height": int, "invert": bool}
_NAMES = frozenset(field.name for field in fields(RenderOptions))


def make_options(**given: object) -> RenderOptions:
    """Checked options from any of RenderOptions' fields: canonical format, lower-case colours, invert only with eink.

    Raises:
        InvalidOption: a width or height outside 16..2048, or a colour that is not six hex digits (checked first).
        InvalidFormat: a format not in FORMATS (case-insensitive).
        TypeError: an unknown name, or a value that is not the field's type.
    """
    # Names and Python types are the caller's side of the contract (the service's params models): a slip there
    # is a bug, a TypeError, not a user's bad request.
    unknown = sorted(set(given) - _NAMES)
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r}")
    for name, value in given.items():
        expected = _FIELDS.get(name, str)
        # bool is an int subclass: a bool width is a caller's bug, not a size.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise TypeError(f"{name} must be {expected.__name__}, not {type(value).__name__}")
    options = replace(RenderOptions(), **given)  # type: ignore[arg-type]  # types checked above
    for name in ("width", "height"):
        size = getattr(options, name)
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise InvalidOption(f"{name} must be {MIN_SIZE}..{MAX_SIZE}")
    for name in ("color_line", "color_background", "color_title", "color_axes"):
        if not _COLOUR.fullmatch(getattr(options, name)):
            raise InvalidOption(f"{name} must be six hex digits")
    canonical = FORMATS.get(options.format.lower())
    if canonical is None:
        raise InvalidFormat(f"format must be one of {', '.join(FORMATS)}")
    return replace(
        options,
        format=canonical,
        color_line=options.color_line.lower(),
        color_background=options.color_background.lower(),
        color_title=options.color_title.lower(),
        color_axes=options.color_axes.lower(),
        invert=options.invert and options.eink,
    )
