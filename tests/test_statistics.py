"""Summaries of score tables: numbers against hand computation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.align import statistics


def scores(means_by_layer, spread=0.01):
    """Two folds per layer, at mean +- spread."""
    rows = []
    for layer, mean in means_by_layer.items():
        for fold, sign in enumerate((-1, 1)):
            rows.append({"model": "m", "layer": layer, "fold": fold, "metric": "P@10", "value": mean + sign * spread, "chance": 0.01})
    return pd.DataFrame(rows)


def test_summarise_gives_the_t_interval():
    s = statistics.summarise(scores({0: 0.2}, spread=0.05), ["layer"]).iloc[0]
    assert s["mean"] == pytest.approx(0.2)
    # two values 0.15, 0.25: sd = 0.0707, half-width = t(0.975, 1) * sd / sqrt(2) = 12.706 * 0.05
    assert s["ci95"] == pytest.approx(stats.t.ppf(0.975, 1) * 0.05)
    assert s["n"] == 2 and s["chance"] == 0.01


def test_layer_rank_counts_from_the_best_and_reads_the_interval():
    table = scores({0: 0.10, 1: 0.30, 2: 0.29, 3: 0.20}, spread=0.002)  # half-width 12.706 * 0.002 = 0.025
    third = statistics.layer_rank(table, "m", 3, metric="P@10")
    assert (third["rank"], third["n_layers"], third["best_layer"]) == (3, 4, 1)
    assert third["mean"] == pytest.approx(0.20) and third["best_mean"] == pytest.approx(0.30)
    assert not third["within_best_ci"]  # 0.20 < 0.30 - 0.025
    second = statistics.layer_rank(table, "m", 2, metric="P@10")
    assert second["rank"] == 2 and second["within_best_ci"]  # 0.29 > 0.30 - 0.025
    assert statistics.layer_rank(table, "m", 1)["rank"] == 1


def test_layer_rank_names_what_is_missing():
    with pytest.raises(ValueError, match=r"no rows for m layer 7 with \{'metric': 'P@10'\}; layers present: \[0, 1\]"):
        statistics.layer_rank(scores({0: 0.1, 1: 0.2}), "m", 7, metric="P@10")
    with pytest.raises(ValueError, match="layers present: \\[\\]"):
        statistics.layer_rank(scores({0: 0.1}), "m", 0, metric="P@5")
