import numpy as np
import pytest

from helpers.align.folds import block_folds, make_splits, type_folds


def test_type_folds_keep_test_types_unseen_and_cover_everything():
    types = np.array(list("aabbbcddeeffgghhii"))
    splits = type_folds(types, 3, seed=0)
    tested = np.zeros(len(types), int)
    for train, test in splits:
        assert not set(types[train]) & set(types[test])
        assert (train | test).all()
        tested += test
    assert (tested == 1).all()
    assert [len(set(types[test])) for _, test in splits] == [3, 3, 3]
    # same seed, same folds; another seed, other folds
    assert all((a[1] == b[1]).all() for a, b in zip(splits, type_folds(types, 3, seed=0)))
    assert any((a[1] != b[1]).any() for a, b in zip(splits, type_folds(types, 3, seed=1)))


def test_block_folds_are_contiguous_with_a_buffer():
    types = np.array(["w%d" % (i % 7) if i % 3 else "u%d" % i for i in range(60)])
    onsets = np.arange(60) * 0.5
    splits = block_folds(types, onsets, 3, buffer_s=2.0)
    for train, test in splits:
        idx = np.flatnonzero(test)
        assert (np.diff(idx) == 1).all()  # one contiguous block
        start, end = onsets[test].min(), onsets[test].max()
        assert not np.any(train & (onsets >= start - 2.0) & (onsets <= end + 2.0))
        assert not set(types[train]) & set(types[test])


def test_bad_splits():
    with pytest.raises(ValueError, match="cannot split 2 word types into 4 folds"):
        type_folds(np.array(["a", "b", "a"]), 4, 0)
    with pytest.raises(ValueError, match="n_folds must be at least 2"):
        type_folds(np.array(["a", "b"]), 1, 0)
    with pytest.raises(ValueError, match="unknown split 'random'"):
        make_splits("random", np.array(["a"]), np.array([0.0]), 2, 0)
    with pytest.raises(ValueError, match="no training occurrences"):
        block_folds(np.array(["a"] * 8), np.arange(8.0), 2)


def test_leave_one_run_out_never_puts_one_run_on_both_sides():
    rng = np.random.default_rng(0)
    runs = np.repeat([1, 2, 3, 4], [30, 25, 40, 35])
    types = rng.choice([f"w{i}" for i in range(60)], len(runs))
    splits = make_splits("runs", types, np.arange(len(runs)) * 0.5, n_folds=99, seed=0, runs=runs)
    assert len(splits) == 4  # one fold per run, whatever n_folds says
    tested = np.zeros(len(runs), int)
    for run, (train, test) in zip([1, 2, 3, 4], splits):
        assert (test == (runs == run)).all()  # the whole run is tested, and nothing else
        assert not set(runs[train]) & set(runs[test])  # no run on both sides
        assert not set(types[train]) & set(types[test])  # test types unseen
        # training keeps every occurrence of the other runs whose type the test run lacks
        assert (train == ((runs != run) & ~np.isin(types, types[test]))).all()
        tested += test
    assert (tested == 1).all()


def test_leave_one_run_out_refuses_a_one_run_dataset():
    with pytest.raises(ValueError, match=r"split: runs leaves one run out, but the dataset has 1 run\(s\).*choose split: types or split: blocks"):
        make_splits("runs", np.array(list("abcd")), np.arange(4.0), 2, 0, runs=np.zeros(4, int))
    with pytest.raises(ValueError, match="needs the run of every occurrence"):
        make_splits("runs", np.array(list("abcd")), np.arange(4.0), 2, 0)
