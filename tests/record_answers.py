"""Record the exact answers of a running Varistore API and WebSocket gateway, to diff them across a refactor.

It makes its own accounts in the service's database, calls every action over every transport (GET query,
JSON POST, form POST, raw HTTP/1.0 and HTTP/1.1) with its successes and its errors, talks to the gateway,
and writes one JSON record per request: status line, response headers as sent (without Date) and body.

Given no --api, it starts everything itself: a throwaway database (tests/harness.py), migrated,
and the API and gateway of the code in --source (default: this checkout). So a refactor is checked
with a clone of the commit before it:

    git clone -q . /tmp/before && git -C /tmp/before checkout -q <commit>
    python -m tests.record_answers --source /tmp/before --out /tmp/answers-before.json
    python -m tests.record_answers --out /tmp/answers-after.json
    diff /tmp/answers-before.json /tmp/answers-after.json

What legitimately differs between runs is normalised. Variable ids, keys and emails become placeholders
named after what the scenario made them for (`<id:get.int>`, `<key:owner.get>`), ETags after the request
that first got them (`<etag:get/graph/png>`), other ids are numbered by first appearance (`<id1>`), and
Unix times within three days of now become `<time>`. Ids, keys and times have a fixed width, so
Content-Length and chunk sizes stay as sent. The graph variables' latest value time is pinned in the
database, so their pictures compare by sha256. Two runs against the same server give identical files.
Against servers already running:

    python -m tests.record_answers --api http://127.0.0.1:18000 --gateway ws://127.0.0.1:18001/ws \\
        --database-url postgresql://... --out /tmp/answers.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import shlex
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import asyncpg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from service.core.ids import key_hash, new_key
from tests.harness import ROOT, postgres_server, running_api, running_gateway, throwaway_database, varistore

Json = dict[str, Any]
Headers = Sequence[tuple[str, str]]

TRANSPORTS = ("get", "json", "form")
ACTIONS = "create edit info delete ordprev ordnext list read sread history write swrite toggle stoggle all latest"
ACTIONS += " slatest transfer graph sgraph"
WRONG_KEY, UNKNOWN_ID = "WrongKey00000000", "Unknown0"
BANNED_IP = "198.51.100.77"  # a documentation address, put into banned_ips
PINNED_TIME = 1_700_000_000
# persona: confirmed, banned, transfers_enabled, max_variables
PERSONAS = {f"owner.{t}": (True, False, True, 1000) for t in TRANSPORTS} | {
    "other": (True, False, True, 1000),
    "banned": (True, True, True, 100),
    "unconfirmed": (False, False, True, 100),
    "locked": (True, False, True, 100),  # locked once its variables exist
    "notransfer": (True, False, False, 100),
    "full": (True, False, True, 0),
}
ETAG = re.compile(r'(?<=")[0-9a-f]{16,64}(?=")')  # an opaque hash inside quotes
ALLOW = re.compile(r'"allow: ([^"]*)"')
UNIX_TIME = re.compile(r"(?<![0-9])1[0-9]{9}(?![0-9])")


class Normaliser:
    """Replaces what differs between runs by placeholders that keep equal things equal."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.pattern: re.Pattern[str] | None = None
        self.now, self.label = time.time(), ""

    def name(self, kind: str, real: str, hint: str | None = None) -> str:
        if real not in self.names:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.names[real] = f"<{kind}:{hint}>" if hint else f"<{kind}{self.counts[kind]}>"
            self.pattern = None
        return self.names[real]

    def text(self, text: str) -> str:
        text = ETAG.sub(lambda m: self.name("etag", m.group(), self.label), text)
        if self.names:
            if self.pattern is None:
                known = "|".join(re.escape(real) for real in sorted(self.names, key=len, reverse=True))
                self.pattern = re.compile(f"(?<![A-Za-z0-9])(?:{known})(?![A-Za-z0-9])")
            text = self.pattern.sub(lambda m: self.names[m.group()], text)
        return UNIX_TIME.sub(lambda m: "<time>" if abs(int(m.group()) - self.now) < 3 * 86400 else m.group(), text)


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes  # as sent: a chunked body keeps its framing

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def content(self) -> bytes:
        if (self.header("transfer-encoding") or "").lower() != "chunked":
            return self.body
        out, rest = b"", self.body
        while rest:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            out, rest = out + rest[:size], rest[size + 2 :]
        return out


async def exchange(host: str, port: int, data: bytes) -> Answer:
    """Send one raw request and read one answer, framed by Content-Length, chunks or the end of the stream."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[:-2]
        answer = Answer(lines[0], [(k, v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])], b"")
        length = answer.header("content-length")
        if (answer.header("transfer-encoding") or "").lower() == "chunked":
            while True:
                size_line = await reader.readline()
                size = int(size_line.split(b";")[0], 16)
                answer.body += size_line + await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length is not None:
            answer.body = await reader.readexactly(int(length))
        elif lines[0].split(" ")[1:2] not in (["304"], ["204"]):
            answer.body = await reader.read()
        return answer
    finally:
        writer.close()


def http(
    method: str, target: str, host: str | None, headers: Headers = (), body: bytes = b"", version: str = "1.1"
) -> bytes:
    """A request as bytes on the wire; no Host header when `host` is None (HTTP/1.0 absolute form)."""
    lines = [f"{method} {target} HTTP/{version}", *([f"Host: {host}"] if host else [])]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def encode(transport: str, params: Json) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(method, target, headers, body) of a protocol request sent the `transport` way."""
    if transport == "json":
        return "POST", "/", [("Content-Type", "application/json")], json.dumps(params, ensure_ascii=False).encode()
    query = urlencode({k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in params.items()})
    if transport == "form":
        return "POST", "/", [("Content-Type", "application/x-www-form-urlencoded")], query.encode()
    return "GET", f"/?{query}" if query else "/", [], b""


def picture(data: bytes, media_type: str) -> Json:
    """What identifies an image answer: its type, header, size in pixels and hash."""
    info: Json = {"media_type": media_type, "sha256": hashlib.sha256(data).hexdigest()}
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        info |= {"format": "PNG", "size": list(struct.unpack(">II", data[16:24]))}
    elif data.startswith(b"BM") and len(data) >= 30:
        width, height, _, bits = struct.unpack("<iiHH", data[18:30])
        size_ok = struct.unpack("<I", data[2:6])[0] == len(data)
        info |= {"format": "BMP", "size": [width, height], "bits": bits, "file_size_ok": size_ok}
    elif data.startswith(b"GIF8"):
        info |= {"format": "GIF", "size": list(struct.unpack("<HH", data[6:10]))}
    elif data.startswith(b"\xff\xd8"):
        info |= {"format": "JPEG", "complete": data.endswith(b"\xff\xd9")}
    return info


class Recorder:
    """Sends requests, records their answers normalised, and remembers what the markers stand for."""

    def __init__(self, api: str, gateway: str, conn: asyncpg.Connection) -> None:
        self.host, self.port = urlsplit(api).hostname or "127.0.0.1", urlsplit(api).port or 80
        self.gateway, self.gateway_port = gateway, urlsplit(gateway).port or 80
        self.conn = conn
        self.norm = Normaliser()
        self.records: list[Json] = []
        # marker -> what it stands for: keys (`@owner.get`), emails (`@email.other`), ids (`@get.int`), long text
        self.refs = {f"@{c}{n}": c * n for c, n in (("n", 129), ("u", 33), ("x", 1024), ("x", 1025))}

    async def make_accounts(self) -> None:
        run = secrets.token_hex(6)
        personas: Json = {}
        self.records.append({"label": "personas", "personas": personas})
        for persona, (confirmed, banned, transfers, max_variables) in PERSONAS.items():
            personas[persona] = {"confirmed": confirmed, "banned": banned, "transfers": transfers, "max": max_variables}
            key = new_key()
            email = f"{persona.replace('.', '-')}-{run}@record.invalid"
            await self.conn.execute(
                "INSERT INTO accounts (email, key_hash, confirmed, banned, locked, transfers_enabled, max_variables)"
                " VALUES ($1, $2, $3, $4, false, $5, $6)",
                *(email, key_hash(key), confirmed, banned, transfers, max_variables),
            )
            self.refs |= {f"@{persona}": key, f"@email.{persona}": email, f"@EMAIL.{persona}": email.upper()}
            self.norm.name("key", key, persona)
            self.norm.name("email", email, persona)
            self.norm.name("EMAIL", email.upper(), persona)
        await self.conn.execute("INSERT INTO banned_ips (ip) VALUES ($1::text::inet) ON CONFLICT DO NOTHING", BANNED_IP)

    async def send(self, label: str, request: Json, data: bytes, port: int | None = None, hint: str = "") -> Answer:
        try:
            answer = await asyncio.wait_for(exchange(self.host, port or self.port, data), 30)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            # A broken answer is recorded too, and the scenario goes on: one regression must not hide the rest.
            self.records.append({"label": label, "request": request, "error": repr(exc)})
            return Answer("", [], b"")
        self.norm.label = label
        response: Json = {"status": answer.status, "bytes": len(answer.body)}
        response["headers"] = [f"{k}: {self.norm.text(v)}" for k, v in answer.headers if k.lower() != "date"]
        media_type = answer.header("content-type") or ""
        if media_type.startswith("image/"):
            response["body"] = picture(answer.body, media_type)
        else:
            text = answer.body.decode("utf-8", "backslashreplace")
            for var_id in re.findall(r'"id":"([A-Za-z0-9]{8})"', text):
                self.norm.name("id", var_id, hint or None)
            response["body"] = self.norm.text(text)
        self.records.append({"label": label, "request": request, "response": response})
        return answer

    async def call(self, label: str, transport: str, params: Json, headers: Headers = (), hint: str = "") -> Answer:
        """A protocol request; markers among the values are replaced by what they stand for."""
        params = {k: self.refs.get(v, v) if isinstance(v, str) else v for k, v in params.items() if v is not None}
        method, target, base, body = encode(transport, params)
        shown = {k: self.norm.text(v) if isinstance(v, str) else v for k, v in params.items()}
        request: Json = {"transport": transport, "params": shown}
        if headers:
            request["headers"] = [f"{k}: {self.norm.text(v)}" for k, v in headers]
        return await self.send(label, request, http(method, target, self.host, [*base, *headers], body), hint=hint)

    async def raw(self, label: str, data: bytes, port: int | None = None) -> Answer:
        """A request written out by hand; the record shows it normalised and cut short."""
        shown = self.norm.text(data[:300].decode("utf-8", "replace")) + ("..." if len(data) > 300 else "")
        return await self.send(label, {"raw": shown}, data, port)

    async def create(self, label: str, transport: str, marker: str, params: Json) -> None:
        answer = await self.call(label, transport, {"action": "create", **params}, hint=marker[1:])
        found = re.search(rb'"id":"([A-Za-z0-9]+)"', answer.content())
        if found:
            self.refs[marker] = found.group(1).decode()

    async def pin(self, marker: str) -> None:
        """Give a variable's latest value a fixed time: its picture and ETag then never change."""
        sql = "UPDATE variables SET value_time = to_timestamp($2) WHERE id = $1"
        await self.conn.execute(sql, self.refs.get(marker, marker), PINNED_TIME)


# One request a line: action (`-`: none), case, `>x` to keep a created variable's id as `@<transport>.x`, then
# parameters. A value is JSON if it parses (`42`, `true`, `'"42"'` a string), else the text itself. `@.x` is this
# transport's variable x; other `@` names are personas' keys (`@other`) and emails (`@email.other`), or long
# text (`@n129`); the key is this transport's owner's unless given, and `key=null` sends none.
BASICS = """
- no-action key=null
- no-action-with-key
nope unknown-action
LIST action-upper-case
create int-all-options >int type=int name=Température description="Salon ☀" unit=°C graph=false perc=true \\
  min=-10 max=40.5 expire=3600 public=true
create float-defaults >float type=float name=Humidity
create bool-public >bool type=bool name=Door public=true
create string-expire-0 >string type=string name="Message ✉" expire=0
create type-upper-case >upper type=INT name=Upper
create invalid-type type=blob name=X
create no-name type=int
create empty-name type=int name=
create long-name type=int name=@n129
create long-unit type=int name=X unit=@u33
create expire-negative type=int name=X expire=-1
create expire-too-big type=int name=X expire=31536001
create flag-yes type=int name=X graph=yes
create min-not-number type=int name=X min=abc
create locked key=@locked type=int name=X
create max-variables key=@full type=int name=X
info int id=@.int
info float id=@.float
info bool id=@.bool
info string id=@.string
info upper id=@.upper
info public-no-key key=null id=@.int
info public-other-key key=@other id=@.int
info other-public-no-key key=null id=@other.var
ordprev first id=@.int
ordnext last id=@.upper
ordnext success id=@.int
list after-ordnext
ordprev success id=@.int
ordnext locked key=@locked id=@.locked
ordprev locked key=@locked id=@.locked
edit keep-others id=@.float type=float name="Humidity %" description=rel.
info after-edit id=@.float
edit change-type id=@.upper type=bool name=Upper
read after-type-change id=@.upper
edit invalid-type id=@.float type=blob name=X
edit no-name id=@.float type=float
edit expire-too-big id=@.float type=float name=X expire=99999999
edit locked key=@locked id=@.locked type=int name=X
"""
WRITES: list[tuple[str, Any]] = [
    *(("int", v) for v in (42, "-17", 9223372036854775807, 0)),
    *(("float", v) for v in (25.3, "0.1234", "1e3", 20, -0.0)),
    *(("bool", v) for v in (True, "TRUE", "0", False)),
    *(("string", v) for v in ('héllo ☃ 𝄞 | "q" <b>', 12.5, True, "", "@x1024")),
]
CHANGES = """
write first-int id=@.int value=21
write cooldown id=@.int value=22
swrite cooldown id=@.int value=22
swrite no-value id=@.int
write first-bool id=@.bool value=true
swrite first-string id=@.string value=one
write bad-int id=@.int value=1.5
swrite bad-int id=@.int value=abc
write bad-int-bool id=@.int value=true
swrite bad-int-too-big id=@.int value=9223372036854775808
write bad-int-empty id=@.int value='""'
swrite bad-float-nan id=@.float value=nan
write bad-float-inf id=@.float value=inf
swrite bad-float id=@.float value=abc
write bad-float-bool id=@.float value=true
swrite bad-float-huge id=@.float value='"1e400"'
write bad-bool id=@.bool value=maybe
swrite bad-bool-2 id=@.bool value=2
write bad-bool-empty id=@.bool value='""'
swrite bad-string-long id=@.string value=@x1025
write locked-may-write key=@locked id=@.locked value=7
create for-toggle >tog type=bool name=Tog
toggle success id=@.tog
toggle cooldown id=@.tog
stoggle cooldown id=@.tog
create for-stoggle >stog type=bool name=Stog
stoggle success id=@.stog
toggle not-bool id=@.int
stoggle not-bool id=@.string
read after-toggle id=@.tog
history public-no-key key=null id=@.bool
read public-no-key key=null id=@.bool
sread public-no-key key=null id=@.bool
sread private-no-key key=null id=@.float
list owner
list no-variables key=@full
all owner
all no-variables key=@full
latest owner
latest no-variables key=@full
slatest owner
slatest no-variables key=@full
create for-transfer-0 >tr0 type=float name=T0
transfer other id=@.tr0 target=@email.other
create for-transfer-1 >tr1 type=float name=T1
transfer other-upper-case id=@.tr1 target=@EMAIL.other
create for-transfer-2 >tr2 type=float name=T2
transfer self id=@.tr2 target=@.self
create for-transfer-3 >tr3 type=float name=T3
transfer padded-email id=@.tr3 target=@.padded
create for-transfer-4 >tr4 type=float name=T4
transfer target-unknown id=@.tr4 target=nobody@record.invalid
transfer target-banned id=@.tr4 target=@email.banned
transfer target-unconfirmed id=@.tr4 target=@email.unconfirmed
transfer target-disabled id=@.tr4 target=@email.notransfer
transfer target-full id=@.tr4 target=@email.full
transfer no-target id=@.tr4
read transferred-away id=@.tr0
transfer locked key=@locked id=@.locked target=@email.other
list after-transfers
create for-graph-int >gint type=int name="Graph ±" unit=°C min=0 max=100 public=true
create for-graph-bool >gbool type=bool name=Switch
create for-graph-empty >gempty type=float name=Empty
write for-graph-int id=@.gint value=42
write for-graph-bool id=@.gbool value=true
create for-delete >del type=int name=Del
delete success id=@.del
delete again id=@.del
read deleted id=@.del
delete locked key=@locked id=@.locked
"""
GRAPHS = """
history pinned id=@.gint
graph default id=@.gint
sgraph png id=@.gint format=png
graph jpg id=@.gint format=jpg
sgraph JPEG id=@.gint format=JPEG
graph gif id=@.gint format=gif
sgraph bmp id=@.gint format=bmp
graph tiff id=@.gint format=tiff
sgraph empty-format id=@.gint format=
graph eink id=@.gint eink=true
sgraph eink-400x300 id=@.gint eink=true width=400 height=300 format=png
graph thick-no-title id=@.gint thick=true title=false
sgraph 16x2048 id=@.gint width=16 height=2048
graph width-15 id=@.gint width=15
sgraph width-2049 id=@.gint width=2049
graph width-abc id=@.gint width=abc
sgraph colours id=@.gint color_line=ff0000 color_background=FFFFFF color_title=000000 color_axes=00ff00
graph bad-colour id=@.gint color_line=zzzzzz
sgraph hash-colour id=@.gint color_line=#ff0000
graph short-colour id=@.gint color_line=fff
graph bool id=@.gbool
sgraph bool-eink id=@.gbool eink=true
graph no-data id=@.gempty
sgraph no-data-eink id=@.gempty eink=true
graph string id=@.string
sgraph string id=@.string
graph public-no-key key=null id=@.gint
sgraph private-no-key key=null id=@.gbool
"""


async def run(r: Recorder, t: str, script: str, headers: Headers = (), prefix: str = "") -> Answer | None:
    """Run scenario lines over transport `t` (labelled `<prefix or t>/<action>/<case>`); the last answer."""
    answer = None
    for line in script.replace("\\\n", " ").strip().splitlines():
        action, case, *tokens = shlex.split(line.replace("@.", f"@{t}."))
        marker = next((token[1:] for token in tokens if token.startswith(">")), None)
        params: Json = {"key": f"@owner.{t}"} | ({"action": action} if action != "-" else {})
        for name, _, text in (token.partition("=") for token in tokens if not token.startswith(">")):
            try:
                params[name] = json.loads(text)
            except ValueError:
                params[name] = text
        label = f"{prefix or t}/{action}/{case}"
        if marker is not None:
            await r.create(label, t, f"@{t}.{marker}", {k: v for k, v in params.items() if k != "action"})
        else:
            answer = await r.call(label, t, params, headers)
    return answer


# The parameters that make each action complete (default: `id`), and their values (the id: `@<t>.float`).
REQUIRED = {"create": "type name", "edit": "id type name", "write": "id value", "swrite": "id value"}
REQUIRED |= {"transfer": "id target", "list": "", "all": "", "latest": "", "slatest": ""}
COMPLETE = {"type": "float", "name": "Humidity", "value": 1.5, "target": "@email.other"}
# Check 3 to 5 of the order of checks, for every action: a complete request from each persona but the owner.
KEY_CASES: list[tuple[str, Json]] = [
    ("no-key", {"key": None}),
    ("wrong-key", {"key": WRONG_KEY}),
    ("banned", {"key": "@banned"}),
    ("unconfirmed", {"key": "@unconfirmed"}),
    ("banned-ip", {}),  # the owner's key from a banned address
]
IF_NONE_MATCH = {"same": "{}", "weak": "W/{}", "list": '"x", {}', "star": "*", "other": '"0"'}
ID_CASES: list[tuple[str, Json]] = [("unknown-id", {"id": UNKNOWN_ID}), ("other-account-id", {"id": "@other.var"})]


async def block(r: Recorder, t: str) -> None:
    """Every action over one transport, for the owner `@owner.<t>` and its variables `@<t>.*`."""
    owner = f"@owner.{t}"
    r.refs |= {f"@{t}.self": r.refs[f"@email.owner.{t}"], f"@{t}.padded": f" {r.refs['@email.other']} "}
    await run(r, t, BASICS)
    for action in ACTIONS.split():
        complete = COMPLETE | {"id": f"@{t}.float"}
        full = {"key": owner, "action": action, **{name: complete[name] for name in REQUIRED.get(action, "id").split()}}
        for case, change in KEY_CASES + (ID_CASES if "id" in full else []):
            headers = [("X-Forwarded-For", BANNED_IP)] if case == "banned-ip" else []
            await r.call(f"{t}/{action}/{case}", t, full | change, headers)
        await r.call(f"{t}/{action}/no-params", t, {"key": owner, "action": action})
    for marker in ("int", "float", "bool", "string"):
        for action in ("read", "sread", "history"):
            await run(r, t, f"{action} zero-{marker} id=@.{marker}")
    for i, (kind, value) in enumerate(WRITES):
        await r.create(f"{t}/create/for-write-{i}", t, f"@{t}.w{i}", {"key": owner, "type": kind, "name": "W"})
        action = ("write", "swrite")[i % 2]
        await r.call(
            f"{t}/{action}/{kind}-{i}", t, {"key": owner, "action": action, "id": f"@{t}.w{i}", "value": value}
        )
        for action in ("read", "sread", "history"):
            await run(r, t, f"{action} after-write-{i} id=@.w{i}")
    await run(r, t, CHANGES)
    await run(r, t, "read public-no-key-banned-ip key=null id=@.bool", [("X-Forwarded-For", BANNED_IP)])
    for marker in ("gint", "gbool", "gempty"):
        await r.pin(f"@{t}.{marker}")
    await run(r, t, GRAPHS)
    answer = await run(r, t, "graph for-etag id=@.gint format=gif")
    etag = (answer.header("etag") or "") if answer else ""
    for case, match in IF_NONE_MATCH.items():
        await run(r, t, f"graph if-none-match-{case} id=@.gint format=gif", [("If-None-Match", match.format(etag))])
    await run(r, t, "sgraph if-none-match-other-options id=@.gint", [("If-None-Match", etag)])
    await run(r, t, "all at-end")


async def setup(r: Recorder) -> None:
    await r.create(
        "setup/other", "get", "@other.var", {"key": "@other", "type": "float", "name": "Other's", "public": True}
    )
    for t in TRANSPORTS:
        await r.create(f"setup/locked.{t}", "get", f"@{t}.locked", {"key": "@locked", "type": "int", "name": "Locked"})
    await r.conn.execute("UPDATE accounts SET locked = true WHERE email = $1", r.refs["@email.locked"])


async def raw_block(r: Recorder) -> None:
    """Requests written out by hand: HTTP versions, chunks, lenient parsing, limits, CORS, other paths."""
    key, host, gateway = r.refs["@owner.get"], f"{r.host}:{r.port}", f"{r.host}:{r.gateway_port}"
    var, text, pinned = (r.refs.get(f"@get.{m}", UNKNOWN_ID) for m in ("int", "string", "gint"))
    await r.create("raw/setup", "get", "@raw.w", {"key": "@owner.get", "type": "float", "name": "Raw"})
    w = r.refs.get("@raw.w", UNKNOWN_ID)
    json_type, origin = [("Content-Type", "application/json")], [("Origin", "https://example.com")]

    def get(query: str, v: str = "1.1", headers: Headers = (), k: str = key) -> bytes:
        return http("GET", f"/?key={k}&action={query}", host, headers, version=v)

    def post(body: str | bytes, headers: Headers = json_type, target: str = "/") -> bytes:
        return http("POST", target, host, headers, body.encode() if isinstance(body, str) else body)

    def fields(**given: Any) -> str:
        return json.dumps({"key": key, **given})

    requests: list[tuple[str, bytes]] = []
    for v in ("1.0", "1.1"):
        requests += [
            (f"{v}/sread", get(f"sread&id={var}", v)),
            (f"{v}/swrite", get(f"swrite&id={w}&value=1.25", v)),
            (f"{v}/slatest", get("slatest", v)),
            (f"{v}/sgraph-error", get(f"sgraph&id={w}&format=x", v)),
            (f"{v}/sgraph-eink", get(f"sgraph&id={pinned}&eink=1", v)),
            (f"{v}/read", get(f"read&id={w}", v)),
            (f"{v}/sread-wrong-key", get(f"sread&id={var}", v, k=WRONG_KEY)),
            (f"{v}/no-action", http("GET", "/", host, version=v)),
        ]
    chunked = f"POST /?action=sread HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    form_type = [("Content-Type", "application/x-www-form-urlencoded")]
    preflight = [("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")]
    requests += [
        ("1.0/absolute-form", http("GET", f"http://{host}/?key={key}&action=sread&id={var}", None, version="1.0")),
        ("keep-alive", get(f"sread&id={var}", headers=[("Connection", "keep-alive")])),
        ("get-content-length-0", get(f"read&id={var}", headers=[("Content-Length", "0")])),
        ("header-case", post(fields(action="read", id=var), [("Content-type", "application/json")])),
        ("sloppy-form", post(f"&&id={text}&value=two words &key={key}&&action=swrite&x=1", form_type)),
        ("after-sloppy-form", get(f"sread&id={text}")),
        ("form-no-content-type", post(f"key={key}&action=read&id={var}", [])),
        ("json-text-plain", post(fields(action="info", id=var), [("Content-Type", "text/plain")])),
        ("query-and-body-merge", post(fields(id=var), target=f"/?action=read&id={UNKNOWN_ID}")),
        ("json-null", post(fields(action="read", id=var, value=None, x=None))),
        ("json-array", post("[1,2]")),
        ("json-broken", post('{"key":')),
        ("json-deep", post("[" * 60000)),
        ("json-number-key", post('{"key":12,"action":"list"}')),
        ("413-declared", f"POST /?action=list HTTP/1.1\r\nHost: {host}\r\nContent-Length: 70000\r\n\r\n".encode()),
        ("413-chunked", chunked + b"11170\r\n" + b"x" * 70000 + b"\r\n0\r\n\r\n"),
        ("body-at-limit", post(b" " * 65536, [])),
        *((method, http(method, f"/?key={key}&action=list", host)) for method in ("PUT", "DELETE", "HEAD", "PATCH")),
        ("PUT-origin", http("PUT", "/?action=list", host, origin)),
        ("cors-get", get("list", headers=origin)),
        ("cors-sread", get(f"sread&id={var}", headers=origin)),
        ("preflight-POST", http("OPTIONS", "/", host, [*origin, *preflight])),
        ("preflight-PUT", http("OPTIONS", "/", host, [*origin, ("Access-Control-Request-Method", "PUT")])),
        ("options-no-origin", http("OPTIONS", "/", host)),
        *((f"GET {path}", http("GET", path, host)) for path in ("/healthz", "/healthz/", "/nope", "/index.html", "//")),
        ("GET /?", http("GET", "/?", host)),
        ("POST /healthz", http("POST", "/healthz", host)),
        ("healthz-origin", http("GET", "/healthz", host, origin)),
    ]
    for label, data in requests:
        await r.raw(f"raw/{label}", data)
    for path in ("/healthz", "/nope", "/ws"):
        await r.raw(f"gateway-http/GET {path}", http("GET", path, gateway), r.gateway_port)


class Socket:
    """One WebSocket session, recorded frame by frame (and the API calls made meanwhile)."""

    def __init__(self, r: Recorder, label: str) -> None:
        self.r = r
        self.frames: list[str] = []
        self.record: Json = {"label": f"gateway/{label}", "frames": self.frames}
        self.ws: ClientConnection | None = None
        r.records.append(self.record)

    async def open(self, headers: Headers = ()) -> Socket:
        try:
            self.ws = await connect(self.r.gateway, additional_headers=list(headers), open_timeout=10)
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self.record["handshake"] = {"error": repr(exc)}
            return self
        assert self.ws.response is not None
        hidden = {"sec-websocket-accept": "<accept>"}
        shown = [
            f"{k}: {hidden.get(k.lower(), v)}" for k, v in self.ws.response.headers.raw_items() if k.lower() != "date"
        ]
        self.record["handshake"] = {"status": self.ws.response.status_code, "headers": shown}
        return self

    async def send(self, message: str | bytes) -> None:
        if self.ws is None:
            return
        shown = self.r.norm.text(message)[:100] if isinstance(message, str) else f"<{len(message)} bytes>"
        try:
            await self.ws.send(message)
            self.frames.append(f"send {shown}")
        except ConnectionClosed:
            self.frames.append(f"send refused (closed) {shown}")

    async def recv(self, wait: float = 5.0) -> None:
        if self.ws is None:
            return
        try:
            message = await asyncio.wait_for(self.ws.recv(), wait)
            self.frames.append(f"recv {self.r.norm.text(message) if isinstance(message, str) else repr(message)}")
        except TimeoutError:
            self.frames.append("recv <nothing>")
        except ConnectionClosed as exc:
            self.frames.append(
                f"closed by server: {exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else "closed, no frame"
            )

    async def close(self) -> None:
        if self.ws is None:
            return
        await self.ws.close()
        self.frames.append(f"closed by client: {self.ws.close_code} {self.ws.close_reason}")


async def gateway_block(r: Recorder) -> None:
    """Answers before and after `ok`, closes, and `refresh` after committed changes only."""
    refused: list[tuple[str, list[str | bytes], Headers]] = [
        ("ping-then-wrong-key", ["ping", f"key {WRONG_KEY}"], ()),
        ("text-before-auth", ["hello"], ()),
        ("empty-key", ["key "], ()),
        ("banned", [f"key {r.refs['@banned']}"], ()),
        ("unconfirmed", [f"key {r.refs['@unconfirmed']}"], ()),
        ("banned-ip", [f"key {r.refs['@owner.get']}"], [("X-Forwarded-For", BANNED_IP)]),
        ("binary-before-auth", [f"key {r.refs['@owner.get']}".encode()], ()),
        ("frame-too-big", ["x" * 2000], ()),
    ]
    for label, messages, headers in refused:
        s = await Socket(r, label).open(headers)
        for message in messages:
            await s.send(message)
            await s.recv()
        if s.frames and not s.frames[-1].startswith("closed"):
            await s.recv()
    owner, other = await Socket(r, "owner").open(), await Socket(r, "other").open()
    for s, persona in ((owner, "@owner.get"), (other, "@other")):
        await s.send(f"key {r.refs[persona]}\r\n")
        await s.recv()
    changes: list[tuple[str, str, bool, bool]] = [  # label, scenario line, refresh to owner, refresh to other
        ("create", "create - >ws type=bool name=WS", True, False),
        ("write", "write - id=@.ws value=true", True, False),
        ("write-cooldown", "write - id=@.ws value=false", False, False),
        ("write-unknown-id", f"write - id={UNKNOWN_ID} value=1", False, False),
        ("read", "read - id=@.ws", False, False),
        ("edit", "edit - id=@.ws type=bool name=WS2", True, False),
        ("ordprev-first", "ordprev - id=@.int", False, False),
        ("ordnext", "ordnext - id=@.int", True, False),
        ("toggle-cooldown", "toggle - id=@.ws", False, False),
        ("transfer", "transfer - id=@.ws target=@email.other", True, True),
        ("delete-by-other", "delete - key=@other id=@.ws", False, True),
    ]
    for label, line, to_owner, to_other in changes:
        owner.frames.append(f"api {label}")
        other.frames.append(f"api {label}")
        await run(r, "get", line.replace(" - ", f" {label} ", 1), prefix="gateway/api")
        await owner.recv(5.0 if to_owner else 0.5)
        await other.recv(5.0 if to_other else 0.5)
        if label == "ordnext":
            for message, answered in (("ping", True), ("ping\r\n", True), ("hello", False), ("key again", False)):
                await owner.send(message)
                await owner.recv(5.0 if answered else 0.5)
    await owner.close()
    await other.close()


async def record(args: argparse.Namespace) -> list[Json]:
    conn = await asyncpg.connect(args.database_url)
    try:
        r = Recorder(args.api, args.gateway, conn)
        await r.make_accounts()
        await setup(r)
        for t in TRANSPORTS:
            await block(r, t)
        await raw_block(r)
        await gateway_block(r)
        return r.records
    finally:
        await conn.close()


@contextlib.contextmanager
def own_servers(source: Path) -> Iterator[tuple[str, str, str]]:
    """A throwaway database migrated by `source`'s code, and `source`'s API and gateway on it."""
    with postgres_server() as server, throwaway_database(server.url, migrate=False) as url:
        migrate = subprocess.run(
            varistore("migrate"), env={**os.environ, "PYTHONPATH": str(source), "DATABASE_URL": url}, cwd=source
        )
        if migrate.returncode != 0:
            raise SystemExit(f"migrating with {source} failed")
        with running_api(url, source=source) as (_, api), running_gateway(url, source=source) as (_, gateway):
            yield api, gateway, url


def main() -> None:
    parser = argparse.ArgumentParser(description="Record Varistore's answers (see the module docstring).")
    parser.add_argument("--api", help="a running API, e.g. http://127.0.0.1:18000 (default: start one)")
    parser.add_argument("--gateway", help="its gateway, e.g. ws://127.0.0.1:18001/ws")
    parser.add_argument("--database-url", help="the database they use")
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose servers to start")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    args = parser.parse_args()
    if args.api is None:
        with own_servers(args.source.resolve()) as (args.api, args.gateway, args.database_url):
            records = asyncio.run(record(args))
    elif args.gateway is None or args.database_url is None:
        parser.error("--api needs --gateway and --database-url")
    else:
        records = asyncio.run(record(args))
    text = json.dumps(records, indent=1, sort_keys=True, ensure_ascii=False)
    # The servers' ports differ from run to run.
    for url, name in ((args.api, "<api>"), (args.gateway, "<gateway>")):
        text = text.replace(urlsplit(url).netloc, name)
    # Starlette lists a route's methods from a set, whose order follows each process's hash seed.
    text = ALLOW.sub(lambda m: f'"allow: {", ".join(sorted(m[1].split(", ")))}"', text)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"{len(records)} records in {args.out}")


if __name__ == "__main__":
    main()
