import numpy as np
import pytest

from helpers.data.files import write_atomic


def test_write_atomic_writes_whole_files_or_nothing(tmp_path):
    path = write_atomic(tmp_path / "a.npy", lambda f: np.save(f, np.arange(3), allow_pickle=False))
    np.testing.assert_array_equal(np.load(path), [0, 1, 2])

    def half_then_fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "a.npy", half_then_fail)
    np.testing.assert_array_equal(np.load(path), [0, 1, 2])  # the old content stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]
