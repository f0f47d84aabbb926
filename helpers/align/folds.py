"""Cross-validation splits of word occurrences, always with unseen test types.

Three kinds, each returning ``(train, test)`` boolean masks per fold, and in
each a type tested in a fold never occurs in that fold's training set:

``"types"`` (the paper's protocol)
    Word types are dealt into folds; all occurrences of a type are tested
    together. Two rules (``FOLD_RULES``) say how:

    ``"shuffled"``
        the sorted types are permuted by NumPy with ``seed`` and dealt
        round-robin, so fold sizes differ by at most one type;
    ``"published"``
        the rule of the paper's published code (Li et al. 2023): the types in
        order of first occurrence in the text, shuffled by Python's
        ``random.Random(PUBLISHED_SEED).sample`` (the same order as
        ``random.seed(42); random.sample(...)``), then cut into ``n_folds``
        contiguous blocks; the first ``n_folds - 1`` blocks hold
        ``n_types // n_folds`` types each and the last one the rest. The
        ``seed`` argument is not used: the published seed is fixed.
``"blocks"`` (a control for temporal leakage)
    The text is cut into contiguous blocks of occurrences. A fold tests one
    block; it trains on the other blocks, minus every occurrence of a type
    that occurs in the test block and minus occurrences closer in time than
    ``buffer_s`` to the block. With shuffled type folds, a test word's brain
    vector is nearly the same as its neighbours' (the haemodynamic response
    and the smoothing window span several words), and those neighbours are
    in the training set; contextual language-model vectors of neighbouring
    words are similar too, so even pure noise scores above chance. Blocks
    remove that shortcut (Feghhi et al. 2024 make the same point).
``"runs"`` (leave one run out)
    Runs are natural blocks: the scanner stops between them, so no
    response crosses from one to the next. A fold tests one run and trains
    on the other runs, minus every occurrence of a type that occurs in the
    test run. There are as many folds as runs (``n_folds`` is not used).
"""

from __future__ import annotations

import random

import numpy as np

SPLITS = ("types", "blocks", "runs")
FOLD_RULES = ("shuffled", "published")  # how split "types" deals the types into folds
PUBLISHED_SEED = 42  # the seed of the published code's shuffle of the types


def group_folds(groups: np.ndarray, n_folds: int, seed: int, what: str = "word types", parameter: str = "n_folds") -> np.ndarray:
    """Fold (``0 .. n_folds - 1``) of every row; all rows of a group share a fold.

    The distinct groups are shuffled with ``seed`` and dealt round-robin into
    the folds, so fold sizes are balanced in groups, not in rows. This is the
    one rule behind :func:`type_folds` and the inner folds of
    :class:`helpers.align.ridge.Ridge`. ``what`` and ``parameter`` name the
    groups and the fold count in error messages.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be 1-D (one label per row), got shape {groups.shape}.")
    unique, inverse = np.unique(groups, return_inverse=True)
    _check(len(unique), n_folds, what, parameter)
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of_group = np.empty(len(unique), dtype=np.int64)
    fold_of_group[order] = np.arange(len(unique)) % n_folds
    return fold_of_group[inverse.ravel()]


def type_folds(types: np.ndarray, n_folds: int, seed: int, rule: str = "shuffled") -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over word types, as ``(train, test)`` masks; ``rule`` is one of ``FOLD_RULES`` (see the module
    docstring). The ``"published"`` rule ignores ``seed`` and always shuffles with ``PUBLISHED_SEED``."""
    if rule == "shuffled":
        fold = group_folds(types, n_folds, seed)
    elif rule == "published":
        fold = published_folds(types, n_folds)
    else:
        raise ValueError(f"unknown fold rule {rule!r}; choose one of {FOLD_RULES}.")
    return [(fold != f, fold == f) for f in range(n_folds)]


def published_folds(types: np.ndarray, n_folds: int) -> np.ndarray:
    """Fold of every occurrence under the ``"published"`` rule: types in first-occurrence order, shuffled by
    ``random.Random(PUBLISHED_SEED).sample``, cut into blocks of ``n_types // n_folds`` (the last takes the rest)."""
    types = np.asarray(types)
    if types.ndim != 1:
        raise ValueError(f"types must be 1-D (one label per occurrence), got shape {types.shape}.")
    labels = types.tolist()
    first_seen = list(dict.fromkeys(labels))
    _check(len(first_seen), n_folds, "word types")
    order = random.Random(PUBLISHED_SEED).sample(first_seen, len(first_seen))
    size = len(order) // n_folds
    fold_of = {t: min(i // size, n_folds - 1) for i, t in enumerate(order)}
    return np.array([fold_of[t] for t in labels], dtype=np.int64)


def block_folds(types: np.ndarray, onsets: np.ndarray, n_folds: int, buffer_s: float = 20.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Contiguous blocks in time, as ``(train, test)`` masks (see the module docstring)."""
    types, onsets = np.asarray(types), np.asarray(onsets, dtype=np.float64)
    if types.shape != onsets.shape:
        raise ValueError(f"need one onset per occurrence: {len(types)} types, {len(onsets)} onsets.")
    if buffer_s < 0:
        raise ValueError(f"buffer_s must be >= 0 seconds, got {buffer_s}.")
    _check(len(types), n_folds, "word occurrences")
    order = np.argsort(onsets, kind="stable")
    splits = []
    for block in np.array_split(order, n_folds):
        test = np.zeros(len(types), dtype=bool)
        test[block] = True
        start, end = onsets[block].min(), onsets[block].max()
        far = (onsets < start - buffer_s) | (onsets > end + buffer_s)
        train = far & ~np.isin(types, types[test])
        if not train.any():
            raise ValueError("a block split left no training occurrences; use fewer folds or a smaller buffer_s.")
        splits.append((train, test))
    return splits


def run_folds(types: np.ndarray, runs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave one run out, as ``(train, test)`` masks (see the module docstring)."""
    types, runs = np.asarray(types), np.asarray(runs)
    if types.shape != runs.shape:
        raise ValueError(f"need one run per occurrence: {len(types)} types, {len(runs)} runs.")
    labels = np.unique(runs)
    if len(labels) < 2:
        raise ValueError(
            f"split: runs leaves one run out, but the dataset has {len(labels)} run(s) "
            "(sentence datasets show everything in one run); choose split: types or split: blocks."
        )
    splits = []
    for run in labels:
        test = runs == run
        train = ~test & ~np.isin(types, types[test])
        if not train.any():
            raise ValueError(f"leaving out run {run} left no training occurrences: every type of the other runs occurs in it.")
        splits.append((train, test))
    return splits


def make_splits(kind: str, types: np.ndarray, onsets: np.ndarray, n_folds: int, seed: int, buffer_s: float = 20.0,
                runs: np.ndarray | None = None, rule: str = "shuffled"):
    """The splits of the given kind (``"types"``, ``"blocks"`` or ``"runs"``, which needs each occurrence's run).

    ``rule`` (one of ``FOLD_RULES``) only shapes ``"types"`` splits; the other kinds check its name and ignore it.
    """
    if rule not in FOLD_RULES:
        raise ValueError(f"unknown fold rule {rule!r}; choose one of {FOLD_RULES}.")
    if kind == "types":
        return type_folds(types, n_folds, seed, rule)
    if kind == "blocks":
        return block_folds(types, onsets, n_folds, buffer_s)
    if kind == "runs":
        if runs is None:
            raise ValueError("split: runs needs the run of every occurrence (runs=...).")
        return run_folds(types, runs)
    raise ValueError(f"unknown split {kind!r}; choose one of {SPLITS}.")


def _check(n: int, n_folds: int, what: str, parameter: str = "n_folds") -> None:
    if n_folds < 2:
        raise ValueError(f"{parameter} must be at least 2, got {n_folds}.")
    if n < n_folds:
        raise ValueError(f"cannot split {n} {what} into {n_folds} folds; use a smaller {parameter} or more words.")
