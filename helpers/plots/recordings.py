"""Figures of the recordings and of smoothing: the experiment's timing, voxels on glass brains, time courses, kernels."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..brain.smoothing import paper_weights, word_weights
from ..brain.window_lag import window_lag
from ..data import words as W
from ..data.recording import Recording
from .style import COLUMN_IN, legend_below, legible, simulated_tag


@legible
def timeline(rec: Recording, zoom_s: float = 15.0) -> plt.Figure:
    """The experiment's timing: runs, TRs and word onsets, with a zoom on the first words."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(COLUMN_IN, 5.6), gridspec_kw={"height_ratios": [1, 1.4]})
    word = np.array([W.is_word(w) for w in rec.words])
    for run in np.unique(rec.runs):
        t = rec.tr_times[rec.runs == run]
        top.axvspan(t[0], t[-1] + rec.tr, color=f"C{int(run) % 10}", alpha=0.15, lw=0)
        top.text((t[0] + t[-1]) / 2, 1.12, f"run {run}\n{len(t)} TRs", ha="center", va="center", fontsize=9)
    top.vlines(rec.onsets[word], 0.55, 1.0, color="k", lw=0.3)
    top.vlines(rec.onsets[~word], 0.0, 0.45, color="C3", lw=0.8)
    top.set_yticks([0.225, 0.775], ["non-words (+)", "words"])
    top.set_ylim(0, 1.35)
    top.set_xlabel("time from the start of the experiment (s)")
    top.set_title(f"{rec.dataset} / {rec.subject}: {word.sum()} words in {len(np.unique(rec.runs))} runs{simulated_tag(rec)}")

    start = rec.onsets[0]
    shown = (rec.onsets >= start) & (rec.onsets < start + zoom_s)
    for t in rec.tr_times[(rec.tr_times >= start - rec.tr) & (rec.tr_times < start + zoom_s)]:
        bottom.axvline(t, color="0.6", lw=0.8, ls=":")
    for i in np.flatnonzero(shown):
        bottom.text(rec.onsets[i], (i % 4) * 0.22 + 0.1, rec.words[i], fontsize=9, color="k" if word[i] else "C3", clip_on=True)
        bottom.plot([rec.onsets[i]] * 2, [0, 0.08], color="k", lw=0.6)
    bottom.set_xlim(start - 1, start + zoom_s)
    bottom.set_ylim(0, 1)
    bottom.set_yticks([])
    bottom.set_xlabel(f"time (s); dotted lines: TR starts every {rec.tr:g} s")
    bottom.set_title(f"the first {zoom_s:g} s: a word every {np.median(np.diff(rec.onsets)):g} s")
    fig.tight_layout()
    return fig


@legible
def glass_brain(coords: np.ndarray, values: np.ndarray, title: str, label: str) -> plt.Figure:
    """Voxels as markers on a glass brain, coloured by ``values``."""
    from nilearn import plotting

    fig = plt.figure(figsize=(COLUMN_IN, 2.9))
    order = np.argsort(values)
    low, high = float(np.min(values)), float(np.max(values))
    if high == low:  # a constant map still needs a colour range
        low, high = low - 0.5, high + 0.5
    display = plotting.plot_markers(
        values[order], coords[order], node_size=5, node_cmap="viridis", display_mode="lzry",
        figure=fig, axes=(0, 0, 0.9, 0.82), colorbar=True, alpha=0.8, node_vmin=low, node_vmax=high,
    )
    display._cbar.set_label(label)
    fig.suptitle(textwrap.fill(title, 70), y=0.99)
    return fig


@legible
def glass_brain_regions(coords: np.ndarray, regions: np.ndarray, title: str, top: int = 9) -> plt.Figure:
    """Voxels on a glass brain coloured by region: the ``top`` labelled regions with most voxels; the rest grey.

    Voxels without a region ("unlabelled" in atlas data, "elsewhere" in the
    simulation) count as the rest.
    """
    from nilearn import plotting

    regions = np.asarray(regions, dtype=str)
    labelled = ~np.isin(regions, ("unlabelled", "elsewhere"))
    names, counts = np.unique(regions[labelled], return_counts=True)
    shown = names[np.argsort(-counts, kind="stable")][:top]
    rest = ~np.isin(regions, shown)
    fig = plt.figure(figsize=(COLUMN_IN, 3.4))
    display = plotting.plot_glass_brain(None, display_mode="lzry", figure=fig, axes=(0, 0.27, 1, 0.63))
    fig.suptitle(textwrap.fill(title, 70), y=0.99)
    handles = []
    if rest.any():
        display.add_markers(coords[rest], marker_color="0.75", marker_size=3)
        handles.append(plt.Line2D([], [], marker="o", ls="", color="0.75", label=f"other or no region ({int(rest.sum())})"))
    for c, name in enumerate(shown):
        display.add_markers(coords[regions == name], marker_color=f"C{c}", marker_size=6)
        handles.append(plt.Line2D([], [], marker="o", ls="", color=f"C{c}", label=f"{name} ({int((regions == name).sum())})"))
    fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), frameon=False)
    return fig


@legible
def timecourses(rec: Recording, voxels: np.ndarray, run: int = 0) -> plt.Figure:
    """A few voxels' time courses in one run, with the reading period shaded."""
    rows = rec.runs == run
    t = rec.tr_times[rows]
    on = rec.onsets[(rec.onsets >= t[0]) & (rec.onsets < t[-1] + rec.tr)]
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.4))
    ax.axvspan(on.min(), on.max(), color="0.9", label="words on screen")
    for j, v in enumerate(voxels):
        ax.plot(t, rec.data[rows, v] + 4 * j, lw=0.8, label=f"voxel {v}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("BOLD (offset per voxel)")
    legend_below(fig, [ax], f"{rec.subject}, run {run}: voxel time courses{simulated_tag(rec)}", ncol=3)
    return fig


@legible
def smoothing_kernel(rec: Recording, word_index: list[int], **window) -> plt.Figure:
    """How a few words take their brain vector from the TRs (paper mode): weights per TR, on the timeline."""
    from nilearn.glm.first_level import glover_hrf

    weights = paper_weights(rec, **window).toarray()
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.4))
    width = rec.tr / (len(word_index) + 1)
    for c, i in enumerate(word_index):
        cols = np.flatnonzero(weights[i])
        ax.bar(rec.tr_times[cols] + (c + 1) * width, weights[i, cols], width=width * 0.95, alpha=0.7, color=f"C{c}",
               label=f"'{rec.words[i]}' at {rec.onsets[i]:.1f} s")
        ax.axvline(rec.onsets[i], color=f"C{c}", lw=1.5)
        hrf = glover_hrf(t_r=0.1, oversampling=1, time_length=25.0)
        ax.plot(rec.onsets[i] + 0.1 * np.arange(len(hrf)), hrf / hrf.max() * weights[i].max(), color=f"C{c}", lw=0.8, ls="--")
    for t in rec.tr_times[(rec.tr_times > rec.onsets[word_index[0]] - rec.tr) & (rec.tr_times < rec.onsets[word_index[-1]] + 25)]:
        ax.axvline(t, color="0.8", lw=0.6, zorder=0)
    ax.set_xlabel("time (s); grey lines: TR starts")
    ax.set_ylabel("weight in the\nword's vector")
    ax.plot([], [], color="0.3", lw=1.5, label="solid: the word's onset")
    ax.plot([], [], color="0.3", lw=0.8, ls="--", label="dashed: canonical HRF (scaled)")
    legend_below(fig, [ax], "each word: a weighted mean of the TRs after it")
    return fig


@legible
def kernel_comparison(rec: Recording, word: int, variants: dict[str, dict]) -> plt.Figure:
    """One word's weight on each TR under several smoothing settings (``label -> word_weights options``)."""
    rows = {label: word_weights(rec, **{"outside": "ignore", **options}).toarray()[word] for label, options in variants.items()}
    cols = np.flatnonzero(np.any([r > 0 for r in rows.values()], axis=0))
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.4))
    width = 0.8 / len(rows)
    for c, (label, weights) in enumerate(rows.items()):
        ax.bar(np.arange(len(cols)) + c * width - 0.4 + width / 2, weights[cols], width=width, color=f"C{c}", label=label)
    ax.set_xticks(np.arange(len(cols)), [f"{rec.tr_times[j] - rec.onsets[word]:+.1f}" for j in cols])
    ax.set_xlabel("start of each TR, in seconds after the word's onset")
    ax.set_ylabel("weight")
    legend_below(fig, [ax], f"the TRs' weights for '{rec.words[word]}' (onset {rec.onsets[word]:.1f} s)")
    return fig


@legible
def window_lag_figure(recording_or_table: Recording | pd.DataFrame, width: float = COLUMN_IN) -> plt.Figure:
    """Per run, the lag of each word's ``"published"`` window behind its onset, against its position in the run.

    One line per run (:func:`~helpers.brain.smoothing.window_lag`); no title, for a caption to explain. Takes a
    recording, or a table with one row per word, in order, and the columns ``run`` and ``lag_s``. The default
    width fits a book column (about 700 px).
    """
    table, tag = recording_or_table, ""
    if isinstance(table, Recording):
        table, tag = pd.DataFrame({"run": table.word_runs(), "lag_s": window_lag(table)}), simulated_tag(table)
    fig, ax = plt.subplots(figsize=(width, 3.2))
    for run, words in table.groupby("run", sort=True):
        ax.plot(np.arange(len(words)), words["lag_s"].to_numpy(), drawstyle="steps-post", lw=1.8,
                color=f"C{int(run) % 10}", label=f"run {run} ({len(words)} words)")
    ax.set_xlabel("word position in its run")
    ax.set_ylabel("window lag behind onset (s)")
    ax.grid(axis="y", color="0.9", lw=0.8)
    # above the axes, so that no line hides behind it
    ax.legend(fontsize=9, frameon=False, title=tag.strip(" ()") or None, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=min(3, table["run"].nunique()), handlelength=1.5)
    fig.tight_layout()
    return fig
