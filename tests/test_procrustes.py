import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from helpers.align import retrieval as R
from helpers.align.evaluation import retrieval_scores
from helpers.align.folds import type_folds
from helpers.align.procrustes import Procrustes


def rotated_cloud(seed: int, n_types: int, dim: int, repeats: int, noise: float = 0.0):
    """Type vectors, their names, each occurrence's type index, and brain rows: the occurrences rotated, plus noise."""
    rng = np.random.default_rng(seed)
    type_vectors = rng.standard_normal((n_types, dim))
    names = np.array([f"t{i:02d}" for i in range(n_types)])
    occurrences = np.repeat(np.arange(n_types), repeats)
    brain = type_vectors[occurrences] @ ortho_group.rvs(dim, random_state=seed + 1)
    return type_vectors, names, occurrences, brain + noise * rng.standard_normal(brain.shape)


def test_orientation_matches_scipy():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 6)), rng.standard_normal((50, 6))
    rotation, _ = orthogonal_procrustes(x, y)  # minimises ||x R - y||
    w = Procrustes().fit(x, y).rotation_
    np.testing.assert_allclose(w, rotation.T, atol=1e-10)
    np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-10)


def test_a_known_rotation_is_recovered_exactly():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((300, 10))
    true = ortho_group.rvs(10, random_state=2)
    x = y @ true  # so y = x @ true.T: W should be true
    model = Procrustes().fit(x, y)
    np.testing.assert_allclose(model.rotation_, true, atol=1e-10)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-10)


def test_retrieval_of_a_rotated_cloud_is_perfect_for_unseen_types():
    n_types = 80
    type_vectors, names, occurrences, brain = rotated_cloud(3, n_types, 12, repeats=3)
    splits = type_folds(names[occurrences], 4, seed=0)
    rows = retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(1, 5))
    assert all(r["value"] == 1.0 for r in rows)
    assert {r["n_candidates"] for r in rows} == {n_types}


def test_csls_beats_cosine_when_a_hub_attracts_every_query():
    rng = np.random.default_rng(5)
    n, dim = 200, 20
    candidates = rng.standard_normal((n, dim))
    centre = rng.standard_normal(dim) * 3  # a direction shared by all queries
    candidates[0] = centre  # candidate 0 is a hub: close to every query
    queries = candidates[1:] + centre / 1.5 + 0.5 * rng.standard_normal((n - 1, dim))
    correct = np.arange(1, n)
    cos = R.hit_rates(R.cosine(queries, candidates), correct, [1])[1].mean()
    csls = R.hit_rates(R.csls(queries, candidates, 10), correct, [1])[1].mean()
    top_by_cosine = np.argmax(R.cosine(queries, candidates), axis=1)
    assert np.mean(top_by_cosine == 0) > 0.3  # the hub wins many queries under cosine
    assert csls > cos + 0.2


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="common dimension"):
        Procrustes().fit(np.ones((5, 3)), np.ones((5, 4)))


def test_rows_carry_a_bootstrap_interval_and_both_chance_levels():
    type_vectors, names, occurrences, brain = rotated_cloud(6, 60, 8, repeats=4, noise=1.5)
    splits = type_folds(names[occurrences], 4, seed=0)
    rows = retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(1, 5), n_bootstrap=500)
    for r in rows:
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        assert r["ci_high"] - r["ci_low"] > 0.01  # noisy data, 15 test types: a real interval
        assert r["chance"] == pytest.approx(r["metric"] == "P@1" and 1 / 60 or 5 / 60)
        assert 0 < r["chance_permuted"] < 1
    again = retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(1, 5), n_bootstrap=500)
    assert [r["ci_low"] for r in rows] == [r["ci_low"] for r in again]


def test_bootstrap_interval_resamples_types_with_all_their_occurrences():
    """The interval by hand: draw the fold's test types with replacement (the multinomial counts of one
    seeded generator), pool every occurrence of each drawn type, average, take the 2.5 and 97.5 percentiles."""
    type_vectors, names, occurrences, brain = rotated_cloud(8, 40, 6, repeats=1, noise=1.0)
    occurrences = np.concatenate([occurrences, occurrences[:13]])  # unequal counts: 13 types twice
    brain = np.vstack([brain, brain[:13] + 0.5])
    splits = type_folds(names[occurrences], 2, seed=0)
    rows = retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(5,), n_bootstrap=300, seed=4)
    for fold, (train, test) in enumerate(splits):
        x = brain - brain[train].mean(axis=0)
        lm = type_vectors - type_vectors.mean(axis=0)
        mapped = Procrustes().fit(x[train], lm[occurrences[train]]).predict(x[test])
        hits = R.hit_rates(R.cosine(mapped, lm), occurrences[test], [5])[5]
        tested = np.unique(occurrences[test])
        counts = np.random.default_rng([4, fold]).multinomial(len(tested), np.full(len(tested), 1 / len(tested)), size=300)
        means = [np.concatenate([np.repeat(hits[occurrences[test] == t], c) for t, c in zip(tested, draw)]).mean()
                 for draw in counts]
        row = next(r for r in rows if r["fold"] == fold and r["retrieval"] == "cosine")
        assert row["value"] == pytest.approx(hits.mean())
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(np.percentile(means, [2.5, 97.5]), abs=1e-12)


def test_bad_retrieval_input():
    names = np.array(["a", "b", "c", "d"])
    vectors = np.random.default_rng(0).standard_normal((4, 3))
    occ = np.array(["a", "b", "c", "d"] * 2)
    brain = np.random.default_rng(1).standard_normal((8, 3))
    splits = type_folds(occ, 2, seed=0)
    with pytest.raises(ValueError, match="at least two candidate word types"):
        retrieval_scores(brain[:2], np.array(["a", "a"]), names[:1], vectors[:1], Procrustes, [(np.array([True, False]), np.array([False, True]))])
    with pytest.raises(ValueError, match="one type per brain vector"):
        retrieval_scores(brain, occ[:5], names, vectors, Procrustes, splits)
    with pytest.raises(ValueError, match="not among type_names"):
        retrieval_scores(brain, np.array(["a", "b", "c", "x"] * 2), names, vectors, Procrustes, splits)
    with pytest.raises(ValueError, match="k = 10 exceeds the 2 candidate types"):
        retrieval_scores(brain, occ, names, vectors, Procrustes, splits, ks=(10,), candidates="test")
    constant = brain.copy()
    constant[3] = 1.0
    with pytest.raises(ValueError, match="1 of the brain vectors are constant \\(row 3 first\\)"):
        retrieval_scores(constant, occ, names, vectors, Procrustes, splits)
    with pytest.raises(ValueError, match="a test type also occurs in training"):
        retrieval_scores(brain, occ, names, vectors, Procrustes, [(np.ones(8, bool), np.ones(8, bool))])


def test_the_papers_protocol_against_an_independent_computation():
    """Min-max scaling of both sides over all rows, Procrustes on the training pairs, CSLS with r_S over all mapped rows."""
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(8)
    n_types, dim = 40, 6
    type_vectors = rng.standard_normal((n_types, dim)) * rng.uniform(0.5, 3, dim)
    names = np.array([f"t{i:02d}" for i in range(n_types)])
    occurrences = np.repeat(np.arange(n_types), 3)
    brain = type_vectors[occurrences] @ ortho_group.rvs(dim, random_state=9) + rng.standard_normal((len(occurrences), dim))
    splits = type_folds(names[occurrences], 4, seed=0)
    rows = retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(1, 5),
                            scaling="minmax", csls_reference="all", n_bootstrap=0)
    x, y = MinMaxScaler().fit_transform(brain), MinMaxScaler().fit_transform(type_vectors)
    for fold, (train, test) in enumerate(splits):
        rotation, _ = orthogonal_procrustes(x[train], y[occurrences[train]])  # x R ~ y
        mapped = x @ rotation
        unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
        cos_all = unit(mapped) @ unit(y).T  # every mapped brain row x every type
        r_s = np.sort(cos_all, axis=0)[-10:].mean(axis=0)  # each type: its 10 nearest mapped rows, train and test
        cos_test = cos_all[test]
        r_t = np.sort(cos_test, axis=1)[:, -10:].mean(axis=1)
        csls = 2 * cos_test - r_t[:, None] - r_s[None, :]
        rank = (csls > csls[np.arange(test.sum()), occurrences[test]][:, None]).sum(axis=1)
        for k in (1, 5):
            ours = next(r["value"] for r in rows if r["fold"] == fold and r["retrieval"] == "csls" and r["metric"] == f"P@{k}")
            assert ours == pytest.approx(np.mean(rank < k))
    careful = retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(1, 5), n_bootstrap=0)
    assert [r["value"] for r in careful] != [r["value"] for r in rows]  # the protocols differ on these data


def test_pooled_csls_reference_scores_all_folds_together():
    """csls_reference "pooled" (the paper's ridge code): r_S over the out-of-fold predictions of every fold. The
    n_queries-weighted mean of the per-fold precisions is then the precision of all pooled rows scored at once."""
    ks = (1, 5, 10, 30, 50, 100)
    type_vectors, _, occurrences, brain = rotated_cloud(12, 120, 10, repeats=2, noise=2.0)
    names = np.array([f"t{i:03d}" for i in range(120)])  # sorted, as type_names must be
    splits = type_folds(names[occurrences], 4, seed=0)

    def run(reference):
        return retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=ks,
                                neighbours=100, csls_reference=reference, n_bootstrap=0)

    rows = run("pooled")
    lm = type_vectors - type_vectors.mean(axis=0)
    mapped, correct = [], []
    for train, test in splits:
        x = brain - brain[train].mean(axis=0)
        mapped.append(Procrustes().fit(x[train], lm[occurrences[train]]).predict(x[test]))
        correct.append(occurrences[test])
    mapped, correct = np.vstack(mapped), np.concatenate(correct)
    at_once = R.hit_rates(R.csls(mapped, lm, 100, reference=mapped), correct, ks)
    for k in ks:
        per_fold = [r for r in rows if r["retrieval"] == "csls" and r["metric"] == f"P@{k}"]
        assert len(per_fold) == 4
        weighted = sum(r["value"] * r["n_queries"] for r in per_fold) / sum(r["n_queries"] for r in per_fold)
        assert weighted == pytest.approx(at_once[k].mean(), abs=1e-12)
    assert 0 < at_once[1].mean() < at_once[100].mean() < 1
    # the reference changes CSLS only; cosine rows are those of the other references
    for other in (run("test"), run("all")):
        for method, same in (("csls", False), ("cosine", True)):
            values = [[r["value"] for r in table if r["retrieval"] == method] for table in (rows, other)]
            assert (values[0] == values[1]) is same
    with pytest.raises(ValueError, match="k = 121 exceeds the 120 candidate types of fold 0"):
        retrieval_scores(brain, names[occurrences], names, type_vectors, Procrustes, splits, ks=(1, 121),
                         neighbours=100, csls_reference="pooled")


def test_min_max_scaling_ignores_centring_and_rejects_unknown_settings():
    rng = np.random.default_rng(10)
    names = np.array(["a", "b", "c", "d", "e", "f"])
    vectors = rng.standard_normal((6, 3))
    occ = np.repeat(names, 2)
    brain = vectors[np.repeat(np.arange(6), 2)] + 0.1 * rng.standard_normal((12, 3))
    splits = type_folds(occ, 2, seed=0)
    shifted = retrieval_scores(brain + 100.0, occ, names, vectors, Procrustes, splits, ks=(1,), scaling="minmax", n_bootstrap=0)
    plain = retrieval_scores(brain, occ, names, vectors, Procrustes, splits, ks=(1,), scaling="minmax", n_bootstrap=0)
    assert [r["value"] for r in shifted] == pytest.approx([r["value"] for r in plain])  # min-max removes any offset
    with pytest.raises(ValueError, match=r"scaling must be one of \('centre', 'minmax'\), got 'zscore'"):
        retrieval_scores(brain, occ, names, vectors, Procrustes, splits, ks=(1,), scaling="zscore")
    with pytest.raises(ValueError, match=r"csls_reference must be one of \('test', 'all', 'pooled'\)"):
        retrieval_scores(brain, occ, names, vectors, Procrustes, splits, ks=(1,), csls_reference="train")
    with pytest.raises(ValueError, match="3 brain arrays for 2 splits"):
        retrieval_scores([brain] * 3, occ, names, vectors, Procrustes, splits, ks=(1,))


def test_one_brain_array_per_fold_is_used_by_its_fold():
    vectors, names, occ, good = rotated_cloud(11, 30, 5, repeats=2)
    noise = np.random.default_rng(0).standard_normal(good.shape)
    splits = type_folds(names[occ], 2, seed=0)
    rows = retrieval_scores([good, noise], names[occ], names, vectors, Procrustes, splits, ks=(1,), n_bootstrap=0)
    by_fold = {r["fold"]: r["value"] for r in rows if r["retrieval"] == "cosine"}
    assert by_fold[0] > 0.8 and by_fold[1] < 0.3  # fold 0 read the rotated vectors, fold 1 the noise


def test_ridge_retrieval_takes_a_brain_narrower_than_the_model():
    # a linear read-out of 40 model dimensions from 12 brain dimensions: ridge maps any widths, Procrustes refuses
    from helpers.align.ridge import Ridge

    rng = np.random.default_rng(7)
    n_types = 60
    names = np.array([f"t{i:02d}" for i in range(n_types)])
    brain_types = rng.standard_normal((n_types, 12))
    type_vectors = brain_types @ rng.standard_normal((12, 40))
    occurrences = np.repeat(np.arange(n_types), 2)
    splits = type_folds(names[occurrences], 3, seed=0)
    rows = retrieval_scores(brain_types[occurrences], names[occurrences], names, type_vectors,
                            lambda: Ridge(alphas=(1e-3,)), splits, ks=(1,))
    assert min(r["value"] for r in rows) == 1.0
    with pytest.raises(ValueError, match="Procrustes needs paired 2-D arrays of equal shape"):
        retrieval_scores(brain_types[occurrences], names[occurrences], names, type_vectors, Procrustes, splits, ks=(1,))


def test_match_dimensions_stops_at_the_number_of_types():
    from helpers.align.evaluation import match_dimensions
    from helpers.brain.reduction import pca

    rng = np.random.default_rng(3)
    brain, lm = rng.standard_normal((50, 12)), rng.standard_normal((20, 9))
    b, m = match_dimensions(brain, lm)  # the narrower side (9) sets the width
    assert b.shape == (50, 9) and m is lm
    np.testing.assert_allclose(b, pca(brain, 9))
    b, m = match_dimensions(brain, rng.standard_normal((7, 30)))  # 7 types allow 7 components on both sides
    assert b.shape == (50, 7) and m.shape == (7, 7)
