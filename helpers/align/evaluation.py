"""The shared protocol for scoring a brain -> language-model map by word retrieval.

Pairs are (brain vector of a word occurrence, language-model vector of its
type). Occurrences are split into folds whose test types are never seen in training
(:mod:`helpers.align.folds`); for each fold
a map is fitted on the training occurrences, the test occurrences are mapped
into the model space, and every mapped vector ranks the candidate types by
CSLS and by cosine (:mod:`helpers.align.retrieval`). Precision@k is the mean over
test occurrences, reported beside two chance levels: ``k / n_candidates``
and the permutation null (:func:`helpers.align.retrieval.permutation_chance`), the
expected score when brain vectors are paired with words at random, which
accounts for hub candidates and frequent words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from . import retrieval as R
from ..brain.reduction import pca

CANDIDATE_SETS = ("all", "test")  # rank every word type of the text, or only the fold's test types
SCALINGS = ("centre", "minmax")  # centre on training rows (careful), or min-max over all rows (the paper's code)
CSLS_REFERENCES = ("test", "all", "pooled")  # the mapped rows CSLS's candidate-side neighbourhood is computed over


def match_dimensions(brain: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduce the wider side with PCA so both have one width: the smaller of the two, and no more than
    the number of type vectors (a PCA of ``n`` rows has at most ``n`` components)."""
    d = min(brain.shape[1], lm.shape[1], lm.shape[0])
    if brain.shape[1] > d:
        brain = pca(brain, d)
    if lm.shape[1] > d:
        lm = pca(lm, d)
    return brain, lm


def _type_bootstrap(types: np.ndarray, n_draws: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """A bootstrap over types: ``(weights, inverse)``, where the mean of per-occurrence values ``v`` in
    resample ``d`` is ``weights[d] @ np.bincount(inverse, v)`` (each drawn type brings all its occurrences).

    Weights are kept per type (``(n_draws, n_types)``), not spread over occurrences, which is the same
    average for a fraction of the work. The draws depend only on the test types and the seed, so one
    fold's draws are made once and shared (read-only) by every layer and model scored on that fold.
    """
    types = np.ascontiguousarray(types, dtype=str)
    return _bootstrap_draws(types.tobytes(), types.dtype.str, int(n_draws), tuple(np.atleast_1d(seed).tolist()))


@lru_cache(maxsize=32)
def _bootstrap_draws(types: bytes, dtype: str, n_draws: int, seed: tuple) -> tuple[np.ndarray, np.ndarray]:
    names, inverse, sizes = np.unique(np.frombuffer(types, dtype=dtype), return_inverse=True, return_counts=True)
    counts = np.random.default_rng(list(seed)).multinomial(len(names), np.full(len(names), 1 / len(names)), size=n_draws)
    weights = counts / (counts @ sizes)[:, None]
    weights.flags.writeable = inverse.flags.writeable = False
    return weights, inverse


def _min_max(x: np.ndarray) -> np.ndarray:
    """Each column scaled to [0, 1] over all rows (constant columns to 0), as scikit-learn's MinMaxScaler."""
    low, span = x.min(axis=0), np.ptp(x, axis=0)
    return (x - low) / np.where(span > 0, span, 1.0)


def retrieval_scores(
    brain: np.ndarray | Sequence[np.ndarray],
    occurrence_types: Sequence[str],
    type_names: np.ndarray,
    type_vectors: np.ndarray,
    make_map: Callable[[], object],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    ks: Sequence[int] = (1, 5, 10),
    neighbours: int = 10,
    candidates: str = "all",
    scaling: str = "centre",
    csls_reference: str = "test",
    n_bootstrap: int = 1000,
    seed: int = 0,
    fold_numbers: Sequence[int] | None = None,
) -> list[dict]:
    """Cross-validated precision@k of a brain -> model map; one dict per fold, retrieval and k.

    Parameters
    ----------
    brain : array (n_occurrences, d), or one such array per split
        The brain vector of every word occurrence; a list gives each fold its
        own (when the brain side's PCA is fitted inside each training fold).
    occurrence_types, type_names, type_vectors
        The type of every occurrence; the sorted candidate types and their
        model vectors ``(n_types, d)``.
    make_map : callable
        Returns a fresh object with ``fit(x, y, groups)`` (groups: the
        training occurrences' types, for an inner cross-validation) and
        ``predict(x)``.
    splits : list of (train, test) boolean masks
        One pair per fold (:mod:`helpers.align.folds`).
    candidates : {"all", "test"}
        Rank every type, or only the fold's test types.
    scaling : {"centre", "minmax"}
        ``"centre"`` (the careful protocol): the brain side centred on the
        fold's training occurrences, the model side on all candidate types.
        ``"minmax"`` (the paper's code): every column of each side scaled to
        [0, 1] over all its rows (test occurrences included), no centring.
    neighbours : int
        CSLS's neighbourhood size ``K`` (MUSE and the paper's code use 100);
        a side with fewer rows than ``K`` uses all of its rows
        (:func:`helpers.align.retrieval.csls`).
    csls_reference : {"test", "all", "pooled"}
        Which mapped brain rows the candidates' CSLS neighbourhood ``r_S`` is
        computed over: the fold's test rows; all rows, training ones
        included, mapped by the fold's map (the paper's Procrustes code); or
        the test rows of every fold, each mapped by its own fold's map (the
        paper's ridge code, which stacks the out-of-fold predictions and
        scores them together). ``"pooled"`` fits every fold before scoring
        any, and its reference is made of the folds in ``splits``, so pass
        them all: the ``n_queries``-weighted mean of its per-fold precisions
        is then the precision of all rows scored at once.

    Each row carries a 95 % bootstrap interval (``ci_low``, ``ci_high``) of
    its precision over the fold's test *types* (all occurrences of a drawn
    type come together), ``n_bootstrap`` draws seeded by ``seed`` and the fold.
    ``fold_numbers`` names the folds of ``splits`` (default ``0, 1, ...``), so
    that one fold scored on its own gives the row it gets among all folds.
    """
    per_fold = [np.asarray(b, dtype=np.float64) for b in brain] if isinstance(brain, (list, tuple)) else None
    if per_fold is not None and len(per_fold) != len(splits):
        raise ValueError(f"{len(per_fold)} brain arrays for {len(splits)} splits; give one per split, or one for all.")
    brain = per_fold[0] if per_fold else np.asarray(brain, dtype=np.float64)
    type_vectors = np.asarray(type_vectors, dtype=np.float64)
    occurrence_types = np.asarray(occurrence_types)
    if brain.ndim != 2 or type_vectors.ndim != 2:
        raise ValueError(f"brain and type_vectors must be 2-D, got {brain.shape} and {type_vectors.shape}.")
    if len(brain) != len(occurrence_types):
        raise ValueError(f"need one type per brain vector: {len(brain)} vectors, {len(occurrence_types)} types.")
    if len(type_names) != len(type_vectors):
        raise ValueError(f"{len(type_names)} type names for {len(type_vectors)} type vectors.")
    index = np.searchsorted(type_names, occurrence_types)
    if np.any(index >= len(type_names)) or np.any(type_names[np.minimum(index, len(type_names) - 1)] != occurrence_types):
        raise ValueError("some occurrences have a type that is not among type_names.")
    if candidates not in CANDIDATE_SETS:
        raise ValueError(f"candidates must be one of {CANDIDATE_SETS}, got {candidates!r}.")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}.")
    if csls_reference not in CSLS_REFERENCES:
        raise ValueError(f"csls_reference must be one of {CSLS_REFERENCES}, got {csls_reference!r}.")
    if len(type_names) < 2:
        raise ValueError(f"retrieval needs at least two candidate word types, got {len(type_names)}.")
    for what, x in [("brain vectors", b) for b in (per_fold or [brain])] + [("type vectors", type_vectors)]:
        constant = np.flatnonzero(np.ptp(x, axis=1) == 0)
        if len(constant):
            raise ValueError(
                f"{len(constant)} of the {what} are constant (row {constant[0]} first); they carry no information "
                "and make cosine similarity undefined after centring. Remove those words."
            )

    lm = _min_max(type_vectors) if scaling == "minmax" else type_vectors - type_vectors.mean(axis=0)
    fold_numbers = range(len(splits)) if fold_numbers is None else fold_numbers

    def fitted_folds():
        """Per fold: its number, test mask, candidate pool, correct candidates, mapped test rows, CSLS reference
        (every mapped row for "all", else None) and the map's mean ``alpha_`` (NaN if it has none)."""
        for at, (fold, (train, test)) in enumerate(zip(fold_numbers, splits)):
            if train.shape != (len(brain),) or test.shape != (len(brain),):
                raise ValueError(f"split masks must have one entry per brain vector ({len(brain)}).")
            if np.isin(index[test], index[train]).any():
                raise ValueError(f"fold {fold}: a test type also occurs in training; test types must be unseen.")
            if candidates == "all":
                pool, correct = np.arange(len(type_names)), index[test]
            else:
                pool = np.unique(index[test])
                correct = np.searchsorted(pool, index[test])
            if max(ks) > len(pool):
                raise ValueError(f"k = {max(ks)} exceeds the {len(pool)} candidate types of fold {fold}; ask for smaller k (scenario field ks).")
            x = per_fold[at] if per_fold else brain
            x = _min_max(x) if scaling == "minmax" else x - x[train].mean(axis=0)
            mapping = make_map().fit(x[train], lm[index[train]], groups=occurrence_types[train])
            reference = mapping.predict(x) if csls_reference == "all" else None
            alpha = float(np.mean(getattr(mapping, "alpha_", np.nan)))
            yield fold, test, pool, correct, mapping.predict(x[test]), reference, alpha

    folds = fitted_folds()  # lazy: each fold is fitted just before it is scored
    if csls_reference == "pooled":  # two passes: every fold's test rows are mapped before any fold is scored
        folds = list(folds)
        pooled = np.vstack([queries for _, _, _, _, queries, _, _ in folds])
        folds = [(*fit[:5], pooled, fit[6]) for fit in folds]
    rows = []
    for fold, test, pool, correct, queries, reference, alpha in folds:
        draws, draw_types = _type_bootstrap(occurrence_types[test], n_bootstrap, [seed, fold])  # the same for both retrievals
        similarity = R.cosine(queries, lm[pool])  # ranks by itself, and is the first term of CSLS
        for method, scores in (("csls", R.csls(queries, lm[pool], neighbours, reference, similarity)),
                               ("cosine", similarity)):
            hits = R.hit_rates(scores, correct, ks)
            null = R.permutation_chance(scores, correct, ks)
            for k in ks:
                resampled = draws @ np.bincount(draw_types, hits[k])  # one mean per resample (none without draws)
                low, high = np.percentile(resampled, [2.5, 97.5]) if n_bootstrap else (np.nan, np.nan)
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
                        "alpha": alpha,
                        "n_queries": int(test.sum()),
                        "n_candidates": int(len(pool)),
                    }
                )
    return rows
