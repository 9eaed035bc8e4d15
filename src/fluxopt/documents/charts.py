"""The report's charts, drawn with matplotlib (an Agg canvas, saved as SVG text), so that the HTML
embeds them and stands alone. Each :class:`Chart` keeps its title and the data it draws."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: The charts' style, applied around each drawing only (a program using matplotlib keeps its own
#: settings and backend): fixed SVG ids, text kept as text, names never read as mathtext ("$").
STYLE: dict[str, Any] = {"svg.hashsalt": "fluxopt", "svg.fonttype": "none", "font.size": 8, "text.parse_math": False,
         "font.family": "DejaVu Sans"}
BEFORE, AFTER = "#9aa5b1", "#1f5f8b"


@dataclass(frozen=True)
class Chart:
    """A drawn chart: its title, its series (label -> values per category) and the SVG."""

    title: str
    categories: list[str]
    series: dict[str, list[float]]
    svg: str

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def paired_bars(title: str, categories: list[str], series: dict[str, list[float]], unit: str) -> Chart:
    """Horizontal bars, two per category (before, after), one colour per series."""
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # (the stubs list the keys as Literals)
        return _paired_bars(title, categories, series, unit)


def _paired_bars(title: str, categories: list[str], series: dict[str, list[float]], unit: str) -> Chart:
    # Margins in inches from the labels' length, not measured by a second drawing (bbox "tight").
    width_in, height_in = 7.0, 0.95 + 0.19 * len(categories)
    label_in = min(2.8, 0.2 + 0.062 * max((len(c) for c in categories), default=1))
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)  # the Agg canvas, without touching matplotlib's global backend
    fig.subplots_adjust(left=label_in / width_in, right=0.98, top=1 - 0.35 / height_in, bottom=0.45 / height_in)
    ax = fig.add_subplot()
    ys = list(range(len(categories)))
    width = 0.4
    for k, ((label, values), colour) in enumerate(zip(series.items(), (BEFORE, AFTER))):
        ax.barh([y + (k - 0.5) * width for y in ys], values, height=width, label=label, color=colour)
    ax.set_yticks(ys, categories)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    fig.suptitle(title, x=0.01, ha="left", fontsize=9, fontweight="bold")
    ax.legend(loc="lower right", frameon=False, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    return Chart(title, categories, series, _svg(fig))
