"""Representational similarity analysis (RSA) between two spaces over the same words.

Each space (brain vectors, language-model vectors) is summarised by its
representational dissimilarity matrix (RDM): the dissimilarity of every pair
of its ``n`` word vectors. Two spaces are compared by the Spearman rho between
their RDMs' upper triangles (Kriegeskorte et al. 2008; as in Li et al. 2023).
By default the dissimilarity is ``1 - Spearman rho`` between two word vectors
(each vector rank-transformed across its dimensions, then correlation
distance), so only the order of a vector's values matters.

Significance comes from a Mantel-style permutation test: the word labels of
one RDM are shuffled (rows and columns together), which keeps each RDM's
structure and breaks the word-to-word pairing between the two spaces.

The items may be word types or word occurrences (:data:`RSA_UNITS`); an
occurrence takes its type's model vector, so the model RDM over occurrences
is the type RDM repeated (:func:`expand`). Before the RDMs each space may be
min-max scaled per dimension over the items (:data:`RSA_SCALINGS`,
:func:`minmax`), as the published code of Li et al. 2023 does.

RDMs are passed around condensed: the upper triangle without the diagonal,
row by row, length ``n (n - 1) / 2``, the order of
``scipy.spatial.distance.pdist`` and ``squareform``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from scipy.stats import t as student_t

METRICS = ("spearman", "correlation", "cosine")
RSA_UNITS = ("types", "occurrences")  # the items of the RDMs: word types (mean brain vector) or every occurrence
RSA_SCALINGS = ("none", "minmax")  # each space as it is, or min-max scaled per dimension over the items


def check_option(setting: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``; otherwise a ValueError naming ``setting`` and the choices."""
    if value not in choices:
        raise ValueError(f"{setting} must be one of {choices}, got {value!r}.")
    return value


def _rows_named(rows: np.ndarray) -> str:
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"{len(rows)} row(s) ({shown}{more})"


def _check_space(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n_words, dim), got shape {x.shape}; stack one vector per word.")
    if x.shape[0] < 3:
        raise ValueError(
            f"{what} has {x.shape[0]} row(s); an RDM needs at least 3 words for a rank correlation between RDMs."
        )
    if x.shape[1] < 1:
        raise ValueError(f"{what} has width 0; each word needs a vector of at least one value.")
    bad = np.flatnonzero(~np.all(np.isfinite(x), axis=1))
    if bad.size:
        raise ValueError(
            f"{what} has NaN or infinite values in {_rows_named(bad)}; "
            "remove those words from both spaces (or impute the values) first."
        )
    return x


def _check_rows(x: np.ndarray, what: str, metric: str) -> None:
    """Error for the rows on which ``metric`` is undefined: all-zero rows for cosine, constant rows otherwise."""
    if metric == "cosine":
        bad = np.flatnonzero(np.all(x == 0, axis=1))
        problem = "all-zero, so the cosine distance is undefined for them"
    else:
        bad = np.flatnonzero(np.all(x == x[:, :1], axis=1))
        problem = "constant (zero variance), so the correlation distance is undefined for them"
    if bad.size:
        raise ValueError(f"{what} has {_rows_named(bad)} that are {problem}; remove those words from both spaces.")


def _unit_rows(x: np.ndarray, metric: str) -> np.ndarray:
    """Rows scaled to unit norm; centred first unless ``metric`` is cosine."""
    if metric != "cosine":
        x = x - x.mean(axis=1, keepdims=True)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def minmax(x: np.ndarray) -> np.ndarray:
    """Each column of ``x`` scaled to [0, 1] over the rows, a constant column to 0 (as scikit-learn's MinMaxScaler).

    A column's extremes become exactly 0 and 1; MinMaxScaler's ``x * scale + min``
    can miss 1 by one ulp, which breaks the tie of a row that holds the
    maximum of two columns under the spearman metric.
    """
    low, span = x.min(axis=0), np.ptp(x, axis=0)
    return (x - low) / np.where(span == 0, 1.0, span)


def _rdm(x: np.ndarray, metric: str, what: str, scaling: str = "none") -> np.ndarray:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}.")
    x = _check_space(x, what)
    if check_option("rsa_scaling", scaling, RSA_SCALINGS) == "minmax":
        x = minmax(x)
    _check_rows(x, what, metric)
    upper = np.triu_indices(x.shape[0], k=1)
    if metric == "spearman":
        # twice the centred average ranks of each row are integers, so their dot products are exact and
        # pairs of rows with equal rhos get exactly equal dissimilarities (ties that a rank correlation sees)
        doubled = 2 * rankdata(x, axis=1) - (x.shape[1] + 1)
        ss = np.einsum("ij,ij->i", doubled, doubled)
        return 1.0 - (doubled @ doubled.T)[upper] / np.sqrt(ss[upper[0]] * ss[upper[1]])
    unit = _unit_rows(x, metric)
    return 1.0 - (unit @ unit.T)[upper]


def rdm(x: np.ndarray, metric: str = "spearman", scaling: str = "none") -> np.ndarray:
    """Representational dissimilarity matrix of the rows of ``x``, condensed.

    Parameters
    ----------
    x : array, shape (n_words, dim)
        One vector per word; at least 3 words, finite values.
    metric : {"spearman", "correlation", "cosine"}
        ``"spearman"``: 1 - Spearman rho between two word vectors (each row
        rank-transformed, ties averaged, then correlation distance).
        ``"correlation"``: 1 - Pearson r. ``"cosine"``: 1 - cosine similarity.
    scaling : {"none", "minmax"}
        ``"minmax"``: each column of ``x`` first scaled to [0, 1] over the
        rows (:func:`minmax`). Per-column scaling changes the rows, so it
        changes the RDM under every metric.

    Returns
    -------
    array, shape (n_words * (n_words - 1) / 2,)
        Float64 dissimilarities of the pairs ``(i, j)``, ``i < j``, in the
        order of ``scipy.spatial.distance.pdist``.

    Raises
    ------
    ValueError
        For input that is not 2-D, has fewer than 3 rows, holds NaN or inf,
        or has rows for which the metric is undefined (constant rows for the
        correlation metrics, all-zero rows for cosine); the message names
        the rows; for an unknown ``metric`` or ``scaling``.
    """
    return _rdm(x, metric, "x", scaling)


def expand(condensed: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The condensed RDM of items that are copies of the items of ``condensed``: item ``i`` is item ``rows[i]``.

    Entry ``(i, j)`` is the dissimilarity of items ``rows[i]`` and
    ``rows[j]``, and exactly 0 where they are the same item, so that copies
    tie exactly (an RDM of the repeated vectors would give rounding noise).
    """
    rows = np.asarray(rows)
    square = _square(_condensed(condensed, "condensed"), _n_words(np.size(condensed)))
    upper = np.triu_indices(len(rows), k=1)
    return square[rows[upper[0]], rows[upper[1]]]


def _condensed(v: np.ndarray, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{what} must be a condensed RDM (1-D, as returned by rdm()), got shape {v.shape}.")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{what} has NaN or infinite entries; rebuild it from finite word vectors.")
    return v


def _centred_ranks(v: np.ndarray, what: str) -> np.ndarray:
    """Average ranks of ``v`` minus their mean; error if ``v`` is constant."""
    centred = rankdata(v) - (v.size + 1) / 2.0
    if not np.any(centred):
        raise ValueError(f"{what} is constant, so its rank correlation with another RDM is undefined.")
    return centred


def _correlation(dots: np.ndarray | float, ss_a: float, ss_b: float) -> np.ndarray | float:
    # sqrt(ss * ss) == ss exactly in IEEE arithmetic, so identical rankings give exactly 1.0
    return np.clip(dots / np.sqrt(ss_a * ss_b), -1.0, 1.0)


def score(rdm_a: np.ndarray, rdm_b: np.ndarray) -> float:
    """RSA score: Spearman rho between two condensed RDMs.

    Ties get average ranks, as in ``scipy.stats.spearmanr``.

    Raises
    ------
    ValueError
        If the RDMs are not 1-D, differ in length, hold NaN/inf, or one of
        them is constant.
    """
    cb = _ranked(rdm_b, "rdm_b")
    ca = _ranked(rdm_a, "rdm_a", like=cb)
    return float(_correlation(ca @ cb, ca @ ca, cb @ cb))


def _ranked(rdm: np.ndarray, what: str, like: np.ndarray | None = None) -> np.ndarray:
    """The centred ranks of a checked condensed RDM (of the length of ``like``, when given)."""
    v = _condensed(rdm, what)
    if like is not None and v.shape != like.shape:
        raise ValueError(
            f"rdm_a and rdm_b differ in length ({v.size} and {like.size}); both must be built from the same words."
        )
    if v.size < 2:
        raise ValueError(f"RDMs need at least 2 entries for a rank correlation, got {v.size}.")
    return _centred_ranks(v, what)


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


def _n_words(m: int) -> int:
    """Number of words behind a condensed RDM of length ``m``."""
    n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise ValueError(
            f"an RDM of length {m} is not condensed: the length must be n (n - 1) / 2 for a number of words n."
        )
    return n


def _square(condensed: np.ndarray, n: int) -> np.ndarray:
    """Symmetric square form with a zero diagonal."""
    out = np.zeros((n, n))
    upper = np.triu_indices(n, k=1)
    out[upper] = condensed
    return out + out.T


NULL_BATCH_BYTES = 2**28  # permuted squares held at once by the null (256 MiB), at least one


def _null_dots(a_squares: np.ndarray, b_square: np.ndarray, n_permutations: int, seed: int) -> np.ndarray:
    """``sum_{i<j} a_m[i, j] * b[p_i, p_j]`` for each permutation ``p`` and each square ``a_m``, shape (n_permutations, m).

    Permutation ``k`` is the ``k``-th ``rng.permutation(n)`` of one
    ``rng = np.random.default_rng(seed)``. All squares are symmetric with a
    zero diagonal, so the sum is half the sum over all ``(i, j)``. A batch
    of permuted squares ``b[p][:, p]`` (:data:`NULL_BATCH_BYTES`) meets every
    ``a_m`` in one matrix product, not one dot product per permutation and
    square (``benchmarks/rsa_null.py`` measures the two).
    """
    rng = np.random.default_rng(seed)
    n = b_square.shape[0]
    flat = a_squares.reshape(len(a_squares), n * n)
    batch = int(np.clip(NULL_BATCH_BYTES // b_square.nbytes, 1, n_permutations))
    permuted = np.empty((batch, n, n))
    dots = np.empty((n_permutations, len(a_squares)))
    for lo in range(0, n_permutations, batch):
        size = min(batch, n_permutations - lo)
        for j in range(size):
            p = rng.permutation(n)
            np.take(b_square.take(p, axis=0), p, axis=1, out=permuted[j])
        dots[lo : lo + size] = 0.5 * (permuted[:size].reshape(size, n * n) @ flat.T)
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
    dots = _null_dots(family.squares(), _square(cb, _n_words(cb.size)), int(n_permutations), seed)
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

    def squares(self) -> np.ndarray:
        """The ranks as symmetric squares with a zero diagonal, shape (m, n, n)."""
        n = _n_words(self.ranks.shape[1])
        return np.stack([_square(ranks, n) for ranks in self.ranks])


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
