"""Representational similarity analysis (RSA) between two spaces over the same words.

Each space (brain vectors, language-model vectors) is summarised by its
representational dissimilarity matrix (RDM): the dissimilarity of every pair
of its ``n`` word vectors. Two spaces are compared by the Spearman rho between
their RDMs' upper triangles (Kriegeskorte et al. 2008; as in Li et al. 2023).
By default the dissimilarity is ``1 - Spearman rho`` between two word vectors
(each vector rank-transformed across its dimensions, then correlation
distance), so only the order of a vector's values matters.

Significance comes from a Mantel permutation test (:mod:`helpers.align.mantel`).

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

import numpy as np
from scipy.stats import rankdata

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
