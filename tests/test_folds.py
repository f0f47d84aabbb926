import random

import numpy as np
import pytest

from helpers.align.folds import FOLD_RULES, PUBLISHED_SEED, block_folds, make_splits, type_folds


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


def test_published_rule_by_hand():
    # ten types, first seen in the order j, i, ..., a (the reverse of sorted order), each repeated
    first_seen = list("jihgfedcba")
    types = np.array([t for t in first_seen for _ in range(1 + ord(t) % 3)] + ["c", "j", "a"])
    random.seed(42)
    order = random.sample(first_seen, len(first_seen))  # the published code's own call
    assert random.Random(PUBLISHED_SEED).sample(first_seen, len(first_seen)) == order  # a private generator agrees
    assert order == list("ijfadebhgc")
    blocks = [order[0:2], order[2:4], order[4:6], order[6:10]]  # 10 // 4 = 2 types, the last fold the other 4
    splits = type_folds(types, 4, seed=0, rule="published")
    assert [sorted(set(types[test])) for _, test in splits] == [sorted(b) for b in blocks]
    tested = np.zeros(len(types), int)
    for train, test in splits:
        assert not set(types[train]) & set(types[test])  # every test type unseen in training
        assert (train == ~test).all()
        tested += test
    assert (tested == 1).all()
    # the seed argument is ignored, and make_splits passes the rule through
    again = make_splits("types", types, np.arange(len(types)) * 0.5, 4, seed=123, rule="published")
    assert all((a[1] == b[1]).all() for a, b in zip(splits, again))


def test_published_rule_follows_first_occurrence_not_sorted_order():
    first_seen = list("jihgfedcba")
    types = np.array(first_seen * 2)
    tested = [set(types[test]) for _, test in type_folds(types, 4, seed=0, rule="published")]
    by_sorted = random.Random(42).sample(sorted(first_seen), 10)
    assert tested[0] == {"i", "j"} != set(by_sorted[:2])
    # the same types first seen in another order land in other folds
    reordered = np.array(sorted(first_seen) + first_seen)
    assert [set(reordered[test]) for _, test in type_folds(reordered, 4, seed=0, rule="published")][0] == set(by_sorted[:2])


def test_fold_rules_are_checked():
    types = np.array(list("abcdabcd"))
    assert FOLD_RULES == ("shuffled", "published")
    with pytest.raises(ValueError, match=r"unknown fold rule 'muse'; choose one of \('shuffled', 'published'\)"):
        type_folds(types, 2, 0, rule="muse")
    with pytest.raises(ValueError, match="unknown fold rule 'muse'"):
        make_splits("blocks", types, np.arange(8.0), 2, 0, rule="muse")
    with pytest.raises(ValueError, match="cannot split 4 word types into 5 folds"):
        type_folds(types, 5, 0, rule="published")
    # other kinds of split ignore the rule
    distinct = np.array(list("abcdefgh"))
    blocks = make_splits("blocks", distinct, np.arange(8.0), 2, 0, buffer_s=0.0)
    same = make_splits("blocks", distinct, np.arange(8.0), 2, 0, buffer_s=0.0, rule="published")
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(blocks, same))


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
