"""What the published code's window lag does: where its windows land, run by run, and each run's score.

The published smoothing (:func:`helpers.brain.smoothing.window_lag`) anchors
word i's window at the i-th time of the filled grid, which after the first
rest lies before the word. :func:`run_scores` scores one model layer with
each run held out in turn (``split: runs``), once with those lagging windows
and once with each window at its word's onset, so that every run's score
with and without the lag can be read side by side.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..align import statistics
from ..brain.window_lag import lag_by_run
from ..data.recording import Recording
from . import tables
from .pipeline import recordings
from .scenario import Scenario

WINDOWS = {"published": "published windows (lagging)", "paper": "windows at each word's onset"}


def lags(cfg: Scenario) -> pd.DataFrame:
    """:func:`~helpers.brain.smoothing.lag_by_run` of the first subject (every subject saw the same text)."""
    rec = recordings(cfg)[0]
    if not isinstance(rec, Recording):
        raise ValueError(f"the {cfg.dataset} recordings hold one response per sentence: no window, and no lag.")
    return lag_by_run(rec)


def run_scores(cfg: Scenario, model: str, layer: int, measure: str | None = None, metric: str = "P@10") -> pd.DataFrame:
    """``metric`` by CSLS of one model layer with each run held out, under both windows: mean and 95 % interval
    over subjects per run (``run``, ``windows``, ``mean``, ``ci95``, ``chance``, ...).

    The ``fold`` of a leave-one-run-out split is the run's position among the runs.
    """
    parts = []
    for method, label in WINDOWS.items():
        variant = dataclasses.replace(cfg, smoothing=method, split="runs")
        rows = tables.at_layer(variant, model, layer, measure)
        parts.append(rows[(rows["metric"] == metric) & (rows["retrieval"] == "csls")].assign(windows=label))
    table = pd.concat(parts, ignore_index=True)
    runs = lags(cfg)["run"].to_numpy()
    table["run"] = runs[table["fold"].to_numpy()]
    return statistics.summarise(table, ["run", "windows"])


def wide(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`run_scores` as the book shows it: one row per run, one column per window, "mean ± ci"."""
    shown = scores.assign(score=[f"{m:.3f} ± {c:.3f}" if np.isfinite(c) else f"{m:.3f}"
                                 for m, c in zip(scores["mean"], scores["ci95"])])
    return shown.pivot(index="run", columns="windows", values="score").rename_axis(columns=None)


def sentences(lag_table: pd.DataFrame, scores: pd.DataFrame, metric: str = "P@10") -> list[str]:
    """Where the published windows land and what that does to each run's score, in plain words, from the numbers."""
    lagged = lag_table[lag_table["words_lagged"] > 0]
    share = lag_table["words_lagged"].sum() / max(lag_table["n_words"].sum(), 1)
    out = [
        f"The published windows lag their words in {len(lagged)} of {len(lag_table)} runs: {share:.0%} of the shown "
        "items" + (f", by {lagged['median_lag_s'].min():.1f} to {lagged['median_lag_s'].max():.1f} s (median per run)."
                   if len(lagged) else ".")
    ]
    wide = scores.pivot(index="run", columns="windows", values="mean")
    published, onset = WINDOWS["published"], WINDOWS["paper"]
    chance = float(scores["chance"].mean())
    for run, row in wide.iterrows():
        lag = float(lag_table.set_index("run").loc[run, "median_lag_s"])
        out.append(
            f"Run {run} (median lag {lag:.1f} s): {metric} {row[published]:.3f} with the published windows, "
            f"{row[onset]:.3f} with windows at each word's onset (chance {chance:.3f})."
        )
    unlagged = [run for run in wide.index if lag_table.set_index("run").loc[run, "words_lagged"] == 0]
    for run in unlagged:
        if wide.loc[run, published] < wide.loc[run, onset] and len(unlagged) < len(wide):
            out.append(
                f"Run {run}'s own windows do not lag, yet it scores less with the published windows "
                f"({wide.loc[run, published]:.3f} against {wide.loc[run, onset]:.3f}): held out, it is decoded by a "
                "map fitted on the other runs, whose windows do lag."
            )
    return out
