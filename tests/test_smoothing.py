import numpy as np
import pytest

from helpers.smoothing import hrf_weights, paper_weights, smooth, window_fits, word_weights


def loop_smooth(rec, lookback=2.0, lookforward=2.0, delay=6.0, word_duration=0.5):
    """The paper's rule written the slow, obvious way: a 0.5 s grid and a loop over words."""
    t0 = rec.tr_times[0]
    n_slots = int(round((rec.tr_times[-1] + rec.tr - t0) / 0.5))
    grid = np.empty((n_slots, rec.n_voxels))
    for j in range(n_slots):
        t = t0 + 0.5 * j
        i = np.flatnonzero(rec.tr_times <= t + 1e-9)[-1]
        grid[j] = rec.data[i]
    out = np.empty((len(rec.onsets), rec.n_voxels))
    for w, onset in enumerate(rec.onsets):
        a = int(np.floor((onset - lookback + delay - t0) / 0.5 + 0.5 + 1e-9))
        b = int(np.floor((onset + word_duration + lookforward + delay - t0) / 0.5 + 0.5 + 1e-9))
        n = b - a + 1
        kernel = np.exp(-np.linspace(-(n // 2), n // 2, n) ** 2 / 2)
        out[w] = (kernel / kernel.sum()) @ grid[a : b + 1]
    return out


def test_a_window_worked_out_by_hand(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    weights = paper_weights(rec).toarray()[0]
    # slots 24.0, 24.5, ..., 28.5 s: ten slots; TR 12 covers 24-26 s, TR 13 26-28 s, TR 14 28-30 s
    kernel = np.exp(-np.linspace(-5, 5, 10) ** 2 / 2)
    kernel /= kernel.sum()
    expected = np.zeros(20)
    expected[12], expected[13], expected[14] = kernel[:4].sum(), kernel[4:8].sum(), kernel[8:].sum()
    np.testing.assert_allclose(weights, expected, atol=1e-12)
    assert abs(weights[13] - 0.8794) < 1e-3 and abs(weights[12] - 0.1201) < 1e-3


def test_window_parameters_move_the_window(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    # no delay, no look-around: slots 20.0 and 20.5 s, both in TR 10, so TR 10 gets everything
    w = paper_weights(rec, lookback=0, lookforward=0, delay=0).toarray()[0]
    assert w[10] == pytest.approx(1.0)
    # off-grid onset 20.3 s: slots closest to 24.3 (24.5) and 28.8 (29.0): ten slots, 3 + 4 + 3 over TRs 12-14
    w = paper_weights(recording_factory([20.3], tr_times=np.arange(0, 40, 2.0))).toarray()[0]
    kernel = np.exp(-np.linspace(-5, 5, 10) ** 2 / 2)
    kernel /= kernel.sum()
    np.testing.assert_allclose(w[12:15], [kernel[:3].sum(), kernel[3:7].sum(), kernel[7:].sum()], atol=1e-12)


def test_matrix_form_equals_a_per_word_loop_with_runs():
    rng = np.random.default_rng(3)
    runs_trs = [40, 35, 45]
    tr_times = np.arange(sum(runs_trs)) * 2.0
    runs = np.repeat(np.arange(3), runs_trs)
    onsets = []
    start = 0.0
    for n in runs_trs:
        # words from 20 s into the run to 12 s before its end, with random gaps
        t = start + 20.0
        while t < start + 2.0 * n - 12.0:
            onsets.append(t)
            t += rng.choice([0.5, 0.5, 1.0, 0.75, 2.5])
        start += 2.0 * n
    from tests.conftest import make_recording

    rec = make_recording(onsets, tr_times=tr_times, runs=runs, n_voxels=7, seed=5)
    for window in ({}, {"lookback": 1.0, "lookforward": 3.5, "delay": 4.0}, {"delay": 0.0}):
        np.testing.assert_allclose(smooth(rec, **window), loop_smooth(rec, **window), atol=1e-6)


def test_rows_sum_to_one_and_reduced_data_can_be_smoothed(recording_factory):
    rec = recording_factory(np.arange(20, 40, 0.5), n_voxels=4)
    w = paper_weights(rec)
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0)
    reduced = rec.data[:, :2] * 3
    np.testing.assert_allclose(smooth(rec, reduced), w.toarray() @ reduced, atol=1e-6)
    with pytest.raises(ValueError, match="one row per TR"):
        smooth(rec, reduced[:-1])


def test_bad_windows_are_refused(recording_factory):
    rec = recording_factory([20.0, 30.0], tr_times=np.arange(0, 40, 2.0))
    with pytest.raises(ValueError, match="lookback must be a finite number of seconds >= 0"):
        paper_weights(rec, lookback=-1)
    with pytest.raises(ValueError, match=r"word 1 \('w1', onset 30.00 s\) reaches outside the scanned period of its run \(1 word"):
        paper_weights(rec, delay=9.0)
    runs = np.r_[np.zeros(17, int), np.ones(3, int)]
    with pytest.raises(ValueError, match="word 1 .* outside the scanned period of its run"):
        paper_weights(recording_factory([20.0, 30.0], tr_times=np.arange(0, 40, 2.0), runs=runs))
    with pytest.raises(ValueError, match="kernel must be one of"):
        paper_weights(rec, kernel="triangle")
    with pytest.raises(ValueError, match="unknown smoothing method 'fir'"):
        word_weights(rec, "fir")
    with pytest.raises(ValueError, match="the hrf method takes no delay"):
        word_weights(rec, "hrf", delay=5.0)
    with pytest.raises(ValueError, match="outside must be one of"):
        paper_weights(rec, outside="drop")


def test_windows_that_leave_the_run_can_be_ignored(recording_factory):
    rec = recording_factory([20.0, 30.0], tr_times=np.arange(0, 40, 2.0))
    assert window_fits(rec, delay=9.0).tolist() == [True, False]
    w = paper_weights(rec, delay=9.0, outside="ignore").toarray()
    assert w[0].sum() == pytest.approx(1.0) and not w[1].any()
    np.testing.assert_allclose(w[0], paper_weights(recording_factory([20.0], tr_times=np.arange(0, 40, 2.0)), delay=9.0).toarray()[0])


def test_window_edges_are_rounded_to_the_half_second_grid(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    np.testing.assert_array_equal(paper_weights(rec, delay=6.2).toarray(), paper_weights(rec, delay=6.0).toarray())
    assert not np.allclose(paper_weights(rec, delay=6.3).toarray(), paper_weights(rec, delay=6.0).toarray())


def test_boxcar_is_a_plain_average_of_the_window(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    w = paper_weights(rec, kernel="boxcar").toarray()[0]
    # ten slots 24.0-28.5 s: four in TR 12, four in TR 13, two in TR 14
    np.testing.assert_allclose(w[12:15], [0.4, 0.4, 0.2])


def test_hrf_weights_integrate_the_positive_lobe(recording_factory):
    from nilearn.glm.first_level import glover_hrf

    rec = recording_factory([20.0, 21.5], tr_times=np.arange(0, 60, 2.0))
    w = hrf_weights(rec).toarray()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    # an independent computation: the HRF sampled finely, positive part, summed within each TR
    t = np.arange(0, 9.5, 0.001)
    h = np.clip(np.interp(t, np.arange(0, 32, 0.01), glover_hrf(t_r=0.01, oversampling=1, time_length=32.0)), 0, None)
    for row, onset in enumerate(rec.onsets):
        expected = np.zeros(rec.n_trs)
        np.add.at(expected, np.floor((onset + t) / 2.0).astype(int), h)
        np.testing.assert_allclose(w[row], expected / expected.sum(), atol=2e-3)
    assert np.argmax(w[0]) == 12  # the lobe peaks about 5 s after the onset at 20 s: TR 24-26 s
    short = recording_factory([20.0], tr_times=np.arange(0, 28, 2.0))
    with pytest.raises(ValueError, match="haemodynamic response"):
        hrf_weights(short)
