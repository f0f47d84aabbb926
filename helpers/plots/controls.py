"""Figures of the controls chapter: the controls matrix and the recovery of a planted layer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..align.statistics import layer_curve
from ..lm.models import RANDOM_PREFIX
from ..lm.trivial import PREFIX as TRIVIAL_PREFIX
from .style import legend_below, legible, measure_panels, panel_grid, simulated_tag

SPLIT_NAMES = {"types": "shuffled types", "blocks": "blocks + buffer", "runs": "leave one run out", "none": "no fit (all words)"}
SHORT_SPLIT_NAMES = {"types": "types", "blocks": "blocks", "runs": "runs", "none": "no fit"}  # the matrix's columns


def _short(source: str) -> str:
    """A source's name short enough for the matrix's rows: ``random:`` as ``untrained``, trivial features bare."""
    return source.replace(RANDOM_PREFIX, "untrained ").removeprefix(TRIVIAL_PREFIX)


@legible
def controls_matrix(summary: pd.DataFrame, title: str = "", simulated: bool = False) -> plt.Figure:
    """One panel per measure: sources down, splits across; colour and number: mean minus chance.

    ``summary`` is :func:`helpers.run.controls.controls_summary`. A cell
    whose 95 % interval lies above chance is marked with a star; the
    intervals themselves and the share of the noise ceiling are in the
    chapter's table.
    """
    sources = list(dict.fromkeys(summary["model"]))
    fig, panels = measure_panels(summary, height=0.36 * len(sources) + 1.3)
    for measure, ax in panels.items():
        rows = summary[summary["measure"] == measure]
        splits = [s for s in SPLIT_NAMES if s in set(rows["split"])]
        above = rows.pivot_table(index="model", columns="split", values="mean", aggfunc="first").reindex(index=sources, columns=splits)
        above = above - rows.pivot_table(index="model", columns="split", values="chance", aggfunc="first").reindex(index=sources, columns=splits)
        ci = rows.pivot_table(index="model", columns="split", values="ci95", aggfunc="first").reindex(index=sources, columns=splits)
        limit = np.nanmax(np.abs(above.to_numpy())) or 1.0
        ax.imshow(above.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(above.to_numpy(dtype=float)):
            if np.isnan(value):
                continue
            text = f"{value:+.3f}{'*' if value - ci.iat[i, j] > 0 else ''}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if abs(value) > 0.6 * limit else "black")
        ax.set_xticks(range(len(splits)), [SHORT_SPLIT_NAMES[s] for s in splits])
        first_column = list(panels.values()).index(ax) % 2 == 0
        ax.set_yticks(range(len(sources)), [_short(s) for s in sources] if first_column else [])
        ax.set_title(f"{measure}\nminus chance")
    legend_below(fig, list(panels.values()), title + " (*: 95 % CI above chance)" + simulated_tag(simulated))
    return fig


@legible
def recovery(table: pd.DataFrame, planted_layer: int, title: str = "") -> plt.Figure:
    """Score by layer of the planted model for each design (rows) and measure (columns), one line per SNR.

    ``table`` is :func:`helpers.run.controls.measure_rows` of the recovery
    sweep. Bands: the 95 % t interval over subjects and folds, as in every
    table; a star: the best layer (both from
    :func:`helpers.align.statistics.layer_curve`); a vertical line: the
    planted layer; dotted: the chance level (the permutation null's mean).
    """
    designs = list(dict.fromkeys(table["design"]))
    measures = list(dict.fromkeys(table["measure"]))
    snrs = sorted(set(table["snr"]))
    fig, flat = panel_grid(len(measures) * len(designs), ncols=len(designs), height=2.3)
    shades = plt.cm.viridis(np.linspace(0.1, 0.85, len(snrs)))
    for ax, (measure, design) in zip(flat, ((m, d) for m in measures for d in designs)):
        rows = table[(table["design"] == design) & (table["measure"] == measure)]
        for snr, colour in zip(snrs, shades):
            s, best = layer_curve(rows[rows["snr"] == snr])
            ax.plot(s["layer"], s["mean"], color=colour, lw=1.3, label=f"SNR {snr:g}")
            ax.fill_between(s["layer"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=colour, alpha=0.2, lw=0)
            ax.plot(best["layer"], best["mean"], "*", color=colour, ms=9)
            ax.plot(s["layer"], s["chance"], ":", color=colour, lw=0.8)
        ax.axvline(planted_layer, color="k", ls="-.", lw=1)
        ax.set_title(f"{measure}, {design}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in flat[-len(designs):]:
        ax.set_xlabel("layer")
    ax.plot([], [], color="k", ls="-.", lw=1, label=f"planted layer {planted_layer}")
    ax.plot([], [], "*", color="0.3", label="best layer")
    ax.plot([], [], ":", color="0.3", label="chance")
    legend_below(fig, flat, title + simulated_tag(True), ncol=3)
    return fig
