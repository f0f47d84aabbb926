"""Word retrieval in a shared space: cosine, CSLS, precision@k and its chance level.

A query (a brain vector mapped into the language-model space) is scored
against every candidate word type; precision@k is the share of queries whose
correct type is among the k best-scored candidates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def _unit_rows(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{what} contain {int(np.sum(norms == 0))} all-zero vector(s); cosine similarity is undefined for them.")
    return x / norms


def cosine(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Cosine similarity of every query with every candidate, shape ``(n_q, n_c)``."""
    queries, candidates = np.asarray(queries), np.asarray(candidates)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(f"queries and candidates must be 2-D with the same width, got {queries.shape} and {candidates.shape}.")
    return _unit_rows(queries, "queries") @ _unit_rows(candidates, "candidates").T


def _mean_top(similarity: np.ndarray, k: int, axis: int) -> np.ndarray:
    k = min(k, similarity.shape[axis])
    top = -np.partition(-similarity, k - 1, axis=axis)
    return np.take(top, np.arange(k), axis=axis).mean(axis=axis)


def csls(queries: np.ndarray, candidates: np.ndarray, neighbours: int = 10, reference: np.ndarray | None = None,
         similarity: np.ndarray | None = None) -> np.ndarray:
    """Cross-domain similarity local scaling (Conneau et al. 2018), as MUSE's ``csls_knn_<K>`` scores.

    ``CSLS(q, c) = 2 cos(q, c) - r_T(q) - r_S(c)``, where ``r_T(q)`` is the
    mean cosine of query ``q`` to its ``K = neighbours`` nearest candidates
    and ``r_S(c)`` the mean cosine of candidate ``c`` to its ``K`` nearest
    rows of ``reference`` (mapped brain vectors, e.g. every mapped row,
    training ones too, as the paper's Procrustes code does; the queries
    themselves when ``reference`` is None). It penalises "hubs", candidates
    that are close to everything. A side with fewer than ``K`` rows (few
    candidates, or a small reference) averages over all of its rows, so
    ``K`` larger than both gives plain ``2 cos`` minus the two mean cosines.
    ``similarity``: ``cosine(queries, candidates)`` where the caller has it
    already (a nearest-neighbour ranking of the same queries), so it is not
    computed twice.
    """
    if neighbours < 1:
        raise ValueError(f"neighbours must be >= 1, got {neighbours}.")
    if similarity is None:
        sim = cosine(queries, candidates)
    elif np.shape(similarity) != (len(queries), len(candidates)):
        raise ValueError(f"similarity must be cosine(queries, candidates), shape {(len(queries), len(candidates))}; "
                         f"got shape {np.shape(similarity)}.")
    else:
        sim = np.asarray(similarity)
    r_t = _mean_top(sim, neighbours, axis=1)
    r_s = _mean_top(sim if reference is None else cosine(reference, candidates), neighbours, axis=0)
    return 2 * sim - r_t[:, None] - r_s[None, :]


def hit_rates(scores: np.ndarray, correct: np.ndarray, ks: Iterable[int]) -> dict[int, np.ndarray]:
    """Per query, the probability that the correct candidate is in the top k.

    Ties are broken at random, in expectation: with ``g`` candidates scored
    higher than the correct one and ``e`` others scored equal, the hit rate
    is ``clip((k - g) / (e + 1), 0, 1)``. So constant scores give exactly the
    chance level instead of 0 or 1.
    """
    scores = np.asarray(scores)
    correct = np.asarray(correct)
    n_q, n_c = scores.shape
    if correct.shape != (n_q,):
        raise ValueError(f"need one correct index per query ({n_q}), got shape {correct.shape}.")
    if np.any((correct < 0) | (correct >= n_c)):
        raise ValueError(f"correct indices must lie in [0, {n_c}).")
    true = scores[np.arange(n_q), correct][:, None]
    greater = np.sum(scores > true, axis=1)
    equal = np.sum(scores == true, axis=1) - 1
    out = {}
    for k in ks:
        if not 1 <= k <= n_c:
            raise ValueError(f"k must be between 1 and the number of candidates ({n_c}), got {k}.")
        out[k] = np.clip((k - greater) / (equal + 1), 0.0, 1.0)
    return out


def chance(k: int, n_candidates: int) -> float:
    """Precision@k of a ranking that ignores the query: ``k / n_candidates``."""
    return k / n_candidates


def permutation_chance(scores: np.ndarray, correct: np.ndarray, ks: Iterable[int]) -> dict[int, float]:
    """Expected precision@k when the queries are paired with the labels at random.

    ``k / n_candidates`` is the chance level only if every candidate is
    equally likely to be ranked high and to be the answer. Neither holds in
    practice: some candidates are "hubs" that rank high for most queries, and
    frequent words are the answer for many queries. Shuffling which score row
    goes with which correct label keeps both and breaks the brain-to-word
    pairing; its expectation over all shufflings is exactly
    ``sum_c P(label = c) * P(c in a row's top k)``, computed here (ties as in
    :func:`hit_rates`). CSLS scores do not depend on the order of the
    queries, so this is also the permutation null of a CSLS ranking.
    """
    scores = np.asarray(scores)
    correct = np.asarray(correct)
    n_q, n_c = scores.shape
    ks = list(ks)
    label_share = np.bincount(correct, minlength=n_c) / n_q
    in_top = _top_k_shares(scores, ks)
    return {k: float(label_share @ in_top[k]) for k in ks}


def _top_k_shares(scores: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
    """Per candidate, the share of rows that rank it in their top k (ties shared out).

    In a row whose k-th best score is ``t``, a candidate scored above ``t``
    is in the top k, one scored below is not, and the ``e`` candidates
    scored exactly ``t`` share the ``k - g`` places left by the ``g`` above
    it: each is in with probability ``(k - g) / e``, the rule of
    :func:`hit_rates`. So only each row's k-th best score is needed, not a
    ranking of the whole row.
    """
    n_q, n_c = scores.shape
    kmax = max(ks)
    if kmax < n_c:  # only the kmax + 1 best of each row matter
        best = np.argpartition(-scores, kmax, axis=1)[:, : kmax + 1]
        values = np.take_along_axis(scores, best, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        best, values = np.take_along_axis(best, order, axis=1), np.take_along_axis(values, order, axis=1)
    else:
        best, values = None, -np.sort(-scores, axis=1)
    out = {}
    for k in ks:
        if best is not None and not np.any(values[:, k - 1] == values[:, k]):  # no tie across the k-th place
            out[k] = np.bincount(best[:, :k].ravel(), minlength=n_c) / n_q
            continue
        kth = values[:, k - 1][:, None]
        above, at = scores > kth, scores == kth
        out[k] = (above + at * ((k - above.sum(axis=1)) / at.sum(axis=1))[:, None]).mean(axis=0)
    return out
