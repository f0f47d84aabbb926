"""Summaries of score tables: means with intervals, chance levels, and where layers rank.

Every function takes a tidy table (one row per subject x model x layer x
fold x metric, with the columns ``value`` and ``chance``, and where there is
one ``chance_permuted``) and returns a small table or a dict for the book.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# Per-row columns that some tables carry, and how a layer's rows are summarised in best_layers.
_WORST = ("p", "p_fwe")  # the largest p-value over subjects and folds
_MEANS = ("ci_low", "ci_high", "null_95")  # bootstrap interval of a fold; 95th percentile of a null


def mean_and_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of a t-based confidence interval."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(half)


def summarise(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, 95 % CI and chance levels of ``value`` per group, over subjects and folds.

    The interval treats the subject x fold scores as independent, which they
    are not quite (folds share training data): read it as a guide.
    """
    rows = []
    for key, group in table.groupby(by, sort=True):
        mean, half = mean_and_ci(group["value"].to_numpy())
        row = {**dict(zip(by, key if isinstance(key, tuple) else (key,))), "mean": mean, "ci95": half,
               "chance": group["chance"].mean(), "n": len(group)}
        if "chance_permuted" in group:
            row["chance_permuted"] = group["chance_permuted"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def layer_rank(table: pd.DataFrame, model: str, layer: int, **where) -> dict:
    """Where ``layer`` ranks among ``model``'s layers by mean score (1 = best), on the rows matching ``where``.

    ``within_best_ci`` says whether its mean reaches the lower end of the
    best layer's 95 % interval (:func:`summarise`), i.e. whether the data
    can tell it apart from the best.
    """
    rows = table[table["model"] == model]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    if layer not in set(rows["layer"]):
        raise ValueError(f"no rows for {model} layer {layer} with {where}; layers present: {sorted(set(rows['layer']))}.")
    s = summarise(rows, ["layer"]).sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    best, mine = s.iloc[0], s[s["layer"] == layer].iloc[0]
    return {
        "layer": layer,
        "rank": int(s.index[s["layer"] == layer][0]) + 1,
        "n_layers": len(s),
        "mean": float(mine["mean"]),
        "best_layer": int(best["layer"]),
        "best_mean": float(best["mean"]),
        "within_best_ci": bool(mine["mean"] >= best["mean"] - np.nan_to_num(best["ci95"])),
    }


def best_layers(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The best layer of every group of ``by`` (e.g. ``["model", "metric"]``) by mean score.

    One row per group: :func:`summarise` of that layer, plus, where the table
    has them, the mean of each fold's bootstrap interval (``ci_low``,
    ``ci_high``) and of the null's 95th percentile (``null_95``), and the
    largest p-value over subjects (``p``, ``p_fwe``).
    """
    layers = list(by) + ["layer"]
    summary = summarise(table, layers)
    extra = [table.groupby(layers)[[c for c in _MEANS if c in table]].mean(),
             table.groupby(layers)[[c for c in _WORST if c in table]].max()]
    summary = summary.merge(pd.concat(extra, axis=1).reset_index(), on=layers)
    return summary.loc[summary.groupby(list(by))["mean"].idxmax()].reset_index(drop=True)


def layer_ranks(tables: dict[str, pd.DataFrame], model: str, layer: int, **where) -> pd.DataFrame:
    """:func:`layer_rank` of one layer under several conditions (``label -> table``), one row per condition."""
    return pd.DataFrame({label: layer_rank(table, model, layer, **where) for label, table in tables.items()}).T
