"""The Mantel permutation test of RSA: how often shuffled word labels relate two RDMs as strongly as the real ones.

The word labels of one RDM are shuffled (rows and columns together), which
keeps each RDM's structure and breaks the word-to-word pairing between the
two spaces (:func:`permutation_test`). A family of RDMs (one per layer of a
model) shares the permutations, and the largest of its null scores corrects
for the family (:func:`permutation_test_many`); :class:`RankedRDMs` ranks a
family once for several tests. The RDMs themselves are :mod:`helpers.align.rsa`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from .rsa import _condensed, _correlation, _n_words, _ranked, _rdm, _square


def parametric_p(rho: np.ndarray | float, m: int) -> np.ndarray | float:
    """Two-sided p of a Spearman ``rho`` between ``m`` pairs, from Student's t with ``m - 2`` degrees of freedom.

    The p-value of ``scipy.stats.spearmanr``. It assumes independent pairs,
    which the entries of an RDM are not (each item enters ``n - 1`` of them),
    so it is far too small for RSA; it is reported because published RSA code
    reports it.
    """
    rho, dof = np.asarray(rho, dtype=np.float64), m - 2
    with np.errstate(divide="ignore"):
        t = rho * np.sqrt(np.clip(dof / ((rho + 1.0) * (1.0 - rho)), 0, None))
    return 2 * student_t.sf(np.abs(t), dof)


NULL_BATCH_BYTES = 2**28  # permuted RDMs held at once by the null (256 MiB), at least one


def _null_dots(a_ranks: np.ndarray, b_square: np.ndarray, n_permutations: int, seed: int) -> np.ndarray:
    """``sum_{i<j} a_m[i, j] * b[p_i, p_j]`` for each permutation ``p`` and each condensed ``a_m``, shape (n_permutations, m).

    Permutation ``k`` is the ``k``-th ``rng.permutation(n)`` of one
    ``rng = np.random.default_rng(seed)``. Each permuted square ``b[p][:, p]``
    is two gathers (rows, then columns within each row), and its upper
    triangle is read through a boolean mask (one byte per entry, in order,
    where a list of positions costs eight); a batch of them
    (:data:`NULL_BATCH_BYTES`) meets every ``a_m`` in one matrix product, not
    one dot product per permutation and RDM. Centred ranks are multiples of
    one half, which single precision holds exactly up to 2**22 (RDMs of up to
    about 5,800 items): there the gathers move single-precision values, half
    the bytes, and the products are the same to the bit. ``benchmarks/rsa_null.py``
    measures these choices.
    """
    rng = np.random.default_rng(seed)
    n, m = b_square.shape[0], a_ranks.shape[1]
    narrow = b_square.astype(np.float32)
    source = narrow if np.array_equal(narrow, b_square) else b_square
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)  # row by row, as a condensed RDM
    batch = int(np.clip(NULL_BATCH_BYTES // (8 * m), 1, n_permutations))
    permuted = np.empty((batch, m))
    dots = np.empty((n_permutations, len(a_ranks)))
    for lo in range(0, n_permutations, batch):
        size = min(batch, n_permutations - lo)
        for j in range(size):
            p = rng.permutation(n)
            permuted[j] = source.take(p, axis=0).take(p, axis=1)[upper]
        dots[lo : lo + size] = permuted[:size] @ a_ranks.T
    return dots


def permutation_test(
    rdm_a: np.ndarray, rdm_b: np.ndarray, n_permutations: int = 1000, seed: int = 0
) -> dict[str, object]:
    """RSA score with a one-sided Mantel permutation test.

    The word labels of ``rdm_b`` are permuted, rows and columns together: for
    a permutation ``p`` the permuted square RDM is ``B[p][:, p]`` (entry
    ``(i, j)`` is ``B[p[i], p[j]]``), and its upper triangle is correlated
    with ``rdm_a``. Permutation ``k`` is the ``k``-th call of
    ``rng.permutation(n)`` on one ``rng = np.random.default_rng(seed)``, so
    the null is reproducible and can be recomputed by hand.

    Permuting labels only reorders the entries of an RDM, so the ranks of a
    permuted RDM are the permuted ranks: both RDMs are ranked once, and each
    permutation costs one gather and one dot product.

    Parameters
    ----------
    rdm_a, rdm_b : array, shape (n_words * (n_words - 1) / 2,)
        Condensed RDMs over the same words in the same order.
    n_permutations : int
        Number of label permutations, at least 1.
    seed : int
        Seed of the permutation generator.

    Returns
    -------
    dict
        ``"rho"``: Spearman rho between the RDMs (as :func:`score`).
        ``"p"``: one-sided p-value for a positive relation,
        ``(1 + #(null >= rho)) / (1 + n_permutations)``; null values within
        1e-12 of ``rho`` count as reaching it. The smallest possible value
        is ``1 / (1 + n_permutations)``.
        ``"null"``: array of the ``n_permutations`` permutation scores.
        ``"p_parametric"``: :func:`parametric_p` of ``rho`` (not valid for RDMs).
    """
    test = permutation_test_many([rdm_a], rdm_b, n_permutations, seed)
    return {"rho": float(test["rho"][0]), "p": float(test["p"][0]), "null": test["null"][:, 0],
            "p_parametric": float(test["p_parametric"][0])}


def permutation_test_many(
    rdms_a: "list[np.ndarray] | RankedRDMs", rdm_b: np.ndarray, n_permutations: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """:func:`permutation_test` of several RDMs (one per layer, say) against one, corrected across them.

    The same permutations of ``rdm_b``'s labels serve every RDM of
    ``rdms_a``, so each permutation gives one null score per RDM, and their
    maximum is the null of the largest score in the family (the max-statistic
    method of Westfall & Young 1993; Nichols & Holmes 2002). ``p_fwe`` of
    RDM ``m`` is ``(1 + #(max_m' null_m' >= rho_m)) / (1 + n_permutations)``:
    it controls the family-wise error rate across the RDMs, without
    Bonferroni's assumption that the tests are independent (layers of one
    model are strongly dependent). Entry ``m`` of ``rho``, ``p`` and
    ``null`` equals ``permutation_test(rdms_a[m], rdm_b, n_permutations, seed)``.
    ``rdms_a`` may be a :class:`RankedRDMs`, ranked once for several tests.

    Returns
    -------
    dict
        ``"rho"``, ``"p"``, ``"p_fwe"``, ``"p_parametric"``: arrays of shape
        (m,); ``"null"``: shape (n_permutations, m).
    """
    if int(n_permutations) != n_permutations or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations}.")
    family = rdms_a if isinstance(rdms_a, RankedRDMs) else RankedRDMs.of(rdms_a)
    cb = _ranked(rdm_b, "rdm_b")
    if family.ranks.shape[1] != cb.size:
        raise ValueError(f"rdm_a and rdm_b differ in length ({family.ranks.shape[1]} and {cb.size}); "
                         "both must be built from the same words.")
    ss_a = np.array([ca @ ca for ca in family.ranks])
    rho = np.array([_correlation(ca @ cb, ca @ ca, cb @ cb) for ca in family.ranks])
    dots = _null_dots(family.ranks, _square(cb, _n_words(cb.size)), int(n_permutations), seed)
    null = _correlation(dots, ss_a, cb @ cb)
    reach = null >= rho - 1e-12
    p = (1 + reach.sum(axis=0)) / (1 + int(n_permutations))
    p_fwe = (1 + (null.max(axis=1)[:, None] >= rho - 1e-12).sum(axis=0)) / (1 + int(n_permutations))
    return {"rho": rho, "p": p, "p_fwe": p_fwe, "null": null, "p_parametric": parametric_p(rho, cb.size)}


@dataclass(frozen=True)
class RankedRDMs:
    """Condensed RDMs of the same words (one per layer, say), checked and ranked once: :func:`permutation_test_many`
    takes one in place of a list, so a family tested against several brains (one per subject) is ranked once."""

    ranks: np.ndarray  # (m, n (n - 1) / 2): each RDM's average ranks minus their mean

    @classmethod
    def of(cls, rdms: list[np.ndarray]) -> "RankedRDMs":
        if len(rdms) == 0:
            raise ValueError("rdms_a must hold at least one RDM.")
        first = _ranked(rdms[0], "rdm_a")
        return cls(np.stack([first] + [_ranked(a, "rdm_a", like=first) for a in rdms[1:]]))

    @classmethod
    def of_copies(cls, rdms: list[np.ndarray], rows: np.ndarray) -> "RankedRDMs":
        """The family of ``expand(rdm, rows)`` for each of ``rdms`` (items that are copies of the RDMs' items),
        ranked without expanding the RDMs first: an item pair takes its items' pair's value (0 for two copies
        of one item), so the expanded RDM holds each value of ``rdm`` ``c_a c_b`` times and 0 another
        ``sum_a c_a (c_a - 1) / 2`` times (``c_a`` the copies of item ``a``), and the average rank of each
        distinct value follows from those counts. Equal to ``RankedRDMs.of([expand(rdm, rows) ...])``, with a
        sort over the items' pairs instead of the copies' pairs."""
        if len(rdms) == 0:
            raise ValueError("rdms_a must hold at least one RDM.")
        n, rows = _n_words(np.size(rdms[0])), np.asarray(rows)
        if any(np.size(rdm) != np.size(rdms[0]) for rdm in rdms) or rows.min(initial=0) < 0 or rows.max(initial=0) >= n:
            raise ValueError(f"of_copies needs RDMs of one length and rows that name their items (0 to {n - 1}); "
                             f"got lengths {sorted({np.size(rdm) for rdm in rdms})} and rows {rows.min(initial=0)} to "
                             f"{rows.max(initial=0)}.")
        counts = np.bincount(rows, minlength=n).astype(np.float64)
        upper, pairs = np.triu_indices(n, k=1), np.triu_indices(len(rows), k=1)
        weights = np.append(np.outer(counts, counts)[upper], np.sum(counts * (counts - 1) / 2))
        out = np.empty((len(rdms), len(pairs[0])))
        for centred, rdm in zip(out, rdms):
            values, where = np.unique(np.append(_condensed(rdm, "rdm_a"), 0.0), return_inverse=True)
            group = np.bincount(where, weights=weights, minlength=len(values))
            average = (np.cumsum(group) - group + (group + 1) / 2)[where]  # each pair's average rank; last: copies
            ranks = np.full((n, n), average[-1])
            ranks[upper], ranks[upper[::-1]] = average[:-1], average[:-1]
            np.subtract(ranks[rows[pairs[0]], rows[pairs[1]]], (len(pairs[0]) + 1) / 2, out=centred)
            if not np.any(centred):
                raise ValueError("rdm_a is constant, so its rank correlation with another RDM is undefined.")
        return cls(out)


def compare(
    x: np.ndarray, y: np.ndarray, metric: str = "spearman", n_permutations: int = 1000, seed: int = 0
) -> dict[str, object]:
    """RSA between two spaces over the same words: :func:`rdm` of each, then :func:`permutation_test`.

    Parameters
    ----------
    x, y : array, shapes (n_words, dim_x) and (n_words, dim_y)
        Row ``i`` of both is the same word; the widths may differ.
    metric : {"spearman", "correlation", "cosine"}
        Dissimilarity used for both RDMs.
    n_permutations, seed
        As in :func:`permutation_test`.

    Returns
    -------
    dict
        As :func:`permutation_test`: ``"rho"``, ``"p"`` (one-sided), ``"null"``, ``"p_parametric"``.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 2 and y.ndim == 2 and x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x has {x.shape[0]} rows and y has {y.shape[0]}; both need one row per word, for the same words."
        )
    return permutation_test(_rdm(x, metric, "x"), _rdm(y, metric, "y"), n_permutations, seed)
