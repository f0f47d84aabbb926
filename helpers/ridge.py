"""Ridge regression with the penalty chosen by grouped cross-validation inside the training data.

Two directions use it. Decoding maps brain vectors (thousands to tens of
thousands of voxels) to language-model vectors (hundreds of dimensions) with
one penalty for all outputs. Encoding maps language-model vectors to every
voxel with one penalty per voxel (:func:`encoding_scores`).

All penalties come from one decomposition per data split. With
``X^T X = Q diag(l) Q^T`` (the eigendecomposition of the centred training
rows' Gram matrix, in float64) the ridge solution for a penalty ``a`` is
``B(a) = Q diag(1 / (l + a)) Q^T X^T Y``; when there are more features than
rows, the eigendecomposition ``K = U diag(l) U^T`` of the kernel ``K = X X^T``
gives the dual form ``B(a) = X^T U diag(1 / (l + a)) U^T Y`` without ever
forming a features x features matrix. Predictions of held-out rows under
every penalty then cost one matrix product per penalty, not one solve. In the
primal form ``X^T X`` and ``X^T Y`` are computed once per fit and each inner
fold subtracts its validation rows' share; in the dual form the kernel is
computed once per fit, and the inner folds use its sub-blocks, re-centred on
their own training rows.

Inner folds never split a group (a word type): groups are shuffled with a
seed and dealt into folds, as in :func:`helpers.folds.type_folds`.

Precision: everything runs in float64, except when an input is float32 with
at least ``LARGE = 2**24`` entries (64 MiB); then products, decompositions,
the inner-fold error sums and the returned coefficients and predictions stay
float32, which halves both memory and time (the penalty choice and the
predictions agree with float64 to about 1e-5 relative). The kernel of such
data is itself only float32-accurate, so a float64 decomposition of it would
buy little. The single-penalty refit in the dual form is a float64 Cholesky
solve either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.linalg import blas

DEFAULT_ALPHAS = np.logspace(-2, 5, 10)
LARGE = 2**24  # entries of a float32 input from which the work stays float32
BLOCK = 4096  # columns handled at once when centring wide data or scoring many targets


def inner_folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Inner fold (``0 .. n_folds - 1``) of every row; all rows of a group share a fold.

    The distinct groups are shuffled with ``seed`` and dealt round-robin into
    the folds, so fold sizes are balanced in groups, not in rows.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be 1-D (one label per row), got shape {groups.shape}.")
    if n_folds < 2:
        raise ValueError(f"inner_folds must be at least 2, got {n_folds}.")
    unique, inverse = np.unique(groups, return_inverse=True)
    if len(unique) < n_folds:
        raise ValueError(
            f"only {len(unique)} groups for {n_folds} inner folds; use fewer inner_folds or more groups (word types)."
        )
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of_group = np.empty(len(unique), dtype=np.int64)
    fold_of_group[order] = np.arange(len(unique)) % n_folds
    return fold_of_group[inverse.ravel()]


_inner_folds = inner_folds  # for encoding_scores, whose argument of that name hides the function


class Ridge:
    """Multi-output ridge regression with the penalty chosen by inner grouped CV.

    Parameters
    ----------
    alphas : array-like of positive floats
        Candidate penalties.
    inner_folds : int
        Folds of the cross-validation inside the training data.
    per_target : bool
        One penalty for all targets (False) or one per target column (True).
    seed : int
        Shuffles the groups into inner folds.

    Attributes
    ----------
    alpha_ : float or array, shape (n_targets,)
        The chosen penalty (per target if ``per_target``).
    coef_ : array, shape (n_features, n_targets)
        Coefficients of the centred problem, refitted on all training rows.
    intercept_ : array, shape (n_targets,)
        ``y_mean_ - x_mean_ @ coef_``; ``predict(x)`` is ``x @ coef_ + intercept_``.
    x_mean_, y_mean_ : arrays
        Training means.
    cv_errors_ : array, shape (n_alphas,) or (n_alphas, n_targets)
        Mean over inner folds of the mean squared error over a fold's rows,
        summed over targets (``per_target=False``) or per target.
    """

    def __init__(
        self,
        alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
        inner_folds: int = 4,
        per_target: bool = False,
        seed: int = 0,
    ):
        self.alphas = alphas
        self.inner_folds = inner_folds
        self.per_target = per_target
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> "Ridge":
        """Choose the penalty by inner CV over ``groups``, then refit on all rows."""
        alphas = _check_alphas(self.alphas)
        x, y = _check_pair(x, y, "x", "y")
        dtype = _working_dtype(x, y)
        x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
        groups = np.arange(len(x)) if groups is None else _check_groups(groups, len(x))
        fold = inner_folds(groups, self.inner_folds, self.seed)

        self.x_mean_ = x.mean(axis=0, dtype=np.float64).astype(dtype)
        self.y_mean_ = y.mean(axis=0, dtype=np.float64).astype(dtype)
        dual = x.shape[1] > x.shape[0]
        kernel = _centred_kernel(x, self.x_mean_) if dual else None
        moments = None if dual else _Moments.of(x, y)
        errors = _cv_errors(x, y, kernel, moments, fold, self.inner_folds, alphas)

        if self.per_target:
            self.cv_errors_ = errors
            best = np.argmin(errors, axis=0)
            self.alpha_ = alphas[best]
        else:
            self.cv_errors_ = errors.sum(axis=1)
            best = np.full(y.shape[1], np.argmin(self.cv_errors_))
            self.alpha_ = float(alphas[best[0]])
        if dual:
            self.coef_ = _refit_dual(x, y, kernel, self.x_mean_, self.y_mean_, alphas, best)
        else:
            self.coef_ = _refit_primal(moments, alphas, best)
        self.intercept_ = self.y_mean_ - self.x_mean_ @ self.coef_
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``x @ coef_ + intercept_``, shape (n_rows, n_targets), in the precision of the fit."""
        if not hasattr(self, "coef_"):
            raise ValueError("this Ridge is not fitted yet; call fit(x, y) first.")
        x = _check_matrix(x, "x")
        if x.shape[1] != self.coef_.shape[0]:
            raise ValueError(f"x has {x.shape[1]} features but the model was fitted on {self.coef_.shape[0]}.")
        return x.astype(self.coef_.dtype, copy=False) @ self.coef_ + self.intercept_


def encoding_scores(
    lm: np.ndarray,
    brain: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    inner_folds: int = 4,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> dict:
    """Cross-validated encoding of every voxel from language-model vectors.

    For each ``(train, test)`` pair of boolean masks (:mod:`helpers.folds`) a
    ``Ridge(per_target=True)`` is fitted on the training rows (its inner CV
    over ``groups[train]``; each row its own group if ``groups`` is None) and
    predicts the test rows. Rows in no test mask are left out of the scores.

    Returns
    -------
    dict
        ``"r"``: Pearson r per voxel between the out-of-fold predictions and
        the data over all tested rows, shape (n_voxels,). ``"r2"``: ``1 -
        SSE / SST`` per voxel over the same rows, with SST around the mean of
        all tested rows (pooled over folds), so a model that only predicts
        each fold's training mean scores a little below 0. Both are NaN for a
        voxel that is constant over the tested rows. ``"alpha"``: the chosen
        penalty per fold and voxel, shape (n_folds, n_voxels).
    """
    lm, brain = _check_pair(lm, brain, "lm", "brain")
    n = len(lm)
    if groups is not None:
        groups = _check_groups(groups, n)
    prediction = np.zeros(brain.shape, dtype=_working_dtype(lm, brain))
    tested = np.zeros(n, dtype=bool)
    chosen = []
    for fold, (train, test) in enumerate(splits):
        train, test = _check_masks(train, test, n, fold)
        if np.any(tested & test):
            raise ValueError(f"fold {fold} tests rows already tested in an earlier fold; test masks must not overlap.")
        rows = np.flatnonzero(train)
        labels = np.arange(len(rows)) if groups is None else groups[rows]  # Ridge's default: each row its own group
        order = np.argsort(_inner_folds(labels, inner_folds, seed), kind="stable")
        # rows in inner-fold order: the same fit, without a second copy of the wide brain array
        model = Ridge(alphas, inner_folds, per_target=True, seed=seed)
        model.fit(lm[rows[order]], brain[rows[order]], labels[order])
        prediction[test] = model.predict(lm[test])
        tested |= test
        chosen.append(model.alpha_)
    if not tested.any():
        raise ValueError("no row is in any test mask; pass at least one (train, test) split.")
    r, r2 = _voxel_scores(brain, prediction, tested)
    return {"r": r, "r2": r2, "alpha": np.array(chosen)}


# --- the inner cross-validation -------------------------------------------------


def _cv_errors(x, y, kernel, moments, fold, n_folds, alphas) -> np.ndarray:
    """Mean over inner folds of each penalty's mean squared error per target, shape (n_alphas, n_targets).

    Rows are put in fold order (one copy, none if they already are), so that
    every validation set is a contiguous block and every training set the
    rows before and after it: the wide target matrix is never copied per fold.
    In the primal form (``moments`` given) a fold's training side is the
    moments of all rows minus those of its validation rows, so each fold
    costs products over its validation rows only.
    """
    if np.any(np.diff(fold) < 0):  # encoding_scores passes rows already in fold order
        order = np.argsort(fold, kind="stable")
        fold, y = fold[order], y[order]
        if kernel is not None:
            kernel = kernel[np.ix_(order, order)]
        else:
            x = x[order]
    bounds = np.searchsorted(fold, np.arange(n_folds + 1))
    y_total = y.sum(axis=0, dtype=np.float64)
    errors = np.zeros((len(alphas), y.shape[1]))
    for start, stop in zip(bounds[:-1], bounds[1:]):
        n_train = len(y) - (stop - start)
        y_mean = ((y_total - y[start:stop].sum(axis=0, dtype=np.float64)) / n_train).astype(y.dtype)
        if kernel is None:
            values, basis, z, x_mean = moments.minus(_Moments.of(x[start:stop], y[start:stop])).solution()
            shrink, a = 1.0 / (values + alphas[:, None]), (x[start:stop] - x_mean) @ basis
        else:
            basis, shrink, a = _dual_split(kernel, start, stop, alphas)
            # z = basis^T (y_train - y_mean), without a centred copy of y_train
            z = basis[:start].T @ y[:start] + basis[start:].T @ y[stop:]
            z -= np.outer(basis.sum(axis=0), y_mean)
        errors += _split_errors(a, z, y[start:stop] - y_mean, shrink) / (stop - start)
    return errors / n_folds


@dataclass(frozen=True)
class _Moments:
    """The sums a primal ridge fit needs: ``X^T X`` (float64), ``X^T Y`` (working precision), column sums, rows."""

    n: int
    gram: np.ndarray
    cross: np.ndarray
    x_sum: np.ndarray
    y_sum: np.ndarray

    @classmethod
    def of(cls, x, y) -> "_Moments":
        x64 = x.astype(np.float64)
        return cls(len(x), x64.T @ x64, x.T @ y, x64.sum(axis=0), y.sum(axis=0, dtype=np.float64))

    def minus(self, part: "_Moments") -> "_Moments":
        """The moments of these rows without the rows of ``part`` (which must be among them)."""
        return _Moments(self.n - part.n, self.gram - part.gram, self.cross - part.cross,
                        self.x_sum - part.x_sum, self.y_sum - part.y_sum)

    def solution(self):
        """``(l, Q, Q^T X_c^T Y_c, x_mean)`` with ``Q diag(l) Q^T`` the centred ``X_c^T X_c``.

        The ridge coefficients for a penalty ``a`` are ``Q diag(1 / (l + a)) Q^T X_c^T Y_c``.
        """
        x_mean, y_mean = self.x_sum / self.n, self.y_sum / self.n
        values, q = linalg.eigh(self.gram - self.n * np.outer(x_mean, x_mean), overwrite_a=True, check_finite=False, driver="evd")
        cross = self.cross - (self.n * np.outer(x_mean, y_mean)).astype(self.cross.dtype)
        q = q.astype(self.cross.dtype)
        return np.maximum(values, 0.0), q, q.T @ cross, x_mean.astype(self.cross.dtype)


def _dual_split(kernel, start, stop, alphas):
    """Eigendecomposition of the training kernel re-centred on the training rows.

    With ``m`` the mean over training rows, ``(x_i - m) . (x_j - m) = K_ij -
    mean_t K_it - mean_t K_jt + mean_tt K``, so the sub-blocks of one kernel
    serve every inner fold.
    """
    k_train = _outside(_outside(kernel, start, stop).T, start, stop)
    k_cross = _outside(kernel[start:stop].T, start, stop).T  # validation x training
    row_means = k_train.mean(axis=1)
    grand = row_means.mean()
    k_train -= row_means[:, None]
    k_train -= row_means[None, :] - grand
    k_cross -= k_cross.mean(axis=1, keepdims=True)
    k_cross -= row_means[None, :] - grand
    values, u = linalg.eigh(k_train, overwrite_a=True, check_finite=False, driver="evd")
    values = np.maximum(values, 0.0)
    shrink = 1.0 / (values + alphas[:, None])
    return u, shrink, k_cross @ u


def _split_errors(a, z, y_val, shrink) -> np.ndarray:
    """Summed squared error ``||y_val - a diag(shrink[i]) z||^2`` per penalty ``i`` and target, float64.

    When ``a`` has more rows than columns, ``a = QR`` and the error splits
    into ``||Q^T y_val - R diag(shrink) z||^2`` plus the part of ``y_val``
    outside the span of ``Q``, so each penalty costs one product with the
    triangular ``R`` (BLAS ``trmm``, half the work of a general product).
    Targets are handled a block at a time, in Fortran order so that the sums
    of squares run along contiguous memory.
    """
    triangular = a.shape[0] > a.shape[1]
    if triangular:
        q, a = linalg.qr(a, mode="economic", check_finite=False)
        y_proj = q.T @ y_val
        outside = _column_sq_sums(y_val) - _column_sq_sums(y_proj)
        y_val = y_proj
    else:
        outside = np.zeros(y_val.shape[1])
    trmm = blas.strmm if a.dtype == np.float32 else blas.dtrmm
    scaled = [np.asfortranarray(a * factor[None, :]) for factor in shrink.astype(a.dtype)]
    errors = np.empty((len(shrink), y_val.shape[1]))
    for lo in range(0, y_val.shape[1], BLOCK):
        cols = slice(lo, lo + BLOCK)
        z_block, y_block = np.asfortranarray(z[:, cols]), np.asfortranarray(y_val[:, cols])
        for i, matrix in enumerate(scaled):
            residual = trmm(1.0, matrix, z_block) if triangular else matrix @ z_block
            residual -= y_block
            errors[i, cols] = outside[cols] + _column_sq_sums(residual, overwrite=True)
    return errors


# --- the refit on all training rows -------------------------------------------


def _refit_primal(moments: _Moments, alphas, best) -> np.ndarray:
    values, q, z, _ = moments.solution()
    coef = np.empty(z.shape, dtype=z.dtype)
    for i in np.unique(best):
        cols = best == i
        coef[:, cols] = q @ ((1.0 / (values + alphas[i])).astype(z.dtype)[:, None] * z[:, cols])
    return coef


def _refit_dual(x, y, kernel, x_mean, y_mean, alphas, best) -> np.ndarray:
    """Dual coefficients ``(K + aI)^-1 (y - y_mean)``, then ``coef = (x - x_mean)^T dual``.

    One penalty for all targets is a single Cholesky solve (in float64, it is
    cheap); several need the eigendecomposition of the kernel.
    """
    y = y - y_mean
    if np.all(best == best[0]):
        system = kernel.astype(np.float64)
        system[np.diag_indices_from(system)] += alphas[best[0]]
        dual = linalg.solve(system, y, assume_a="pos", overwrite_a=True, check_finite=False).astype(x.dtype)
    else:
        values, u = linalg.eigh(kernel, check_finite=False, driver="evd")
        z = u.T @ y
        dual = np.empty_like(y)
        for i in np.unique(best):
            cols = best == i
            dual[:, cols] = u @ (z[:, cols] / (np.maximum(values, 0.0) + alphas[i])[:, None])
    return x.T @ dual - np.outer(x_mean, dual.sum(axis=0))


def _centred_kernel(x, mean) -> np.ndarray:
    """``(x - mean)(x - mean)^T``, centring a block of columns at a time instead of copying ``x``."""
    kernel = np.zeros((len(x), len(x)), dtype=x.dtype)
    for lo in range(0, x.shape[1], BLOCK):
        block = x[:, lo : lo + BLOCK] - mean[lo : lo + BLOCK]
        kernel += block @ block.T
    return kernel


# --- small helpers ------------------------------------------------------------


def _outside(a, start, stop) -> np.ndarray:
    """The rows of ``a`` outside ``start:stop``, as a new array."""
    return np.concatenate([a[:start], a[stop:]])


def _column_sq_sums(a, overwrite: bool = False) -> np.ndarray:
    """Sum of squares per column, float64; a float32 ``a`` is summed in float32 (four times faster)."""
    squares = np.square(a, out=a if overwrite else None)
    return squares.sum(axis=0).astype(np.float64)


def _voxel_scores(brain, prediction, rows) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r and R^2 per column over ``rows``, a block of columns at a time, in float64.

    ``SSE = sum((d - p)^2)`` comes from the centred sums: ``SST + SPP - 2 SDP +
    n (mean_d - mean_p)^2``.
    """
    r = np.empty(brain.shape[1])
    r2 = np.empty(brain.shape[1])
    every = rows.all()
    for lo in range(0, brain.shape[1], BLOCK):
        cols = slice(lo, lo + BLOCK)
        data = (brain[:, cols] if every else brain[rows, cols]).astype(np.float64)
        pred = (prediction[:, cols] if every else prediction[rows, cols]).astype(np.float64)
        gap = data.mean(axis=0) - pred.mean(axis=0)
        data -= data.mean(axis=0)
        pred -= pred.mean(axis=0)
        sst = np.einsum("ij,ij->j", data, data)
        spp = np.einsum("ij,ij->j", pred, pred)
        sdp = np.einsum("ij,ij->j", data, pred)
        sse = sst + spp - 2 * sdp + len(data) * gap**2
        with np.errstate(divide="ignore", invalid="ignore"):
            r[cols] = np.where((sst > 0) & (spp > 0), sdp / np.sqrt(sst * spp), np.nan)
            r2[cols] = np.where(sst > 0, 1.0 - sse / sst, np.nan)
    return r, r2


def _working_dtype(*arrays) -> type:
    """float32 when a float32 input has at least ``LARGE`` entries, float64 otherwise."""
    if any(a.dtype == np.float32 and a.size >= LARGE for a in arrays):
        return np.float32
    return np.float64


def _check_matrix(a, name) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_columns), got shape {a.shape}; use {name}[:, None] for one column.")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}.")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop or impute those rows first.")
    return a


def _check_pair(x, y, x_name, y_name) -> tuple[np.ndarray, np.ndarray]:
    x, y = _check_matrix(x, x_name), _check_matrix(y, y_name)
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} rows and {y_name} has {len(y)}; they must be paired row by row.")
    return x, y


def _check_alphas(alphas) -> np.ndarray:
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or len(alphas) == 0:
        raise ValueError(f"alphas must be a non-empty 1-D list of penalties, got shape {alphas.shape}.")
    if not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(f"alphas must all be positive and finite, got {alphas}; use e.g. np.logspace(-2, 5, 10).")
    return alphas


def _check_groups(groups, n) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must hold one label per row ({n}), got shape {groups.shape}.")
    return groups


def _check_masks(train, test, n, fold) -> tuple[np.ndarray, np.ndarray]:
    train, test = np.asarray(train), np.asarray(test)
    if train.dtype != bool or test.dtype != bool or train.shape != (n,) or test.shape != (n,):
        raise ValueError(f"fold {fold}: split masks must be boolean arrays with one entry per row ({n}).")
    if np.any(train & test):
        raise ValueError(f"fold {fold}: some rows are in both the training and the test mask.")
    return train, test
