"""Ladders: slopes within one family, under both protocols and splits, cut to one width and on pure noise (chapter 7)."""

import dataclasses

import numpy as np
import pytest

from helpers import plots
from helpers.align import statistics
from helpers.plots.style import problems
from helpers.run import cells, findings, pipeline
from helpers.run import scenario as S
from helpers.run import tables
from helpers.run.protocols import PROTOCOLS


def test_a_ladder_is_one_family_at_two_sizes_or_more_trained_and_untrained_apart():
    default = S.load("default")  # its models: three families, one size each, and their twins; its ladders: two families
    assert tables.ladder_models(default) == default.ladders and len(default.ladders) == 8
    cfg = S.Scenario(models=("random:bert-tiny", "bert-tiny", "gpt2", "random:gpt2", "trivial:length"),
                     ladders=("random:bert-mini", "random:pythia-14m"))
    assert tables.ladder_models(cfg) == ("random:bert-tiny", "random:bert-mini")  # models and ladders together
    assert tables.ladder_slopes(S.Scenario(models=("all-MiniLM-L6-v2",), ladders=())).empty
    with pytest.raises(S.ScenarioError, match=r"ladders must name language models, got \['trivial:length'\]"):
        S.Scenario(ladders=("trivial:length", "random:bert-tiny"))
    with pytest.raises(S.ScenarioError, match=r"ladder_layers must be one of \('best', 'last'\), got 'middle'"):
        S.Scenario(ladder_layers="middle")


def test_pure_noise_makes_a_slope_under_the_published_protocol_and_hardly_one_under_the_careful(tmp_path):
    # snr 0: the scenario's recordings are pure noise, so its cells and the noise condition's are the same cells;
    # four outer folds, as the default book (with the smoke scenario's two, each model's best layer is its last)
    cfg = S.load("smoke", {"cache_dir": str(tmp_path), "ladders": ["random:bert-tiny", "random:bert-mini", "random:bert-small"],
                           "ladder_layers": "best", "snr": 0.0, "n_voxels": 300, "n_folds": 4})
    every = tables.ladder_slopes(cfg, progress=False)
    assert set(every["family"]) == {"BERT"} and (every["n_models"] == 3).all() and not every["trained"].any()
    assert set(every["width"]) == {"own", "all 128"}  # bert-tiny's width
    assert set(every["score"]) == {"raw", "above its null"}
    assert set(zip(every["protocol"], every["split"])) == set(tables.LADDER_CONDITIONS)
    table = every[every["split"] == "types"]
    own = table[(table["width"] == "own") & (table["score"] == "raw")].set_index(["protocol", "signal"])
    np.testing.assert_allclose(own.loc[("published", "scenario"), "slope"], own.loc[("published", "noise"), "slope"])
    # The published protocol gives a wider model more brain dimensions and ranks with min-max scaling and CSLS over
    # every mapped row: on noise the wider models' P@10 rises, and their permutation null with it.
    assert own.loc[("published", "noise"), "ci_low"] > 0.05
    assert abs(own.loc[("careful", "noise"), "slope"]) < 0.02
    published = dataclasses.replace(cfg, models=tables.ladder_models(cfg), protocol="published", focus_model="", focus_layer=None,
                                    **{field: None for field in PROTOCOLS["published"]})
    scores = cells.table(published, "procrustes", progress=False).query("metric == 'P@10' and retrieval == 'csls'")
    means = scores.groupby(["model", "layer"])[["value", "chance_permuted"]].mean().groupby("model").max()
    assert means.loc["random:bert-small", "value"] > 0.1  # far above k / n (its chance column) ...
    np.testing.assert_allclose(means["value"], means["chance_permuted"], atol=0.01)  # ... and at its null
    above = table[(table["width"] == "own") & (table["score"] == "above its null")].set_index(["protocol", "signal"])
    assert abs(above.loc[("published", "noise"), "slope"]) < 0.02  # the rise on noise is the null's
    said = findings.ladders(every)
    assert any(s.startswith("Pure noise shows a slope of the same sign (untrained BERT, published protocol") for s in said)

    # Each model at its last layer instead: the slope of exactly those cells (they are among the cells above)
    last = tables.ladder_slopes(dataclasses.replace(cfg, ladder_layers="last"), progress=False)
    models = tables.ladder_models(cfg)
    rows = cells.table(published, "procrustes", progress=False,
                       layers={m: [pipeline.lm_features(cfg, m).n_states - 1] for m in models})
    expected = statistics.family_slopes(rows.query("metric == 'P@10' and retrieval == 'csls'"))
    got = last.query("protocol == 'published' and split == 'types' and signal == 'noise' and width == 'own' and score == 'raw'")
    np.testing.assert_allclose(got[["slope", "ci_low", "ci_high"]].to_numpy(), expected[["slope", "ci_low", "ci_high"]].to_numpy())
    assert not np.allclose(got["slope"], own.loc[("published", "noise"), "slope"])  # the best layers are not the last

    fig = plots.ladder_slopes(every, "ladders")
    (ax,) = fig.axes  # one ladder, one panel
    assert [t.get_text() for t in ax.get_yticklabels()] == ["published, shuffled", "careful, shuffled", "careful, blocked"]
    assert len(ax.lines) == 1 + 12 * 3  # the zero line; each raw slope's marker and its two caps
    assert problems(fig) == []

    # The power of the design: planted slopes at the last layers, under the scenario's own protocol (careful) and split
    ladder = tables.ladder_scores(cfg, progress=False)
    assert list(ladder) == ["untrained BERT"]
    own_cells = cells.table(dataclasses.replace(cfg, models=models, focus_model="", focus_layer=None), "procrustes",
                            progress=False, layers={m: [pipeline.lm_features(cfg, m).n_states - 1] for m in models})
    assert len(ladder["untrained BERT"]) == len(own_cells.query("metric == 'P@10' and retrieval == 'csls'"))
    states = sum(pipeline.lm_features(cfg, m).n_states for m in models)
    every_layer = tables.ladder_scores(cfg, every_layer=True, progress=False)["untrained BERT"]
    assert every_layer.groupby("model")["layer"].nunique().sum() == states
    depths = tables.ladder_depths(cfg)  # chapter 8: the measures that fit no map, every layer
    assert list(depths) == ["RSA (rho), untrained BERT", "linear CKA, untrained BERT"]
    assert all(len(rows) == states * 2 for rows in depths.values())  # one row per layer and subject
    rsa = cells.table(dataclasses.replace(cfg, models=models, focus_model="", focus_layer=None), "rsa", progress=False)
    np.testing.assert_allclose(depths["RSA (rho), untrained BERT"]["value"], rsa["value"])
    power = tables.ladder_power(cfg)
    expected = statistics.slope_power(ladder["untrained BERT"])
    np.testing.assert_allclose(power[["planted", "detected"]].to_numpy(), expected[["planted", "detected"]].to_numpy())
    assert set(power["measure"]) == {"Procrustes P@10 (CSLS)"} and set(power["n_subjects"]) == {2}
    (said,) = findings.power(power)
    assert "with 2 subjects" in said and "too narrow" not in said  # t with one degree of freedom keeps the level
    assert power["detected"].iloc[0] < 0.1
    fig = plots.slope_power(power, "power")
    assert problems(fig) == []
    assert tables.ladder_power(S.Scenario(models=("all-MiniLM-L6-v2",), ladders=())).empty
