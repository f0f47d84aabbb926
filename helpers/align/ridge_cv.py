"""The linear algebra of :class:`helpers.align.ridge.Ridge`: every penalty from one decomposition.

With ``X^T X = Q diag(l) Q^T`` (the centred training rows' Gram matrix, in
float64) the ridge solution for a penalty ``a`` is ``B(a) = Q diag(1 / (l +
a)) Q^T X^T Y`` (the primal form, :class:`Moments`); with more features than
rows, the eigendecomposition ``K = U diag(l) U^T`` of the kernel ``K = X
X^T`` gives ``B(a) = X^T U diag(1 / (l + a)) U^T Y`` (the dual form) without
a features x features matrix. :func:`cv_errors` scores every penalty on
every inner fold; :func:`refit_primal` and :func:`refit_dual` refit the
chosen penalties on all training rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.linalg import blas

BLOCK = 4096  # columns handled at once when centring wide data or scoring many targets


def cv_errors(x, y, kernel, moments, fold, n_folds, alphas) -> np.ndarray:
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
            values, basis, z, x_mean = moments.minus(Moments.of(x[start:stop], y[start:stop])).solution()
            shrink, a = 1.0 / (values + alphas[:, None]), (x[start:stop] - x_mean) @ basis
        else:
            basis, shrink, a = _dual_split(kernel, start, stop, alphas)
            # z = basis^T (y_train - y_mean), without a centred copy of y_train
            z = basis[:start].T @ y[:start] + basis[start:].T @ y[stop:]
            z -= np.outer(basis.sum(axis=0), y_mean)
        errors += _split_errors(a, z, y[start:stop] - y_mean, shrink) / (stop - start)
    return errors / n_folds


@dataclass(frozen=True)
class Moments:
    """The sums a primal ridge fit needs: ``X^T X`` (float64), ``X^T Y`` (working precision), column sums, rows."""

    n: int
    gram: np.ndarray
    cross: np.ndarray
    x_sum: np.ndarray
    y_sum: np.ndarray

    @classmethod
    def of(cls, x, y) -> "Moments":
        x64 = x.astype(np.float64)
        return cls(len(x), x64.T @ x64, x.T @ y, x64.sum(axis=0), y.sum(axis=0, dtype=np.float64))

    def minus(self, part: "Moments") -> "Moments":
        """The moments of these rows without the rows of ``part`` (which must be among them)."""
        return Moments(self.n - part.n, self.gram - part.gram, self.cross - part.cross,
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


def refit_primal(moments: Moments, alphas, best) -> np.ndarray:
    values, q, z, _ = moments.solution()
    coef = np.empty(z.shape, dtype=z.dtype)
    for i in np.unique(best):
        cols = best == i
        coef[:, cols] = q @ ((1.0 / (values + alphas[i])).astype(z.dtype)[:, None] * z[:, cols])
    return coef


def refit_dual(x, y, kernel, x_mean, y_mean, alphas, best) -> np.ndarray:
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


def centred_kernel(x, mean) -> np.ndarray:
    """``(x - mean)(x - mean)^T``, centring a block of columns at a time instead of copying ``x``."""
    kernel = np.zeros((len(x), len(x)), dtype=x.dtype)
    for lo in range(0, x.shape[1], BLOCK):
        block = x[:, lo : lo + BLOCK] - mean[lo : lo + BLOCK]
        kernel += block @ block.T
    return kernel



def _outside(a, start, stop) -> np.ndarray:
    """The rows of ``a`` outside ``start:stop``, as a new array."""
    return np.concatenate([a[:start], a[stop:]])


def _column_sq_sums(a, overwrite: bool = False) -> np.ndarray:
    """Sum of squares per column, float64; a float32 ``a`` is summed in float32 (four times faster)."""
    squares = np.square(a, out=a if overwrite else None)
    return squares.sum(axis=0).astype(np.float64)
