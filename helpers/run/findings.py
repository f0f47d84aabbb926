"""What a chapter found, in sentences made from its own tables.

Every chapter ends with a box of findings (:func:`box`). Its sentences are
written here from the numbers the chapter shows, so they change when the
numbers do, and they say the surprising results as plainly as the expected
ones: a score within its chance level, an untrained twin above its trained
model, a penalty at the edge of its grid, a delay that beats the one used.

A score "stands above" its chance level when the lower end of its 95 %
interval does; the chance level is the permutation null's mean where the
table has one (:func:`helpers.align.statistics.scored_layers`), else
:math:`k/n`.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..align.statistics import POWER, detectable_slope, model_scores
from ..lm.models import RANDOM_PREFIX


def box(sentences: list[str], title: str = "What this chapter found"):
    """The chapter's findings as a framed list (HTML, styled like the book's admonitions)."""
    from IPython.display import HTML

    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences) or "<li>Nothing to report for this scenario.</li>"
    return HTML(f'<div class="admonition tip findings"><p class="admonition-title">{html.escape(title)}</p>'
                f"<ul>{items}</ul></div>")


def _score(row, digits: int = 3) -> str:
    return f"{row['mean']:.{digits}f} ± {row['ci95']:.{digits}f}"


def _above(row) -> bool:
    return bool(row["mean"] - row["ci95"] > row["chance"])


def _names(models) -> str:
    models = list(models)
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " and " + models[-1]


def best_layers(layers: pd.DataFrame, planted: tuple[str, int] | None = None) -> list[str]:
    """Per measure: which models stand above chance at their best layer, the untrained twins that beat their
    trained model, and (on the simulation) where the planted model and layer rank.

    ``layers`` is :func:`helpers.align.statistics.scored_layers` (one row per
    measure, model and layer, with ``mean``, ``ci95``, ``chance``).
    """
    out = []
    for measure, rows in layers.groupby("measure", sort=False):
        best = rows.loc[rows.groupby("model", sort=False)["mean"].idxmax()].set_index("model")
        above = [m for m, row in best.iterrows() if _above(row)]
        top = best["mean"].idxmax()
        if len(best) == 1:
            verdict = "stands above" if above else "does not stand above"
            out.append(f"{measure}: {top} {verdict} its chance level at its best layer (layer {best.loc[top, 'layer']}, "
                       f"{_score(best.loc[top])} against {best.loc[top, 'chance']:.3f}).")
        elif above:
            out.append(f"{measure}: {len(above)} of {len(best)} models stand above their chance level at their best "
                       f"layer; the highest is {top} (layer {best.loc[top, 'layer']}, {_score(best.loc[top])} against "
                       f"{best.loc[top, 'chance']:.3f}).")
        else:
            out.append(f"{measure}: no model stands above its chance level at its best layer (the highest, {top}, "
                       f"scores {_score(best.loc[top])} against {best.loc[top, 'chance']:.3f}).")
        within = [m for m in best.index if m not in above and not m.startswith(RANDOM_PREFIX)]
        if above and within:
            out.append(f"{measure}: within their chance level: {_names(within)}.")
        for model, row in best.iterrows():
            twin = RANDOM_PREFIX + model
            if twin in best.index and best.loc[twin, "mean"] - best.loc[twin, "ci95"] > row["mean"] + row["ci95"]:
                out.append(f"{measure}: the untrained twin of {model} scores above {model} itself "
                           f"({_score(best.loc[twin])} against {_score(row)} at their best layers).")
        if planted is not None and planted[0] in best.index:
            out.append(_planted(measure, rows, best, *planted))
    return out


def _planted(measure: str, rows: pd.DataFrame, best: pd.DataFrame, model: str, layer: int) -> str:
    rank = int(best["mean"].rank(ascending=False, method="min")[model])
    own = rows[rows["model"] == model].sort_values("mean", ascending=False).reset_index(drop=True)
    layer_rank = int(own.index[own["layer"] == layer][0]) + 1 if layer in set(own["layer"]) else None
    where = (f"its planted layer {layer} ranks {layer_rank} of {len(own)} layers (best: layer {own.loc[0, 'layer']})"
             if layer_rank is not None else f"layer {layer} was not scored")
    if len(best) == 1:
        return f"{measure}: in the planted model, {model}, {where}."
    return f"{measure}: the planted model, {model}, ranks {rank} of {len(best)} models; {where}."


def delays(summary: pd.DataFrame, delay_of: dict[str, float], used: float, what: str = "P@10") -> list[str]:
    """The delay sweep (chapter 2): the best delay against the one every other chapter uses.

    ``summary``: one row per ``variant`` (:func:`~helpers.align.statistics.summarise`);
    ``delay_of``: the variants that are plain delays, by label, in seconds.
    """
    rows = summary.set_index("variant").loc[list(delay_of)].assign(delay=list(delay_of.values()))
    chance = rows["chance_permuted"] if "chance_permuted" in rows else rows["chance"]
    rows = rows.assign(chance=chance)
    best = rows.loc[rows["mean"].idxmax()]
    out = [f"The best delay is {best['delay']:g} s ({what} {_score(best)}, chance {best['chance']:.3f})."]
    mine = rows[np.isclose(rows["delay"], used)]
    if len(mine) and not np.isclose(best["delay"], used):
        mine = mine.iloc[0]
        inside = mine["mean"] >= best["mean"] - best["ci95"]
        out.append(f"The delay of {used:g} s that the other chapters use gives {_score(mine)}, "
                   + ("within the best delay's interval." if inside else
                      f"below the best delay's interval: the later chapters score a window {abs(used - best['delay']):g} s "
                      f"{'later' if used > best['delay'] else 'earlier'} than the best one."))
    elif len(mine):
        out.append("That is the delay the other chapters use.")
    flat = rows[[not _above(r) for _, r in rows.iterrows()]]
    if len(flat):
        out.append(f"At {_names([f'{d:g} s' for d in flat['delay']])} the score does not stand above its chance level.")
    return out


def layer_change(similarity: dict[str, np.ndarray]) -> list[str]:
    """Chapter 3: how much each model's layers differ (mean cosine between layers, per model)."""
    out = []
    for model, s in similarity.items():
        steps = np.diag(s, 1)
        fastest = int(np.argmin(steps))
        out.append(f"{model}: neighbouring layers have a mean cosine of {steps.min():.2f} to {steps.max():.2f} (the "
                   f"biggest change is from layer {fastest} to {fastest + 1}); the embedding layer and the last layer "
                   f"have {s[0, -1]:.2f}.")
    return out


def recordings(summaries: pd.DataFrame, consistency: np.ndarray | None, label: str) -> list[str]:
    """Chapter 1: the recordings' size, and how consistent the voxels are across subjects."""
    first = summaries.iloc[0]
    same = summaries[["n_trs", "n_runs", "n_voxels"]].nunique().max() == 1
    size = (f"each with {first['n_trs']} TRs in {first['n_runs']} runs and {first['n_voxels']} voxels" if same
            else f"with {summaries['n_trs'].min()} to {summaries['n_trs'].max()} TRs and {summaries['n_voxels'].min()} "
                 f"to {summaries['n_voxels'].max()} voxels")
    out = [f"{len(summaries)} recordings, {size}; {first['n_words_shown']} items shown."]
    if consistency is not None and len(consistency):
        q50, q99 = np.percentile(consistency, [50, 99])
        out.append(f"The voxels' {label}: median {q50:.3f}, 99th percentile {q99:.3f}, largest {np.max(consistency):.3f}.")
    return out


def penalties(chosen: pd.Series, offered) -> list[str]:
    """Chapter 5: the penalties the inner cross-validation chose (one value per subject, layer and fold)."""
    offered = sorted(offered)
    counts = chosen.value_counts()
    top = counts.index[0]
    out = [f"The inner cross-validation chose {top:g} in {counts.iloc[0]} of {len(chosen)} fits."]
    edge = chosen.isin([offered[0], offered[-1]]) if len(offered) > 1 else pd.Series(False, index=chosen.index)
    if edge.any():
        side = "largest" if (chosen[edge] == offered[-1]).sum() >= (chosen[edge] == offered[0]).sum() else "smallest"
        out.append(f"{int(edge.sum())} of {len(chosen)} choices are at the edge of the grid ({offered[0]:g} to "
                   f"{offered[-1]:g}), mostly the {side}: a penalty beyond the grid might fit better, so the grid "
                   "may be too narrow.")
    return out


def _signed(x: float) -> str:
    """A slope or an interval's end to three decimals with its sign, and 0.000 where it rounds to zero (not -0.000)."""
    return "0.000" if abs(x) < 0.0005 else f"{x:+.3f}"


def _slope(row) -> str:
    return f"{_signed(row['slope'])} (95 % interval {_signed(row['ci_low'])} to {_signed(row['ci_high'])})"


def _sign(row) -> int:
    """+1 or -1 where the slope's interval excludes zero on that side, else 0."""
    return 1 if row["ci_low"] > 0 else -1 if row["ci_high"] < 0 else 0


def slopes(table: pd.DataFrame) -> list[str]:
    """Chapter 7: each measure's scaling slope (per tenfold parameters) and whether its interval excludes 0.

    ``table``: index (measure, at), columns ``slope``, ``ci_low``, ``ci_high``, ``n_models``.
    """
    if table["slope"].isna().all():
        return ["No scaling slope: this scenario has fewer than two trained model sizes."]
    out = []
    for (measure, at), row in table.iterrows():
        if np.isnan(row["slope"]):
            out.append(f"{measure} ({at} layer): fewer than two trained sizes, no slope.")
            continue
        sign = {1: "rises", -1: "falls", 0: None}[_sign(row)]
        text = (f"{sign} with size" if sign else "shows no trend its interval can tell from none")
        out.append(f"{measure} ({at} layer): across {int(row['n_models'])} trained models the score {text} "
                   f"(slope {_signed(row['slope'])} per tenfold parameters, 95 % interval {_signed(row['ci_low'])} to "
                   f"{_signed(row['ci_high'])}).")
    return out


LADDER_SPLITS = {"types": "shuffled split over types", "blocks": "blocked split"}  # the ladders' splits, in words


def ladders(table: pd.DataFrame) -> list[str]:
    """Chapter 7: each ladder's slope of the raw score under each protocol and split, with its own width, cut to
    one width and on pure noise, and what those say of the claim that size helps; where noise shows the slope, the
    slope of the score above its permutation null on noise, and whether the blocked split removes it (``table``:
    :func:`helpers.run.tables.ladder_slopes`)."""
    if table.empty:
        return ["This scenario scores no family at two or more sizes, so no slope is measured within a family "
                "(the ladders scenario scores the untrained ladders of BERT, GPT-2, OPT and Pythia)."]
    out = []
    keys = ["measure", "family", "trained", "protocol", "split", "signal", "width"]
    above = table[table["score"] == "above its null"].set_index(keys)
    raw = table[table["score"] == "raw"].set_index(keys)
    for (measure, family, trained, protocol, split), rows in table[table["score"] == "raw"].groupby(
            keys[:5], sort=False):
        by = {(r["signal"], r["width"]): r for _, r in rows.iterrows()}
        own = by[("scenario", "own")]
        cut = next(r for (signal, width), r in by.items() if signal == "scenario" and width != "own")
        noise = by.get(("noise", "own"))
        kind = "trained" if trained else "untrained"
        where = f"{protocol} protocol, {LADDER_SPLITS.get(split, split)}"
        text = (f"{measure}, {kind} {family} ({int(own['n_models'])} sizes, {own['smallest_m']:g} to "
                f"{own['largest_m']:g} M parameters), {where}: slope {_slope(own)} per tenfold "
                f"parameters with each model's own width, {_slope(cut)} with every model cut to "
                f"{cut['width'].removeprefix('all ')} dimensions")
        text += f", and {_slope(noise)} on pure noise." if noise is not None else "."
        out.append(text)
        blocked = (measure, family, trained, protocol, "blocks", "noise", "own")
        if noise is not None and _sign(noise) != 0 and _sign(noise) == _sign(own):
            text = (f"Pure noise shows a slope of the same sign ({kind} {family}, {where}): "
                    "that trend is not evidence that a bigger model aligns better")
            null = (measure, family, trained, protocol, split, "noise", "own")
            if null in above.index:
                text += (f"; above its permutation null the slope on noise is {_slope(above.loc[null])}"
                         + (", so the rise is the null's" if _sign(above.loc[null]) == 0 else ""))
            if split != "blocks" and blocked in raw.index:
                text += f". With the blocked split it is {_slope(raw.loc[blocked])}"
                leak = (abs(raw.loc[blocked, "slope"]) <= abs(noise["slope"]) / 2 and null in above.index
                        and abs(above.loc[null, "slope"]) > abs(noise["slope"]) / 2)  # above the null, and gone when blocked
                if leak:
                    text += (": most of the rise on noise comes from test words whose temporal neighbours were trained "
                             "on, and that leak grows with the model")
            out.append(text + ".")
        elif _sign(own) != 0 and _sign(cut) == 0:
            out.append(f"Cut to one width, the {kind} {family} slope ({where}) can no longer be "
                       "told from zero: the trend comes with the models' width.")
    return out


def power(table: pd.DataFrame) -> list[str]:
    """Chapter 7: for each ladder, the smallest planted slope its design detects in most experiments, and how often
    the slope's interval excludes zero when no slope is planted (``table``: :func:`helpers.run.tables.ladder_power`)."""
    out = []
    for ladder, rows in table.groupby("ladder", sort=False):
        smallest, n = detectable_slope(rows), int(rows["n_subjects"].iloc[0])
        false = rows.loc[rows["planted"] == 0, "detected"].iloc[0]
        found = (f"a slope of {smallest:.3f} per tenfold parameters is found in {POWER * 100:.0f} % of experiments"
                 if np.isfinite(smallest) else f"no planted slope up to {rows['planted'].max():.3f} is found in "
                 f"{POWER * 100:.0f} % of experiments")
        text = (f"{rows['measure'].iloc[0]}, {ladder}, with {n} subjects and the spread of their scores at the last "
                f"layers: {found}; a smaller true slope would mostly go unseen. With no slope planted, the 95 % "
                f"interval excludes zero in {false * 100:.0f} % of experiments")
        if false > 0.1:
            text += (f", not 5 %: for scores like these, with {n} subjects, the intervals of this chapter are too "
                     "narrow, and a slope whose interval only just excludes zero is weaker evidence than it looks")
        out.append(text + ".")
    return out


def depths(best: pd.DataFrame) -> list[str]:
    """Chapter 8: where each measure's best layers sit (relative depth), over the trained models."""
    out = []
    for measure, rows in best[best["trained"]].groupby("measure", sort=False):
        where = ", ".join(f"{m} ({d:.2f})" for m, d in zip(rows["model"], rows["relative_depth"]))
        out.append(f"{measure}: the best layers of the trained models sit at relative depths {where}.")
    return out


def ladder_depths(layers: pd.DataFrame) -> list[str]:
    """Chapter 8: along each ladder (``layers``: :func:`helpers.align.statistics.scored_layers` of
    :func:`helpers.run.tables.ladder_depths`, a measure and ladder per ``measure``), where each size's best layer
    sits and whether it moves with size; that no trained ladder is scored, where none is."""
    if layers.empty:
        return []
    out, layers = [], layers.reset_index(drop=True)
    best = model_scores(layers, "best")
    for ladder, rows in best.groupby("measure", sort=False):
        rows = rows.sort_values("n_params_m")
        where = ", ".join(f"{d:.2f} ({m:g} M)" for d, m in zip(rows["relative_depth"], rows["n_params_m"]))
        steps = np.diff(rows["relative_depth"].to_numpy())
        larger = "every larger model" if len(rows) > 2 else "the larger model"
        order = (f"deeper in {larger}" if (steps > 0).all() else f"shallower in {larger}" if (steps < 0).all()
                 else "at the same relative depth at every size" if (steps == 0).all()
                 else "never shallower in a larger model" if (steps >= 0).all()
                 else "never deeper in a larger model" if (steps <= 0).all() else "in no order of size")
        # a best layer whose interval holds every other layer's mean is not told apart from them
        others = layers[layers["measure"] == ladder].merge(rows[["model", "layer", "mean", "ci95"]], on="model",
                                                            suffixes=("", "_best"))
        others = others[others["layer"] != others["layer_best"]]
        unclear = (others["mean"] >= others["mean_best"] - others["ci95_best"]).groupby(others["model"]).all()
        text = (f"{ladder} ({len(rows)} sizes): the best layers sit at relative depths "
                f"{where}, {order}.")
        if unclear.any():
            text += (f" In {int(unclear.sum())} of {len(rows)} sizes every other layer's mean lies within the best "
                     "layer's 95 % interval, so there the best layer is not told apart from the rest.")
        out.append(text)
    if not layers["trained"].any():
        out.append("Every ladder here is untrained, so what training adds at each depth along a ladder is not "
                   "measured (chapter 7 says which trained ladders were looked for).")
    return out


def training(differences: dict[str, pd.DataFrame]) -> list[str]:
    """Chapter 8: at how many layers training raises or lowers each measure (trained minus untrained twin)."""
    out = []
    for measure, d in differences.items():
        for model, rows in d.groupby("model", sort=False):
            up = int((rows["mean"] - rows["ci95"] > 0).sum())
            down = int((rows["mean"] + rows["ci95"] < 0).sum())
            verdict = ("training lowers the score at more layers than it raises it" if down > up else
                       "training raises the score at more layers than it lowers it" if up > down else
                       "no difference its interval can tell from none" if up == 0 else
                       "training raises and lowers the score at as many layers")
            out.append(f"{measure}, {model}: trained minus untrained is above 0 at {up} and below 0 at {down} of "
                       f"{len(rows)} layers: {verdict}.")
    return out
