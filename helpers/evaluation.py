"""The shared protocol for scoring a brain -> language-model map by word retrieval.

Pairs are (brain vector of a word occurrence, language-model vector of its
type). Occurrences are split into folds whose test types are never seen in training
(:mod:`helpers.folds`); for each fold
a map is fitted on the training occurrences, the test occurrences are mapped
into the model space, and every mapped vector ranks the candidate types by
CSLS and by cosine (:mod:`helpers.retrieval`). Precision@k is the mean over
test occurrences, reported beside two chance levels: ``k / n_candidates``
and the permutation null (:func:`helpers.retrieval.permutation_chance`), the
expected score when brain vectors are paired with words at random, which
accounts for hub candidates and frequent words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import retrieval as R
from .reduction import pca


def match_dimensions(brain: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduce the wider side with PCA so both have ``min(widths)`` columns."""
    d = min(brain.shape[1], lm.shape[1])
    if brain.shape[1] > d:
        brain = pca(brain, d)
    if lm.shape[1] > d:
        lm = pca(lm, min(d, lm.shape[0]))
    if brain.shape[1] != lm.shape[1]:
        raise ValueError(f"cannot match dimensions {brain.shape} and {lm.shape}: too few word types for {d} components.")
    return brain, lm


def _type_bootstrap(types: np.ndarray, n_draws: int, seed) -> np.ndarray:
    """``(n_draws, n_occurrences)`` weights of a bootstrap over types: each row averages one resample."""
    names, inverse = np.unique(types, return_inverse=True)
    counts = np.random.default_rng(seed).multinomial(len(names), np.full(len(names), 1 / len(names)), size=n_draws)
    weights = counts[:, inverse].astype(np.float64)
    return weights / weights.sum(axis=1, keepdims=True)


def _normalise(x: np.ndarray, mean: np.ndarray, unit_length: bool) -> np.ndarray:
    x = x - mean
    if unit_length:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def retrieval_scores(
    brain: np.ndarray,
    occurrence_types: Sequence[str],
    type_names: np.ndarray,
    type_vectors: np.ndarray,
    make_map: Callable[[], object],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    ks: Sequence[int] = (1, 5, 10),
    neighbours: int = 10,
    candidates: str = "all",
    unit_length: bool = False,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """Cross-validated precision@k of a brain -> model map; one dict per fold, retrieval and k.

    ``brain`` is ``(n_occurrences, d)``, ``type_vectors`` ``(n_types, d)`` in
    the order of the sorted ``type_names``. ``splits`` holds one
    ``(train, test)`` pair of boolean masks per fold (:mod:`helpers.folds`).
    ``make_map()`` returns a fresh
    object with ``fit(x, y, groups)`` (groups: the training occurrences'
    types, for an inner cross-validation) and ``predict(x)``. Both spaces are centred
    (the brain side on its training occurrences, the model side on all
    candidate types) and, if ``unit_length``, scaled to unit norm.
    ``candidates`` is ``"all"`` types or only the fold's ``"test"`` types.
    Each row carries a 95 % bootstrap interval (``ci_low``, ``ci_high``) of
    its precision over the fold's test *types* (all occurrences of a drawn
    type come together), ``n_bootstrap`` draws seeded by ``seed`` and the fold.
    """
    brain = np.asarray(brain, dtype=np.float64)
    type_vectors = np.asarray(type_vectors, dtype=np.float64)
    occurrence_types = np.asarray(occurrence_types)
    if brain.ndim != 2 or type_vectors.ndim != 2:
        raise ValueError(f"brain and type_vectors must be 2-D, got {brain.shape} and {type_vectors.shape}.")
    if len(brain) != len(occurrence_types):
        raise ValueError(f"need one type per brain vector: {len(brain)} vectors, {len(occurrence_types)} types.")
    if brain.shape[1] != type_vectors.shape[1]:
        raise ValueError(f"brain ({brain.shape[1]}) and model ({type_vectors.shape[1]}) widths differ; use match_dimensions first.")
    if len(type_names) != len(type_vectors):
        raise ValueError(f"{len(type_names)} type names for {len(type_vectors)} type vectors.")
    index = np.searchsorted(type_names, occurrence_types)
    if np.any(index >= len(type_names)) or np.any(type_names[np.minimum(index, len(type_names) - 1)] != occurrence_types):
        raise ValueError("some occurrences have a type that is not among type_names.")
    if candidates not in ("all", "test"):
        raise ValueError(f"candidates must be 'all' or 'test', got {candidates!r}.")
    if len(type_names) < 2:
        raise ValueError(f"retrieval needs at least two candidate word types, got {len(type_names)}.")
    for what, x in (("brain vectors", brain), ("type vectors", type_vectors)):
        constant = np.flatnonzero(np.ptp(x, axis=1) == 0)
        if len(constant):
            raise ValueError(
                f"{len(constant)} of the {what} are constant (row {constant[0]} first); they carry no information "
                "and make cosine similarity undefined after centring. Remove those words."
            )

    lm = _normalise(type_vectors, type_vectors.mean(axis=0), unit_length)
    rows = []
    for fold, (train, test) in enumerate(splits):
        if train.shape != (len(brain),) or test.shape != (len(brain),):
            raise ValueError(f"split masks must have one entry per brain vector ({len(brain)}).")
        if np.isin(index[test], index[train]).any():
            raise ValueError(f"fold {fold}: a test type also occurs in training; test types must be unseen.")
        mean = brain[train].mean(axis=0)
        mapping = make_map().fit(_normalise(brain[train], mean, unit_length), lm[index[train]], groups=occurrence_types[train])
        queries = mapping.predict(_normalise(brain[test], mean, unit_length))
        if candidates == "all":
            pool, correct = np.arange(len(type_names)), index[test]
        else:
            pool = np.unique(index[test])
            correct = np.searchsorted(pool, index[test])
        if max(ks) > len(pool):
            raise ValueError(f"k = {max(ks)} exceeds the {len(pool)} candidate types of fold {fold}.")
        draws = _type_bootstrap(occurrence_types[test], n_bootstrap, [seed, fold])  # the same resamples for both retrievals
        for method, score in (("csls", lambda q, c: R.csls(q, c, neighbours)), ("cosine", R.cosine)):
            scores = score(queries, lm[pool])
            hits = R.hit_rates(scores, correct, ks)
            null = R.permutation_chance(scores, correct, ks)
            for k in ks:
                low, high = np.percentile(draws @ hits[k], [2.5, 97.5]) if n_bootstrap else (np.nan, np.nan)
                rows.append(
                    {
                        "fold": fold,
                        "retrieval": method,
                        "metric": f"P@{k}",
                        "value": float(hits[k].mean()),
                        "chance": R.chance(k, len(pool)),
                        "chance_permuted": null[k],
                        "ci_low": float(low),
                        "ci_high": float(high),
                        "alpha": float(np.mean(getattr(mapping, "alpha_", np.nan))),
                        "n_queries": int(test.sum()),
                        "n_candidates": int(len(pool)),
                    }
                )
    return rows
