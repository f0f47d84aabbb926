import numpy as np
import pytest

from helpers.data.recording import Recording


def args(**change):
    base = dict(
        dataset="d", subject="s", words=["a", "b", "c"], onsets=[20.0, 20.5, 21.0],
        tr_times=np.arange(0, 40, 2.0), runs=np.zeros(20, int), data=np.ones((20, 3)), tr=2.0,
    )
    base.update(change)
    return base


def test_valid_recording_and_word_runs():
    rec = Recording(**args(runs=np.r_[np.zeros(10, int), np.ones(10, int)], onsets=[1.0, 19.9, 20.0]))
    assert rec.data.dtype == np.float32
    assert rec.word_runs().tolist() == [0, 0, 1]
    assert rec.summary()["n_runs"] == 2


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(onsets=[20.0, 20.5]), "different lengths \\(3 vs 2\\)"),
        (dict(onsets=[20.0, 19.0, 21.0]), "time order"),
        (dict(onsets=[20.0, np.nan, 21.0]), "NaN"),
        (dict(data=np.ones(20)), "2-D"),
        (dict(tr_times=np.arange(0, 38, 2.0)), "one entry per TR"),
        (dict(data=np.full((20, 3), np.nan)), "NaN or infinite"),
        (dict(voxel_mni=np.zeros((2, 3))), "voxel_mni must have shape \\(3, 3\\)"),
        (dict(tr=0.0), "tr must be a positive"),
        (dict(words=[], onsets=[]), "no words"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(change, message):
    with pytest.raises(ValueError, match=message):
        Recording(**args(**change))


def test_word_outside_the_scan_is_reported():
    rec = Recording(**args(onsets=[20.0, 20.5, 45.0]))
    with pytest.raises(ValueError, match="outside the scanned period"):
        rec.word_runs()
