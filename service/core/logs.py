"""Logging for every Varistore process: one set-up, and no secret in any line (DESIGN.md §8, issue 8).

Secrets are redacted from the formatted text of each record, traceback included, rather than from
the record's arguments: what a library logs (uvicorn's access line, websockets' frames) or what an
exception message quotes is then covered too, in whatever shape it arrives:

- `key=…`, `password=…` in query strings, form bodies and URLs (also with the name percent-encoded,
  as the transport decodes it), and `--password …` on a command line;
- `"key": "…"` in JSON and in Python reprs;
- `key …` as the WebSocket protocol sends it (websockets logs every frame at debug level);
- the password of a URL (`postgresql://user:…@host`, `redis://:…@host`).

A value is replaced by `***`, through the end of the text a client may have made part of it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import unquote

REDACTED = "***"
TRACE = 5  # uvicorn's level below DEBUG (its ASGI messages)
LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
FORMAT = "%(levelname)s %(name)s: %(message)s"

# Names whose values are secrets, wherever `name=value` or `"name": value` appears; a prefix such
# as `api_key` or `new_password` counts too.
_NAMES = ("key", "password", "passwd", "secret", "token")
_SECRET_NAME = re.compile(rf"(?:^|[_-])(?:{'|'.join(_NAMES)})$")

# `name=value` in query strings, forms, URLs and `--password=…`. The pattern starts at `=` (a fast
# scan) and goes on only after a name's last two letters, either maybe percent-encoded; `_pair`
# then reads the whole name, decoded, since parse_qsl takes `k%65y=` for `key`.
_ENDINGS = "|".join(f"(?<={tail}=)" for tail in ("ey", "rd", "wd", "et", "en", "%..", "%..[ydtn]"))
_VALUE = re.compile(rf"=(?:{_ENDINGS})[^&\s]+", re.IGNORECASE)
_QUOTED_NAMES = tuple(f"{name}{quote}" for name in _NAMES for quote in "\"'")
_QUOTED = re.compile(
    rf"""(?P<name>(?P<q>["'])(?:[a-z0-9]+[_-])*(?:{"|".join(_NAMES)})(?P=q)\s*:\s*)"""
    r"""(?:"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|[^\s,}\]]+)""",
    re.IGNORECASE,
)
# `key <key>` as a client sent it: first as websockets shows a frame (a Python repr, up to its
# closing quote, or hex bytes when the frame is not UTF-8), then anywhere else up to a quote, a
# backtick or the line's end, since a key with spaces is still one secret. Not `key = …`, `key: …`
# or `key <…>`: code in a traceback, or words about keys.
_FRAME_REPR = re.compile(r"""(?P<q>["'])([ \t]*key[ \t]+)(?:\\.|(?!(?P=q)).)*""", re.IGNORECASE)
_FRAME_HEX = re.compile(r"\b([46]b [46]5 [57]9 20)[0-9a-f .]*")
_FRAME = re.compile(r"""(?<![\w-])(key[ \t]+)(?![=:!<\s])[^\s'"`]+(?:[ \t]+[^\s'"`]+)*""", re.IGNORECASE)
_FLAG = re.compile(r"(?<![\w-])(--?(?:[a-z0-9]+-)*(?:password|passwd|secret|token)[ \t]+)(?!-)\S+", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/?#@]*:)[^\s@/]+(?=@)", re.IGNORECASE)


def _pair(match: re.Match[str]) -> str:
    text, begin = match.string, match.start()
    while begin and (text[begin - 1].isalnum() or text[begin - 1] in "_-%"):
        begin -= 1
    name = text[begin : match.start()]
    if "%" in name:
        name = unquote(name)
    return f"={REDACTED}" if _SECRET_NAME.search(name.lower()) else match[0]


def redact(text: str) -> str:
    """`text` with every API key and password replaced by `***`."""
    # Each rule runs only when its text can be there: an access line costs a few microseconds.
    lower = text.lower()
    if "=" in text:
        text = _VALUE.sub(_pair, text)
    if any(needle in lower for needle in _QUOTED_NAMES):
        text = _QUOTED.sub(lambda match: f'{match["name"]}"{REDACTED}"', text)
    if "key " in lower or "key\t" in lower:
        text = _FRAME_REPR.sub(rf"\g<q>\2{REDACTED}", text)
        text = _FRAME.sub(rf"\1{REDACTED}", text)
    if "79 20" in text or "59 20" in text:
        text = _FRAME_HEX.sub(rf"\1 {REDACTED} ", text)
    if "-" in text and any(name in lower for name in _NAMES[1:]):
        text = _FLAG.sub(rf"\1{REDACTED}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}", text)
    return text


# A record logged with `extra={UNREDACTED: True}` is written as it is. One writer uses it: an email
# that goes to the log because no SMTP server is set (service/mail.py), whose link, a single-use
# token, is there precisely so that the person running the server can follow it.
UNREDACTED = "varistore_unredacted"


class RedactingFormatter(logging.Formatter):
    """A Formatter whose every line, exception and stack included, goes through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if getattr(record, UNREDACTED, False) else redact(text)


class JsonFormatter(RedactingFormatter):
    """One JSON object per line (VARISTORE_LOG_FORMAT=json), every text in it redacted: `time` (UTC),
    `level`, `logger`, `message`, `exception` when there is one, and for uvicorn's access lines the
    request's `client`, `method`, `path`, `http_version` and `status` as fields of their own."""

    def format(self, record: logging.LogRecord) -> str:
        keep = bool(getattr(record, UNREDACTED, False))
        clean = (lambda text: text) if keep else redact
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clean(record.getMessage()),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            line.update(client=str(client), method=str(method), path=clean(str(path)))
            line.update(http_version=str(version), status=status)
        if record.exc_info:
            line["exception"] = clean(self.formatException(record.exc_info))
        elif record.stack_info:
            line["stack"] = clean(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send every record of this process to stderr through the redacting formatter, from `level` up,
    as text lines or (`log_format` "json") one JSON object per line.

    `level` is one of LEVELS (uvicorn's names), in any case. This replaces the root logger's
    handlers: every logger that propagates (all but those a library sets apart) writes through it.
    Uncaught exceptions are logged too, so that their tracebacks are redacted like any other line.

    Raises:
        ValueError: `level` names no level.
    """
    number = LEVELS.get(level.lower())
    if number is None:
        raise ValueError(f"unknown log level {level!r}; one of {', '.join(LEVELS)}")
    logging.addLevelName(TRACE, "TRACE")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else RedactingFormatter(FORMAT))
    logging.basicConfig(level=number, handlers=[handler], force=True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("varistore").critical("uncaught exception", exc_info=(kind, value, tb))
