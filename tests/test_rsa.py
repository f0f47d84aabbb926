import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import rankdata, spearmanr

from helpers.align import mantel, rsa


def space(n=40, dim=30, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim))


@pytest.mark.parametrize("metric", ["correlation", "cosine"])
def test_rdm_equals_pdist(metric):
    x = space()
    d = rsa.rdm(x, metric=metric)
    assert d.dtype == np.float64 and d.shape == (40 * 39 // 2,)
    np.testing.assert_allclose(d, pdist(x, metric=metric), rtol=0, atol=1e-10)


def test_spearman_rdm_is_correlation_distance_of_row_ranks():
    x = space()
    np.testing.assert_allclose(rsa.rdm(x), pdist(rankdata(x, axis=1), metric="correlation"), rtol=0, atol=1e-10)
    # with ties inside the word vectors (average ranks)
    tied = np.round(space(seed=1) * 2)
    np.testing.assert_allclose(
        rsa.rdm(tied, metric="spearman"), pdist(rankdata(tied, axis=1), metric="correlation"), rtol=0, atol=1e-10
    )
    assert rsa.METRICS == ("spearman", "correlation", "cosine")


def test_score_equals_scipy_spearmanr_with_and_without_ties():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(300), rng.standard_normal(300) + 0.0
    b = b + 0.5 * a
    assert rsa.score(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    ta, tb = np.round(a), np.round(b * 2) / 2  # many ties
    assert rsa.score(ta, tb) == pytest.approx(spearmanr(ta, tb).statistic, abs=1e-12)


def test_identical_and_monotone_geometry_give_exactly_one():
    x = space(n=30, dim=20, seed=3)
    same = mantel.compare(x, x, n_permutations=99)
    assert same["rho"] == 1.0 and same["p"] == 1 / 100
    assert mantel.compare(x, x * 3 + 1, metric="spearman", n_permutations=99)["rho"] == 1.0
    d = rsa.rdm(x, metric="correlation")
    assert rsa.score(d, d**3) == 1.0
    assert rsa.score(d, -d) == -1.0


def test_independent_spaces_are_not_related():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((60, 50)), rng.standard_normal((60, 50))
    result = mantel.compare(x, y, n_permutations=500)
    assert abs(result["rho"]) < 0.1
    assert result["p"] > 0.05


def test_planted_relation_is_found():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 50))
    y = x @ rng.standard_normal((50, 80)) + 3.0 * rng.standard_normal((60, 80))
    result = mantel.compare(x, y, n_permutations=500)
    assert result["rho"] > 0.3
    assert result["p"] == 1 / 501
    assert result["null"].max() < result["rho"]


def test_null_is_centred_and_deterministic():
    a, b = rsa.rdm(space(n=50, seed=6)), rsa.rdm(space(n=50, seed=7))
    first = mantel.permutation_test(a, b, n_permutations=400, seed=11)
    again = mantel.permutation_test(a, b, n_permutations=400, seed=11)
    other = mantel.permutation_test(a, b, n_permutations=400, seed=12)
    assert first["null"].shape == (400,)
    assert abs(first["null"].mean()) < 0.02
    np.testing.assert_array_equal(first["null"], again["null"])
    assert first["p"] == again["p"]
    assert not np.array_equal(first["null"], other["null"])
    assert first["rho"] == rsa.score(a, b)
    expected_p = (1 + np.sum(first["null"] >= first["rho"])) / 401
    assert first["p"] == pytest.approx(expected_p)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("squares_at_once", [1, 4, 100])  # batches of permutations: one, a last partial one, all
def test_fast_null_equals_a_slow_reference(ties, squares_at_once, monkeypatch):
    n, seed = 25, 3
    monkeypatch.setattr(mantel, "NULL_BATCH_BYTES", squares_at_once * n * n * 8)
    a = rsa.rdm(space(n=n, seed=8))
    b = rsa.rdm(space(n=n, seed=9), metric="cosine")
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    fast = mantel.permutation_test(a, b, n_permutations=6, seed=seed)["null"]
    rng = np.random.default_rng(seed)  # the documented permutation order
    slow = []
    for _ in range(6):
        p = rng.permutation(n)
        permuted = squareform(b)[np.ix_(p, p)]  # word labels of b shuffled, rows and columns together
        slow.append(spearmanr(a, squareform(permuted, checks=False)).statistic)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-10)


def test_the_null_moves_single_precision_only_where_that_is_exact():
    n, rng = 30, np.random.default_rng(6)
    a_ranks = np.stack([rsa._centred_ranks(rng.standard_normal(n * (n - 1) // 2), "a") for _ in range(3)])
    ranks = rsa._square(rsa._centred_ranks(rng.standard_normal(n * (n - 1) // 2), "b"), n)  # halves: exact in float32

    def reference(b_square):
        order = np.random.default_rng(2)
        upper = np.triu_indices(n, k=1)
        return np.stack([b_square[np.ix_(p, p)][upper] for p in (order.permutation(n) for _ in range(7))]) @ a_ranks.T

    for b_square in (ranks, ranks / 3):  # thirds are not exact in float32: the null must keep double precision
        np.testing.assert_array_equal(mantel._null_dots(a_ranks, b_square, 7, 2), reference(b_square))


def test_rdm_errors():
    x = space(n=10, dim=5)
    with pytest.raises(ValueError, match="must be 2-D"):
        rsa.rdm(x[0])
    with pytest.raises(ValueError, match="at least 3 words"):
        rsa.rdm(x[:2])
    with pytest.raises(ValueError, match="unknown metric"):
        rsa.rdm(x, metric="euclidean")
    bad = x.copy()
    bad[4, 1], bad[7, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 row\(s\) \(4, 7\).*remove"):
        rsa.rdm(bad)
    flat = x.copy()
    flat[2], flat[5] = 1.5, 0.0
    for metric in ("spearman", "correlation"):
        with pytest.raises(ValueError, match=r"2 row\(s\) \(2, 5\) that are constant.*remove those words"):
            rsa.rdm(flat, metric=metric)
    zero = x.copy()
    zero[3] = 0.0
    with pytest.raises(ValueError, match=r"1 row\(s\) \(3\) that are all-zero.*remove those words"):
        rsa.rdm(zero, metric="cosine")
    rsa.rdm(flat[[0, 1, 2, 3]], metric="cosine")  # a constant non-zero row is fine for cosine


def test_score_and_permutation_errors():
    a = rsa.rdm(space(n=10))
    with pytest.raises(ValueError, match=r"differ in length \(45 and 36\)"):
        rsa.score(a, a[:36])
    with pytest.raises(ValueError, match="constant"):
        rsa.score(a, np.ones_like(a))
    with pytest.raises(ValueError, match="condensed RDM"):
        rsa.score(squareform(a), squareform(a))
    with pytest.raises(ValueError, match="not condensed"):
        mantel.permutation_test(a[:44], a[:44])
    with pytest.raises(ValueError, match="positive integer"):
        mantel.permutation_test(a, a, n_permutations=0)


def test_compare_errors():
    with pytest.raises(ValueError, match="x has 10 rows and y has 12"):
        mantel.compare(space(n=10), space(n=12))
    y = space(n=10)
    y[6] = 2.0
    with pytest.raises(ValueError, match=r"y has 1 row\(s\) \(6\) that are constant"):
        mantel.compare(space(n=10), y)



@pytest.mark.parametrize("metric", ["correlation", "spearman"])
def test_rdm_and_score_agree_with_rsatoolbox(metric):
    import rsatoolbox  # a dev dependency (pyproject.toml), imported here because it is slow to import

    rng = np.random.default_rng(31)
    x, y = rng.standard_normal((15, 9)), rng.standard_normal((15, 40))
    y[:, :9] += 3 * x  # shared structure, so the score is far from 0
    # rsatoolbox has no Spearman RDM; 1 - Spearman rho is correlation distance on the ranks of each row
    prepare = (lambda a: rankdata(a, axis=1)) if metric == "spearman" else (lambda a: a)
    theirs = [rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(prepare(a)), method="correlation") for a in (x, y)]
    ours = [rsa.rdm(a, metric) for a in (x, y)]
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference.get_vectors()[0], atol=1e-12)
    if metric == "correlation":  # Spearman RDMs of 9-d rows hold exact ties, which rsatoolbox's float rounding breaks
        expected = rsatoolbox.rdm.compare(theirs[0], theirs[1], method="spearman")[0, 0]
        assert rsa.score(*ours) == pytest.approx(expected, abs=1e-12)
        assert expected > 0.3


def test_many_layers_share_permutations_and_equal_single_tests():
    rng = np.random.default_rng(8)
    brain = rsa.rdm(rng.standard_normal((25, 6)))
    layers = [rsa.rdm(rng.standard_normal((25, 4))) for _ in range(3)]
    many = mantel.permutation_test_many(layers, brain, n_permutations=60, seed=5)
    for m, layer in enumerate(layers):
        one = mantel.permutation_test(layer, brain, n_permutations=60, seed=5)
        assert many["rho"][m] == pytest.approx(one["rho"]) and many["p"][m] == pytest.approx(one["p"])
        np.testing.assert_allclose(many["null"][:, m], one["null"])
    top = many["null"].max(axis=1)
    expected = [(1 + np.sum(top >= r - 1e-12)) / 61 for r in many["rho"]]
    np.testing.assert_allclose(many["p_fwe"], expected)
    assert (many["p_fwe"] >= many["p"]).all()


def test_max_statistic_controls_the_family_wise_error_across_layers():
    """Noise brain, eight noise layers, 40 repetitions: some uncorrected p < 0.05 in many families, p_fwe rarely."""
    rng = np.random.default_rng(9)
    any_raw = any_fwe = 0
    for _ in range(40):
        brain = rsa.rdm(rng.standard_normal((20, 5)))
        test = mantel.permutation_test_many([rsa.rdm(rng.standard_normal((20, 5))) for _ in range(8)], brain, 99, seed=int(rng.integers(1000)))
        any_raw += bool((test["p"] < 0.05).any())
        any_fwe += bool((test["p_fwe"] < 0.05).any())
    assert any_raw >= 7  # expected 40 * (1 - 0.95**8) = 13.6 for independent layers
    assert any_fwe <= 6  # expected 40 * 0.05 = 2


def test_many_needs_at_least_one_rdm():
    with pytest.raises(ValueError, match="rdms_a must hold at least one RDM"):
        mantel.permutation_test_many([], rsa.rdm(space(5)))


def occurrence_cell(units, scaling, metric="spearman", n_permutations=30):
    """12 occurrences of 5 types, two model layers of type vectors, brain vectors per occurrence."""
    from helpers.align.measures import CellInput

    rng = np.random.default_rng(21)
    types = np.array(list("cabdeacbaecd"))
    names = np.unique(types)
    layers = {3: rng.standard_normal((5, 7)), 5: rng.standard_normal((5, 4)) * [1, 10, 100, 1000]}
    brain = rng.standard_normal((12, 6)) * [1, 5, 1, 20, 1, 3] + layers[5][np.searchsorted(names, types)] @ rng.standard_normal((4, 6)) / 100
    settings = {"rsa_metric": metric, "rsa_units": units, "rsa_scaling": scaling, "n_permutations": n_permutations, "seed": 4}
    return CellInput(brain, types, names, layers, settings)


def test_occurrences_with_minmax_equal_a_step_by_step_computation():
    """Each occurrence is an item: scale, 1 - spearmanr of every pair of rows, spearmanr of the upper triangles."""
    from helpers.align.measures import get

    def scaled(x):  # to [0, 1] per column; exact 0 and 1 at the extremes (MinMaxScaler's x * scale + min can miss 1)
        return (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))

    cell = occurrence_cell("occurrences", "minmax")
    rows = get("rsa").score(cell)
    brain = scaled(cell.brain)
    for row in rows:
        model = scaled(np.array([cell.layers[row["layer"]][list(cell.type_names).index(t)] for t in cell.types]))
        # a few dimensions give exactly tied rhos, up to rounding: round them to ties
        sides = [np.round([1 - spearmanr(x[i], x[j]).statistic for i in range(12) for j in range(i + 1, 12)], 12)
                 for x in (model, brain)]
        expected = spearmanr(*sides)
        assert row["value"] == pytest.approx(expected.statistic, abs=1e-12)
        assert row["p_parametric"] == pytest.approx(expected.pvalue, rel=1e-9)
        assert row["n_items"] == 12 and row["n_types"] == 5


def test_scaling_and_units_change_the_score_and_types_are_as_before():
    from helpers.align.measures import get

    scores = {(u, s): [r["value"] for r in get("rsa").score(occurrence_cell(u, s))] for u in rsa.RSA_UNITS for s in rsa.RSA_SCALINGS}
    assert len({tuple(v) for v in scores.values()}) == 4
    cell = occurrence_cell("types", "none")
    brain = np.array([cell.brain[cell.types == t].mean(axis=0) for t in cell.type_names])
    expected = mantel.permutation_test_many([rsa.rdm(cell.layers[3]), rsa.rdm(cell.layers[5])], rsa.rdm(brain), 30, seed=4)
    rows = get("rsa").score(cell)
    np.testing.assert_allclose([r["value"] for r in rows], expected["rho"], rtol=0, atol=1e-12)
    assert [r["p"] for r in rows] == list(expected["p"]) and rows[0]["n_items"] == 5
    assert rsa.RSA_UNITS == ("types", "occurrences") and rsa.RSA_SCALINGS == ("none", "minmax")


def test_minmax_matches_scikit_learn_with_a_constant_column():
    from sklearn.preprocessing import MinMaxScaler

    x = space(n=8, dim=4)
    x[:, 2] = 3.0
    np.testing.assert_allclose(rsa.minmax(x), MinMaxScaler().fit_transform(x), rtol=0, atol=1e-15)
    assert not rsa.minmax(x)[:, 2].any()


def test_expand_repeats_items_with_exact_zero_for_copies():
    d = rsa.rdm(space(n=4, dim=6))
    rows = np.array([2, 0, 2, 3, 0])
    expected = squareform(d)[np.ix_(rows, rows)]
    np.testing.assert_array_equal(rsa.expand(d, rows), squareform(expected, checks=False))
    assert rsa.expand(d, rows)[1] == 0.0  # items 0 and 2 are both copies of item 2


def test_parametric_p_equals_scipy_spearmanr():
    a, b = rsa.rdm(space(n=12, seed=13)), rsa.rdm(space(n=12, seed=14))
    b = b + 0.3 * a
    test = mantel.permutation_test(a, b, n_permutations=10)
    assert test["p_parametric"] == pytest.approx(spearmanr(a, b).pvalue, rel=1e-9)
    assert mantel.parametric_p(1.0, 10) == 0.0


def test_bad_units_and_scaling_are_named():
    from helpers.align.measures import get

    with pytest.raises(ValueError, match=r"rsa_units must be one of \('types', 'occurrences'\), got 'tokens'"):
        get("rsa").score(occurrence_cell("tokens", "none"))
    with pytest.raises(ValueError, match=r"rsa_scaling must be one of \('none', 'minmax'\), got 'zscore'"):
        get("rsa").score(occurrence_cell("types", "zscore"))
    with pytest.raises(ValueError, match=r"rsa_scaling must be one of"):
        rsa.rdm(space(), scaling="standard")


@pytest.mark.parametrize("units", rsa.RSA_UNITS)
def test_a_model_side_is_ranked_once_for_the_next_brain_and_again_for_other_vectors(units, monkeypatch):
    """The next subject's cell of the same layers reuses the ranked model RDMs and scores as a fresh computation;
    other layer vectors (or another metric) are ranked again, never taken for the last ones."""
    from dataclasses import replace

    from helpers.align.measures import get
    from helpers.align.measures import rsa as rsa_measure

    rsa_measure._LAST_MODEL_SIDE.clear()  # an earlier test's cell may have left these very layers
    made = []
    for name in ("of", "of_copies"):  # over types, and over occurrences
        real = getattr(mantel.RankedRDMs, name)
        monkeypatch.setattr(mantel.RankedRDMs, name, classmethod(lambda cls, *a, real=real: made.append(1) or real(*a)))
    first = occurrence_cell(units, "none")
    other_brain = replace(first, brain=first.brain[::-1].copy())
    changed = replace(first, layers={3: first.layers[3] + 1e-9, 5: first.layers[5]})
    rows = [get("rsa").score(c) for c in (first, other_brain, changed)]
    assert len(made) == 2  # the first cell and the changed vectors; the other brain reused the first family
    rsa_measure._LAST_MODEL_SIDE.clear()
    fresh = get("rsa").score(other_brain)
    assert len(made) == 3 and [r["value"] for r in fresh] == [r["value"] for r in rows[1]]
    assert [r["p"] for r in fresh] == [r["p"] for r in rows[1]] and rows[1][0]["value"] != rows[0][0]["value"]
    get("rsa").score(replace(other_brain, settings={**other_brain.settings, "rsa_metric": "cosine"}))
    assert len(made) == 4


def test_ranks_of_copies_equal_the_ranks_of_the_expanded_rdm():
    """Items repeated (one of them once only) over an RDM with tied values and a true zero: the ranks that
    of_copies counts equal those of the expanded RDM, exactly, and so does the test that uses them."""
    rng = np.random.default_rng(40)
    type_rdms = [np.round(rsa.rdm(rng.standard_normal((6, 4))), 1) for _ in range(2)]
    type_rdms[1][3] = 0.0  # two items at distance 0: they tie with the copies' pairs
    rows = np.array([0, 1, 2, 0, 3, 4, 5, 1, 1, 2, 4, 0])  # item 3 and item 5 once, item 0 three times
    counted = mantel.RankedRDMs.of_copies(type_rdms, rows)
    expanded = mantel.RankedRDMs.of([rsa.expand(r, rows) for r in type_rdms])
    np.testing.assert_array_equal(counted.ranks, expanded.ranks)
    brain = rsa.rdm(rng.standard_normal((12, 5)))
    a, b = (mantel.permutation_test_many(f, brain, 50, seed=2) for f in (counted, expanded))
    assert all(np.array_equal(a[key], b[key]) for key in ("rho", "p", "p_fwe", "null"))
    with pytest.raises(ValueError, match="rdm_a is constant"):
        mantel.RankedRDMs.of_copies([np.zeros(15)], rows)
    with pytest.raises(ValueError, match=r"one length and rows that name their items \(0 to 5\); got lengths \[10, 15\]"):
        mantel.RankedRDMs.of_copies([type_rdms[0], np.ones(10)], rows)
    with pytest.raises(ValueError, match="rows 0 to 6"):
        mantel.RankedRDMs.of_copies(type_rdms, np.append(rows, 6))
