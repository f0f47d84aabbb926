"""Trivial features: values against hand computation, and clear errors for bad names."""

import numpy as np
import pytest
from wordfreq import zipf_frequency

from helpers.lm import trivial
from helpers.run import scenario as S

ITEMS = np.array(["The", "cat,", "+", "sat.", "A", "dog", "ran", "far."])
RUNS = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # the fixation mark "+" is not a word


def test_length_is_spread_over_bumps_that_peak_at_the_value():
    v = trivial.trivial_vectors("trivial:length", ITEMS, RUNS)
    assert v.shape == (1, 7, trivial.N_BUMPS) and v.dtype == np.float32
    lengths = np.array([3, 3, 3, 1, 3, 3, 3])  # the, cat, sat, a, dog, ran, far: punctuation is not counted
    centres = np.linspace(1, 3, trivial.N_BUMPS)
    np.testing.assert_allclose(v[0], np.exp(-0.5 * ((lengths[:, None] - centres) / (centres[1] - centres[0])) ** 2), rtol=1e-5, atol=1e-7)
    assert (v[0].argmax(axis=1) == np.where(lengths == 3, trivial.N_BUMPS - 1, 0)).all()


def test_frequency_reads_wordfreq():
    v = trivial.trivial_vectors("trivial:frequency", ITEMS, RUNS)[0]
    zipf = np.array([zipf_frequency(w, "en") for w in ["the", "cat", "sat", "a", "dog", "ran", "far"]])
    centres = np.linspace(zipf.min(), zipf.max(), trivial.N_BUMPS)
    np.testing.assert_allclose(v, np.exp(-0.5 * ((zipf[:, None] - centres) / (centres[1] - centres[0])) ** 2), rtol=1e-5, atol=1e-7)
    assert zipf[0] > zipf[1]  # "the" is commoner than "cat"


def test_position_counts_words_within_each_run():
    relative = trivial.trivial_vectors("trivial:position", ITEMS, RUNS)[0]
    # run 0 holds 3 words (0, 1/2, 1), run 1 holds 4 (0, 1/3, 2/3, 1): the first and last of each peak at the ends
    assert list(relative.argmax(axis=1)[[0, 2, 3, 6]]) == [0, trivial.N_BUMPS - 1, 0, trivial.N_BUMPS - 1]
    identity = trivial.trivial_vectors("trivial:position_identity", ITEMS, RUNS)[0]
    assert identity.shape == (7, 4)  # the longest run has 4 words
    index = np.array([0, 1, 2, 0, 1, 2, 3])
    expected = np.exp(-0.5 * ((index[:, None] - np.arange(4)) / trivial.IDENTITY_SIGMA) ** 2)
    np.testing.assert_allclose(identity, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(identity[0], identity[3])  # the first word of every run: the same vector


def test_bad_names_and_layers_name_the_field_and_the_choices():
    with pytest.raises(ValueError, match=r"models: unknown trivial feature 'trivial:lenght'; choose one of trivial:length, "):
        S.Scenario(models=("trivial:lenght",))
    with pytest.raises(ValueError, match=r"planted_model: unknown trivial feature 'trivial:pos'"):
        S.Scenario(planted_model="trivial:pos", planted_layer=0)
    with pytest.raises(ValueError, match="planted_layer must be 0 for trivial:position: a trivial feature has one layer, got 4"):
        S.Scenario(planted_model="trivial:position")
    with pytest.raises(ValueError, match="one value for every word"):
        trivial.trivial_vectors("trivial:length", np.array(["ab", "cd"]), np.zeros(2, int))
    with pytest.raises(ValueError, match="need one run per item"):
        trivial.trivial_vectors("trivial:length", ITEMS, RUNS[:3])
