"""PCA fitted on some rows, the rows a set of words draws on, word vectors of any recording."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from helpers.brain import reduction
from helpers.brain.reduction import Decompositions, pca
from helpers.brain.smoothing import word_weights
from helpers.brain.vectors import rows_used, word_vectors
from helpers.data.recording import SentenceRecording
from tests.conftest import make_recording


def test_pca_fitted_on_some_rows_projects_every_row_as_scikit_learn_does():
    x = np.random.default_rng(0).standard_normal((30, 8)) * np.arange(1, 9)
    fit = np.arange(30) % 3 != 0
    ours = pca(x, 3, fit_rows=fit)
    theirs = PCA(3, svd_solver="full").fit(x[fit]).transform(x)
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-10)
    np.testing.assert_allclose(pca(x, 3), pca(x, 3, fit_rows=np.ones(30, bool)))
    with pytest.raises(ValueError, match=r"n_components must be between 1 and 8 .* brain_dims"):
        pca(x, 9, fit_rows=fit)


def test_pca_signs_by_the_largest_loading_or_the_largest_score():
    x = np.random.default_rng(4).standard_normal((25, 6)) * np.arange(1, 7)
    loadings, scores = pca(x, 4), pca(x, 4, signs="scores")
    np.testing.assert_allclose(np.abs(loadings), np.abs(scores), atol=1e-10)  # the same components, up to sign
    # by hand, from the rule: in every component the row with the largest absolute score scores positive
    for k in range(4):
        assert scores[np.argmax(np.abs(scores[:, k])), k] > 0
    # and with the default, the largest absolute loading of every component is positive
    centred = x - x.mean(axis=0)
    axes = np.linalg.lstsq(centred, loadings, rcond=None)[0]  # features x components: the loadings
    for k in range(4):
        assert axes[np.argmax(np.abs(axes[:, k])), k] > 0
    assert not np.allclose(loadings, scores)  # the two rules disagree on some component here
    with pytest.raises(ValueError, match=r"signs must be one of \('loadings', 'scores'\), got 'svd'"):
        pca(x, 2, signs="svd")


def test_pca_at_several_widths_is_one_svd_and_the_same_bits_as_each_made_alone(monkeypatch):
    x = np.random.default_rng(5).standard_normal((40, 12)).astype(np.float32)
    calls = []
    svd = np.linalg.svd
    monkeypatch.setattr(np.linalg, "svd", lambda *a, **k: calls.append(1) or svd(*a, **k))
    monkeypatch.setattr(reduction, "SVDS", Decompositions(2**20))
    narrow, wide = pca(x, 3), pca(x, 8)
    assert len(calls) == 1 and np.array_equal(narrow, wide[:, :3])
    monkeypatch.setattr(reduction, "SVDS", Decompositions(2**20))  # nothing kept: the wider one alone
    assert np.array_equal(pca(x, 8), wide) and len(calls) == 2
    pca(x[:30], 3)  # other rows, another SVD
    assert len(calls) == 3


def test_kept_decompositions_are_read_only_and_only_the_latest_stay_past_the_limit():
    kept, a = Decompositions(limit=100), np.arange(6.0).reshape(2, 3)
    made = kept.get("double", a, lambda: (2 * a,))
    assert kept.get("double", a.copy(), lambda: pytest.fail("made again")) is made  # the same bytes, not the same object
    with pytest.raises(ValueError, match="read-only"):
        made[0][0, 0] = 1.0  # whoever reads a kept result cannot change it for the next reader
    other = kept.get("double", a.T, lambda: (2 * a.T,))  # another shape: another key
    assert other[0].shape == (3, 2)
    kept.get("double", a + 1, lambda: (np.zeros(10),))  # 80 bytes: with the others over the limit, the older ones go
    assert len(kept._kept) == 1
    big = kept.get("double", a + 2, lambda: (np.zeros(20),))  # 160 bytes, more than the whole store: not kept
    assert big[0].shape == (20,) and len(kept._kept) == 1
    assert kept.get("double", a + 2, lambda: (np.ones(20),))[0][0] == 1.0  # so it is made again
    assert kept.get("double", a, lambda: (3 * a,))[0][0, 1] == 3.0  # made again once it was dropped


def test_rows_used_are_the_trs_with_weight_for_those_words():
    rec = make_recording(np.arange(10) * 0.5 + 20.0, n_voxels=3)
    options = {"method": "within_run"}
    weights = word_weights(rec, **options).toarray()
    chosen = np.zeros(10, dtype=bool)
    chosen[[0, 7]] = True
    used = rows_used(rec, options, chosen)
    np.testing.assert_array_equal(used, (weights[0] > 0) | (weights[7] > 0))
    assert 0 < used.sum() < rec.n_trs


def test_sentence_words_draw_on_their_sentences():
    rec = SentenceRecording("test", "s1", ["The owl flew.", "It was - late.", "Night fell."], np.arange(6.0).reshape(3, 2))
    words = rec.stimulus
    assert words.tolist() == ["The", "owl", "flew.", "It", "was", "late.", "Night", "fell."]
    np.testing.assert_array_equal(rows_used(rec, {}, np.isin(words, ["owl", "fell."])), [True, False, True])
    np.testing.assert_array_equal(word_vectors(rec, rec.data, {})[[0, 3, 7]], rec.data[[0, 1, 2]])


def test_kept_decompositions_serve_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    kept = Decompositions(limit=40 * 96)  # room for 40 of the 100 matrices: threads add and drop entries together
    matrices = [np.full((3, 4), float(i)) for i in range(100)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda m: kept.get("twice", m, lambda: (2 * m,))[0], matrices * 20))
    assert all(np.array_equal(r, 2 * m) for r, m in zip(results, matrices * 20))
    assert len(kept._kept) <= 40
