"""Figures of score tables: scores by layer, precision@k, RSA, scaling with size, slopes within a family, relative depth,
trained minus twin.

Scores are always drawn with their chance level and an uncertainty band;
the numbers drawn come from :mod:`helpers.align.statistics`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..align.statistics import POWER, detectable_slope, layer_summary, model_scores, summarise
from ..run.findings import LADDER_SPLITS
from .style import COLUMN_IN, legend_below, legible, log_axis, measure_panels, panel_grid, simulated_tag


@legible
def delay_curve(table: pd.DataFrame, metric: str = "P@10", retrieval: str = "csls", title: str = "") -> plt.Figure:
    """Score against the smoothing delay (variants named ``"delay <d> s"``), other variants as reference lines."""
    data = table[(table["metric"] == metric) & (table["retrieval"] == retrieval)]
    s = summarise(data, ["variant"]).set_index("variant")
    delays = {v: float(v.split()[1]) for v in s.index if v.startswith("delay ")}
    curve = s.loc[list(delays)].assign(delay=list(delays.values())).sort_values("delay")
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.6))
    ax.errorbar(curve["delay"], curve["mean"], yerr=curve["ci95"], marker="o", ms=4, capsize=3, label="Gaussian window (paper)")
    for c, variant in enumerate(v for v in s.index if v not in delays):
        ax.axhline(s.loc[variant, "mean"], color=f"C{c + 1}", lw=1.2, label=variant)
    ax.plot(curve["delay"], curve["chance_permuted"], color="0.3", ls=":", label="permutation null")
    ax.axhline(curve["chance"].iloc[0], color="k", ls="--", lw=1, label=f"k / n = {curve['chance'].iloc[0]:.3f}")
    ax.set_xlabel("delay of the window (s)")
    ax.set_ylabel(f"{metric} ({retrieval})\nbars: 95 % CI")
    legend_below(fig, [ax], title + simulated_tag(bool(data["simulated"].any())))
    return fig


@legible
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
    fig, axes = panel_grid(len(models), sharey=True)
    for ax, model in zip(axes, models):
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
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel(f"{metric} ({retrieval})\nband: 95 % CI")
    simulated = any(bool(t["simulated"].any()) for t in tables.values())
    legend_below(fig, axes, title + simulated_tag(simulated))
    return fig


@legible
def precision_at_k(table: pd.DataFrame, title: str = "") -> plt.Figure:
    """Precision@k against k (log axis), per retrieval: mean over subjects and folds, 95 % CI, both chance levels."""
    table = table.assign(k=table["metric"].str.removeprefix("P@").astype(int))
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.6))
    for c, (method, data) in enumerate(table.groupby("retrieval", sort=True)):
        s = summarise(data, ["k"])
        ax.plot(s["k"], s["mean"], marker="o", ms=3, color=f"C{c}", label=method)
        ax.fill_between(s["k"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=f"C{c}", alpha=0.2, lw=0)
        ax.plot(s["k"], s["chance_permuted"], color=f"C{c}", ls=":", lw=1, label=f"{method}: permutation null")
    ax.plot(s["k"], s["chance"], color="k", ls="--", lw=1, label=f"k / n (n = {int(table['n_candidates'].iloc[0])})")
    ax.set_xscale("log")
    log_axis(ax.xaxis)
    ax.set_xlabel("k (candidates ranked)")
    ax.set_ylabel("precision@k; band: 95 % CI")
    ax.set_ylim(0, 1)
    model, layer = table["model"].iloc[0], table["layer"].iloc[0]
    legend_below(fig, [ax], f"{title or 'Precision@k'}: {model}, layer {layer}" + simulated_tag(bool(table["simulated"].any())))
    return fig


@legible
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
    fig, axes = panel_grid(len(models), sharey=True)
    for ax, model in zip(axes, models):
        for c, (label, table) in enumerate(tables.items()):
            data = table[table["model"] == model]
            s = layer_summary(data, ["layer"])  # with the mean of null_95 and the largest p_fwe per layer
            ax.plot(s["layer"], s["mean"], marker="o", ms=3, color=f"C{c}", label=label)
            ax.fill_between(s["layer"], s["mean"] - s["ci95"], s["mean"] + s["ci95"], color=f"C{c}", alpha=0.2, lw=0)
            ax.plot(s["layer"], s["null_95"], color=f"C{c}", ls=":", lw=1)
            significant = s["p_fwe"] < 0.05
            ax.plot(s["layer"][significant.values], s["mean"][significant.values], "*", color=f"C{c}", ms=8)
        ax.axhline(0, color="k", ls="--", lw=1, label="no relation (rho = 0)")
        ax.plot([], [], color="0.3", ls=":", label="95th percentile of the permutation null")
        ax.plot([], [], "*", color="0.3", label="p < 0.05 corrected across layers, every subject")
        if planted and planted[0] == model:
            ax.axvline(planted[1], color="C3", ls=":", label=f"planted layer {planted[1]}")
        ax.set_title(model)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel("RSA: Spearman rho\nof the RDMs")
    simulated = any(bool(t["simulated"].any()) for t in tables.values())
    legend_below(fig, axes, title + simulated_tag(simulated), ncol=1)
    return fig


@legible
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
        log_axis(ax.xaxis)
        ax.set_xlabel("parameters (millions)")
        ax.set_title(measure)
    handles = [plt.Line2D([], [], marker="o", ls="", color=f"C{i}", label=f) for i, f in enumerate(families)]
    handles += [plt.Line2D([], [], marker="o", ls="", color="0.3", mfc="white", label="random weights (open)"),
                plt.Line2D([], [], marker="_", ls="", color="0.3", ms=14, mew=2, label="chance (permutation null)")]
    legend_below(fig, list(panels.values()), title + simulated_tag(simulated), handles=handles)
    return fig


@legible
def depth(layers: pd.DataFrame, planted: tuple[str, int] | None = None, title: str = "", simulated: bool = False) -> plt.Figure:
    """Score against relative depth (layer / last layer), one panel per measure, one line per model, with 95 % CI.

    A star marks each model's best layer; dotted: the chance level; trained
    models solid, random-weight twins dashed.
    """
    fig, panels = measure_panels(layers)
    models = list(dict.fromkeys(layers["model"].str.removeprefix("random:")))
    best_of = model_scores(layers, "best").set_index(["measure", "model"])  # each model's best layer, as the book reports it
    for measure, ax in panels.items():
        rows = layers[layers["measure"] == measure]
        for model, part in rows.groupby("model", sort=False):
            part = part.sort_values("relative_depth")
            c = f"C{models.index(model.removeprefix('random:')) % 10}"
            ls = "-" if part["trained"].iloc[0] else "--"
            ax.plot(part["relative_depth"], part["mean"], ls, color=c, lw=1.3, label=model)
            ax.fill_between(part["relative_depth"], part["mean"] - part["ci95"], part["mean"] + part["ci95"], color=c, alpha=0.15, lw=0)
            ax.plot(part["relative_depth"], part["chance"], ":", color=c, lw=0.8)
            best = best_of.loc[(measure, model)]
            ax.plot(best["relative_depth"], best["mean"], "*", color=c, ms=10)
            if planted and planted[0] == model:
                ax.axvline(planted[1] / (part["n_states"].iloc[0] - 1), color=c, ls="-.", lw=1, label=f"planted layer {planted[1]}")
        ax.set_xlabel("relative depth\n(layer / last layer)")
        ax.set_title(measure)
    legend_below(fig, list(panels.values()), title + " (stars: best layer; dotted: chance)" + simulated_tag(simulated))
    return fig


@legible
def twin_difference_bars(differences: dict[str, pd.DataFrame], title: str = "", simulated: bool = False) -> plt.Figure:
    """Trained minus random-weight score against relative depth, per measure (``label ->`` :func:`helpers.align.statistics.twin_differences`)."""
    data = pd.concat([d.assign(measure=label) for label, d in differences.items()], ignore_index=True)
    fig, panels = measure_panels(data)
    for measure, ax in panels.items():
        for i, (model, part) in enumerate(data[data["measure"] == measure].groupby("model", sort=False)):
            ax.plot(part["relative_depth"], part["mean"], color=f"C{i}", label=model)
            ax.fill_between(part["relative_depth"], part["mean"] - part["ci95"], part["mean"] + part["ci95"], color=f"C{i}", alpha=0.15, lw=0)
        ax.axhline(0, color="k", ls="--", lw=1, label="no difference")
        ax.set_xlabel("relative depth\n(layer / last layer)")
        ax.set_title(f"{measure}:\ntrained - random")
    legend_below(fig, list(panels.values()), title + simulated_tag(simulated))
    return fig


LADDER_SIGNALS = {"scenario": ("C0", "the scenario's recordings"), "noise": ("C3", "pure noise (snr 0)")}


@legible
def ladder_slopes(table: pd.DataFrame, title: str = "", simulated: bool = False) -> plt.Figure:
    """Each ladder's slope of the raw score per tenfold parameters, with its 95 % interval, one panel per ladder
    (:func:`helpers.run.tables.ladder_slopes`): a row per protocol and split, colour for the signal, a filled circle
    for each model's own width and an open square for every model cut to one width; the dashed line is no slope."""
    raw = table[table["score"] == "raw"]
    ladders = list(dict.fromkeys(zip(raw["family"], raw["trained"])))
    conditions = list(dict.fromkeys(zip(raw["protocol"], raw["split"])))
    widths = list(dict.fromkeys(raw["width"]))
    signals = [s for s in LADDER_SIGNALS if s in set(raw["signal"])]
    fig, axes = panel_grid(len(ladders), ncols=1, height=0.55 * len(conditions) + 1.0)
    offsets = {(s, w): (i - (len(signals) * len(widths) - 1) / 2) * 0.16
               for i, (s, w) in enumerate((s, w) for s in signals for w in widths)}
    for (family, trained), ax in zip(ladders, axes):
        rows = raw[(raw["family"] == family) & (raw["trained"] == trained)]
        for _, r in rows.iterrows():
            y = conditions.index((r["protocol"], r["split"])) + offsets[(r["signal"], r["width"])]
            colour = LADDER_SIGNALS[r["signal"]][0]
            own = r["width"] == widths[0]
            ax.errorbar(r["slope"], y, xerr=[[r["slope"] - r["ci_low"]], [r["ci_high"] - r["slope"]]], capsize=2,
                        color=colour, marker="o" if own else "s", ms=5, mfc=colour if own else "white", ls="")
        ax.axvline(0, color="k", ls="--", lw=1)
        ax.set_yticks(range(len(conditions)), [f"{p}, {LADDER_SPLITS.get(s, s).split()[0]}" for p, s in conditions])
        ax.set_ylim(len(conditions) - 0.5, -0.5)
        first = rows.iloc[0]
        ax.set_title(f"{'trained' if trained else 'untrained'} {family}, {first['smallest_m']:g} to {first['largest_m']:g} M")
    axes[-1].set_xlabel("slope of the score per tenfold parameters")
    handles = [plt.Line2D([], [], marker="o", ls="", color=LADDER_SIGNALS[s][0], label=LADDER_SIGNALS[s][1]) for s in signals]
    handles += [plt.Line2D([], [], marker="o" if w == widths[0] else "s", ls="", color="0.3",
                           mfc="0.3" if w == widths[0] else "white",
                           label="each model's own width" if w == widths[0] else f"every model cut to {w.removeprefix('all ')} dims")
                for w in widths]
    legend_below(fig, axes, title + simulated_tag(simulated), handles=handles)
    return fig


@legible
def slope_power(table: pd.DataFrame, title: str = "", simulated: bool = False) -> plt.Figure:
    """How often a planted slope is detected against its size, one line per ladder
    (:func:`helpers.run.tables.ladder_power`): the dashed line is the share that makes a slope detectable
    (:data:`~helpers.align.statistics.POWER`), a diamond each ladder's smallest detectable slope; a cross at 0 is
    the share of experiments without a slope whose interval excludes zero on either side (false positives), the
    dotted line the 5 % that a faithful 95 % interval allows."""
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.0))
    handles = []
    for i, (ladder, rows) in enumerate(table.groupby("ladder", sort=False)):
        planted = rows[rows["planted"] > 0]
        handles += ax.plot(planted["planted"], planted["detected"], "o-", color=f"C{i}", ms=4,
                           label=f"{ladder} ({rows['n_subjects'].iloc[0]} subjects)")
        none = rows[rows["planted"] == 0]
        ax.plot(none["planted"], none["detected"], "X", color=f"C{i}", ms=8)
        smallest = detectable_slope(rows)
        if np.isfinite(smallest):
            ax.plot(smallest, POWER, "D", color=f"C{i}", ms=7)
    handles += [ax.axhline(POWER, color="k", ls="--", lw=1, label=f"detected {POWER * 100:.0f} % of the time"),
                ax.axhline(0.05, color="0.4", ls=":", lw=1, label="5 %: a faithful 95 % interval at no slope"),
                plt.Line2D([], [], marker="X", ls="", color="0.3", ms=8, label="no slope planted (false positives)"),
                plt.Line2D([], [], marker="D", ls="", color="0.3", ms=7, label="smallest detectable slope")]
    ax.set_xlabel("planted slope of the score per tenfold parameters")
    ax.set_ylabel("share of experiments\nwhose interval excludes 0")
    ax.set_ylim(0, 1.02)
    legend_below(fig, [ax], title + simulated_tag(simulated), handles=handles)
    return fig
