"""What the controls say: summaries, verdicts and the chapter's conclusions in plain sentences.

Reads the tables of :mod:`helpers.run.controls` (every source under every
split, the noise ceiling, the recovery sweep) and computes nothing new from
the data: each function turns a table into a smaller table or sentences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..align.measures import headline_rows as measure_rows
from ..align.statistics import layer_rank, mean_and_ci, summarise
from ..lm import models as M
from ..lm import trivial
from .cells import NO_SPLIT

__all__ = ["measure_rows", "recovery_summary", "controls_summary", "verdicts", "findings"]


def recovery_summary(table: pd.DataFrame, planted_layer: int) -> pd.DataFrame:
    """Per design, SNR and measure: the best layer, where the planted layer ranks, and whether it beats chance.

    ``recovered``: the planted layer is the best or within the best's 95 %
    interval (:func:`helpers.align.statistics.layer_rank`). ``above_null``:
    the best layer's mean is above the permutation null's mean by more than
    its interval (:func:`helpers.align.statistics.mean_and_ci`) at the 95 %
    level corrected for picking the best of the model's ``n`` layers
    (Bonferroni: ``1 - 0.05 / n``); with a plain 95 % interval the best of
    seven independent layers of pure noise would pass about one time in six.
    """
    rows = []
    for (design, snr, measure), part in measure_rows(table).groupby(["design", "snr", "measure"], sort=False):
        rank = layer_rank(part, part["model"].iloc[0], planted_layer)
        best = part[part["layer"] == rank["best_layer"]]
        _, half = mean_and_ci(best["value"].to_numpy(), level=1 - 0.05 / part["layer"].nunique())
        rows.append({"design": design, "snr": snr, "measure": measure, "best_layer": rank["best_layer"],
                     "planted_rank": rank["rank"], "recovered": rank["rank"] == 1 or rank["within_best_ci"],
                     "above_null": bool(best["value"].mean() - best["chance"].mean() > np.nan_to_num(half))})
    return pd.DataFrame(rows)


def controls_summary(table: pd.DataFrame, ceiling: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per measure, source and split: mean over subjects and folds, 95 % interval, chance, and share of the ceiling.

    ``share_of_ceiling`` is ``(mean - chance) / (ceiling - chance)``: the
    part of what the other subjects predict that the source reaches above
    chance (NaN without a ceiling, or where the ceiling is not above chance).
    """
    rows = measure_rows(table)
    s = summarise(rows, ["measure", "model", "split"])
    s = s.join(rows.groupby("model")[["family", "trained"]].first(), on="model")
    if ceiling is None:
        return s.assign(ceiling=np.nan, share_of_ceiling=np.nan)
    top = measure_rows(ceiling).groupby(["measure", "split"])["value"].mean().rename("ceiling")
    s = s.join(top, on=["measure", "split"])
    room = s["ceiling"] - s["chance"]
    return s.assign(share_of_ceiling=((s["mean"] - s["chance"]) / room).where(room > 0))


def verdicts(summary: pd.DataFrame) -> pd.DataFrame:
    """Per measure and split: the best trained model, the best untrained twin and the best trivial feature, above chance.

    ``model_survives``: the trained model's 95 % interval lies above chance
    and above the best twin's and the best trivial feature's means (all as
    score minus chance). ``summary`` is :func:`controls_summary`.
    """
    s = summary.assign(above=summary["mean"] - summary["chance"])
    kinds = {"trained": s["trained"].astype(bool), "twin": s["model"].str.startswith(M.RANDOM_PREFIX),
             "trivial": s["model"].map(trivial.is_trivial)}
    out = []
    for (measure, split), part in s.groupby(["measure", "split"], sort=False):
        row = {"measure": measure, "split": split}
        for kind, mask in kinds.items():
            candidates = part[mask.loc[part.index]]
            best = candidates.loc[candidates["above"].idxmax()] if len(candidates) else None
            row[f"best {kind}"] = best["model"] if best is not None else ""
            row[f"{kind} above chance"] = best["above"] if best is not None else np.nan
            if kind == "trained":
                row["trained ci95"] = best["ci95"] if best is not None else np.nan
        low = row["trained above chance"] - np.nan_to_num(row["trained ci95"])
        row["model_survives"] = bool(low > 0 and low > np.nan_to_num(row["twin above chance"], nan=-np.inf)
                                     and low > np.nan_to_num(row["trivial above chance"], nan=-np.inf))
        out.append(row)
    return pd.DataFrame(out)


def findings(verdict: pd.DataFrame, recovered: pd.DataFrame | None = None) -> list[str]:
    """The chapter's conclusions in plain sentences, from :func:`verdicts` and, on the simulation, :func:`recovery_summary`."""
    names = {"types": "shuffled types", "blocks": "blocks", "runs": "leave-one-run-out", NO_SPLIT: "no split"}
    out = []
    for _, r in verdict.iterrows():
        where = f"{r['measure']}, {names.get(r['split'], r['split'])}"
        model, above = r["best trained"], r["trained above chance"]
        if r["model_survives"]:
            out.append(f"{where}: {model} stands above chance, its untrained twins and the trivial features. Survives.")
            continue
        rivals = [(r[f"best {kind}"], r[f"{kind} above chance"]) for kind in ("twin", "trivial") if r[f"best {kind}"]]
        rival, value = max(rivals, key=lambda t: t[1]) if rivals else ("chance", 0.0)
        out.append(f"{where}: {rival} reaches {value:+.3f} above chance against {above:+.3f} for {model}; "
                   "the score cannot be told from a control. Artefact here.")
    if recovered is not None:
        clean = recovered[recovered["snr"] == recovered["snr"].max()]
        shift = clean.pivot_table(index="measure", columns="design", values="best_layer")
        if {"events", "reading"} <= set(shift.columns):
            for measure, row in shift.iterrows():
                moved = row["reading"] - row["events"]
                out.append(f"{measure}: at SNR {clean['snr'].iloc[0]:g} the best layer is {row['events']:.0f} without temporal overlap "
                           f"and {row['reading']:.0f} in the reading design ({moved:+.0f} layers from blur).")
    return out
