"""What every figure shares: the house style for the book's column, panel grids, the legend under the panels,
the tag of simulated data, and the check that a figure stays legible at the column's width."""

from __future__ import annotations

import functools
import math
import os

import matplotlib.pyplot as plt
import matplotlib.text
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

# At a 1280 px wide window a figure in the book's main column may be 688 CSS px wide, and 666 px inside a folded
# solution. A figure drawn at most COLUMN_IN inches wide at 100 dpi, with nothing past its edges, is saved with a
# 0.1 in margin on each side at most 660 px wide: shown at its own size there, so a font of MIN_PT points stays at
# least that size on the page (tests/test_browser.py measures it).
COLUMN_IN = 6.4
MIN_PT = 9.0
MIN_PANEL_IN = 1.0  # the least height of a panel's plot area, in inches
HOUSE = {
    "figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9, "legend.title_fontsize": 9,
    "figure.titlesize": 11,
}
STRICT = "HELPERS_STRICT_FIGURES"  # set (the tests' book builds do): a figure that breaks the rules is an error


def simulated_tag(recording_or_simulated) -> str:
    simulated = getattr(recording_or_simulated, "simulated", recording_or_simulated)
    return " (simulated data)" if simulated else ""


def panel_grid(n: int, ncols: int = 2, height: float = 2.6, sharey: bool = False):
    """A column-wide figure of ``n`` panels in rows of ``ncols``, and its ``n`` axes (spare cells are removed)."""
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_IN, height * nrows), squeeze=False, sharey=sharey)
    flat = list(axes.flat)
    for spare in flat[n:]:
        fig.delaxes(spare)
    return fig, flat[:n]


def measure_panels(data: pd.DataFrame, ncols: int = 2, height: float = 2.6):
    """A figure with one panel per measure (``data["measure"]``, in order of appearance), and ``measure -> axes``."""
    measures = list(dict.fromkeys(data["measure"]))
    fig, axes = panel_grid(len(measures), ncols, height)
    return fig, dict(zip(measures, axes))


def log_axis(axis) -> None:
    """A log axis labelled at 1, 2 and 5 times each power of ten, in plain numbers (20, 50, 100), and nothing else."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def legend_below(fig: plt.Figure, axes, title: str = "", ncol: int = 2, handles=None) -> None:
    """One legend for every panel, under them (off the data), the suptitle above, and the panels fitted between.

    ``handles``: the legend's entries (default: every labelled artist of
    ``axes``, each label once).
    """
    if handles is None:
        seen = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(label, handle)
        handles = list(seen.values())
        labels = list(seen)
    else:
        labels = [h.get_label() for h in handles]
    rows = math.ceil(len(handles) / ncol)
    width, height = fig.get_size_inches()
    below = 0.1 + 0.24 * rows if handles else 0.0  # inches: the figure grows by the legend, the panels keep theirs
    fig.set_size_inches(width, height + below)
    bottom = below / (height + below)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 0.0))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom if handles else 0, 1, 1))


def problems(fig: plt.Figure) -> list[str]:
    """What would make ``fig`` hard to read in the book's column: wider than the column, text past its edges,
    overlapping panel titles, a panel squashed under MIN_PANEL_IN, or text under MIN_PT."""
    found = []
    width = fig.get_size_inches()[0]
    if width > COLUMN_IN + 1e-6:
        found.append(f"{width:.1f} in wide, more than the column's {COLUMN_IN:g} in (it would be shrunk)")
    fig.canvas.draw()  # tick labels exist once drawn
    outer = fig.get_tightbbox(fig.canvas.get_renderer()).width
    if outer > width + 0.1:
        found.append(f"text runs {outer - width:.1f} in past the figure's edges (a long title or label?)")
    renderer = fig.canvas.get_renderer()
    titles = [(ax.title.get_text(), ax.title.get_window_extent(renderer)) for ax in fig.axes if ax.title.get_text().strip()]
    for i, (text, box) in enumerate(titles):
        clash = next((other for other, other_box in titles[i + 1:] if box.overlaps(other_box)), None)
        if clash is not None:
            found.append(f"the panel titles {text!r} and {clash!r} overlap (shorten them)")
    for ax in fig.axes:
        tall = ax.get_window_extent(renderer).height / fig.dpi
        if ax.get_label() != "<colorbar>" and tall < MIN_PANEL_IN:
            found.append(f"the panel {ax.get_title()!r} is {tall:.1f} in tall, under {MIN_PANEL_IN:g} in (make the figure taller)")
    small = sorted({(round(t.get_fontsize(), 1), t.get_text().strip()[:30]) for t in fig.findobj(matplotlib.text.Text)
                    if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_PT - 1e-6})
    if small:
        found.append(f"{len(small)} text(s) under {MIN_PT:g} pt, e.g. {small[0][1]!r} at {small[0][0]:g} pt")
    return found


def legible(draw):
    """Decorate a function that returns a figure: with ``HELPERS_STRICT_FIGURES`` set, a figure with
    :func:`problems` is an error naming them (the tests build the book so)."""

    @functools.wraps(draw)
    def checked(*args, **kwargs):
        fig = draw(*args, **kwargs)
        if os.environ.get(STRICT):
            found = problems(fig)
            if found:
                raise AssertionError(f"figure {draw.__name__}: " + "; ".join(found))
        return fig

    return checked
