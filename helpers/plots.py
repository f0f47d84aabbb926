"""Figures of the book. Each takes data or a tidy table and returns a matplotlib Figure.

Scores are always drawn with their chance level and an uncertainty band, and
figures of simulated data say so in their title.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .align.statistics import summarise
from .brain.smoothing import paper_weights, word_weights
from .data import words as W
from .data.recording import Recording


def simulated_tag(recording_or_simulated) -> str:
    simulated = getattr(recording_or_simulated, "simulated", recording_or_simulated)
    return " (simulated data)" if simulated else ""


def timeline(rec: Recording, zoom_s: float = 30.0) -> plt.Figure:
    """The experiment's timing: runs, TRs and word onsets, with a zoom on the first words."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5.5), gridspec_kw={"height_ratios": [1, 1.4]})
    word = np.array([W.is_word(w) for w in rec.words])
    for run in np.unique(rec.runs):
        t = rec.tr_times[rec.runs == run]
        top.axvspan(t[0], t[-1] + rec.tr, color=f"C{int(run) % 10}", alpha=0.15, lw=0)
        top.text((t[0] + t[-1]) / 2, 1.12, f"run {run}: {len(t)} TRs", ha="center", fontsize=9)
    top.vlines(rec.onsets[word], 0.55, 1.0, color="k", lw=0.3)
    top.vlines(rec.onsets[~word], 0.0, 0.45, color="C3", lw=0.8)
    top.set_yticks([0.225, 0.775], ["non-words (+)", "words"])
    top.set_ylim(0, 1.3)
    top.set_xlabel("time from the start of the experiment (s)")
    top.set_title(f"{rec.dataset} / {rec.subject}: {word.sum()} words in {len(np.unique(rec.runs))} runs{simulated_tag(rec)}")

    start = rec.onsets[0]
    shown = (rec.onsets >= start) & (rec.onsets < start + zoom_s)
    for t in rec.tr_times[(rec.tr_times >= start - rec.tr) & (rec.tr_times < start + zoom_s)]:
        bottom.axvline(t, color="0.6", lw=0.8, ls=":")
    for i in np.flatnonzero(shown):
        bottom.text(rec.onsets[i], (i % 4) * 0.22 + 0.1, rec.words[i], fontsize=8, rotation=0, color="k" if word[i] else "C3")
        bottom.plot([rec.onsets[i]] * 2, [0, 0.08], color="k", lw=0.6)
    bottom.set_xlim(start - 1, start + zoom_s)
    bottom.set_ylim(0, 1)
    bottom.set_yticks([])
    bottom.set_xlabel(f"time (s); dotted lines: TR starts every {rec.tr:g} s")
    bottom.set_title(f"the first {zoom_s:g} s of reading: one word every {np.median(np.diff(rec.onsets)):g} s")
    fig.tight_layout()
    return fig




def glass_brain(coords: np.ndarray, values: np.ndarray, title: str, label: str) -> plt.Figure:
    """Voxels as markers on a glass brain, coloured by ``values``."""
    from nilearn import plotting

    fig = plt.figure(figsize=(11, 3.6))
    order = np.argsort(values)
    low, high = float(np.min(values)), float(np.max(values))
    if high == low:  # a constant map still needs a colour range
        low, high = low - 0.5, high + 0.5
    display = plotting.plot_markers(
        values[order], coords[order], node_size=6, node_cmap="viridis", display_mode="lzry",
        figure=fig, title=title, colorbar=True, alpha=0.8, node_vmin=low, node_vmax=high,
    )
    display._cbar.set_label(label)
    return fig


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
    fig = plt.figure(figsize=(11, 4.2))
    display = plotting.plot_glass_brain(None, display_mode="lzry", figure=fig, axes=(0, 0.12, 1, 0.88), title=title)
    handles = []
    if rest.any():
        display.add_markers(coords[rest], marker_color="0.75", marker_size=3)
        handles.append(plt.Line2D([], [], marker="o", ls="", color="0.75", label=f"other or no region ({int(rest.sum())})"))
    for c, name in enumerate(shown):
        display.add_markers(coords[regions == name], marker_color=f"C{c}", marker_size=6)
        handles.append(plt.Line2D([], [], marker="o", ls="", color=f"C{c}", label=f"{name} ({int((regions == name).sum())})"))
    fig.legend(handles=handles, loc="lower center", ncol=min(5, len(handles)), fontsize=8, frameon=False)
    return fig


def timecourses(rec: Recording, voxels: np.ndarray, run: int = 0) -> plt.Figure:
    """A few voxels' time courses in one run, with the reading period shaded."""
    rows = rec.runs == run
    t = rec.tr_times[rows]
    on = rec.onsets[(rec.onsets >= t[0]) & (rec.onsets < t[-1] + rec.tr)]
    fig, ax = plt.subplots(figsize=(11, 3.2))
    ax.axvspan(on.min(), on.max(), color="0.9", label="words on screen")
    for j, v in enumerate(voxels):
        ax.plot(t, rec.data[rows, v] + 4 * j, lw=0.8, label=f"voxel {v}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("BOLD (offset per voxel)")
    ax.set_title(f"{rec.subject}, run {run}: voxel time courses{simulated_tag(rec)}")
    ax.legend(loc="upper right", fontsize=8, ncol=len(voxels) + 1)
    fig.tight_layout()
    return fig


def smoothing_kernel(rec: Recording, word_index: list[int], **window) -> plt.Figure:
    """How a few words take their brain vector from the TRs (paper mode): weights per TR, on the timeline."""
    from nilearn.glm.first_level import glover_hrf

    weights = paper_weights(rec, **window).toarray()
    fig, ax = plt.subplots(figsize=(11, 3.6))
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
    ax.set_xlabel("time (s): solid line = word onset, bars = weight of each TR (grey lines: TR starts), dashed = canonical HRF (scaled)")
    ax.set_ylabel("weight in the word's vector")
    ax.set_title("paper-mode smoothing: each word is a weighted mean of the TRs that follow it")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def kernel_comparison(rec: Recording, word: int, variants: dict[str, dict]) -> plt.Figure:
    """One word's weight on each TR under several smoothing settings (``label -> word_weights options``)."""
    rows = {label: word_weights(rec, **{"outside": "ignore", **options}).toarray()[word] for label, options in variants.items()}
    cols = np.flatnonzero(np.any([r > 0 for r in rows.values()], axis=0))
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / len(rows)
    for c, (label, weights) in enumerate(rows.items()):
        ax.bar(np.arange(len(cols)) + c * width - 0.4 + width / 2, weights[cols], width=width, color=f"C{c}", label=label)
    ax.set_xticks(np.arange(len(cols)), [f"{rec.tr_times[j] - rec.onsets[word]:+.1f}" for j in cols])
    ax.set_xlabel("start of each TR, in seconds after the word's onset")
    ax.set_ylabel("weight")
    ax.set_title(f"weights of the TRs for the word '{rec.words[word]}' (onset {rec.onsets[word]:.1f} s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def delay_curve(table: pd.DataFrame, metric: str = "P@10", retrieval: str = "csls", title: str = "") -> plt.Figure:
    """Score against the smoothing delay (variants named ``"delay <d> s"``), other variants as reference lines."""
    data = table[(table["metric"] == metric) & (table["retrieval"] == retrieval)]
    s = summarise(data, ["variant"]).set_index("variant")
    delays = {v: float(v.split()[1]) for v in s.index if v.startswith("delay ")}
    curve = s.loc[list(delays)].assign(delay=list(delays.values())).sort_values("delay")
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.errorbar(curve["delay"], curve["mean"], yerr=curve["ci95"], marker="o", ms=4, capsize=3, label="Gaussian window (paper)")
    for c, variant in enumerate(v for v in s.index if v not in delays):
        ax.axhline(s.loc[variant, "mean"], color=f"C{c + 1}", lw=1.2, label=variant)
    ax.plot(curve["delay"], curve["chance_permuted"], color="0.3", ls=":", label="permutation null")
    ax.axhline(curve["chance"].iloc[0], color="k", ls="--", lw=1, label=f"k / n = {curve['chance'].iloc[0]:.3f}")
    ax.set_xlabel("delay of the window (s)")
    ax.set_ylabel(f"{metric} ({retrieval}); bars: 95 % CI")
    ax.set_title(title + simulated_tag(bool(data["simulated"].any())))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig








def layer_scores(tables: pd.DataFrame | dict[str, pd.DataFrame], metric: str = "P@10", retrieval: str = "csls",
                 planted: tuple[str, int] | None = None, title: str = "", permuted_null: bool = True) -> plt.Figure:
    """Score against layer, one panel per model: mean over subjects and folds, 95 % CI, chance levels.

    ``tables`` is one tidy table or several, labelled (``{"shuffled types": t1,
    "pure noise": t2}``), drawn as one line each. Chance is drawn twice:
    ``k / n`` (dashed) and, dotted in each line's colour, the permutation null
    (random pairing of brain vectors and words), which accounts for hubs and
    frequent words.
    """
    if isinstance(tables, pd.DataFrame):
        tables = {f"{metric} ({retrieval})": tables}
    tables = {label: t[(t["metric"] == metric) & (t["retrieval"] == retrieval)] for label, t in tables.items()}
    models = list(dict.fromkeys(m for t in tables.values() for m in t["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 3.9), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        for c, (label, data) in enumerate(tables.items()):
            s = summarise(data[data["model"] == model], ["layer"])
            ax.plot(s["layer"], s["mean"], marker="o", ms=3, color=f"C{c}", label=label)
            ax.fill_between(s["layer"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=f"C{c}", alpha=0.2, lw=0)
            if permuted_null:
                ax.plot(s["layer"], s["chance_permuted"], color=f"C{c}", ls=":", lw=1)
        ax.plot(s["layer"], s["chance"], color="k", ls="--", lw=1, label=f"k / n = {s['chance'].iloc[0]:.3f}")
        if permuted_null:
            ax.plot([], [], color="0.3", ls=":", lw=1, label="permutation null (dotted, per line)")
        if planted and planted[0] == model:
            ax.axvline(planted[1], color="C3", ls=":", label=f"planted layer {planted[1]}")
        ax.set_title(model)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel(f"{metric} ({retrieval}); band: 95 % CI")
    simulated = any(bool(t["simulated"].any()) for t in tables.values())
    fig.suptitle(title + simulated_tag(simulated))
    fig.tight_layout()
    return fig


def precision_curve(table: pd.DataFrame, title: str = "") -> plt.Figure:
    """Precision@k against k (log axis), per retrieval: mean over subjects and folds, 95 % CI, both chance levels."""
    table = table.assign(k=table["metric"].str.removeprefix("P@").astype(int))
    fig, ax = plt.subplots(figsize=(6, 4))
    for c, (method, data) in enumerate(table.groupby("retrieval", sort=True)):
        s = summarise(data, ["k"])
        ax.plot(s["k"], s["mean"], marker="o", ms=3, color=f"C{c}", label=method)
        ax.fill_between(s["k"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=f"C{c}", alpha=0.2, lw=0)
        ax.plot(s["k"], s["chance_permuted"], color=f"C{c}", ls=":", lw=1, label=f"{method}: permutation null")
    ax.plot(s["k"], s["chance"], color="k", ls="--", lw=1, label=f"k / n (n = {int(table['n_candidates'].iloc[0])})")
    ax.set_xscale("log")
    ax.set_xlabel("k (candidates ranked)")
    ax.set_ylabel("precision@k; band: 95 % CI")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    model, layer = table["model"].iloc[0], table["layer"].iloc[0]
    ax.set_title(f"{title or 'Precision@k'}: {model}, layer {layer}" + simulated_tag(bool(table["simulated"].any())))
    fig.tight_layout()
    return fig


def _centred_unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def neighbour_similarity(vectors: np.ndarray, max_lag: int = 20, title: str = "") -> plt.Figure:
    """Mean cosine between the (centred) vectors of words ``lag`` positions apart."""
    unit = _centred_unit(vectors)
    lags = np.arange(1, max_lag + 1)
    means = [np.mean(np.sum(unit[:-lag] * unit[lag:], axis=1)) for lag in lags]
    fig, ax = plt.subplots(figsize=(6, 3.3))
    ax.plot(lags, means, marker="o", ms=3)
    ax.axhline(0, color="k", lw=0.8, ls="--", label="unrelated vectors")
    ax.set_xlabel("distance between two words (in words; 1 word = 0.5 s)")
    ax.set_ylabel("mean cosine similarity")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def layer_similarity(vectors: np.ndarray, title: str = "") -> plt.Figure:
    """Mean cosine, over word occurrences, between the centred hidden states of every pair of layers."""
    unit = np.stack([_centred_unit(v) for v in vectors])
    sim = np.einsum("lnd,mnd->lm", unit, unit) / unit.shape[1]
    fig, ax = plt.subplots(figsize=(4.6, 3.9))
    image = ax.imshow(sim, vmin=-1, vmax=1, cmap="RdBu_r")
    fig.colorbar(image, ax=ax, label="mean cosine (same word, two layers)")
    ax.set_xlabel("layer")
    ax.set_ylabel("layer")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def rsa_layers(tables: pd.DataFrame | dict[str, pd.DataFrame], planted: tuple[str, int] | None = None, title: str = "") -> plt.Figure:
    """RSA rho against layer, one panel per model: mean over subjects with a 95 % CI.

    Dotted, in each line's colour: the 95th percentile of the permutation
    null (mean over subjects). A star marks layers where every subject's
    p-value, corrected across layers by the maximum statistic (``p_fwe``),
    is below 0.05.
    """
    if isinstance(tables, pd.DataFrame):
        tables = {"RSA": tables}
    models = list(dict.fromkeys(m for t in tables.values() for m in t["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 3.9), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        for c, (label, table) in enumerate(tables.items()):
            data = table[table["model"] == model]
            s = summarise(data, ["layer"])
            ax.plot(s["layer"], s["mean"], marker="o", ms=3, color=f"C{c}", label=label)
            ax.fill_between(s["layer"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=f"C{c}", alpha=0.2, lw=0)
            null = data.groupby("layer")["null_95"].mean()
            ax.plot(null.index, null.values, color=f"C{c}", ls=":", lw=1)
            significant = data.groupby("layer")["p_fwe"].max() < 0.05
            ax.plot(s["layer"][significant.values], s["mean"][significant.values], "*", color=f"C{c}", ms=8)
        ax.axhline(0, color="k", ls="--", lw=1, label="no relation (rho = 0)")
        ax.plot([], [], color="0.3", ls=":", label="95th percentile of the permutation null")
        ax.plot([], [], "*", color="0.3", label="p < 0.05 corrected across layers, every subject")
        if planted and planted[0] == model:
            ax.axvline(planted[1], color="C3", ls=":", label=f"planted layer {planted[1]}")
        ax.set_title(model)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("RSA: Spearman rho of the RDMs")
    simulated = any(bool(t["simulated"].any()) for t in tables.values())
    fig.suptitle(title + simulated_tag(simulated))
    fig.tight_layout()
    return fig


def measure_panels(data: pd.DataFrame, width: float = 4.6):
    measures = list(dict.fromkeys(data["measure"]))
    fig, axes = plt.subplots(1, len(measures), figsize=(width * len(measures), 3.9), squeeze=False)
    return fig, dict(zip(measures, axes[0]))


def scaling(scores: pd.DataFrame, title: str = "", simulated: bool = False) -> plt.Figure:
    """Score against model size (log axis), one panel per measure (:func:`helpers.align.statistics.model_scores`).

    Filled markers: trained models; open: their random-weight twins. Bars:
    95 % CI over subjects and folds; a dash in the same colour: each model's
    chance level.
    """
    fig, panels = measure_panels(scores)
    families = list(dict.fromkeys(scores["family"]))
    for measure, ax in panels.items():
        rows = scores[scores["measure"] == measure].sort_values("n_params_m")
        for trained, style in ((True, "-"), (False, ":")):
            part = rows[rows["trained"] == trained]
            ax.plot(part["n_params_m"], part["mean"], style, color="0.6", lw=1, zorder=1)
        for _, r in rows.iterrows():
            c = f"C{families.index(r['family']) % 10}"
            ax.errorbar(r["n_params_m"], r["mean"], yerr=r["ci95"], marker="o", ms=7, capsize=3, color=c,
                        mfc=c if r["trained"] else "white", zorder=2)
            ax.plot(r["n_params_m"], r["chance"], "_", color=c, ms=14, mew=2, zorder=2)
        ax.set_xscale("log")
        ax.set_xlabel("parameters (millions, log scale)")
        ax.set_title(measure)
    handles = [plt.Line2D([], [], marker="o", ls="", color=f"C{i}", label=f) for i, f in enumerate(families)]
    handles += [plt.Line2D([], [], marker="o", ls="", color="0.3", mfc="white", label="random weights (open)"),
                plt.Line2D([], [], marker="_", ls="", color="0.3", ms=14, mew=2, label="chance (permutation null)")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(title + simulated_tag(simulated))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def depth(layers: pd.DataFrame, planted: tuple[str, int] | None = None, title: str = "", simulated: bool = False) -> plt.Figure:
    """Score against relative depth (layer / last layer), one panel per measure, one line per model, with 95 % CI.

    A star marks each model's best layer; dotted: the chance level; trained
    models solid, random-weight twins dashed.
    """
    fig, panels = measure_panels(layers)
    models = list(dict.fromkeys(layers["model"].str.removeprefix("random:")))
    for measure, ax in panels.items():
        rows = layers[layers["measure"] == measure]
        for model, part in rows.groupby("model", sort=False):
            part = part.sort_values("relative_depth")
            c = f"C{models.index(model.removeprefix('random:')) % 10}"
            ls = "-" if part["trained"].iloc[0] else "--"
            ax.plot(part["relative_depth"], part["mean"], ls, color=c, lw=1.3, label=model)
            ax.fill_between(part["relative_depth"], part["mean"] - part["ci95"], part["mean"] + part["ci95"], color=c, alpha=0.15, lw=0)
            ax.plot(part["relative_depth"], part["chance"], ":", color=c, lw=0.8)
            best = part.loc[part["mean"].idxmax()]
            ax.plot(best["relative_depth"], best["mean"], "*", color=c, ms=10)
            if planted and planted[0] == model:
                ax.axvline(planted[1] / (part["n_states"].iloc[0] - 1), color=c, ls="-.", lw=1, label=f"planted layer {planted[1]}")
        ax.set_xlabel("relative depth (layer / last layer)")
        ax.set_title(measure)
    next(iter(panels.values())).legend(fontsize=7)
    fig.suptitle(title + " (stars: best layer; dotted: chance)" + simulated_tag(simulated))
    fig.tight_layout()
    return fig


def twin_differences(differences: dict[str, pd.DataFrame], title: str = "", simulated: bool = False) -> plt.Figure:
    """Trained minus random-weight score against relative depth, per measure (``label -> twin_differences table``)."""
    data = pd.concat([d.assign(measure=label) for label, d in differences.items()], ignore_index=True)
    fig, panels = measure_panels(data)
    for measure, ax in panels.items():
        for i, (model, part) in enumerate(data[data["measure"] == measure].groupby("model", sort=False)):
            ax.plot(part["relative_depth"], part["mean"], color=f"C{i}", label=model)
            ax.fill_between(part["relative_depth"], part["mean"] - part["ci95"], part["mean"] + part["ci95"], color=f"C{i}", alpha=0.15, lw=0)
        ax.axhline(0, color="k", ls="--", lw=1, label="no difference")
        ax.set_xlabel("relative depth (layer / last layer)")
        ax.set_title(f"{measure}: trained - random")
    next(iter(panels.values())).legend(fontsize=7)
    fig.suptitle(title + simulated_tag(simulated))
    fig.tight_layout()
    return fig
