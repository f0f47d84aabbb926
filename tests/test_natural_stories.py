import numpy as np
import pytest

from helpers import natural_stories as NS

TR = 0.72
BOLD = {"boar": np.random.default_rng(0).standard_normal((20, 4)), "aqua": np.random.default_rng(1).standard_normal((15, 4))}
TIMINGS = {
    "aqua": "word\tonset\toffset\nIf\t1.10\t1.30\nyou\t1.30\t1.41\nNA\t1.41\t1.90\n",  # "NA" is a word, not a missing value
    "boar": "word\tonset\toffset\nThe\t0.50\t0.62\nboar,\t0.62\t1.05\nnull\t1.05\t1.40\n",
}
VOXELS = "x\ty\tz\tregion\n-54\t-12\t0\tSTG_L\n54\t-12\t0\tSTG_R\n-45\t21\t9\tIFG_L\n0\t-60\t30\tPrecuneus\n"


def layout(root, subject="s01", bold=BOLD, timings=TIMINGS, voxels=VOXELS):
    """A small dataset in the layout the module defines."""
    (root / "stories").mkdir(parents=True, exist_ok=True)
    (root / subject).mkdir(exist_ok=True)
    for story, text in timings.items():
        (root / "stories" / f"{story}.tsv").write_text(text)
    for story, data in bold.items():
        np.save(root / subject / f"{story}.npy", data)
    if voxels is not None:
        (root / subject / "voxels.tsv").write_text(voxels)
    return root


def test_load_concatenates_stories_as_runs_on_one_clock(tmp_path):
    rec = NS.load(layout(tmp_path), "s01", tr=TR, audio_onset_s=0.25)
    assert (rec.dataset, rec.subject, rec.tr) == ("natural_stories", "s01", TR)
    assert rec.words.tolist() == ["If", "you", "NA", "The", "boar,", "null"]  # stories sorted by name: aqua, boar
    end_aqua = 15 * TR
    np.testing.assert_allclose(rec.onsets, [1.35, 1.55, 1.66, end_aqua + 0.75, end_aqua + 0.87, end_aqua + 1.30])
    np.testing.assert_allclose(rec.tr_times, np.r_[TR * np.arange(15), end_aqua + TR * np.arange(20)])
    assert rec.runs.tolist() == [0] * 15 + [1] * 20
    np.testing.assert_array_equal(rec.data, np.r_[BOLD["aqua"], BOLD["boar"]].astype(np.float32))
    np.testing.assert_array_equal(rec.voxel_mni, [[-54, -12, 0], [54, -12, 0], [-45, 21, 9], [0, -60, 30]])
    assert rec.voxel_regions.tolist() == ["STG_L", "STG_R", "IFG_L", "Precuneus"]
    assert rec.word_runs().tolist() == [0, 0, 0, 1, 1, 1]
    assert rec.info["stories"] == ["aqua", "boar"]


def test_chosen_stories_in_order_and_voxels_optional(tmp_path):
    rec = NS.load(layout(tmp_path, voxels=None), "s01", tr=TR, stories=["boar"])
    assert rec.words.tolist() == ["The", "boar,", "null"]
    assert rec.n_trs == 20 and rec.voxel_mni is None and rec.voxel_regions is None


def test_nan_and_constant_voxels(tmp_path):
    aqua = BOLD["aqua"].copy()
    aqua[3, 1] = np.nan
    boar = BOLD["boar"].copy()
    aqua[:, 3], boar[:, 3] = 2.0, 2.0
    root = layout(tmp_path, bold={"aqua": aqua, "boar": boar})
    with pytest.warns(UserWarning, match="dropped 1 voxels with NaN or infinite values and 1 constant voxels \\(of 4\\)"):
        rec = NS.load(root, "s01", tr=TR)
    assert rec.voxel_regions.tolist() == ["STG_L", "IFG_L"]
    assert rec.info["dropped_voxels"]["not_finite_columns"] == [1]
    with pytest.raises(ValueError, match="constant voxels \\(of 4\\). Load with bad_voxels='drop'"):
        NS.load(root, "s01", tr=TR, bad_voxels="error")


def test_missing_files(tmp_path):
    root = layout(tmp_path)
    with pytest.raises(FileNotFoundError, match="no folder .*s99 for subject 's99'. Expected layout: <data_dir>/stories"):
        NS.load(root, "s99", tr=TR)
    with pytest.raises(FileNotFoundError, match="s01/lucy.npy does not exist"):
        NS.load(root, "s01", tr=TR, stories=["lucy"])
    (root / "stories" / "boar.tsv").unlink()
    with pytest.raises(FileNotFoundError, match="stories/boar.tsv does not exist"):
        NS.load(root, "s01", tr=TR)
    (root / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no <story>.npy file in"):
        NS.load(root, "empty", tr=TR)


def test_truncated_or_corrupt_arrays(tmp_path):
    root = layout(tmp_path)
    path = root / "s01" / "boar.npy"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="boar.npy could not be read as a numeric .npy array .* truncated or corrupt"):
        NS.load(root, "s01", tr=TR)
    np.save(path, np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="boar.npy could not be read"):
        NS.load(root, "s01", tr=TR)


@pytest.mark.parametrize(
    "bold, timings, voxels, message",
    [
        ({"boar": np.ones(20)}, None, None, "must hold a 2-D numeric array \\(TRs x voxels\\)"),
        ({"aqua": BOLD["aqua"], "boar": BOLD["boar"][:, :3]}, None, None, "boar.npy has 3 voxels but .*aqua.npy has 4"),
        (None, {"boar": "word\ttime\nThe\t0.5\n"}, None, "boar.tsv has no column 'onset' \\(it has: word, time\\)"),
        (None, {"boar": "word\tonset\nThe\t0.5\nboar\t\n"}, None, "boar.tsv: row 2 has onset '', not a number"),
        (None, {"boar": "word\tonset\n"}, None, "boar.tsv lists no words"),
        (None, {"boar": "word\tonset\nThe\t2.0\nboar\t1.0\n"}, None, "word onsets must be in time order"),
        (None, {"boar": "word\tonset\nThe\t15.0\n"}, None, "word 0 \\('The'\\) starts at 15.00 s, after the end of its run \\(20 TRs of 0.72 s"),
        (None, None, "x\ty\tz\n1\t2\t3\n", "voxels.tsv describes 1 voxels but the runs have 4"),
        (None, None, "x\ty\n1\t2\n", "voxels.tsv has no column 'z'"),
    ],
)
def test_wrong_layout_is_refused_with_a_clear_message(tmp_path, bold, timings, voxels, message):
    root = layout(tmp_path, bold=bold or BOLD, timings={**TIMINGS, **(timings or {})}, voxels=voxels or VOXELS)
    with pytest.raises(ValueError, match=message):
        NS.load(root, "s01", tr=TR)


def test_bad_tr(tmp_path):
    with pytest.raises(ValueError, match="tr must be a positive number of seconds"):
        NS.load(layout(tmp_path), "s01", tr=0.0)
