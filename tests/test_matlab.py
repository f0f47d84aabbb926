"""The unwrapping helpers, on what scipy's savemat/loadmat actually produce for MATLAB values."""

import numpy as np
import pytest
import scipy.io

from helpers.data import matlab as mat


def roundtrip(tmp_path, **variables):
    scipy.io.savemat(tmp_path / "x.mat", variables)
    return mat.read(tmp_path / "x.mat", "test file", "Make it.")


def cell(*items, column=False):
    """A MATLAB cell vector (1 x n, or n x 1) of strings."""
    c = np.empty((len(items), 1) if column else (1, len(items)), dtype=object)
    for i, item in enumerate(items):
        c.flat[i] = item
    return c


def test_strings_numbers_and_cells_including_one_element_and_empty(tmp_path):
    v = roundtrip(tmp_path, s="Harry", e="", n=3.5, row=cell("a", "bb"), col=cell("a", "bb", column=True), one=cell("only"), withempty=cell("x", ""))
    assert mat.string(v["s"], "s") == "Harry"
    assert mat.string(v["e"], "e") == ""
    assert mat.scalar(v["n"], "n") == 3.5
    for name in ("row", "col"):
        assert mat.strings(v[name], name).tolist() == ["a", "bb"]
    assert mat.strings(v["one"], "one").tolist() == ["only"]
    assert mat.strings(v["withempty"], "withempty").tolist() == ["x", ""]


def test_structs_and_struct_arrays_including_one_element(tmp_path):
    words = np.zeros((1, 3), dtype=[("text", object), ("start", object)])
    for i, (t, s) in enumerate([("Harry", 20.0), ("+", 20.5), ("", 21.0)]):
        words[0, i] = (t, s)
    one = np.zeros((1, 1), dtype=[("text", object), ("start", object)])
    one[0, 0] = ("x", 1.0)
    v = roundtrip(tmp_path, words=words, one=one, meta={"a": 1.0, "v": np.arange(4.0)[:, None], "c": cell("p", "q")})
    texts = mat.struct_array_field(v["words"], "text", "words")
    assert [mat.string(t, "t") for t in texts] == ["Harry", "+", ""]
    assert [mat.scalar(s, "s") for s in mat.struct_array_field(v["words"], "start", "words")] == [20.0, 20.5, 21.0]
    assert [mat.string(t, "t") for t in mat.struct_array_field(v["one"], "text", "one")] == ["x"]
    meta = mat.struct(v["meta"], "meta")
    assert mat.scalar(mat.field(meta, "a", "meta"), "a") == 1.0
    assert mat.vector(mat.field(meta, "v", "meta"), "v").tolist() == [0, 1, 2, 3]
    assert mat.strings(mat.field(meta, "c", "meta"), "c").tolist() == ["p", "q"]


def test_voxel_indices_are_matlab_based_and_regions_numbered_from_one():
    affine = np.array([[-3, 0, 0, 81], [0, 3, 0, -115], [0, 0, 3, -53], [0, 0, 0, 1.0]])
    mni = mat.voxel_mni(np.array([[1, 1, 1], [2, 3, 4]]), affine, "meta")
    np.testing.assert_array_equal(mni, [[78, -112, -50], [75, -106, -41]])
    assert mat.region_names(np.array([0, 2, 1]), np.array(["A", "B"]), "r").tolist() == ["unlabelled", "B", "A"]
    with pytest.raises(ValueError, match="start at 1"):
        mat.voxel_mni(np.array([[0, 1, 1]]), affine, "meta")
    with pytest.raises(ValueError, match="from 0 \\(no label\\) to 2"):
        mat.region_names(np.array([3]), np.array(["A", "B"]), "r")


def test_wrong_layouts_are_named(tmp_path):
    v = roundtrip(tmp_path, m=np.ones((2, 2)), meta={"a": 1.0})
    with pytest.raises(ValueError, match="has no field 'b' \\(it has: a\\)"):
        mat.field(mat.struct(v["meta"], "meta"), "b", "meta")
    with pytest.raises(ValueError, match="m should be a 1 x 1 MATLAB struct, got a float64 array of shape \\(2, 2\\)"):
        mat.struct(v["m"], "m")
    with pytest.raises(ValueError, match="should be a numeric vector"):
        mat.vector(v["m"], "m")
    with pytest.raises(ValueError, match="should be a \\(n, 3\\) numeric array"):
        mat.matrix(v["m"], "m", n_columns=3)
