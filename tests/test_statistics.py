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


def measure(model, trained, n_params_m, values_by_layer, n_states=3):
    """Rows of one model: subjects 1 and 2, one fold, per layer the values (subject 1, subject 2)."""
    return pd.DataFrame([{"model": model, "family": "f", "n_params_m": n_params_m, "trained": trained, "n_states": n_states,
                          "layer": layer, "subject": subject, "fold": 0, "value": value, "chance": 0.1}
                         for layer, pair in values_by_layer.items() for subject, value in zip(("1", "2"), pair)])


def test_twin_differences_pairs_by_subject_and_layer():
    table = pd.concat([measure("a", True, 10, {0: (0.5, 0.7), 2: (0.9, 0.9)}),
                       measure("random:a", False, 10, {0: (0.4, 0.4), 2: (0.2, 0.4)}),
                       measure("b", True, 20, {0: (0.3, 0.3)})])  # no twin: left out
    d = statistics.twin_differences(table).set_index("layer")
    assert list(d["model"]) == ["a", "a"]
    assert d.loc[0, "mean"] == pytest.approx(0.2)  # (0.1 + 0.3) / 2
    assert d.loc[2, "mean"] == pytest.approx(0.6)  # (0.7 + 0.5) / 2
    assert d.loc[2, "relative_depth"] == 1.0 and d.loc[0, "relative_depth"] == 0.0
    assert (d["chance"] == 0).all()
    assert statistics.twin_differences(measure("b", True, 20, {0: (0.3, 0.3)})).empty


def test_model_scores_and_scaling_slope_by_hand():
    # score at the best layer: a (10 M) 0.2, b (100 M) 0.4, c (1000 M) 0.6 -> slope 0.2 per decade
    table = pd.concat([measure("a", True, 10, {0: (0.1, 0.1), 1: (0.2, 0.2)}),
                       measure("b", True, 100, {0: (0.3, 0.5), 1: (0.1, 0.1)}),
                       measure("c", True, 1000, {0: (0.6, 0.6), 1: (0.0, 0.0)}),
                       measure("random:c", False, 1000, {0: (0.9, 0.9)})])  # untrained: not in the slope
    best = statistics.model_scores(statistics.scored_layers({"m": table}), "best").set_index("model")
    assert best.loc["a", "layer"] == 1 and best.loc["b", "layer"] == 0 and best.loc["b", "mean"] == pytest.approx(0.4)
    last = statistics.model_scores(statistics.scored_layers({"m": table}), "last").set_index("model")
    assert last.loc["c", "mean"] == pytest.approx(0.0)
    slope = statistics.scaling_slope(table, n_boot=200)
    assert slope["slope"] == pytest.approx(0.2) and slope["n_models"] == 3
    # three evenly spaced sizes: the middle model's resampled mean cannot move the slope, so the interval is a point
    assert slope["ci_low"] == pytest.approx(0.2) and slope["ci_high"] == pytest.approx(0.2)
    assert np.isnan(statistics.scaling_slope(table[table["model"] == "a"])["slope"])
    with pytest.raises(ValueError, match="at must be 'best' or 'last'"):
        statistics.model_scores(statistics.scored_layers({"m": table}), "first")


def test_layer_summary_adds_the_mean_null_and_the_largest_p_per_layer():
    table = scores({0: 0.1, 1: 0.3}).assign(null_95=[0.02, 0.04, 0.05, 0.07], p_fwe=[0.01, 0.2, 0.001, 0.03])
    s = statistics.layer_summary(table, ["layer"]).set_index("layer")
    assert s.loc[0, "null_95"] == pytest.approx(0.03) and s.loc[1, "null_95"] == pytest.approx(0.06)
    assert list(s["p_fwe"]) == [0.2, 0.03]  # the worst fold: a star needs every fold below 0.05
    plain = statistics.summarise(table, ["layer"]).set_index("layer")
    pd.testing.assert_frame_equal(s[plain.columns], plain)
    best = statistics.best_layers(table, ["model"]).iloc[0]
    assert best["layer"] == 1 and best["null_95"] == pytest.approx(0.06) and best["p_fwe"] == 0.03


def test_layer_curve_gives_the_best_layer_as_layer_rank_does():
    table = scores({0: 0.1, 1: 0.3, 2: 0.3, 3: 0.2})  # a tie: the first of the best
    s, best = statistics.layer_curve(table)
    pd.testing.assert_frame_equal(s, statistics.summarise(table, ["layer"]))
    assert best["layer"] == 1 == statistics.layer_rank(table, "m", 3)["best_layer"]
    assert best["mean"] == pytest.approx(0.3)


def test_lag_and_layer_similarity_by_hand():
    # centred rows alternate in sign: neighbours point opposite ways, words two apart the same way
    vectors = np.array([[3.0, 1.0], [1.0, 1.0], [3.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    lags = statistics.lag_similarity(vectors, lags=[1, 2])
    assert list(lags.index) == [1, 2] and lags.to_numpy() == pytest.approx([-1.0, 1.0])
    rng = np.random.default_rng(0)
    layer = rng.standard_normal((50, 4))
    sim = statistics.layer_similarity(np.stack([layer, -2 * layer, layer + 5]))  # scaled, flipped, shifted
    assert sim == pytest.approx(np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]]))


def subject_table(values):
    """One model, rows layer x subject of scores ``values[layer][subject]``, one row each."""
    return pd.DataFrame([{"model": "m", "layer": layer, "subject": f"s{s}", "value": v}
                         for layer, row in enumerate(values) for s, v in enumerate(row)])


def test_chosen_layer_intervals_choose_the_layer_again_in_every_resample():
    # layer 0 is best on average only through subject 0; layer 1 is steady
    values = np.array([[0.9, 0.1, 0.1, 0.1], [0.3, 0.3, 0.3, 0.3]])
    out = statistics.chosen_layer_intervals(subject_table(values), n_boot=400, seed=3).iloc[0]
    assert out["layer"] == 0 and out["mean"] == pytest.approx(0.3)  # ties go to the first layer, as np.argmax
    draws = np.random.default_rng(3).integers(0, 4, size=(400, 4))
    best = [max(values[:, d].mean(axis=1)) for d in draws]  # by hand: the best layer's mean in each resample
    chosen = [int(np.argmax(values[:, d].mean(axis=1))) for d in draws]
    half = stats.t.ppf(0.975, 3) * np.std(best, ddof=1) * np.sqrt(4 / 3)
    assert out["ci_low"] == pytest.approx(0.3 - half) and out["ci_high"] == pytest.approx(0.3 + half)
    assert out["same_choice"] == pytest.approx(np.mean(np.array(chosen) == 0))
    # choosing again keeps every resample's best: steadier than layer 0 held fixed, which subject 0 alone lifts
    assert np.std(best) < np.std([values[0, d].mean() for d in draws])
    one = statistics.chosen_layer_intervals(subject_table(values[:, :1])).iloc[0]
    assert one["layer"] == 0 and np.isnan(one["ci_low"]) and np.isnan(one["same_choice"])


def test_family_slopes_fit_each_ladder_apart_trained_and_untrained():
    def member(model, family, trained, size, value):
        return measure(model, trained, size, {0: (value, value)}).assign(family=family)

    table = pd.concat([
        member("s", "small", True, 10, 0.1), member("m", "small", True, 100, 0.3), member("l", "small", True, 1000, 0.5),
        member("random:s", "small", False, 10, 0.4), member("random:l", "small", False, 1000, 0.1),
        member("x", "other", True, 50, 0.9),  # one size: no ladder
        member("trivial:length", "trivial feature", False, np.nan, 0.2),
    ])
    slopes = statistics.family_slopes(table, n_boot=50).set_index("trained")
    assert list(slopes["family"]) == ["small", "small"]
    assert slopes.loc[True, "slope"] == pytest.approx(0.2) and slopes.loc[True, "n_models"] == 3  # 0.2 per decade
    assert slopes.loc[False, "slope"] == pytest.approx(-0.15)  # (0.1 - 0.4) / 2 decades
    assert (slopes.loc[True, "smallest_m"], slopes.loc[True, "largest_m"]) == (10, 1000)
    # the slope across every trained model mixes families: the lone "other" model pulls it
    assert statistics.scaling_slope(table, n_boot=50)["slope"] != pytest.approx(0.2)
    assert statistics.family_slopes(table[table["family"] == "other"]).empty


def test_encoding_maps_average_only_voxels_that_subjects_share():
    def subject(name, xs, rs):
        return pd.DataFrame({"subject": name, "voxel": range(len(xs)), "x": xs, "y": 0.0, "z": 0.0, "r": rs})

    shared = pd.concat([subject("1", [10.0, 20.0], [0.2, 0.4]), subject("2", [10.0, 20.0], [0.4, 0.0])])
    drawn, what = statistics.encoding_map(shared)
    assert what == "mean over subjects" and list(drawn.index) == [0, 1]
    np.testing.assert_allclose(drawn["r"], [0.3, 0.2])
    # subject 2's voxel 0 lies elsewhere (real data): no voxel is averaged with another subject's
    apart = pd.concat([subject("1", [10.0, 20.0], [0.2, 0.4]), subject("2", [-30.0, 20.0, 5.0], [0.4, 0.0, 0.1])])
    drawn, what = statistics.encoding_map(apart)
    assert what == "every subject's voxels at their own places" and len(drawn) == 5
    assert drawn.loc[("2", 0), "x"] == -30.0 and drawn.loc[("2", 0), "r"] == 0.4


def ladder_grid(values, sizes):
    """Scores ``values[model][subject]`` of one ladder at one layer, sizes in millions of parameters."""
    return pd.DataFrame([{"model": f"m{m}", "n_params_m": sizes[m], "layer": 0, "subject": f"s{s:02d}", "value": v}
                         for m, row in enumerate(values) for s, v in enumerate(row)])


def test_slope_power_spread_is_the_model_by_subject_residual():
    # subject levels and model levels alone: nothing is left for a slope to see
    additive = np.add.outer([1.0, 2.0, 4.0, 8.0], [0.0, 0.5])  # every mean exact in binary: no rounding residue
    power = statistics.slope_power(ladder_grid(additive, [1, 10, 100, 1000]), planted=[0.0, 0.01], n_sim=50)
    assert power["spread"].iloc[0] == 0.0
    assert list(power["detected"]) == [0.0, 1.0]  # no noise: zero is never excluded, any slope always found
    # a 2 x 2 interaction: residuals of +-0.5 over one degree of freedom
    power = statistics.slope_power(ladder_grid([[1.0, 0.0], [0.0, 1.0]], [1, 10]), planted=[0.0], n_sim=10)
    assert power["spread"].iloc[0] == pytest.approx(1.0) and power["n_subjects"].iloc[0] == 2
    assert statistics.slope_power(ladder_grid([[1.0, 0.0], [0.0, 1.0]], [10, 10])).empty  # one size: no slope


def test_slope_power_matches_theory_with_many_subjects_and_is_optimistic_with_four():
    rng = np.random.default_rng(5)
    sizes = [4.4, 11.0, 29.0, 41.0]
    x = np.log10(sizes)
    many = ladder_grid(rng.standard_normal((4, 40)) * 0.01, sizes)
    power = statistics.slope_power(many, n_sim=2000, n_boot=400)
    spread = power["spread"].iloc[0]
    standard_error = spread / np.sqrt(40 * ((x - x.mean()) ** 2).sum())
    detected = dict(zip(np.round(power["planted"] / standard_error, 6), power["detected"]))
    assert detected[0.0] == pytest.approx(0.05, abs=0.025)  # a 95 % interval: one false positive in twenty
    # a slope of 3 standard errors: found when its estimate exceeds 1.96 of them, P(z > -1.04) = 0.85
    assert detected[3.0] == pytest.approx(stats.norm.cdf(3 - stats.norm.ppf(0.975)), abs=0.04)
    assert statistics.detectable_slope(power) / standard_error == pytest.approx(2.8, abs=0.2)  # 1.96 + 0.84
    # four subjects: the interval keeps its level (a t interval), where the resamples' middle 95 % would not
    four = statistics.slope_power(ladder_grid(rng.standard_normal((4, 4)) * 0.01, sizes), n_sim=2000, n_boot=400)
    assert four["detected"].iloc[0] == pytest.approx(0.05, abs=0.025)


def test_over_subjects_is_the_t_interval_of_a_mean_and_keeps_its_level_with_four_subjects():
    rng = np.random.default_rng(2)
    values = rng.standard_normal((2000, 4))  # 2000 experiments of four subjects, no effect
    resampled = values[:, rng.integers(0, 4, size=(1000, 4))].mean(axis=2)
    low, high = statistics.over_subjects(values.mean(axis=1), resampled, 4)
    t_half = stats.t.ppf(0.975, 3) * values.std(axis=1, ddof=1) / np.sqrt(4)
    np.testing.assert_allclose(high - values.mean(axis=1), t_half, rtol=0.15)  # up to the resamples' luck
    assert np.mean((low > 0) | (high < 0)) == pytest.approx(0.05, abs=0.015)
    # the middle 95 % of the resamples: about half as wide, and a false positive one time in five
    middle_low, middle_high = np.percentile(resampled, [2.5, 97.5], axis=1)
    assert np.median((middle_high - middle_low) / (high - low)) == pytest.approx(0.5, abs=0.1)
    assert np.mean((middle_low > 0) | (middle_high < 0)) > 0.15
    assert np.isnan(statistics.over_subjects(0.3, np.array([0.3]), 1)).all()


def test_detectable_slope_interpolates_and_says_when_nothing_is_found():
    power = pd.DataFrame({"planted": [0.0, 0.1, 0.2, 0.3], "detected": [0.05, 0.5, 0.7, 0.9]})
    assert statistics.detectable_slope(power) == pytest.approx(0.25)  # halfway from 0.7 to 0.9
    assert statistics.detectable_slope(power, share=0.4) == pytest.approx(0.1)  # the first slope already
    assert np.isnan(statistics.detectable_slope(power.assign(detected=0.1)))
