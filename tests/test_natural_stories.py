import numpy as np
import pytest
import scipy.io

from helpers.data import natural_stories as NS
from helpers.data.datasets import NaturalStories

TR = 0.72
N_TRS = 12
WORDS = ["If", "you", "NA", "boar,"]  # "NA" is a word, not a missing value
ONSETS = [1.10, 1.30, 1.41, 5.62]
DATA = np.random.default_rng(0).standard_normal((N_TRS, 4))


def cell(value):
    """A 1 x 1 MATLAB cell holding ``value``."""
    c = np.empty((1, 1), dtype=object)
    c[0, 0] = value
    return c


def struct_words(words=WORDS, onsets=ONSETS, plain=False, names=("text", "start")):
    """An n x 1 struct array: text and onset as 1 x 1 cells (the paper's layout) or plain values."""
    out = np.zeros((len(words), 1), dtype=[(name, object) for name in names])
    for i, (text, onset) in enumerate(zip(words, onsets)):
        if plain:
            out[i, 0] = (text, onset)
        else:
            out[i, 0] = (cell(text), cell(np.array([[onset]], dtype=np.float64) if isinstance(onset, float) else onset))
    return out


def write(path, data=DATA, time=None, words=None, **variables):
    """A subject file in the layout the paper's code reads."""
    time = TR * np.arange(len(data))[None, :] if time is None else time
    words = struct_words() if words is None else words
    scipy.io.savemat(path, {"data": data, "time": time, "words": words, **variables})
    return path


def test_the_papers_index_expressions_read_the_cell_layout(tmp_path):
    m = scipy.io.loadmat(write(tmp_path / "s01.mat"))
    assert m["words"].shape == (4, 1)
    for i, (text, onset) in enumerate(zip(WORDS, ONSETS)):
        # the paper's expressions return one-element arrays holding the text and the onset
        assert m["words"][i][0][0][0][0].tolist() == [text]
        assert m["words"][i][0][1][0][0][0].tolist() == [onset]
    np.testing.assert_allclose(m["time"][0], TR * np.arange(N_TRS))


def test_the_papers_index_expressions_fail_on_plain_values(tmp_path):
    m = scipy.io.loadmat(write(tmp_path / "s01.mat", words=struct_words(plain=True)))
    assert m["words"][3][0][0][0][0] == "b"  # the first letter of "boar,", not the text
    with pytest.raises(IndexError):
        m["words"][0][0][1][0][0][0]


@pytest.mark.parametrize("plain", [False, True], ids=["cells", "plain"])
def test_load(tmp_path, plain):
    write(tmp_path / "s01.mat", words=struct_words(plain=plain))
    rec = NS.load(tmp_path, "s01", tr=TR)
    assert (rec.dataset, rec.subject) == ("natural_stories", "s01")
    assert rec.tr == pytest.approx(TR, abs=1e-12)
    assert rec.words.tolist() == WORDS
    np.testing.assert_array_equal(rec.onsets, ONSETS)
    np.testing.assert_allclose(rec.tr_times, TR * np.arange(N_TRS))
    assert rec.runs.tolist() == [0] * N_TRS
    assert rec.data.dtype == np.float32
    np.testing.assert_array_equal(rec.data, DATA.astype(np.float32))
    assert rec.voxel_mni is None and rec.voxel_regions is None
    assert rec.info == {"file": str(tmp_path / "s01.mat"), "runs_from": "one run (time has one row)"}
    assert rec.word_runs().tolist() == [0, 0, 0, 0]


def test_tr_is_read_from_the_file_and_checked_against_the_one_stated(tmp_path):
    write(tmp_path / "s01.mat", time=2.0 * np.arange(N_TRS)[None, :], words=struct_words(onsets=[1.0, 3.0, 5.0, 20.0]))
    assert NS.load(tmp_path, "s01").tr == 2.0
    assert NS.load(tmp_path, "s01", tr=2.0 + 5e-7).tr == 2.0
    with pytest.raises(ValueError, match="tr is 2.000002 s but the median step .* is 2 s"):
        NS.load(tmp_path, "s01", tr=2.0 + 2e-6)
    with pytest.raises(ValueError, match="tr is 0.72 s but the median step of the file's TR times \\(time\\(1, :\\)\\) is 2 s"):
        NS.load(tmp_path, "s01", tr=TR)


@pytest.mark.parametrize(
    "second_row, runs, runs_from",
    [
        ([1] * 5 + [2] * 7, [1] * 5 + [2] * 7, "time(2, :)"),
        ([0] * 6 + [3] * 6, [0] * 6 + [3] * 6, "time(2, :)"),
        ([2] * 6 + [1] * 6, [0] * 12, "one run (time(2, :) is not whole non-decreasing numbers)"),
        (np.linspace(0, 1, 12), [0] * 12, "one run (time(2, :) is not whole non-decreasing numbers)"),
    ],
)
def test_runs_from_a_second_row_of_time(tmp_path, second_row, runs, runs_from):
    time = np.vstack([TR * np.arange(N_TRS), second_row, np.full(N_TRS, 7.5)])  # a third row is ignored
    write(tmp_path / "s01.mat", time=time)
    rec = NS.load(tmp_path, "s01", tr=TR)
    assert rec.runs.tolist() == runs
    assert rec.info["runs_from"] == runs_from


def test_word_runs_follow_the_runs(tmp_path):
    time = np.vstack([TR * np.arange(N_TRS), [1] * 5 + [2] * 7])
    write(tmp_path / "s01.mat", time=time)
    assert NS.load(tmp_path, "s01").word_runs().tolist() == [1, 1, 1, 2]  # 5.62 s is in TR 8 (5.04-5.76 s)


def test_nan_and_constant_voxels(tmp_path):
    data = DATA.copy()
    data[3, 1] = np.nan
    data[:, 3] = 2.0
    write(tmp_path / "s01.mat", data=data)
    with pytest.warns(UserWarning, match="s01.mat: dropped 1 voxels with NaN or infinite values and 1 constant voxels \\(of 4\\)"):
        rec = NS.load(tmp_path, "s01")
    np.testing.assert_array_equal(rec.data, DATA[:, [0, 2]].astype(np.float32))
    assert rec.info["dropped_voxels"]["not_finite_columns"] == [1]
    assert rec.info["dropped_voxels"]["constant_columns"] == [3]
    with pytest.raises(ValueError, match="constant voxels \\(of 4\\). Load with bad_voxels='drop'"):
        NS.load(tmp_path, "s01", bad_voxels="error")


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder .*nowhere for the Natural Stories files. Expected layout: <data_dir>/<subject>.mat"):
        NS.subjects(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no <subject>.mat file in .* Expected layout: <data_dir>/<subject>.mat"):
        NS.subjects(tmp_path)
    with pytest.raises(FileNotFoundError, match="Natural Stories subject file .*s99.mat does not exist. Expected layout: <data_dir>/<subject>.mat"):
        NS.load(tmp_path, "s99")
    path = write(tmp_path / "s01.mat")
    path.write_bytes(path.read_bytes()[:150])
    with pytest.raises(ValueError, match="s01.mat could not be read as a MATLAB file .* truncated or corrupt"):
        NS.load(tmp_path, "s01")


def test_subjects_are_the_mat_files(tmp_path):
    for name in ("s02", "s01", ".hidden"):
        write(tmp_path / f"{name}.mat")
    (tmp_path / "notes.txt").write_text("not a subject")
    assert NS.subjects(tmp_path) == ("s01", "s02")
    assert NS.files(tmp_path) == {"s01": tmp_path / "s01.mat", "s02": tmp_path / "s02.mat"}
    assert NS.files(tmp_path, ["s02"]) == {"s02": tmp_path / "s02.mat"}
    with pytest.raises(FileNotFoundError, match="Natural Stories file\\(s\\) missing: .*s03.mat. Expected layout"):
        NS.files(tmp_path, ["s01", "s03"])


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"time": TR * np.arange(N_TRS - 1)[None, :]}, "time has 11 columns but data has 12 rows \\(TRs\\); time must be \\(k, nTRs\\)"),
        ({"time": TR * np.arange(N_TRS)[:, None]}, "time has 1 columns but data has 12 rows .* one row per TR; transpose it"),
        ({"data": DATA[:1], "time": np.zeros((1, 1))}, "need at least 2 TRs to know the repetition time, got 1"),
        ({"time": np.r_[TR * np.arange(6), TR * np.arange(6)][None, :]}, "TR times in time\\(1, :\\) must increase, on one clock across runs; TR 7 starts at 0 s, not after TR 6 at 3.6 s"),
        ({"time": np.r_[np.nan, TR * np.arange(1, N_TRS)][None, :]}, "TR times in time\\(1, :\\) contain NaN"),
        ({"data": np.ones((N_TRS, 2, 2))}, "data should be a 2-D numeric array"),
        ({"words": np.array([[1.0, 2.0]])}, "words should be a MATLAB struct vector, got a float64 array"),
        ({"words": np.zeros((2, 1), dtype=[("text", object)])}, "words has 1 field \\(text\\); it needs two, read by position"),
        ({"words": struct_words(words=["If", ""])}, "words\\(2\\).text \\(field 1, read as the text\\) is empty: every word needs its text"),
        ({"words": struct_words(words=["If", " "], plain=True)}, "words\\(2\\).text \\(field 1, read as the text\\) is empty"),
        ({"words": struct_words(words=["If", "you"], onsets=[1.0, np.zeros((0, 0))])}, "words\\(2\\).start \\(field 2, read as the onset\\) is empty: every word needs one onset"),
        ({"words": struct_words(words=["If", "you"], onsets=[1.0, np.nan])}, "words\\(2\\).start \\(field 2, read as the onset\\) is nan"),
        ({"words": struct_words(words=[1.0, 2.0], onsets=["If", "you"], plain=True, names=("start", "text"))}, "words\\(1\\).start \\(field 1, read as the text\\) should be a string, got a float64 array"),
        ({"words": struct_words(words=["If", "you"], onsets=[1.0, "soon"], plain=True)}, "words\\(2\\).start \\(field 2, read as the onset\\) should be a single number"),
        ({"words": struct_words(words=["If", "you"], onsets=[1.0, 8.64])}, "word 2 \\('you'\\) starts at 8.64 s, outside the scanned period 0-8.64 s"),
        ({"words": struct_words(words=["If", "you"], onsets=[-0.5, 1.0])}, "word 1 \\('If'\\) starts at -0.5 s, outside the scanned period"),
        ({"words": struct_words(words=["If", "you"], onsets=[2.0, 1.0])}, "word onsets must be in time order"),
    ],
)
def test_wrong_layout_is_refused_with_a_clear_message(tmp_path, variables, message):
    scipy.io.savemat(tmp_path / "s01.mat", {"data": DATA, "time": TR * np.arange(N_TRS)[None, :], "words": struct_words(), **variables})
    with pytest.raises(ValueError, match=message):
        NS.load(tmp_path, "s01")


def test_a_cell_of_several_values_is_refused(tmp_path):
    words = struct_words(words=["If"], onsets=[1.0])
    two = np.empty((1, 2), dtype=object)
    two[0, 0], two[0, 1] = "If", "you"
    words[0, 0]["text"] = two
    write(tmp_path / "s01.mat", words=words)
    with pytest.raises(ValueError, match="words\\(1\\).text \\(field 1, read as the text\\) should be a 1 x 1 cell or a plain value, got a cell array of shape \\(1, 2\\)"):
        NS.load(tmp_path, "s01")


def test_real_dataset_finds_and_loads_every_subject_file(tmp_path):
    write(tmp_path / "s01.mat")
    write(tmp_path / "s02.mat", data=2 * DATA)
    dataset = NaturalStories(data_dir=str(tmp_path), tr=TR)
    assert dataset.subject_names() == ("s01", "s02")
    assert dataset.files == {"s01": tmp_path / "s01.mat", "s02": tmp_path / "s02.mat"}
    recs = dataset.recordings()
    assert [r.subject for r in recs] == ["s01", "s02"]
    np.testing.assert_array_equal(recs[1].data, (2 * DATA).astype(np.float32))
    assert dataset.stimulus().tolist() == WORDS
    key = dataset.key()
    assert key["loader"] == 2 and set(key["files"]) == {"s01", "s02"}
    assert NaturalStories(data_dir=str(tmp_path), tr=TR).key() == key
    write(tmp_path / "s02.mat", data=3 * DATA)
    changed = NaturalStories(data_dir=str(tmp_path), tr=TR).key()
    assert changed["files"]["s01"] == key["files"]["s01"]
    assert changed["files"]["s02"] != key["files"]["s02"]
    chosen = NaturalStories(data_dir=str(tmp_path), subjects=("s02",), tr=TR)
    assert [r.subject for r in chosen.recordings()] == ["s02"]
    with pytest.raises(ValueError, match="tr is 2 s but the median step of the file's TR times .* is 0.72 s"):
        NaturalStories(data_dir=str(tmp_path), tr=2.0).recordings()
