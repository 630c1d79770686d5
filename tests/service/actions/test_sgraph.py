"""sgraph: the same images as graph; errors as bare text."""

from __future__ import annotations

import pytest

from tests.service.actions.test_graph import MAGIC, with_history
from tests.support import Account, Api, Db, persona_key


def test_sgraph_draws_like_graph(api: Api, db: Db, alice: Account, transport: str) -> None:
    var = with_history(api, db, alice)
    simple = api.request(transport, action="sgraph", key=alice.key, id=var, width=400, height=300, eink="true")
    full = api.request(transport, action="graph", key=alice.key, id=var, width=400, height=300, eink="true")
    assert simple.headers["content-type"] == "image/bmp" and simple.content.startswith(MAGIC["image/bmp"])
    assert simple.content == full.content


def test_sgraph_the_specs_example_error(api: Api, alice: Account) -> None:
    assert api.simple("sgraph", alice.key, id="wrongid") == "error_invalid_id"


@pytest.mark.parametrize(
    ("who", "type_", "options", "result"),
    [
        ("alice", "float", {"width": 5000}, "error_invalid_parameters"),
        ("alice", "float", {"format": "svg"}, "error_invalid_format"),
        ("alice", "string", {"format": "svg"}, "error_is_string"),
    ],
)
def test_sgraph_errors_are_bare_text(
    api: Api, db: Db, alice: Account, who: str, type_: str, options: dict[str, object], result: str
) -> None:
    var = api.create(alice.key, type=type_)
    assert api.simple("sgraph", persona_key(db, who, alice), id=var, **options) == result
