"""PCA fitted on some rows, the rows a set of words draws on, word vectors of any recording."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from helpers.brain.reduction import pca
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
