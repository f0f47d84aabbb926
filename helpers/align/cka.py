"""Linear centered kernel alignment (CKA) between two spaces over the same rows.

Kornblith et al. (2019, "Similarity of neural network representations
revisited") compare two representations ``X`` (n, p) and ``Y`` (n, q) of the
same ``n`` items by

    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)

with the columns of both centred. It is the normalised Hilbert-Schmidt
independence criterion of the linear kernels ``K = X X^T`` and ``L = Y
Y^T``: ``tr(K H L H) / sqrt(tr(K H K H) tr(L H L H))`` with ``H = I -
11^T / n``. It lies in [0, 1], is 1 for identical spaces, and is unchanged
by an orthogonal transform or an isotropic scaling of either side (not by a
scaling that stretches some directions more than others). Independent data
do not give exactly 0: with ``n`` rows of ``p`` and ``q`` independent
dimensions it is about ``sqrt(p q) / n``, so compare it with a chance level
(for instance rows shuffled on one side) when ``p`` or ``q`` is not small
next to ``n``.

The same value comes from either the feature-space products (``X^T X``,
``Y^T Y``, ``Y^T X``: about ``n (p + q)^2`` operations) or the sample-space
Gram matrices (``K``, ``L``: about ``n^2 (p + q)``); :func:`linear_cka`
takes the cheaper one, so wide data (thousands of voxels, few words) never
builds a voxels x voxels matrix. Everything runs in float64.
"""

from __future__ import annotations

import numpy as np


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between two spaces over the same rows.

    Parameters
    ----------
    x : array-like, shape (n_rows, p)
        One space, a row per item (word).
    y : array-like, shape (n_rows, q)
        The other space, rows paired with those of ``x``; ``q`` may differ from ``p``.

    Returns
    -------
    float
        ``||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)`` of the column-centred
        spaces, in [0, 1]; symmetric in ``x`` and ``y``.

    Raises
    ------
    ValueError
        If an input is not a 2-D numeric array, the row counts differ or are
        below 2, an input holds NaN or infinite values, or an input is
        constant over the rows (then CKA is undefined).
    """
    x, y = _centred_pair(x, y)
    n, p, q = x.shape[0], x.shape[1], y.shape[1]
    if n * (p + q) < p * p + p * q + q * q:  # sample space: n x n Gram matrices
        k, l = x @ x.T, y @ y.T
        cross = np.vdot(k, l)  # tr(K L) = ||Y^T X||_F^2 (both symmetric)
        norm_x, norm_y = np.linalg.norm(k), np.linalg.norm(l)
    else:  # feature space: p x p, q x q, q x p products
        cross = np.linalg.norm(y.T @ x) ** 2
        norm_x, norm_y = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    return float(cross / (norm_x * norm_y))


def permuted_cka(x: np.ndarray, y: np.ndarray, n_permutations: int, seed) -> tuple[float, np.ndarray]:
    """Linear CKA and its permutation null: the rows of ``x`` shuffled against those of ``y``.

    Shuffling rows leaves each side's column means and Gram norms as they
    are, and turns ``tr(K L)`` into ``sum_ij K[p_i, p_j] L[i, j]``, so the
    centred Gram matrices are computed once and each permutation costs one
    gather and one dot product (not two ``n x n`` Gram products). Permutation
    ``k`` is the ``k``-th ``rng.permutation(n)`` of one
    ``rng = np.random.default_rng(seed)``; entry ``k`` of the null equals
    ``linear_cka(x[p_k], y)``. Returns ``(value, null)``.
    """
    if int(n_permutations) != n_permutations or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations}.")
    x, y = _centred_pair(x, y)
    k, l = x @ x.T, y @ y.T
    norms = np.linalg.norm(k) * np.linalg.norm(l)
    rng = np.random.default_rng(seed)
    null = np.empty(int(n_permutations))
    for i in range(len(null)):
        p = rng.permutation(len(x))
        null[i] = np.vdot(k.take(p, axis=0).take(p, axis=1), l) / norms
    return float(np.vdot(k, l) / norms), null


def _centred_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Both spaces checked, paired row by row, and column-centred, in float64."""
    x, y = _check_space(x, "x"), _check_space(y, "y")
    if len(x) != len(y):
        raise ValueError(
            f"x has {len(x)} rows and y has {len(y)}; CKA compares two spaces over the same items, "
            "so pass them paired row by row."
        )
    return x - x.mean(axis=0), y - y.mean(axis=0)


def _check_space(a, name: str) -> np.ndarray:
    """``a`` as a float64 matrix, or a ValueError that says what is wrong with it."""
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_rows, n_features), got shape {a.shape}; use {name}[:, None] for one feature."
        )
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}.")
    if a.shape[0] < 2:
        raise ValueError(f"{name} has {a.shape[0]} row(s); CKA needs at least 2 rows (items) to centre the columns.")
    if a.shape[1] < 1:
        raise ValueError(f"{name} has no columns; each row needs at least one value.")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop those rows from both spaces (or impute them) first.")
    if np.all(a == a[0]):
        raise ValueError(
            f"{name} is constant over the rows (every row equals the first), so its centred space is zero "
            "and CKA is undefined; check that the rows hold different items' vectors."
        )
    return a
