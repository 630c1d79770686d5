"""`render` against the golden pictures (tests/render/golden.py says how to regenerate them)."""

from __future__ import annotations

import pytest
from PIL import Image

from render import render
from tests.render.golden import CASES, GOLDEN
from tests.render.images import decode, differing_share

# Font rasterising may shift by a pixel between FreeType builds; a real change in drawing moves far more.
TOLERANCE = 0.01


@pytest.mark.parametrize("name", sorted(CASES))
def test_render_matches_golden(name: str) -> None:
    path = GOLDEN / name
    assert path.exists(), f"missing {path}: run `.venv/bin/python -m tests.render.golden`"
    series, options = CASES[name]
    picture = decode(render(series, options))
    with Image.open(path) as golden:
        golden.load()
        assert (golden.format, golden.mode, golden.size) == (picture.format, picture.mode, picture.size)
        assert differing_share(golden, picture) <= TOLERANCE


def test_differing_share_sees_a_change() -> None:
    series, options = CASES["default-day.png"]
    picture = decode(render(series, options)).convert("RGB")
    changed = picture.copy()
    changed.paste((255, 0, 0), (0, 0, 30, 30))
    assert differing_share(picture, changed) == pytest.approx(900 / (picture.width * picture.height))
