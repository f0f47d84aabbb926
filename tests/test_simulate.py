import numpy as np
import pytest

from helpers.data import simulate as S
from helpers.data import words as W


@pytest.fixture(scope="module")
def story():
    return S.load_story()


@pytest.fixture(scope="module")
def schedule(story):
    return S.reading_schedule(story.paragraphs, n_runs=4)


def test_story_is_ours_long_enough_and_public_domain(story):
    assert story.n_words >= 1500
    assert story.license.startswith("CC0")
    assert len(story.paragraphs) >= 20


def test_schedule_follows_the_harry_potter_protocol(story, schedule):
    items, onsets, runs, tr_times = schedule.items, schedule.onsets, schedule.runs, schedule.tr_times
    assert np.sum(items != S.FIXATION) == story.n_words
    assert np.sum(items == S.FIXATION) == len(story.paragraphs) - 4  # between paragraphs within a run
    np.testing.assert_allclose(np.diff(tr_times), 2.0)
    assert sorted(set(runs)) == [0, 1, 2, 3]
    for run in range(4):
        start = tr_times[runs == run][0]
        end = tr_times[runs == run][-1] + 2.0
        shown = onsets[(onsets >= start) & (onsets < end)]
        assert shown[0] - start == pytest.approx(20.0)  # 20 s of rest first
        assert end - shown[-1] - 0.5 >= 10.0 - 1e-9  # at least 10 s of rest at the end
        np.testing.assert_allclose(np.diff(shown), 0.5)  # one item every 0.5 s
    assert not W.is_word(S.FIXATION)


def test_same_seed_same_data_and_noise_ignores_the_driver(schedule):
    n_words = int(W.word_mask(schedule.items).sum())
    driver = np.random.default_rng(0).standard_normal((n_words, 16))
    a = S.simulate_reading(schedule, driver, n_subjects=2, n_voxels=300, snr=1.0, seed=4)
    b = S.simulate_reading(schedule, driver, n_subjects=2, n_voxels=300, snr=1.0, seed=4)
    c = S.simulate_reading(schedule, driver, n_subjects=2, n_voxels=300, snr=1.0, seed=5)
    np.testing.assert_array_equal(a[1].data, b[1].data)
    assert not np.allclose(a[1].data, c[1].data)
    other = np.random.default_rng(1).standard_normal((n_words, 16))
    noise_a = S.simulate_reading(schedule, driver, n_subjects=1, n_voxels=300, snr=0.0, seed=4)[0].data
    noise_b = S.simulate_reading(schedule, other, n_subjects=1, n_voxels=300, snr=0.0, seed=4)[0].data
    np.testing.assert_array_equal(noise_a, noise_b)
    assert a[0].simulated and a[0].info["snr"] == 1.0


def test_responsive_voxels_carry_the_shared_signal(schedule):
    n_words = int(W.word_mask(schedule.items).sum())
    driver = np.random.default_rng(0).standard_normal((n_words, 16))
    recs = S.simulate_reading(schedule, driver, n_subjects=2, n_voxels=400, snr=4.0, seed=0, shared_fraction=1.0)
    responsive = S.responsive_voxels(recs[0].voxel_mni, 0.5, np.random.default_rng([0, 1_000_003]))
    x, y = recs[0].data, recs[1].data
    r = np.array([np.corrcoef(x[:, v], y[:, v])[0, 1] for v in range(x.shape[1])])
    # same weights in both subjects: responsive voxels correlate across subjects, the others do not
    assert responsive.sum() == recs[0].info["responsive_voxels"] == 200
    assert np.median(r[responsive]) > 0.5
    assert np.median(np.abs(r[~responsive])) < 0.15  # autocorrelated noise: chance correlations only


def test_voxels_are_in_the_brain():
    from nilearn.datasets import load_mni152_gm_mask

    xyz = S.voxel_positions(500, np.random.default_rng(0))
    mask = load_mni152_gm_mask(resolution=3)
    ijk = np.rint(np.c_[xyz, np.ones(500)] @ np.linalg.inv(mask.affine).T)[:, :3].astype(int)
    assert mask.get_fdata()[tuple(ijk.T)].all()
    assert len({tuple(p) for p in xyz}) == 500


def test_the_template_is_read_once_per_process_and_the_same_voxels_drawn(monkeypatch):
    import nilearn.datasets

    loads = []
    real = nilearn.datasets.load_mni152_gm_mask
    monkeypatch.setattr(nilearn.datasets, "load_mni152_gm_mask", lambda **kw: loads.append(kw) or real(**kw))
    S._grey_matter.cache_clear()
    first = S.voxel_positions(300, np.random.default_rng(1))
    again = S.voxel_positions(300, np.random.default_rng(1))
    other = S.voxel_positions(300, np.random.default_rng(2))
    assert loads == [{"resolution": 3}]
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    with pytest.raises(ValueError, match="read-only"):
        S._grey_matter()[0][0, 0] = -1  # a caller cannot change what later simulations draw from
    S._grey_matter.cache_clear()


def test_bad_simulation_input(schedule):
    with pytest.raises(ValueError, match="driver must have shape \\(n_words=2358, n_features\\)"):
        S.simulate_reading(schedule, np.ones((10, 4)))
    n_words = int(W.word_mask(schedule.items).sum())
    with pytest.raises(ValueError, match="snr must be a finite number >= 0"):
        S.simulate_reading(schedule, np.ones((n_words, 4)), snr=-1)
    with pytest.raises(ValueError, match="n_runs must be between 1 and the number of paragraphs"):
        S.reading_schedule([["a"]], n_runs=2)


def test_simulated_voxels_get_the_simulations_own_region_labels():
    positions = np.array([[-56.0, -20, 0], [-50, 20, 12], [45, -62, 40], [0, 0, 70]])
    # distances: 0 to left temporal; 6.3 to left inferior frontal; 12 to right angular; > 20 to every centre
    assert S.voxel_regions(positions).tolist() == ["left temporal", "left inferior frontal", "right angular", "elsewhere"]
