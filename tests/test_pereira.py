import numpy as np
import pytest
import scipy.io

from helpers.data import pereira as P
from helpers.lm.vectors import type_means
from helpers.data.recording import SentenceRecording
from helpers.data.words import word_type
from tests.conftest import changed

SENTENCES = ["The owl flew home.", "It was late - very late.", "Owls hunt at night.", "The night was cold."]
COORDS = np.array([[1, 1, 1], [2, 3, 4], [10, 20, 30], [5, 5, 5], [3, 2, 1]])
AFFINE = np.array([[-3, 0, 0, 81], [0, 3, 0, -115], [0, 0, 3, -53], [0, 0, 0, 1.0]])
MNI = np.array([[78, -112, -50], [75, -106, -41], [51, -55, 37], [66, -100, -38], [72, -109, -50]])  # by hand


def cell(items, column=False):
    c = np.empty((len(items), 1) if column else (1, len(items)), dtype=object)
    for i, item in enumerate(items):
        c.flat[i] = item
    return c


def variables(sentences=SENTENCES, **change):
    """A small subject file in the layout of Pereira et al. (2018), experiments 2 and 3."""
    n = len(sentences)
    meta = {
        "nvoxels": 5.0, "dimx": 10.0, "dimy": 20.0, "dimz": 30.0,
        "colToCoord": COORDS.astype(float), "coordToCol": np.zeros((10, 20, 30)), "matrix": AFFINE,
        "atlases": cell(["aal_1ofN", "languageLH"]),
        "rois": cell([cell(["Precentral_L", "Temporal_Sup_L"], column=True), cell(["LH_PostTemp"], column=True)]),
        "roiMultimask": cell([np.array([[1.0], [0], [2], [2], [1]]), np.array([[1.0], [0], [0], [1], [0]])]),
        "roiColumns": cell([cell([np.array([[1.0], [5]]), np.array([[3.0], [4]])], column=True), cell([np.array([[1.0], [4]])], column=True)]),
    }
    out = {
        "examples_passagesentences": np.random.default_rng(0).standard_normal((n, 5)),
        "keySentences": cell(sentences, column=True),
        "labelsPassageForEachSentence": np.repeat(np.arange(1.0, n // 2 + 2), 2)[:n, None],
        "keyPassages": cell(["owls", "night"], column=True),
        "labelsPassageCategory": np.array([[1.0], [1.0]]),
        "keyPassageCategory": cell(["animal"]),
        "meta": meta,
    }
    return changed(out, change)


def write(tmp_path, subject="M02", name="data_384sentences.mat", **change):
    (tmp_path / subject).mkdir(exist_ok=True)
    path = tmp_path / subject / name
    scipy.io.savemat(path, variables(**change))
    return path


def test_load_reads_sentences_responses_and_voxels(tmp_path):
    rec = P.load(write(tmp_path))
    assert (rec.dataset, rec.subject) == ("pereira", "M02")
    assert rec.sentences.tolist() == SENTENCES
    np.testing.assert_array_equal(rec.data, variables()["examples_passagesentences"].astype(np.float32))
    np.testing.assert_array_equal(rec.voxel_mni, MNI)
    assert rec.voxel_regions.tolist() == ["Precentral_L", "unlabelled", "Temporal_Sup_L", "Temporal_Sup_L", "Precentral_L"]
    assert rec.info == {"file": str(tmp_path / "M02" / "data_384sentences.mat"), "experiment": None}
    language = P.load(write(tmp_path), atlas="languageLH")
    assert language.voxel_regions.tolist() == ["LH_PostTemp", "unlabelled", "unlabelled", "LH_PostTemp", "unlabelled"]
    with pytest.raises(ValueError, match="meta.atlases has no atlas 'gordon'; it has: aal_1ofN, languageLH"):
        P.load(write(tmp_path), atlas="gordon")


def test_experiment_from_the_number_of_sentences_and_the_examples_variant(tmp_path):
    sentences = [f"Sentence number {i}." for i in range(243)]
    data = np.random.default_rng(1).standard_normal((243, 5))
    path = write(tmp_path, name="examples_243sentences.mat", sentences=sentences, examples_passagesentences=None, examples=data)
    rec = P.load(path)
    assert rec.info["experiment"] == 3 and len(rec.sentences) == 243
    np.testing.assert_array_equal(rec.data, data.astype(np.float32))


def test_voxel_metadata_is_optional(tmp_path):
    meta = variables()["meta"]
    rec = P.load(write(tmp_path, meta={k: v for k, v in meta.items() if k not in ("matrix", "atlases")}))
    assert rec.voxel_mni is None and rec.voxel_regions is None
    assert rec.info["voxel_metadata_missing"] == ["matrix", "atlases"]


def test_sentence_items_and_the_word_vector_rule(tmp_path):
    rec = P.load(write(tmp_path))
    items, sentence = rec.stimulus, rec.item_sentences()
    assert items.tolist() == ["The", "owl", "flew", "home.", "It", "was", "late", "very", "late.",
                              "Owls", "hunt", "at", "night.", "The", "night", "was", "cold."]  # "-" is not a word
    assert sentence.tolist() == [0] * 4 + [1] * 5 + [2] * 4 + [3] * 4
    np.testing.assert_array_equal(rec.item_times(), sentence) and np.testing.assert_array_equal(rec.item_runs(), 0)
    types, vectors = type_means(rec.data[sentence], [word_type(w) for w in items])
    np.testing.assert_allclose(vectors[types.tolist().index("night")], rec.data[[2, 3]].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(vectors[types.tolist().index("owl")], rec.data[0], rtol=1e-6)


def test_nan_and_constant_voxels(tmp_path):
    data = variables()["examples_passagesentences"]
    data[:, 1] = 0.0
    data[2, 4] = np.inf
    path = write(tmp_path, examples_passagesentences=data)
    with pytest.warns(UserWarning, match="dropped 1 voxels with NaN or infinite values and 1 constant voxels \\(of 5\\)"):
        rec = P.load(path)
    assert rec.n_voxels == 3
    np.testing.assert_array_equal(rec.voxel_mni, MNI[[0, 2, 3]])
    assert rec.info["dropped_voxels"]["constant_columns"] == [1] and rec.info["dropped_voxels"]["not_finite_columns"] == [4]
    with pytest.raises(ValueError, match="bad_voxels='drop'"):
        P.load(path, bad_voxels="error")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="M09/data_384sentences.mat does not exist. Get it from https://osf.io/crwz7/"):
        P.load(tmp_path / "M09" / "data_384sentences.mat")
    path = write(tmp_path)
    path.write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 40)
    with pytest.raises(ValueError, match="could not be read as a MATLAB file"):
        P.load(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(keySentences=None), "has no field 'keySentences'"),
        (dict(examples_passagesentences=None), "has none of the response variables \\('examples_passagesentences', 'examples'\\)"),
        (dict(examples_passagesentences=np.zeros((3, 5))), "4 sentences in keySentences but 3 rows in examples_passagesentences"),
        (dict(meta=None), "has no field 'meta'"),
        (dict(keySentences=np.ones((4, 1))), "keySentences should be a cell vector of strings"),
    ],
)
def test_wrong_layout_is_refused_with_a_clear_message(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        P.load(write(tmp_path, **change))


def test_wrong_voxel_metadata_is_refused(tmp_path):
    meta = variables()["meta"]
    with pytest.raises(ValueError, match="meta.colToCoord describes 4 voxels but the data have 5 columns"):
        P.load(write(tmp_path, meta={**meta, "colToCoord": COORDS[:4].astype(float)}))
    with pytest.raises(ValueError, match="meta.roiMultimask\\{1\\} labels 2 voxels but the data have 5 columns"):
        P.load(write(tmp_path, meta={**meta, "roiMultimask": cell([np.array([[1.0], [0]]), np.array([[1.0], [0]])])}))


def test_fetch_checks_the_files_and_says_where_to_get_them(tmp_path):
    write(tmp_path, subject="P01")
    assert P.fetch(tmp_path, experiment=2, subjects=["P01"]) == [tmp_path / "P01" / "data_384sentences.mat"]
    with pytest.raises(FileNotFoundError, match="1 Pereira et al. file\\(s\\) missing: .*M02/data_384sentences.mat. .*https://osf.io/crwz7/"):
        P.fetch(tmp_path, experiment=2, subjects=["P01", "M02"])
    with pytest.raises(ValueError, match="subjects \\['M08'\\] did not take part in experiment 3"):
        P.fetch(tmp_path, experiment=3, subjects=["M08"])
    with pytest.raises(ValueError, match="experiment must be 2 \\(384 sentences\\) or 3"):
        P.fetch(tmp_path, experiment=1)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(sentences=[]), "sentences must be a non-empty 1-D array"),
        (dict(data=np.ones((3, 2))), "data must have one row per sentence, shape \\(2, n_voxels\\); got shape \\(3, 2\\)"),
        (dict(data=np.array([[1.0, np.nan], [0, 1]])), "NaN or infinite"),
        (dict(voxel_mni=np.zeros((3, 3))), "voxel_mni must have shape \\(2, 3\\)"),
        (dict(voxel_regions=np.array(["a"])), "voxel_regions must have shape \\(2,\\)"),
    ],
)
def test_sentence_recording_validation(change, message):
    args = dict(dataset="d", subject="s", sentences=["A b.", "C d."], data=np.ones((2, 2)))
    with pytest.raises(ValueError, match=message):
        SentenceRecording(**{**args, **change})
