"""Properties of every answer, whatever a client sends (issue 8), checked with hypothesis.

Requests are drawn over the three transports (GET query, JSON body, form body) and as raw bodies
with any content type: every action of the protocol and unknown ones, every parameter with values
of every type, NUL, lone surrogates, invalid UTF-8, huge and deeply nested JSON. Alice sends them
(or nobody, or a wrong key); bob owns variables she aims at. Whatever arrives:

- the answer is a known result in the action's format: a bare result for simple actions,
  `{"result":...}` otherwise, an image for a graph that succeeds; never a 5xx (the database is up);
- bob's variables never change, and no answer to alice shows bob's ids, names or values;
- nothing alice stores carries a replacement character (bad bytes are refused, not replaced);
- the server logs no traceback.

The runs are fixed (derandomize, no example database) and bounded, and hypothesis keeps its
files in a temporary directory, not in the checkout.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from service.core.results import Result
from service.varipass.dispatch import ACTIONS
from service.varipass.presenter import Answer
from tests.conftest import Server
from tests.support import WRONG_KEY, Account, Api, Db, snapshot

RESULTS = frozenset(result.value for result in Result)
GRAPHS = ("graph", "sgraph")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/bmp")
# Requests refused before they are read, still with a protocol body: malformed (400), a body too
# large (413), a head too large (431).
REFUSED = (400, 413, 431)

# Fixed runs: the same examples every time, nothing remembered between runs. About 20 ms an
# example here; the counts keep the file well under a minute on a busy 2-core machine.
RUNS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # alice and bob stay the same accounts across examples
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass(frozen=True)
class World:
    """The two tenants and what a request may aim at."""

    alice: Account
    bob: Account
    alice_ids: list[str]  # grows as alice's requests create variables
    bob_ids: list[str]
    secrets: list[str]  # bob's, never in an answer to anyone
    public: list[str]  # bob's public variable: in no answer to a request with a key


def _marker(what: str) -> str:
    return f"bob-{what}-{uuid.uuid4().hex[:12]}"


def make_world(api: Api, alice: Account, bob: Account) -> World:
    # expire 0 cools down in 1 s, so that alice's writes keep succeeding during the run.
    alice_ids = [api.create(alice.key, type=t, name=f"a-{t}", expire=0) for t in ("int", "float", "bool", "string")]
    secrets: list[str] = []
    bob_ids = []
    for t in ("int", "float", "bool", "string"):
        name, description = _marker("name"), _marker("description")
        var = api.create(bob.key, type=t, name=name, unit="u", description=description)
        bob_ids.append(var)
        secrets += [var, name, description]
    secret_value = _marker("value")
    assert api.call("write", bob.key, id=bob_ids[3], value=secret_value)["result"] == "success"
    public_name, public_value = _marker("public-name"), _marker("public-value")
    public_id = api.create(bob.key, type="string", name=public_name, public=True)
    assert api.call("write", bob.key, id=public_id, value=public_value)["result"] == "success"
    return World(
        alice,
        bob,
        alice_ids,
        [*bob_ids, public_id],
        [*secrets, secret_value],
        [public_id, public_name, public_value],
    )


# -- What requests are made of ---------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A value sent as bytes: in a query or form those bytes (percent-encoded), in JSON `json` as is."""

    wire: bytes
    json: bytes


HOSTILE_CHARACTERS = "\x00\ud800\udbff\udc00\udce9\udfff"
# Text of every kind but U+FFFD, so that a stored U+FFFD can only be a replaced bad byte.
characters = st.characters(exclude_characters="\ufffd") | st.sampled_from(HOSTILE_CHARACTERS)
texts = st.text(characters, max_size=24)
words = st.text(st.characters(categories=["L", "N"], exclude_characters="\ufffd"), min_size=1, max_size=12)
hostile_texts = st.builds(lambda a, h, b: a + h + b, words | st.just(""), st.sampled_from(HOSTILE_CHARACTERS), words)
long_texts = st.integers(1000, 3000).map(lambda n: "x" * n)
bad_utf8 = st.sampled_from([b"caf\xe9", b"\xff", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"a\x00b"]).map(
    lambda b: Raw(b, b'"' + b.replace(b"\x00", b"\\u0000") + b'"')
)


def _deep(depth: int, kind: str) -> Raw:
    opener, closer = {"list": (b"[", b"]"), "object": (b'{"a":', b"}")}[kind]
    text = opener * depth + b"1" + closer * depth
    return Raw(text, text)


def deep_json(max_depth: int) -> st.SearchStrategy[Raw]:
    return st.builds(_deep, st.integers(1, max_depth), st.sampled_from(["list", "object"]))


# Deep, but within what the server's JSON parser reads: past it a body cannot be read at all, and
# its action is unknown (the raw bodies below go past it).
readable_deep_json = deep_json(800)
json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | texts
json_values = st.recursive(
    json_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8
)
# A parameter's value that is wrong in some way (or, by chance, right).
hostile = (
    hostile_texts
    | bad_utf8
    | texts
    | long_texts
    | readable_deep_json
    | json_values
    | st.sampled_from(["1e999", "nan", "-inf", "1_000", "0x10", " 7 ", "9223372036854775808", "1.5", "yes", "2", ""])
)
flags = st.sampled_from(["true", "FALSE", "1", "0", True, False])
small_numbers = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)


def well_formed(world: World) -> dict[str, st.SearchStrategy[Any]]:
    """Each parameter's values that a valid request could carry (aimed at alice's or bob's variables)."""
    # An index into alice's ids, not a sample of them: they grow during the run, and hypothesis
    # wants the same draws to replay a failing example.
    alice = st.integers(0, 99).map(lambda i: world.alice_ids[i % len(world.alice_ids)])
    bob = st.sampled_from(world.bob_ids)
    ids = st.integers(0, 9).flatmap(lambda n: alice if n < 6 else bob if n < 9 else st.just("nOsUcH00"))
    emails = st.sampled_from([world.alice.email, world.bob.email, world.bob.email.upper(), "nobody@example.com"])
    colors = st.sampled_from(["ff0000", "9d9d9d", "222222"])
    return {
        "id": ids,
        "type": st.sampled_from(["int", "float", "bool", "string", "INT"]),
        "name": words,
        "description": words | st.just(""),
        "unit": st.sampled_from(["", "°C", "%"]),
        "value": small_numbers | flags | words | st.sampled_from(["12.5", "-3", "°C ✓ \U0001f600"]),
        "target": emails,
        "min": small_numbers,
        "max": small_numbers,
        "expire": st.sampled_from([0, 60, 3600, 86400, "0"]),
        "graph": flags,
        "perc": flags,
        "public": flags,
        "format": st.sampled_from(["png", "jpg", "jpeg", "gif", "bmp", "svg"]),
        "width": st.integers(16, 300),
        "height": st.integers(16, 300),
        "eink": flags,
        "thick": flags,
        "title": flags,
        "invert": flags,
        "color_line": colors,
        "color_background": colors,
        "color_title": colors,
        "color_axes": colors,
    }


UNKNOWN_ACTIONS = st.sampled_from(["", "READ", "nosuch", "read\x00", "sread\ud800"]) | texts | json_leaves


@dataclass(frozen=True)
class Request:
    transport: str  # get, json, form
    fields: dict[str, Any]
    content_type: str | None
    if_none_match: str | None

    @property
    def action(self) -> str | None:
        action = self.fields.get("action")
        return action if isinstance(action, str) and action in ACTIONS else None

    @property
    def keyed(self) -> bool:
        """Whether the request names a key (then nothing public of bob's may show either)."""
        return self.fields.get("key") not in (None, "")


def _often(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


def requests(world: World) -> st.SearchStrategy[Request]:
    """Mostly real actions from alice with their parameters, each parameter now and then hostile."""
    good = well_formed(world)
    other_keys = st.sampled_from([None, "", WRONG_KEY]) | hostile_texts | bad_utf8 | json_values

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        transport = draw(st.sampled_from(["get", "json", "form"]))
        action = draw(st.sampled_from(sorted(ACTIONS))) if _often(draw, 85) else draw(UNKNOWN_ACTIONS)
        fields: dict[str, Any] = {"key": world.alice.key if _often(draw, 75) else draw(other_keys), "action": action}
        takes = list(ACTIONS[action].params.model_fields) if action in ACTIONS else []
        for name in takes:
            if _often(draw, 90):
                fields[name] = draw(good[name]) if _often(draw, 70) else draw(hostile)
        for name in draw(st.lists(st.sampled_from([*sorted(good), "unknown"]), unique=True, max_size=2)):
            fields.setdefault(name, draw(hostile))
        content_type = None
        if transport == "form":
            # What a form may arrive as: the right type, none, or one that names something else.
            content_type = draw(
                st.sampled_from(["application/x-www-form-urlencoded", "", "text/plain", "application/json"])
            )
        if_none_match = draw(st.sampled_from([None, None, "*", '"nope"', "W/*, x"]))
        return Request(transport, {k: v for k, v in fields.items() if v is not None}, content_type, if_none_match)

    return build()


def _text(value: Any) -> bytes:
    """A value as a query or form carries it: text, bools as true/false, Raw as its bytes."""
    if isinstance(value, Raw):
        return value.wire
    if isinstance(value, bool):
        return b"true" if value else b"false"
    text = value if isinstance(value, str) else json.dumps(value)
    # A lone surrogate goes out as the bytes that would encode it, which are not UTF-8.
    return text.encode("utf-8", "surrogatepass")


def _json(value: Any) -> bytes:
    if isinstance(value, Raw):
        return value.json
    if isinstance(value, dict):
        return b"{" + b",".join(_json(str(k)) + b":" + _json(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_json(v) for v in value) + b"]"
    return json.dumps(value).encode()  # NaN and infinities as JavaScript spells them; surrogates escaped


def send(api: Api, request: Request) -> httpx.Response:
    headers = {"If-None-Match": request.if_none_match} if request.if_none_match else {}
    if request.transport == "json":
        body = b"{" + b",".join(_json(k) + b":" + _json(v) for k, v in request.fields.items()) + b"}"
        return api.http.post("/", content=body, headers={**headers, "Content-Type": "application/json"})
    encoded = b"&".join(
        quote_from_bytes(k.encode()).encode() + b"=" + quote_from_bytes(_text(v)).encode()
        for k, v in request.fields.items()
    )
    if request.transport == "get":
        return api.http.get("/?" + encoded.decode("ascii"), headers=headers)
    return api.http.post("/", content=encoded, headers={**headers, "Content-Type": request.content_type or ""})


# -- What every answer must be ---------------------------------------------------------------------


def check_answer(response: httpx.Response, action: str | None) -> str:
    """The answer's result, after checking it is a known result in the format of `action`
    (None: the server may not know which action was meant, so any protocol format)."""
    status, content_type = response.status_code, response.headers.get("content-type", "")
    assert status in (200, 304, 429, *REFUSED), (status, response.content[:200])
    if status in REFUSED:
        action = None  # refused before the request was read: its action's format is not known yet
    if status == 304:
        assert action in GRAPHS and not response.content
        return Result.SUCCESS.value
    if content_type in IMAGE_TYPES:
        assert status == 200 and action in GRAPHS + (None,) and response.content
        return Result.SUCCESS.value
    simple = ACTIONS[action].answer is Answer.SIMPLE if action is not None else content_type.startswith("text/")
    if simple:
        assert content_type == "text/plain; charset=utf-8", content_type
        text = response.text
        result = text.split("|", 1)[0]
        assert result in RESULTS, text[:200]
        assert result == Result.SUCCESS.value or text == result, text[:200]
        assert action != "sgraph" or result != Result.SUCCESS.value, "sgraph succeeds with an image"
    else:
        assert content_type == "application/json", content_type
        data = response.json()
        assert isinstance(data, dict) and data.get("result") in RESULTS, response.text[:200]
        result = data["result"]
        assert result == Result.SUCCESS.value or data == {"result": result}, data
        assert action != "graph" or result != Result.SUCCESS.value, "graph succeeds with an image"
    assert result != Result.ERROR_DB.value, "error_db while the database is up"
    if status in REFUSED:
        assert result == Result.ERROR_INVALID_PARAMETERS.value
    if status == 429:
        assert result == Result.ERROR_COOLDOWN.value
    return result


class Watch:
    """Checks, after each request, what no request may ever do."""

    def __init__(self, server: Server, db: Db, world: World) -> None:
        self.server, self.db, self.world = server, db, world
        self.bob_before = snapshot(db, world.bob)
        self.logged = len(server.process.output())

    def after(self, response: httpx.Response, keyed: bool) -> None:
        if not response.headers.get("content-type", "").startswith("image/"):
            text = response.content.decode("utf-8", "replace")
            hidden = self.world.secrets + (self.world.public if keyed else [])
            assert not [marker for marker in hidden if marker in text], text[:300]
        assert snapshot(self.db, self.world.bob) == self.bob_before, "bob's data changed"
        output = self.server.process.output()
        logged, self.logged = output[self.logged :], len(output)  # each example answers for its own lines
        assert "Traceback" not in logged, logged[-3000:]

    def finish(self) -> None:
        replaced = self.db.fetchval(
            """
            SELECT (SELECT count(*) FROM variables WHERE account_id = $1
                    AND strpos(name || description || unit || coalesce(value_text, ''), $2) > 0)
                 + (SELECT count(*) FROM history WHERE account_id = $1 AND strpos(value_text, $2) > 0)
            """,
            self.world.alice.id,
            "\ufffd",
        )
        assert replaced == 0, "a bad byte was stored as U+FFFD"


def test_requests_over_every_transport_answer_known_results_and_stay_in_their_tenant(
    server: Server, db: Db, alice: Account, bob: Account
) -> None:
    world = make_world(server.api, alice, bob)
    watch = Watch(server, db, world)

    @RUNS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        request = data.draw(requests(world), label="request")
        response = send(server.api, request)
        result = check_answer(response, request.action)
        watch.after(response, request.keyed)
        if request.action == "create" and result == Result.SUCCESS.value:
            world.alice_ids.append(response.json()["id"])

    run()
    watch.finish()


# -- Raw bodies: any bytes, any content type -------------------------------------------------------

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "",
        "application/json",
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "image/png",
        ";;;",
    ]
)


def bodies(world: World) -> st.SearchStrategy[bytes]:
    key = world.alice.key.encode()
    action = st.sampled_from(sorted(ACTIONS)).map(str.encode)
    form_prefix = st.builds(lambda a: b"key=" + key + b"&action=" + a + b"&", action)
    json_prefix = st.builds(lambda a: b'{"key":"' + key + b'","action":"' + a + b'",', action)
    return st.one_of(
        st.binary(max_size=300),
        st.builds(bytes.__add__, form_prefix, st.binary(max_size=200)),
        st.builds(bytes.__add__, json_prefix, st.binary(max_size=200)),
        st.builds(lambda p, d: p + b'"value":' + d.json + b"}", json_prefix, deep_json(3000)),
        st.builds(lambda d: d.json, deep_json(3000)),
        st.builds(
            lambda p, n: p + b'"name":"' + b"x" * n + b'"}', json_prefix, st.sampled_from([60_000, 65_600, 70_000])
        ),
        st.sampled_from([b"[" * 100_000, b'{"a":' * 20_000, b"\x00" * 1000, "ü".encode() * 20_000, b"\xff\xfe{\x00}"]),
        st.integers(65_530, 65_540).map(lambda n: b"a" * n),
        texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


def test_raw_bodies_with_any_content_type_answer_known_results(
    server: Server, db: Db, alice: Account, bob: Account
) -> None:
    world = make_world(server.api, alice, bob)
    watch = Watch(server, db, world)
    queries = st.sampled_from(["", "action=read", "action=sread", "action=swrite&key=" + alice.key, "action=graph"])

    @settings(RUNS, max_examples=200)
    @given(query=queries, body=bodies(world), content_type=CONTENT_TYPES)
    def run(query: str, body: bytes, content_type: str | None) -> None:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        response = server.api.http.post(f"/?{query}", content=body, headers=headers)
        check_answer(response, None)
        watch.after(response, keyed=True)

    run()
    watch.finish()
