import numpy as np
import pytest

from helpers.data import recording as R
from helpers.data.recording import Recording, SentenceRecording


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


def test_a_recording_saved_and_loaded_is_the_same_to_the_bit(tmp_path):
    rng = np.random.default_rng(3)
    rec = Recording(**args(data=rng.standard_normal((20, 3)), voxel_mni=rng.uniform(-60, 60, (3, 3)),
                           voxel_regions=np.array(["left temporal", "elsewhere", "right angular"]), simulated=True,
                           info={"snr": 0.1 + 0.2, "seed": 7, "planted_model": "m"}))
    R.save(rec, tmp_path / "one.npz")
    with np.load(tmp_path / "one.npz", allow_pickle=False) as stored:  # a plain NumPy archive: nothing pickled
        assert sorted(stored.files) == ["data", "onsets", "plain", "runs", "tr_times", "voxel_mni", "voxel_regions", "words"]
    back = R.load(tmp_path / "one.npz")
    assert type(back) is Recording and (back.dataset, back.subject, back.tr, back.simulated) == ("d", "s", 2.0, True)
    assert back.info == {"snr": 0.30000000000000004, "seed": 7, "planted_model": "m"}
    for name in ("words", "onsets", "tr_times", "runs", "data", "voxel_mni", "voxel_regions"):
        mine, theirs = getattr(rec, name), getattr(back, name)
        assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes(), name
    sentences = SentenceRecording("d", "s", np.array(["A cat.", "A dog."]), rng.standard_normal((2, 3)))
    R.save(sentences, tmp_path / "two.npz")
    back = R.load(tmp_path / "two.npz")
    assert type(back) is SentenceRecording and back.voxel_mni is None and back.info == {}
    assert back.sentences.tolist() == ["A cat.", "A dog."] and back.data.tobytes() == sentences.data.tobytes()
