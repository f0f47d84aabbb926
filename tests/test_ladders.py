"""Ladders: slopes within one family, under both protocols, cut to one width and on pure noise (chapter 7)."""

import dataclasses

import numpy as np

from helpers.run import cells, findings
from helpers.run import scenario as S
from helpers.run import tables
from helpers.run.protocols import PROTOCOLS


def test_a_ladder_is_one_family_at_two_sizes_or_more_trained_and_untrained_apart():
    assert tables.ladder_models(S.load("default")) == ()  # three families, one size each, and their twins
    cfg = S.Scenario(models=("random:bert-tiny", "random:bert-mini", "bert-tiny", "gpt2", "random:gpt2", "trivial:length"))
    assert tables.ladder_models(cfg) == ("random:bert-tiny", "random:bert-mini")
    assert tables.ladder_slopes(S.Scenario(models=("all-MiniLM-L6-v2",))).empty


def test_pure_noise_makes_a_slope_under_the_published_protocol_and_hardly_one_under_the_careful(tmp_path):
    # snr 0: the scenario's recordings are pure noise, so its cells and the noise condition's are the same cells
    cfg = S.load("smoke", {"cache_dir": str(tmp_path), "models": ["random:bert-tiny", "random:bert-mini", "random:bert-small"],
                           "focus_model": "random:bert-mini", "focus_layer": 2, "snr": 0.0, "n_voxels": 300})
    table = tables.ladder_slopes(cfg, progress=False)
    assert set(table["family"]) == {"BERT"} and (table["n_models"] == 3).all() and not table["trained"].any()
    assert set(table["width"]) == {"own", "all 128"}  # bert-tiny's width
    assert set(table["score"]) == {"raw", "above its null"}
    own = table[(table["width"] == "own") & (table["score"] == "raw")].set_index(["protocol", "signal"])
    np.testing.assert_allclose(own.loc[("published", "scenario"), "slope"], own.loc[("published", "noise"), "slope"])
    # The published protocol gives a wider model more brain dimensions and ranks with min-max scaling and CSLS over
    # every mapped row: on noise the wider models' P@10 rises, and their permutation null with it.
    assert own.loc[("published", "noise"), "ci_low"] > 0.05
    assert abs(own.loc[("careful", "noise"), "slope"]) < 0.02
    published = dataclasses.replace(cfg, protocol="published", focus_model="", focus_layer=None,
                                    **{field: None for field in PROTOCOLS["published"]})
    scores = cells.table(published, "procrustes", progress=False).query("metric == 'P@10' and retrieval == 'csls'")
    means = scores.groupby(["model", "layer"])[["value", "chance_permuted"]].mean().groupby("model").max()
    assert means.loc["random:bert-small", "value"] > 0.1  # far above k / n (its chance column) ...
    np.testing.assert_allclose(means["value"], means["chance_permuted"], atol=0.01)  # ... and at its null
    above = table[(table["width"] == "own") & (table["score"] == "above its null")].set_index(["protocol", "signal"])
    assert abs(above.loc[("published", "noise"), "slope"]) < 0.02  # the rise on noise is the null's
    said = findings.ladders(table)
    assert any(s.startswith("Pure noise shows a slope of the same sign under the published protocol") for s in said)
