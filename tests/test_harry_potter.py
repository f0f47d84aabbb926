import dataclasses

import numpy as np
import pytest
import scipy.io

from helpers.data import harry_potter as HP
from helpers.data import simulate as S
from tests.conftest import changed

# An SPM-style voxel-to-MNI matrix (3 mm, x flipped), applied to 1-based indices.
AFFINE = np.array([[-3, 0, 0, 81], [0, 3, 0, -115], [0, 0, 3, -53], [0, 0, 0, 1.0]])
COORDS = np.array([[1, 1, 1], [2, 3, 4], [10, 20, 30], [5, 5, 5]])
MNI = np.array([[78, -112, -50], [75, -106, -41], [51, -55, 37], [66, -100, -38]])  # by hand
NAMES = ["Precentral_L", "Precentral_R", "Not_labelled"]
WORDS = ["+", "Harry", "looked", "up.", "+", '"No!"']
ONSETS = [4.0, 4.5, 5.0, 5.5, 14.0, 14.5]


def cell(items):
    c = np.empty((1, len(items)), dtype=object)
    c[0, :] = items
    return c


def variables(n_trs=12, **change):
    """A small subject file in the layout of Wehbe et al. (2014), as MATLAB writes it."""
    data = np.random.default_rng(0).standard_normal((n_trs, len(COORDS)))
    words = np.zeros((1, len(WORDS)), dtype=[("text", object), ("start", object), ("length", object)])
    for i, (w, t) in enumerate(zip(WORDS, ONSETS)):
        words[0, i] = (cell([w]), t, 0.5)  # text is a 1 x 1 cell holding the string, as in the real files
    volume = np.zeros((10, 20, 30))
    volume[tuple((COORDS - 1).T)] = np.arange(1, len(COORDS) + 1)
    meta = {
        "subject": 3.0, "nTRs": float(n_trs), "nvoxels": 5.0,  # nvoxels differs from the columns, as in some real files
        "dimx": 10.0, "dimy": 20.0, "dimz": 30.0,
        "colToCoord": COORDS.astype(float), "coordToCol": volume,
        "colToROInum": np.array([[1.0, 0.0, 2.0, 1.0]]), "coordToROInum": np.zeros((10, 20, 30)),
        "ROInumToName": cell(NAMES), "voxel_size": np.array([[3.0, 3.0, 3.0]]), "matrix": AFFINE,
    }
    time = np.c_[2.0 * np.arange(n_trs), 1.0 + (np.arange(n_trs) >= n_trs // 2)]
    out = {"data": data, "time": time, "words": words, "meta": meta}
    return changed(out, change)


def write(path, **change):
    scipy.io.savemat(path, variables(**change))
    return path


def test_load_reads_every_field(tmp_path):
    rec = HP.load(write(tmp_path / "subject_3.mat"))
    assert rec.dataset == "harry_potter" and rec.subject == "3"
    assert rec.words.tolist() == WORDS
    np.testing.assert_array_equal(rec.onsets, ONSETS)
    np.testing.assert_array_equal(rec.tr_times, 2.0 * np.arange(12))
    assert rec.runs.tolist() == [1] * 6 + [2] * 6
    assert rec.tr == 2.0
    np.testing.assert_array_equal(rec.data, variables()["data"].astype(np.float32))
    np.testing.assert_array_equal(rec.voxel_mni, MNI)
    assert rec.voxel_regions.tolist() == ["Precentral_L", "unlabelled", "Precentral_R", "Precentral_L"]
    assert rec.info == {"file": str(tmp_path / "subject_3.mat")}
    assert rec.word_runs().tolist() == [1, 1, 1, 1, 2, 2]


def test_the_real_layout_is_what_the_papers_indexing_reads(tmp_path):
    raw = scipy.io.loadmat(write(tmp_path / "subject_3.mat"))
    assert [raw["words"][0][i][0][0][0][0] for i in range(len(WORDS))] == WORDS  # text: a 1 x 1 cell
    assert [raw["words"][0][i][1][0][0] for i in range(len(WORDS))] == ONSETS  # start: a number


def test_plain_string_texts_load_too(tmp_path):
    words = np.zeros((1, len(WORDS)), dtype=[("text", object), ("start", object), ("length", object)])
    for i, (w, t) in enumerate(zip(WORDS, ONSETS)):
        words[0, i] = (w, t, 0.5)
    rec = HP.load(write(tmp_path / "subject_3.mat", words=words))
    assert rec.words.tolist() == WORDS


def test_a_full_sized_file_in_the_real_layout(tmp_path):
    """5,176 items in four runs with 20 s of rest first, texts in cells: every item and onset comes back."""
    n_items, n_trs = 5176, 1351
    texts = [("+" if i % 50 == 0 else f"w{i}") for i in range(n_items)]
    onsets = 20.0 + 0.5 * np.arange(n_items) + 30.0 * (np.arange(n_items) // 1294)  # 20 s rest, then runs apart
    words = np.zeros((1, n_items), dtype=[("text", object), ("start", object), ("length", object)])
    for i, (w, t) in enumerate(zip(texts, onsets)):
        words[0, i] = (cell([w]), t, 0.5)
    time = np.c_[2.0 * np.arange(n_trs), 1 + np.arange(n_trs) * 4 // n_trs]
    rec = HP.load(write(tmp_path / "subject_3.mat", n_trs=n_trs, words=words, time=time))
    assert len(rec.words) == 5176 and rec.words[1] == "w1" and rec.words[50] == "+"
    np.testing.assert_array_equal(rec.onsets, onsets)
    assert rec.n_trs == 1351 and rec.runs[-1] == 4


def test_a_text_cell_holding_more_than_one_string_is_refused(tmp_path):
    words = variables()["words"]
    words[0, 2] = (cell(["looked", "up"]), 5.0, 0.5)
    with pytest.raises(ValueError, match=r"words\(3\)\.text should be a string or a 1 x 1 cell holding one"):
        HP.load(write(tmp_path / "subject_3.mat", words=words))


def test_simulated_recording_round_trips_exactly(tmp_path):
    schedule = S.reading_schedule(S.load_story().paragraphs[:5], n_runs=2)
    n_words = int(np.sum(schedule.items != S.FIXATION))
    driver = np.random.default_rng(0).standard_normal((n_words, 4))
    rec = S.simulate_reading(schedule, driver, n_subjects=1, n_voxels=60, seed=1)[0]
    rec = dataclasses.replace(rec, voxel_regions=np.array(["Angular_L", "unlabelled", "Temporal_Sup_R"])[np.arange(60) % 3])
    back = HP.load(HP.save(rec, tmp_path / "subject_1.mat"))
    for name in ("words", "onsets", "tr_times", "runs", "data", "voxel_mni", "voxel_regions"):
        np.testing.assert_array_equal(getattr(back, name), getattr(rec, name), err_msg=name)
    assert (back.subject, back.tr, back.n_voxels) == (rec.subject, rec.tr, 60)


def test_save_needs_voxels_on_a_grid(tmp_path):
    rec = HP.load(write(tmp_path / "subject_3.mat"))
    with pytest.raises(ValueError, match="regular grid of 3.0 mm"):
        HP.save(dataclasses.replace(rec, voxel_mni=rec.voxel_mni + 0.5 * np.arange(4)[:, None]), tmp_path / "x.mat")
    with pytest.raises(ValueError, match="save needs voxel_mni"):
        HP.save(dataclasses.replace(rec, voxel_mni=None), tmp_path / "x.mat")


def test_nan_and_constant_voxels_are_dropped_with_a_note_or_refused(tmp_path):
    data = variables()["data"]
    data[3, 0] = np.nan
    data[:, 2] = 7.0
    path = write(tmp_path / "subject_3.mat", data=data)
    with pytest.warns(UserWarning, match="dropped 1 voxels with NaN or infinite values and 1 constant voxels \\(of 4\\)"):
        rec = HP.load(path)
    assert rec.n_voxels == 2
    np.testing.assert_array_equal(rec.voxel_mni, MNI[[1, 3]])
    assert rec.voxel_regions.tolist() == ["unlabelled", "Precentral_L"]
    assert rec.info["dropped_voxels"] == {"n_not_finite": 1, "n_constant": 1, "not_finite_columns": [0], "constant_columns": [2]}
    with pytest.raises(ValueError, match="1 voxels with NaN or infinite values and 1 constant voxels \\(of 4\\). Load with bad_voxels='drop'"):
        HP.load(path, bad_voxels="error")
    with pytest.raises(ValueError, match="bad_voxels must be one of"):
        HP.load(path, bad_voxels="keep")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="subject_9.mat does not exist. Download it with harry_potter.fetch"):
        HP.load(tmp_path / "subject_9.mat")


def test_truncated_file(tmp_path):
    path = tmp_path / "subject_3.mat"
    scipy.io.savemat(path, variables(), do_compression=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="could not be read as a MATLAB file .* truncated or corrupt. Delete it"):
        HP.load(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(words=None), "has no field 'words' \\(it has: data, meta, time\\)"),
        (dict(time=np.zeros((11, 2))), "time has 11 rows but data has 12 TRs"),
        (dict(time=np.zeros((12, 3))), "time should be a \\(n, 2\\) numeric array"),
        (dict(data=np.zeros((12, 4, 2))), "data should be a 2-D numeric array, got a float64 array of shape \\(12, 4, 2\\)"),
        (dict(n_trs=1), "need at least 2 TRs"),
    ],
)
def test_wrong_layout_is_refused_with_a_clear_message(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        HP.load(write(tmp_path / "subject_3.mat", **change))


def test_wrong_meta_is_refused_with_a_clear_message(tmp_path):
    meta = variables()["meta"]
    with pytest.raises(ValueError, match="meta.colToCoord describes 3 voxels but data has 4 columns"):
        HP.load(write(tmp_path / "a.mat", meta={**meta, "colToCoord": COORDS[:3].astype(float)}))
    with pytest.raises(ValueError, match="meta has no field 'matrix'"):
        HP.load(write(tmp_path / "b.mat", meta={k: v for k, v in meta.items() if k != "matrix"}))
    with pytest.raises(ValueError, match="region numbers must be integers from 0 \\(no label\\) to 3"):
        HP.load(write(tmp_path / "c.mat", meta={**meta, "colToROInum": np.array([[1.0, 0.0, 9.0, 1.0]])}))


def test_a_word_without_onset_is_refused(tmp_path):
    words = variables()["words"]
    words[0, 1] = ("Harry", np.zeros((0, 0)), 0.5)
    with pytest.raises(ValueError, match="words\\(2\\).start is empty: every word needs one onset time"):
        HP.load(write(tmp_path / "subject_3.mat", words=words))


def test_words_out_of_time_order_are_refused(tmp_path):
    words = variables()["words"]
    words[0, 2] = ("looked", 1.0, 0.5)
    with pytest.raises(ValueError, match="word onsets must be in time order; word 2 \\('looked'\\)"):
        HP.load(write(tmp_path / "subject_3.mat", words=words))


def test_an_interrupted_save_leaves_nothing_behind(tmp_path, monkeypatch):
    schedule = S.reading_schedule(S.load_story().paragraphs[:3], n_runs=1)
    driver = np.random.default_rng(0).standard_normal((int(np.sum(schedule.items != S.FIXATION)), 4))
    rec = S.simulate_reading(schedule, driver, n_subjects=1, n_voxels=30, seed=1)[0]

    def interrupted(f, variables, **options):
        f.write(b"MATLAB 5.0 MAT-file, half of it")
        raise KeyboardInterrupt

    monkeypatch.setattr(HP.scipy.io, "savemat", interrupted)
    with pytest.raises(KeyboardInterrupt):
        HP.save(rec, tmp_path / "subject_1.mat")
    assert list(tmp_path.iterdir()) == []
