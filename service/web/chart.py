"""The history chart of a variable's page: an SVG drawn with matplotlib, text kept as text.

matplotlib is imported at the first chart, so that a process which draws none never loads it, and
every chart is drawn under one lock: matplotlib's global state (rcParams, the font cache, the text
layout cache) is not thread-safe, and callers draw in threads.
"""

from __future__ import annotations

import io
import itertools
import re
import statistics
import threading
import zoneinfo
from datetime import datetime
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from service.db.series import Reduced

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

_LOCK = threading.Lock()

LINE = "#1f6feb"
BAND = "#9ec5fe"  # the line's blue, lightened: the band reads as the line's spread, not a second series
TEXT = "#1f2328"
AXIS = "#6e7781"
GRID = "#d8dee4"
FEW_POINTS = 30  # up to this many values, each is drawn as a dot on the line too
FONT_PX = 13  # the picture's units are CSS pixels at its natural width (72 dpi: one point is one unit)

_RC: dict[RcKeyType, object] = {
    "svg.fonttype": "none",  # text as <text>: small files, crisp at any zoom, selectable
    "svg.hashsalt": "varistore",  # the same chart gives the same bytes (its ids are hashes)
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": FONT_PX,
    "text.color": TEXT,
    "axes.labelcolor": TEXT,
    "axes.edgecolor": AXIS,
    "xtick.color": AXIS,
    "ytick.color": AXIS,
    "xtick.labelcolor": TEXT,
    "ytick.labelcolor": TEXT,
    "axes.formatter.useoffset": False,  # "+1.8e3" in a corner is unreadable at a glance
    "axes.formatter.limits": (-5, 7),
    # Vertices within a quarter pixel of a straight run merge (smaller files); the band keeps each
    # column's extremes whatever merges.
    "path.simplify_threshold": 0.25,
}
_SVG_ROOT = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')
_PATH_DATA = re.compile(r' d="[^"]*"')
_DIGITS = re.compile(r"(\.\d)\d+|\s*\n\s*")


def history_svg(
    series: Reduced,
    *,
    since: int,
    until: int,
    tz: zoneinfo.ZoneInfo,
    unit: str,
    title: str | None,
    width_px: int,
    height_px: int,
    step: bool,
) -> str:
    """The chart of `series` over (since, until] as SVG text, as wide as its container.

    Times show in `tz`; a reduced series is drawn as its min/max band under the line; `step` draws
    a bool (0/1) as a step line labelled false/true, holding its last state until `until`.
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    with _LOCK, matplotlib.rc_context(_RC):
        # Pads in inches, 8 and 6 px: the zone's name at the right end stays off the edge.
        layout = ConstrainedLayoutEngine(w_pad=8 / 72, h_pad=6 / 72)
        fig = Figure(figsize=(width_px / 72, height_px / 72), dpi=72, layout=layout, facecolor="white")
        ax = fig.add_subplot()
        _axes(ax, since, until, tz, width_px, step)
        ax.set_ylabel(unit)
        if title:
            ax.set_title(title, loc="left", fontsize=FONT_PX + 1, color=TEXT)
        if series.times:
            _plot(ax, series, until, step)
        else:
            ax.text(0.5, 0.5, "No values in this range", transform=ax.transAxes, ha="center", va="center", color=TEXT)
            if not step:
                ax.set_yticks([])
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return _accessible(_compact(out.getvalue()), _describe(series, since, until, tz, unit, title, step))


def _axes(ax: Axes, since: int, until: int, tz: zoneinfo.ZoneInfo, width_px: int, step: bool) -> None:
    import matplotlib.dates as mdates

    ax.set_facecolor("white")
    ax.set_xlim(since / 86400, until / 86400)  # matplotlib's dates are days since 1970 (date.epoch)
    # At most one label per 70 px keeps "Nov 22" and "12:00" apart, and an hour gets quarters at 390 px.
    most = max(3, width_px // 70)
    locator = mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=most)  # type: ignore[no-untyped-call]
    formatter = mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator,
        tz=tz,
        formats=["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%Y", "%b", "%b %d", "%H:%M", "%H:%M"],
        # The offset under the axis names the zone, so that nobody reads UTC as local time.
        offset_formats=["%Z", "%Y %Z", "%b %Y %Z", "%d %b %Y %Z", "%d %b %Y %Z", "%d %b %Y %H:%M %Z"],
    )
    # The range is fixed, so the ticks are too. Days restart at each month's 1st (Nov 29, then Dec 1
    # among 4-day ticks): a tick much closer than usual to the next one goes, so labels never collide.
    ax.xaxis.set_major_locator(locator)
    start, end = datetime.fromtimestamp(since, tz), datetime.fromtimestamp(until, tz)
    found = locator.tick_values(start, end)  # type: ignore[no-untyped-call]
    ticks = [t for t in found if since / 86400 <= t <= until / 86400]
    if len(ticks) > 2:
        usual = statistics.median(b - a for a, b in itertools.pairwise(ticks))
        ticks = [a for a, b in itertools.pairwise(ticks) if b - a > 0.6 * usual] + ticks[-1:]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(formatter)
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(length=4, width=0.8)
    if step:
        ax.set_ylim(-0.15, 1.15)
        ax.set_yticks([0, 1], ["false", "true"])


def _plot(ax: Axes, series: Reduced, until: int, step: bool) -> None:
    import numpy as np
    from matplotlib.patches import Polygon

    x = np.asarray(series.times) / 86400
    y = np.asarray(series.values)
    if series.buckets:
        # Each column's span, low to high, as two corners per column: the spike of a single point
        # stays in the band whatever the line's simplification does.
        edges = np.array([(b.start / 86400, b.end / 86400) for b in series.buckets]).ravel()
        lows = np.repeat([b.low for b in series.buckets], 2)
        highs = np.repeat([b.high for b in series.buckets], 2)
        # One polygon, highs left to right then lows back: a plain path in the SVG (fill_between's
        # collection is a <use> of one), added without autoscaling (ax.fill walks every vertex's
        # Bézier extents, 40 ms for 800 columns): the line already spans each column's low and high.
        corners = np.column_stack([np.concatenate([edges, edges[::-1]]), np.concatenate([highs, lows[::-1]])])
        band = Polygon(corners, closed=True, facecolor=BAND, edgecolor=BAND, linewidth=0.6, zorder=2)
        ax.add_artist(band)
        band.set_gid("band")
    if step:
        # A bool holds its latest state until now.
        x, y = np.append(x, until / 86400), np.append(y, y[-1])
    (line,) = ax.plot(
        x,
        y,
        color=LINE,
        linewidth=1.6,
        drawstyle="steps-post" if step else "default",
        solid_joinstyle="round",
        zorder=3,
        # A lone point has no line to draw, and a few may sit in a corner of the range: dots show them.
        marker="o" if len(series.times) == 1 or (len(series.times) <= FEW_POINTS and not step) else "",
        markersize=5 if len(series.times) == 1 else 3.5,
    )
    line.set_gid("line")


def _describe(
    series: Reduced, since: int, until: int, tz: zoneinfo.ZoneInfo, unit: str, title: str | None, step: bool
) -> str:
    def when(t: int) -> str:
        return datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M")

    what = f"{title}: chart" if title else "Chart"
    text = f"{what} from {when(since)} to {when(until)} ({tz.key})"
    if not series.count:
        return f"{text}: no values in this range."
    if step:
        return f"{text}: {series.count:,} values, true or false."
    unit = f" {unit}" if unit else ""
    lows = [b.low for b in series.buckets] or series.values
    highs = [b.high for b in series.buckets] or series.values
    return f"{text}: {series.count:,} values from {min(lows):g}{unit} to {max(highs):g}{unit}."


def _compact(svg: str) -> str:
    """Path data with a tenth of a unit (a tenth of a pixel at natural size) and no line breaks:
    a reduced month is 100 kB instead of 160 kB (23 kB gzipped instead of 50 kB)."""
    return _PATH_DATA.sub(lambda path: _DIGITS.sub(lambda m: m.group(1) or " ", path.group(0)), svg)


def _accessible(svg: str, label: str) -> str:
    """The picture sized by its container (viewBox kept), named for screen readers."""
    root = _SVG_ROOT.search(svg)
    assert root is not None, "matplotlib's SVG root changed"
    opening = f'<svg{root.group(1)} width="100%" role="img" aria-label={quoteattr(label)}'
    svg = svg[: root.start()] + opening + svg[root.end() :]
    head = svg.index(">", svg.index("<svg")) + 1
    return svg[:head] + f"\n <title>{escape(label)}</title>" + svg[head:]
