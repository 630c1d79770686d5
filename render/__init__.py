"""Graphs of a variable's history: pure functions from (Series, RenderOptions) to picture bytes.

No I/O and nothing from `service`; `render` is deterministic and may run in several threads at once.
"""

from __future__ import annotations

from render.graph import Picture, render
from render.options import FORMATS, InvalidFormat, InvalidOption, RenderOptions, make_options
from render.series import Series

__all__ = ["FORMATS", "InvalidFormat", "InvalidOption", "Picture", "RenderOptions", "Series", "make_options", "render"]
