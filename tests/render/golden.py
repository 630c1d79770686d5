"""The golden pictures under tests/render/golden/, which test_golden.py compares `render` against.

After an intended change to the drawing, regenerate them, look at each one, and commit them:

    .venv/bin/python -m tests.render.golden

E-ink goldens are kept as the exact 1-bit BMP bytes a device receives; the others as PNG.
"""

from __future__ import annotations

from pathlib import Path

from render import RenderOptions, Series, make_options, render
from tests.render import samples

GOLDEN = Path(__file__).resolve().parent / "golden"

CASES: dict[str, tuple[Series, RenderOptions]] = {
    "default-day.png": (samples.day(), make_options()),
    "eink-badge-296x128.bmp": (samples.day(), make_options(eink=True, width=296, height=128)),
    "eink-inkplate-400x300.bmp": (samples.day(), make_options(eink=True, width=400, height=300)),
    # Issue 9: a Croatian title, drawn thick on the two common panels, and names in other scripts.
    "eink-croatian-thick-296x128.bmp": (
        samples.day(name="Temperatura – Đakovo, čćšžđ"),
        make_options(eink=True, thick=True, width=296, height=128),
    ),
    "eink-croatian-thick-400x300.bmp": (
        samples.day(name="Temperatura – Đakovo, čćšžđ"),
        make_options(eink=True, thick=True, width=400, height=300),
    ),
    "scripts-400x300.png": (
        samples.day(name="Außen ñ · Θερμό · Тепло · 温度", unit="µg/m³"),
        make_options(width=400, height=300),
    ),
    "clamped.png": (samples.day(name="Humidity", unit="%", minimum=15.0, maximum=25.0), make_options()),
    "one-point.png": (samples.once(), make_options()),
    "bool.png": (samples.switches(), make_options()),
    "no-data.png": (samples.empty(), make_options()),
    # The spec's own customised example: thick, no title, 400x200, blue on white with black axes.
    "spec-thick-400x200.png": (
        samples.day(),
        make_options(
            thick=True,
            title=False,
            width=400,
            height=200,
            color_line="0000ff",
            color_background="ffffff",
            color_axes="000000",
        ),
    ),
}


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, (series, options) in CASES.items():
        path = GOLDEN / name
        path.write_bytes(render(series, options).data)
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


if __name__ == "__main__":
    main()
