"""The findings boxes: sentences made from small hand-written tables, which change when a number does."""

import numpy as np
import pandas as pd

from helpers.run import findings as F


def layers(rows):
    """A scored_layers-like table from (measure, model, layer, mean, ci95, chance) tuples."""
    return pd.DataFrame(rows, columns=["measure", "model", "layer", "mean", "ci95", "chance"])


TABLE = layers([
    ("P@10", "m", 0, 0.05, 0.01, 0.02), ("P@10", "m", 1, 0.12, 0.01, 0.02), ("P@10", "m", 2, 0.08, 0.01, 0.02),
    ("P@10", "random:m", 0, 0.03, 0.01, 0.02), ("P@10", "random:m", 1, 0.04, 0.01, 0.02),
    ("P@10", "random:m", 2, 0.02, 0.01, 0.02),
    ("P@10", "n", 0, 0.021, 0.01, 0.02), ("P@10", "n", 1, 0.025, 0.01, 0.02),
])


def test_best_layers_name_what_stands_above_chance_and_where_the_planted_layer_ranks():
    assert F.best_layers(TABLE, planted=("m", 2)) == [
        "P@10: 2 of 3 models stand above their chance level at their best layer; the highest is m (layer 1, "
        "0.120 ± 0.010 against 0.020).",
        "P@10: within their chance level: n.",
        "P@10: the planted model, m, ranks 1 of 3 models; its planted layer 2 ranks 2 of 3 layers (best: layer 1).",
    ]


def test_flipping_one_number_flips_the_finding():
    flipped = TABLE.copy()
    flipped.loc[(flipped["model"] == "random:m") & (flipped["layer"] == 2), "mean"] = 0.30  # the twin now wins
    said = F.best_layers(flipped)
    assert ("P@10: the untrained twin of m scores above m itself (0.300 ± 0.010 against 0.120 ± 0.010 at their "
            "best layers).") in said
    assert not any("untrained twin" in s for s in F.best_layers(TABLE))
    nothing = TABLE.assign(chance=0.5)  # every score now within its chance level
    assert F.best_layers(nothing)[0] == ("P@10: no model stands above its chance level at its best layer (the "
                                         "highest, m, scores 0.120 ± 0.010 against 0.500).")


def test_the_delay_used_is_compared_with_the_best_delay():
    summary = pd.DataFrame({"variant": ["delay 0 s", "delay 4 s", "delay 6 s", "HRF area"],
                            "mean": [0.015, 0.167, 0.059, 0.1], "ci95": [0.005, 0.02, 0.01, 0.01],
                            "chance": 0.016, "chance_permuted": [0.016, 0.017, 0.016, 0.016]})
    said = F.delays(summary, {"delay 0 s": 0.0, "delay 4 s": 4.0, "delay 6 s": 6.0}, used=6.0)
    assert said == [
        "The best delay is 4 s (P@10 0.167 ± 0.020, chance 0.017).",
        "The delay of 6 s that the other chapters use gives 0.059 ± 0.010, below the best delay's interval: the "
        "later chapters score a window 2 s later than the best one.",
        "At 0 s the score does not stand above its chance level.",
    ]
    summary.loc[2, "mean"] = 0.2  # now 6 s is best
    assert F.delays(summary, {"delay 0 s": 0.0, "delay 4 s": 4.0, "delay 6 s": 6.0}, used=6.0)[:2] == [
        "The best delay is 6 s (P@10 0.200 ± 0.010, chance 0.016).", "That is the delay the other chapters use."]


def test_penalties_at_the_edge_of_the_grid_are_said():
    assert F.penalties(pd.Series([1e5] * 7 + [10.0]), (1.0, 10.0, 1e5)) == [
        "The inner cross-validation chose 100000 in 7 of 8 fits.",
        "7 of 8 choices are at the edge of the grid (1 to 100000), mostly the largest: a penalty beyond the grid might "
        "fit better, so the grid may be too narrow."]
    assert F.penalties(pd.Series([10.0] * 3), (1.0, 10.0, 1e5)) == ["The inner cross-validation chose 10 in 3 of 3 fits."]


def test_slopes_say_whether_their_interval_excludes_zero():
    table = pd.DataFrame({"slope": [0.05, 0.01, np.nan], "ci_low": [0.01, -0.02, np.nan], "ci_high": [0.09, 0.03, np.nan],
                          "n_models": [3, 3, 1]}, index=pd.MultiIndex.from_tuples([("P", "best"), ("P", "last"), ("R", "best")]))
    assert F.slopes(table) == [
        "P (best layer): across 3 trained models the score rises with size (slope +0.050 per tenfold parameters, "
        "95 % interval +0.010 to +0.090).",
        "P (last layer): across 3 trained models the score shows no trend its interval can tell from none (slope +0.010 "
        "per tenfold parameters, 95 % interval -0.020 to +0.030).",
        "R (best layer): fewer than two trained sizes, no slope."]
    # an end that rounds to zero is written 0.000, not -0.000
    near = table.iloc[:1].assign(ci_low=-0.0004)
    assert "(slope +0.050 per tenfold parameters, 95 % interval 0.000 to +0.090)" in F.slopes(near)[0]


def test_training_differences_count_layers_above_and_below_zero():
    d = pd.DataFrame({"model": "m", "layer": [0, 1, 2, 3], "mean": [-0.2, -0.3, 0.1, 0.0], "ci95": 0.05})
    assert F.training({"P@10": d}) == ["P@10, m: trained minus untrained is above 0 at 1 and below 0 at 2 of 4 "
                                       "layers: training lowers the score at more layers than it raises it."]


def test_layer_change_and_recordings_read_their_numbers():
    s = np.array([[1.0, 0.9, 0.3], [0.9, 1.0, 0.5], [0.3, 0.5, 1.0]])
    assert F.layer_change({"m": s}) == ["m: neighbouring layers have a mean cosine of 0.50 to 0.90 (the biggest change "
                                        "is from layer 1 to 2); the embedding layer and the last layer have 0.30."]
    summaries = pd.DataFrame({"n_trs": [100, 100], "n_runs": [2, 2], "n_voxels": [50, 50], "n_words_shown": [380, 380]})
    said = F.recordings(summaries, np.linspace(0, 1, 101), "inter-subject correlation")
    assert said == ["2 recordings, each with 100 TRs in 2 runs and 50 voxels; 380 items shown.",
                    "The voxels' inter-subject correlation: median 0.500, 99th percentile 0.990, largest 1.000."]


def test_the_box_escapes_its_sentences():
    html = F.box(["a < b & c"]).data
    assert "<li>a &lt; b &amp; c</li>" in html and "What this chapter found" in html


def test_a_single_model_and_a_scenario_without_sizes_read_naturally():
    assert F.best_layers(TABLE[TABLE["model"] == "m"], planted=("m", 2))[1] == (
        "P@10: in the planted model, m, its planted layer 2 ranks 2 of 3 layers (best: layer 1).")
    one = TABLE[TABLE["model"] == "n"]
    assert F.best_layers(one) == ["P@10: n does not stand above its chance level at its best layer (layer 1, "
                                  "0.025 ± 0.010 against 0.020)."]
    none = pd.DataFrame({"slope": [np.nan, np.nan], "ci_low": np.nan, "ci_high": np.nan, "n_models": 1},
                        index=pd.MultiIndex.from_tuples([("P", "best"), ("P", "last")]))
    assert F.slopes(none) == ["No scaling slope: this scenario has fewer than two trained model sizes."]
    best = pd.DataFrame({"measure": "P", "model": ["m", "random:m"], "trained": [True, False], "relative_depth": [0.5, 1.0]})
    assert F.depths(best) == ["P: the best layers of the trained models sit at relative depths m (0.50)."]


def ladder_rows(own=(0.02, 0.01, 0.03), cut=(0.0, -0.01, 0.01), noise=(0.015, 0.005, 0.025), above=(0.001, -0.002, 0.004),
                blocked_noise=None):
    """One untrained ladder under the published protocol and the shuffled split: its raw slope with its own width,
    cut to 128 dimensions and on noise, and on noise above its permutation null; with ``blocked_noise``, the
    careful protocol's slopes under both splits, the same but for the blocked split's on noise."""
    rows = [("scenario", "own", "raw", own), ("scenario", "all 128", "raw", cut), ("noise", "own", "raw", noise),
            ("noise", "own", "above its null", above)]
    conditions = [("published", "types")] + ([("careful", "types"), ("careful", "blocks")] if blocked_noise else [])
    return pd.DataFrame([{"measure": "P@10", "protocol": protocol, "split": split, "signal": signal, "width": width,
                          "score": score, "family": "BERT", "trained": False, "slope": s, "ci_low": low, "ci_high": high,
                          "n_models": 4, "smallest_m": 4.4, "largest_m": 41.7}
                         for protocol, split in conditions for signal, width, score, (s, low, high) in rows
                         if not (split == "blocks" and signal == "noise" and score == "raw")]
                        + ([{"measure": "P@10", "protocol": "careful", "split": "blocks", "signal": "noise", "width": "own",
                             "score": "raw", "family": "BERT", "trained": False, "slope": blocked_noise[0],
                             "ci_low": blocked_noise[1], "ci_high": blocked_noise[2], "n_models": 4, "smallest_m": 4.4,
                             "largest_m": 41.7}] if blocked_noise else []))


def test_ladders_say_when_noise_or_width_make_the_slope():
    said = F.ladders(ladder_rows())
    assert said[0] == ("P@10, untrained BERT (4 sizes, 4.4 to 41.7 M parameters), published protocol, shuffled split "
                       "over types: slope +0.020 (95 % interval +0.010 to +0.030) per tenfold parameters with each "
                       "model's own width, 0.000 (95 % interval -0.010 to +0.010) with every model cut to 128 "
                       "dimensions, and +0.015 (95 % interval +0.005 to +0.025) on pure noise.")
    assert said[1] == ("Pure noise shows a slope of the same sign (untrained BERT, published protocol, shuffled split "
                       "over types): that trend is not evidence that a bigger model aligns better; above its "
                       "permutation null the slope on noise is +0.001 (95 % interval -0.002 to +0.004), so the rise is "
                       "the null's.")
    assert not F.ladders(ladder_rows(above=(0.01, 0.005, 0.02)))[1].endswith("so the rise is the null's.")
    # noise flat: the width is what the sentence names; flip the cut slope up as well and nothing is added
    width = F.ladders(ladder_rows(noise=(0.0, -0.01, 0.01)))
    assert len(width) == 2 and "the trend comes with the models' width" in width[1]
    assert len(F.ladders(ladder_rows(cut=(0.02, 0.01, 0.03), noise=(0.0, -0.01, 0.01)))) == 1


def test_ladders_say_when_the_blocked_split_removes_the_slope_on_noise():
    said = F.ladders(ladder_rows(above=(0.01, 0.005, 0.02), blocked_noise=(0.001, -0.002, 0.003)))
    careful = [s for s in said if s.startswith("Pure noise") and "careful protocol, shuffled" in s]
    assert len(careful) == 1 and careful[0].endswith(
        "With the blocked split it is +0.001 (95 % interval -0.002 to +0.003): most of the rise on noise comes from test "
        "words whose temporal neighbours were trained on, and that leak grows with the model.")
    assert not any("With the blocked split" in s for s in said if "published protocol" in s)  # no blocked published rows
    for above, blocked in (((0.01, 0.005, 0.02), (0.009, 0.005, 0.02)),  # blocked keeps more than half the slope
                           ((0.001, -0.002, 0.004), (0.001, -0.002, 0.003))):  # the rise was the null's, not a leak
        said = F.ladders(ladder_rows(above=above, blocked_noise=blocked))
        careful = next(s for s in said if s.startswith("Pure noise") and "careful protocol, shuffled" in s)
        assert "With the blocked split it is" in careful and "leak" not in careful
    assert F.ladders(ladder_rows().iloc[:0])[0].startswith("This scenario scores no family at two or more sizes")


def test_power_reads_the_smallest_detectable_slope_and_warns_of_false_positives():
    def ladder(name, detected, n):
        return pd.DataFrame({"ladder": name, "measure": "P@10", "planted": [0.0, 0.01, 0.02, 0.03],
                             "detected": detected, "n_subjects": n, "spread": 0.01})

    table = pd.concat([ladder("untrained BERT", [0.05, 0.4, 0.6, 0.9], 20), ladder("untrained Pythia", [0.2, 0.3, 0.5, 0.7], 4)])
    bert, pythia = F.power(table)
    # 0.8 lies two thirds of the way from 0.6 (at 0.02) to 0.9 (at 0.03): 0.0267
    assert "a slope of 0.027 per tenfold parameters is found in 80 % of experiments" in bert
    assert "excludes zero in 5 % of experiments." in bert and "too narrow" not in bert
    assert "no planted slope up to 0.030 is found in 80 % of experiments" in pythia
    assert "excludes zero in 20 % of experiments, not 5 %: for scores like these, with 4 subjects" in pythia
    assert F.power(table.iloc[:0]) == []


def test_ladder_depths_say_where_each_size_peaks_and_when_the_peak_is_a_guess():
    def model(name, size, means, ci95):
        return pd.DataFrame({"measure": "P@10, untrained BERT", "model": name, "n_params_m": size, "trained": False,
                             "layer": range(len(means)), "mean": means, "ci95": ci95,
                             "relative_depth": np.arange(len(means)) / (len(means) - 1)})

    table = pd.concat([model("random:a", 4.0, [0.10, 0.20, 0.05], 0.01),  # peaks at 0.5, clearly
                       model("random:b", 11.0, [0.10, 0.11, 0.12, 0.30, 0.10], 0.01),  # peaks at 0.75, clearly
                       model("random:c", 29.0, [0.10, 0.10, 0.11], 0.05)])  # peaks at 1.0, within noise
    said = F.ladder_depths(table)
    assert said[0] == ("P@10, untrained BERT (3 sizes): the best layers sit at relative depths 0.50 (4 M), 0.75 (11 M), "
                       "1.00 (29 M), deeper in every larger model. In 1 of 3 sizes every other layer's mean lies within "
                       "the best layer's 95 % interval, so there the best layer is not told apart from the rest.")
    assert said[1].startswith("Every ladder here is untrained")
    shallower = F.ladder_depths(table.assign(relative_depth=1 - table["relative_depth"]).assign(trained=True))
    assert shallower == [shallower[0]] and "shallower in every larger model." in shallower[0]
    flat = table.assign(relative_depth=[0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # 1.0, 1.0, 1.0
    assert "at the same relative depth at every size." in F.ladder_depths(flat)[0]
    rising = table.assign(relative_depth=[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0])  # 0.0, 0.5, 0.0
    assert "in no order of size." in F.ladder_depths(rising)[0]
    assert F.ladder_depths(table.iloc[:0]) == []
