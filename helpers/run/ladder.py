"""The ladder: from the paper's published computation to the careful protocol, one point at a time.

Each rung keeps the changes of the rungs above it and makes one more, so
that the difference between two consecutive rows is the effect of one
choice. The first rung is ``protocol: published`` (every point as the
paper's code computes it); the last is ``protocol: careful``. Every rung is
scored on the same model layer under the shuffled-type split and under the
blocked split, so the table also shows which steps matter once temporal
neighbours are kept out of training. Each rung's cells are ordinary cells
(:mod:`helpers.run.cells`), cached as any other.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..align import measures as MS
from ..align import statistics
from . import tables
from .protocols import PROTOCOLS
from .scenario import Scenario

# Rung label -> the fields it changes (on top of every rung above it). The last rung is the careful protocol.
LADDER = {
    "published code": {},
    "window at each word's onset": {"smoothing": "paper"},
    "PCA signs by the largest loading": {"pca_signs": "loadings"},
    "types lower-cased for every model": {"type_case": "lower"},
    "a wide model reduced on its types": {"lm_reduction": "types"},
    "CSLS over 10 neighbours": {"csls_neighbours": 10},
    "types dealt by the scenario's seed": {"fold_rule": "shuffled"},
    "CSLS neighbourhood of test rows": {"csls_reference": "test"},
    "centred, not min-max (careful)": {"protocol": "careful"},
}
# The ridge chapter's ladder: the published ridge, then the book's ridge with everything else published, then careful.
RIDGE_LADDER = {
    "published code": {},
    "ridge with one penalty from inner folds over types": {"ridge_protocol": "careful"},
    "careful protocol": {"protocol": "careful"},
}
# The RSA chapter's ladder: items and scaling as published, then types as items, then careful.
RSA_LADDER = {
    "published code": {},
    "word types as items, not occurrences": {"rsa_units": "types"},
    "careful protocol": {"protocol": "careful"},
}
SPLITS = ("types", "blocks")
RETRIEVALS = {"csls": "CSLS", "cosine": "nearest neighbour"}


def rungs(cfg: Scenario, steps: dict[str, dict] = LADDER) -> dict[str, Scenario]:
    """The scenario of every rung of ``steps``: ``cfg`` with its protocol fields emptied, under ``published``,
    plus the rung's changes and those of the rungs above it."""
    base = dataclasses.replace(cfg, protocol="published", **{field: None for field in PROTOCOLS["published"]})
    out, changes = {}, {}
    for label, change in steps.items():
        changes.update(change)
        out[label] = dataclasses.replace(base, **changes)
    return out


def ladder(cfg: Scenario, model: str, layer: int, measure: str | None = None, metric: str = "P@10",
           steps: dict[str, dict] = LADDER) -> pd.DataFrame:
    """One model layer scored by ``measure`` (default :func:`helpers.run.tables.decoder`) on every rung of
    ``steps``, with the columns ``rung`` and ``condition``.

    A measure that fits a map is scored under both splits, and its ``metric`` rows kept; the condition names
    the split and the retrieval. Another measure (RSA) needs no split: all its rows are kept, the condition
    is the measure's name. ``chance_permuted`` is the permutation null's mean in both.
    """
    name = measure or tables.decoder(cfg)
    fits = MS.get(name).fits_map
    parts = []
    todo = [(label, split, rung) for label, rung in rungs(cfg, steps).items() for split in (SPLITS if fits else (None,))]
    for label, split, rung in tqdm(todo, desc="ladder"):
        rows = tables.at_layer(dataclasses.replace(rung, split=split) if split else rung, model, layer, name)
        if fits:
            rows = rows[rows["metric"] == metric]
            condition = [f"{split} split, {RETRIEVALS.get(r, r)}" for r in rows["retrieval"]]
        else:
            rows = rows.assign(chance_permuted=rows["null_mean"])
            condition = MS.get(name).summary
        parts.append(rows.assign(rung=label, condition=condition))
    return pd.concat(parts, ignore_index=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % interval over subjects (and folds) per rung and condition, rungs in ladder order."""
    out = statistics.summarise(table, ["rung", "condition"])
    out["rung"] = pd.Categorical(out["rung"], categories=list(dict.fromkeys(table["rung"])), ordered=True)
    return out.sort_values(["rung", "condition"]).reset_index(drop=True)


def wide(summary_table: pd.DataFrame) -> pd.DataFrame:
    """The summary as the book shows it: one row per rung, one column per condition, "mean ± ci (n)",
    where n is the permutation null's mean (for retrieval, the chance level that keeps the hubs)."""
    shown = summary_table.assign(
        score=[(f"{m:.3f} ± {c:.3f}" if np.isfinite(c) else f"{m:.3f}") + f" ({n:.3f})"
               for m, c, n in zip(summary_table["mean"], summary_table["ci95"], summary_table["chance_permuted"])])
    return shown.pivot(index="rung", columns="condition", values="score").rename_axis(index=None, columns=None)


def _against_null(row: pd.Series) -> str:
    """A score and its permutation null in words: how far above it, or at it (within the score's interval)."""
    gap, half = row["mean"] - row["chance_permuted"], row["ci95"] if np.isfinite(row["ci95"]) else 0.0
    where = (f"{gap:.3f} above its permutation null of {row['chance_permuted']:.3f}" if gap > half
             else f"not clearly above its permutation null of {row['chance_permuted']:.3f}")
    return f"{row['mean']:.3f} (± {row['ci95']:.3f}), {where}"


def sentences(summary_table: pd.DataFrame, what: str = "P@10") -> list[str]:
    """What the ladder says, in plain words, made from its numbers: where the published computation and the
    careful protocol land against the permutation null, in every condition that ranks by CSLS (or the one
    condition of a measure without retrieval), and which single step moves the score ``what`` most."""
    s = summary_table.set_index(["rung", "condition"])
    names = list(summary_table["rung"].cat.categories)
    conditions = list(dict.fromkeys(summary_table["condition"]))
    shown = [c for c in conditions if c.endswith(RETRIEVALS["csls"])] or conditions
    out, at_null = [], False
    for condition in shown:
        steps = [(b, s.loc[(b, condition), "mean"] - s.loc[(a, condition), "mean"]) for a, b in zip(names[:-1], names[1:])]
        label, change = max(steps, key=lambda step: abs(step[1]))
        first = s.loc[(names[0], condition)]
        at_null |= first["mean"] - first["chance_permuted"] <= (first["ci95"] if np.isfinite(first["ci95"]) else 0.0)
        out.append(
            f"{condition}, {what}: {_against_null(first)} with the published computation, and "
            f"{_against_null(s.loc[(names[-1], condition)])} with the careful protocol. The largest single step is "
            f"\"{label}\", which {'raises' if change > 0 else 'lowers'} the score by {abs(change):.3f}."
        )
    if at_null:
        out.append(
            "A score at its permutation null carries no information about which word was read: shuffling the words "
            "scores as much (in retrieval, by ranking the same few types first for every query: frequent words, or "
            "hubs near every mapped vector). Read the published computation's numbers against that null."
        )
    return out
