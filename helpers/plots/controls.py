"""Figures of the controls chapter: the controls matrix and the recovery of a planted layer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..align.statistics import layer_curve
from .style import measure_panels, simulated_tag

SPLIT_NAMES = {"types": "shuffled types", "blocks": "blocks + buffer", "runs": "leave one run out", "none": "no fit (all words)"}


def controls_matrix(summary: pd.DataFrame, title: str = "", simulated: bool = False) -> plt.Figure:
    """One panel per measure: sources down, splits across; colour and number: mean minus chance, with its 95 % CI.

    ``summary`` is :func:`helpers.run.controls.controls_summary`. A cell
    whose interval lies above chance is marked with a star; the share of
    the noise ceiling, where there is one, is printed under the score.
    """
    fig, panels = measure_panels(summary, width=3.3)
    fig.set_size_inches(fig.get_size_inches()[0], 0.42 * summary["model"].nunique() + 1.6)
    sources = list(dict.fromkeys(summary["model"]))
    for measure, ax in panels.items():
        rows = summary[summary["measure"] == measure]
        splits = [s for s in SPLIT_NAMES if s in set(rows["split"])]
        above = rows.pivot_table(index="model", columns="split", values="mean", aggfunc="first").reindex(index=sources, columns=splits)
        above = above - rows.pivot_table(index="model", columns="split", values="chance", aggfunc="first").reindex(index=sources, columns=splits)
        ci = rows.pivot_table(index="model", columns="split", values="ci95", aggfunc="first").reindex(index=sources, columns=splits)
        share = rows.pivot_table(index="model", columns="split", values="share_of_ceiling", aggfunc="first", dropna=False)
        share = share.reindex(index=sources, columns=splits)
        limit = np.nanmax(np.abs(above.to_numpy())) or 1.0
        ax.imshow(above.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(above.to_numpy(dtype=float)):
            if np.isnan(value):
                continue
            text = f"{value:+.3f}{'*' if value - ci.iat[i, j] > 0 else ''}\n±{ci.iat[i, j]:.3f}"
            if np.isfinite(share.iat[i, j]):
                text += f"\n{100 * share.iat[i, j]:.0f} % ceil."
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color="white" if abs(value) > 0.6 * limit else "black")
        ax.set_xticks(range(len(splits)), [SPLIT_NAMES[s] for s in splits], rotation=20, ha="right", fontsize=7)
        ax.set_yticks(range(len(sources)), sources if ax is next(iter(panels.values())) else [], fontsize=7)
        ax.set_title(f"{measure}\nminus chance", fontsize=9)
    fig.suptitle(title + " (*: 95 % CI above chance)" + simulated_tag(simulated), fontsize=10)
    fig.tight_layout()
    return fig


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
    fig, axes = plt.subplots(len(designs), len(measures), figsize=(3.4 * len(measures), 2.7 * len(designs)), squeeze=False)
    shades = plt.cm.viridis(np.linspace(0.1, 0.85, len(snrs)))
    for (i, design), (j, measure) in ((d, m) for d in enumerate(designs) for m in enumerate(measures)):
        ax = axes[i, j]
        rows = table[(table["design"] == design) & (table["measure"] == measure)]
        for snr, colour in zip(snrs, shades):
            s, best = layer_curve(rows[rows["snr"] == snr])
            ax.plot(s["layer"], s["mean"], color=colour, lw=1.3, label=f"SNR {snr:g}")
            ax.fill_between(s["layer"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=colour, alpha=0.2, lw=0)
            ax.plot(best["layer"], best["mean"], "*", color=colour, ms=9)
            ax.plot(s["layer"], s["chance"], ":", color=colour, lw=0.8)
        ax.axvline(planted_layer, color="k", ls="-.", lw=1)
        ax.set_title(f"{measure}\n{design}", fontsize=8)
        ax.set_xlabel("layer" if i == len(designs) - 1 else "")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title + f" (dash-dot: planted layer {planted_layer}; stars: best layer; dotted: chance)" + simulated_tag(True),
                 fontsize=10)
    fig.tight_layout()
    return fig
