"""The whole path on small simulated scenarios: planted signal found, pure noise at chance."""

import dataclasses

import numpy as np
import pytest

from helpers.run import ladder, pipeline, tables, window_lag
from helpers.run.scenario import Scenario

PLANTED = 3


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return Scenario(
        n_subjects=2, n_voxels=600, models=("all-MiniLM-L6-v2",), planted_model="all-MiniLM-L6-v2",
        planted_layer=PLANTED, cache_dir=str(tmp_path_factory.mktemp("cache")),
    )


def p_at_10(table, retrieval="csls"):
    rows = table[(table["metric"] == "P@10") & (table["retrieval"] == retrieval)]
    return rows.groupby("layer")["value"].mean(), rows["chance"].iloc[0]


def permuted_null(table, retrieval="csls"):
    rows = table[(table["metric"] == "P@10") & (table["retrieval"] == retrieval)]
    return rows.groupby("layer")["chance_permuted"].mean()


@pytest.mark.parametrize("split", ["types", "blocks"])
def test_planted_layer_is_far_above_chance_at_high_snr(base, split):
    means, chance = p_at_10(tables.scores(dataclasses.replace(base, snr=10.0, split=split), "procrustes", progress=False))
    assert chance == pytest.approx(10 / len(set(pipeline.occurrence_types(base))))
    assert means[PLANTED] > 5 * chance
    if split == "blocks":  # without temporal leakage the planted layer is at or near the top
        assert means[PLANTED] >= means.max() - 0.03


def test_pure_noise_is_at_chance_when_the_split_respects_time(base):
    table = tables.scores(dataclasses.replace(base, snr=0.0, split="blocks"), "procrustes", progress=False)
    for retrieval in ("csls", "cosine"):
        means, chance = p_at_10(table, retrieval)
        assert (means < 2 * chance).all(), means
        assert 0.5 * chance < means.mean() < 1.5 * chance
        ratio = means / permuted_null(table, retrieval)
        assert (ratio < 1.6).all() and 0.7 < ratio.mean() < 1.3, ratio


def test_pure_noise_is_at_the_permutation_null_for_a_model_with_hub_words(base):
    """SmolLM2's middle layers have hubs (massive-activation dimensions): k/n is too low a chance level there."""
    cfg = dataclasses.replace(base, snr=0.0, split="blocks", models=("SmolLM2-135M",), n_subjects=1)
    table = tables.scores(cfg, "procrustes", progress=False)
    means, chance = p_at_10(table)
    null = permuted_null(table)
    assert null.max() > 1.5 * chance  # the hub effect exists...
    ratio = means / null
    assert (ratio < 1.8).all() and 0.75 < ratio.mean() < 1.25, ratio  # ...and the permutation null accounts for it


def test_pure_noise_leaks_through_shuffled_type_folds_at_contextual_layers(base):
    """The book's claim in chapter 4: the paper's split scores pure noise above chance at deep layers."""
    table = tables.scores(dataclasses.replace(base, snr=0.0, split="types"), "procrustes", progress=False)
    means, chance = p_at_10(table, "cosine")
    assert means[0] < 2 * chance  # the embedding layer carries almost no context
    assert means[6] > 4 * chance  # the last layer does, and timing alone is enough
    assert means[6] > 3 * permuted_null(table, "cosine")[6]  # not a hub effect: the pairing matters


def test_same_seed_same_numbers_and_another_seed_differs(base, tmp_path):
    cfg = dataclasses.replace(base, snr=1.0, models=("all-MiniLM-L6-v2",))
    first = tables.scores(cfg, "procrustes", progress=False)
    again = tables.scores(dataclasses.replace(cfg, cache_dir=str(tmp_path)), "procrustes", progress=False)
    np.testing.assert_array_equal(first["value"].to_numpy(), again["value"].to_numpy())
    other = tables.scores(dataclasses.replace(cfg, seed=1), "procrustes", progress=False)
    assert not np.array_equal(first["value"].to_numpy(), other["value"].to_numpy())
    columns = {"dataset", "simulated", "subject", "model", "layer", "method", "split", "fold", "retrieval", "metric", "value", "chance"}
    assert columns <= set(first.columns)
    assert len(first) == 2 * 7 * 4 * 2 * len(base.ks)  # subjects x layers x folds x retrievals x metrics


def test_a_changed_parameter_never_reuses_a_cache_entry(base):
    cfg = dataclasses.replace(base, snr=1.0)
    rec = pipeline.recordings(cfg)[0]
    a = pipeline.brain_vectors(cfg, rec, 20)
    b = pipeline.brain_vectors(dataclasses.replace(cfg, delay=4.0), rec, 20)
    assert a.shape == b.shape and not np.allclose(a, b)
    np.testing.assert_array_equal(a, pipeline.brain_vectors(cfg, rec, 20))


def test_smoothing_options_reach_the_brain_vectors(base):
    from helpers.brain.reduction import pca
    from helpers.brain.smoothing import smooth
    from helpers.data.words import word_mask

    cfg = dataclasses.replace(base, snr=1.0)
    rec = pipeline.recordings(cfg)[0]
    paper = pipeline.brain_vectors(cfg, rec, 20)
    boxcar = pipeline.brain_vectors(dataclasses.replace(cfg, kernel="boxcar"), rec, 20)
    hrf = pipeline.brain_vectors(dataclasses.replace(cfg, smoothing="hrf"), rec, 20)
    assert not np.allclose(paper, boxcar) and not np.allclose(paper, hrf)
    expected = smooth(rec, pca(rec.data, 20), method="hrf")[word_mask(rec.stimulus)]
    np.testing.assert_allclose(hrf, expected, atol=1e-5)
    assert pipeline.brain_dims(dataclasses.replace(cfg, brain_dims="voxels"), rec, 384) is None
    assert pipeline.brain_dims(cfg, rec, 384) == 384  # the paper's min(n_TRs, n_voxels, width)
    assert pipeline.brain_dims(dataclasses.replace(cfg, brain_dims=50), rec, 384) == 50
    assert pipeline.brain_dims(dataclasses.replace(cfg, brain_dims=10**6), rec, 384) == min(rec.n_trs, rec.n_voxels)


def test_smoothing_variants_are_scored_on_one_word_set(base, monkeypatch):
    cfg = dataclasses.replace(base, snr=10.0, split="blocks", smoothing="within_run")  # windows that may not leave their run
    variants = {"delay 0 s": {"delay": 0.0}, "delay 5 s": {"delay": 5.0}, "delay 12 s": {"delay": 12.0}}
    table = tables.smoothing_variants(cfg, variants, "all-MiniLM-L6-v2", PLANTED)
    n_words = table.groupby("variant")["n_words"].unique()
    assert n_words.map(len).eq(1).all() and n_words.map(lambda v: v[0]).nunique() == 1
    assert 0 < table["n_words"].iloc[0] < len(pipeline.occurrence_types(cfg))  # a 12 s delay leaves some runs' last words out
    p10 = table[(table["metric"] == "P@10") & (table["retrieval"] == "csls")].groupby("variant")["value"].mean()
    assert p10["delay 5 s"] > 4 * p10["delay 0 s"]
    assert set(table["layer"]) == {PLANTED}
    monkeypatch.setattr(tables, "lm_features", lambda *args: pytest.fail("the hidden states were read again"))
    again = tables.smoothing_variants(cfg, variants, "all-MiniLM-L6-v2", PLANTED)  # read back: no hidden state needed
    assert again.equals(table)


def test_without_temporal_overlap_the_planted_layer_wins_under_every_method(base):
    """The event design (one response per word): each method finds the planted layer, or one within its CI."""
    from helpers.align.statistics import summarise

    cfg = dataclasses.replace(base, design="events", smoothing="within_run", snr=0.1)
    for method in ("procrustes", "ridge"):
        table = tables.scores(cfg, method, progress=False)
        s = summarise(table[(table["metric"] == "P@10") & (table["retrieval"] == "csls")], ["layer"]).set_index("layer")
        best = s["mean"].idxmax()
        assert s.loc[PLANTED, "mean"] >= s.loc[best, "mean"] - s.loc[best, "ci95"], (method, s["mean"].round(3).tolist())
        assert s.loc[PLANTED, "mean"] > 2 * s.loc[PLANTED, "chance_permuted"]  # frequent words lift the null
    rsa = summarise(tables.scores(cfg, "rsa", progress=False), ["layer"]).set_index("layer")
    best = rsa["mean"].idxmax()
    assert rsa.loc[PLANTED, "mean"] >= rsa.loc[best, "mean"] - rsa.loc[best, "ci95"], rsa["mean"].round(3).tolist()


def test_rsa_rows_are_significant_with_signal_and_not_without(base):
    cfg = dataclasses.replace(base, design="events", smoothing="within_run", n_permutations=50)
    signal = tables.scores(dataclasses.replace(cfg, snr=1.0), "rsa", progress=False)
    noise = tables.scores(dataclasses.replace(cfg, snr=0.0), "rsa", progress=False)
    assert (signal["p"] == 1 / 51).all() and (signal["value"] > signal["null_95"]).all()
    assert noise["value"].abs().max() < 0.05 and (noise["p"] > 0.01).mean() > 0.8


def test_precision_curve_agrees_with_the_decoding_table_and_rises_with_k(base):
    cfg = dataclasses.replace(base, snr=10.0, split="blocks")
    curve = tables.precision_curve(cfg, "all-MiniLM-L6-v2", PLANTED, ks=(1, 3, 10, 10**6))
    assert set(curve["metric"]) == {"P@1", "P@3", "P@10"}  # k beyond the candidate set is left out
    table = tables.scores(cfg, "procrustes", progress=False)
    table = table[table["layer"] == PLANTED]
    on = ["subject", "fold", "retrieval", "metric"]
    both = curve.merge(table, on=on, suffixes=("", "_table"))
    assert len(both) == len(table[table["metric"].isin(["P@1", "P@10"])]) > 0
    np.testing.assert_allclose(both["value"], both["value_table"])
    wide = curve.pivot_table(index=["subject", "fold", "retrieval"], columns="metric", values="value")
    assert (wide["P@1"] <= wide["P@3"]).all() and (wide["P@3"] <= wide["P@10"]).all()
    n = len(set(pipeline.occurrence_types(base)))
    np.testing.assert_allclose(curve.loc[curve["metric"] == "P@3", "chance"], 3 / n)


def test_ladder_walks_from_the_published_computation_to_the_careful_protocol(base):
    cfg = dataclasses.replace(base, snr=5.0, protocol="published", scaling="centre")  # the ladder empties both
    table = ladder.ladder(cfg, "all-MiniLM-L6-v2", PLANTED)
    assert list(dict.fromkeys(table["rung"])) == list(ladder.LADDER)
    assert set(table["split"]) == {"types", "blocks"} and set(table["retrieval"]) == {"csls", "cosine"}
    p10 = table[table["retrieval"] == "csls"].groupby(["split", "rung"])["value"].mean()
    chance = 10 / len(set(pipeline.occurrence_types(base)))
    assert (p10.loc["types"] > 3 * chance).all(), p10  # the planted layer is found on every rung
    # the first rung is a whole run under protocol: published, the last one under protocol: careful
    for rung, protocol in ((list(ladder.LADDER)[0], "published"), (list(ladder.LADDER)[-1], "careful")):
        whole = tables.scores(dataclasses.replace(base, snr=5.0, protocol=protocol), "procrustes", progress=False)
        whole = whole[(whole["layer"] == PLANTED) & (whole["metric"] == "P@10") & (whole["retrieval"] == "csls")]
        assert whole["value"].mean() == pytest.approx(p10.loc[("types", rung)])
    assert p10.loc[("types", "window at each word's onset")] != p10.loc[("types", "published code")]
    summary = ladder.summary(table)
    shown = ladder.wide(summary)
    assert list(shown.index) == list(ladder.LADDER) and shown.shape == (len(ladder.LADDER), 4)
    text = " ".join(ladder.sentences(summary))
    published = summary[(summary["rung"] == "published code") & (summary["condition"] == "types split, CSLS")].iloc[0]
    assert f"types split, CSLS, P@10: {published['mean']:.3f}" in text and f"{published['chance_permuted']:.3f}" in text
    row = summary.iloc[0]
    assert shown.loc[row["rung"], row["condition"]] == f"{row['mean']:.3f} ± {row['ci95']:.3f} ({row['chance_permuted']:.3f})"


def test_rsa_ladder_has_one_condition_and_reads_the_permutation_null(base):
    table = ladder.ladder(dataclasses.replace(base, snr=5.0, n_permutations=20), "all-MiniLM-L6-v2", PLANTED,
                          measure="rsa", steps=ladder.RSA_LADDER)
    summary = ladder.summary(table)
    assert list(summary["rung"]) == list(ladder.RSA_LADDER) and set(summary["condition"]) == {"RSA (rho)"}
    assert (table.loc[table["rung"] == "published code", "n_items"] == len(pipeline.occurrence_types(base))).all()
    assert (table.loc[table["rung"] != "published code", "n_items"] < len(pipeline.occurrence_types(base))).all()
    text = ladder.sentences(summary, what="rho")
    assert text[0].startswith("RSA (rho), rho: ") and f"{summary['mean'].iloc[0]:.3f}" in text[0]


def test_pca_fitted_inside_training_folds_differs_from_all_trs_and_finds_the_planted_layer(base):
    cfg = dataclasses.replace(base, snr=10.0, split="blocks")
    inside = tables.scores(dataclasses.replace(cfg, pca_fit="train"), "procrustes", progress=False)
    everywhere = tables.scores(cfg, "procrustes", progress=False)
    means, chance = p_at_10(inside)
    assert means[PLANTED] > 5 * chance and means[PLANTED] >= means.max() - 0.03
    assert not np.allclose(inside["value"], everywhere["value"])


def test_each_runs_score_with_and_without_the_published_lag(base):
    cfg = dataclasses.replace(base, snr=5.0)
    lags = window_lag.lags(cfg)
    assert lags["words_lagged"].iloc[0] == 0 and (lags["words_lagged"].iloc[1:] > 0).all()  # rests before runs 2-4
    scores = window_lag.run_scores(cfg, "all-MiniLM-L6-v2", PLANTED)
    assert len(scores) == 2 * len(lags) and set(scores["run"]) == set(lags["run"])
    means = scores.pivot(index="run", columns="windows", values="mean")
    published, onset = window_lag.WINDOWS["published"], window_lag.WINDOWS["paper"]
    chance = scores["chance"].mean()
    assert (means[onset] > 3 * chance).all()  # windows at the words find the planted layer in every run
    assert (means[published].iloc[1:] < means[onset].iloc[1:]).all()  # windows tens of seconds away do not
    shown = window_lag.wide(scores)
    assert shown.loc[lags["run"].iloc[1], onset].startswith(f"{means[onset].iloc[1]:.3f} ± ")
    text = window_lag.sentences(lags, scores)
    assert text[0].startswith(f"The published windows lag their words in {len(lags) - 1} of {len(lags)} runs")
    assert f"{means[published].iloc[2]:.3f} with the published windows" in text[3]
