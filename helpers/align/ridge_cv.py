"""The linear algebra of :class:`helpers.align.ridge.Ridge`: every penalty from one decomposition.

With ``X^T X = Q diag(l) Q^T`` (the centred training rows' Gram matrix, in
float64) the ridge solution for a penalty ``a`` is ``B(a) = Q diag(1 / (l +
a)) Q^T X^T Y`` (the primal form, :class:`Moments`); with more features than
rows, the eigendecomposition ``K = U diag(l) U^T`` of the kernel ``K = X
X^T`` gives ``B(a) = X^T U diag(1 / (l + a)) U^T Y`` (the dual form) without
a features x features matrix. :func:`cv_errors` scores every penalty on
every inner fold; :func:`refit_primal` and :func:`refit_dual` refit the
chosen penalties on all training rows. :func:`published_cv_errors` is the
inner cross-validation of the published code of Li et al. (2023), used by
:class:`helpers.align.ridge.PublishedRidge`: uncentred kernel ridge,
unshuffled folds, scored by ``1 - R^2``.

The algorithm is written once, against a backend
(:func:`helpers.align.ridge_backends.get_backend`): the few array operations
it needs, for NumPy with SciPy's LAPACK and BLAS, and for PyTorch tensors on
the CPU or a GPU. Each function takes the backend first (``ops``) and arrays
of that backend; fold labels and the chosen penalties' indices stay NumPy
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 4096  # columns handled at once when centring wide data or scoring many targets


def cv_errors(ops, x, y, kernel, moments, fold, n_folds, alphas) -> np.ndarray:
    """Mean over inner folds of each penalty's mean squared error per target, shape (n_alphas, n_targets).

    Rows are put in fold order (one copy, none if they already are), so that
    every validation set is a contiguous block and every training set the
    rows before and after it: the wide target matrix is never copied per fold.
    In the primal form (``moments`` given) a fold's training side is the
    moments of all rows minus those of its validation rows, so each fold
    costs products over its validation rows only. Returns a NumPy array.
    """
    if np.any(np.diff(fold) < 0):  # encoding_scores passes rows already in fold order
        order = np.argsort(fold, kind="stable")
        fold, y = fold[order], y[ops.index(order)]
        if kernel is not None:
            kernel = ops.take_square(kernel, order)
        else:
            x = x[ops.index(order)]
    bounds = np.searchsorted(fold, np.arange(n_folds + 1))
    alphas = ops.asarray(alphas)
    y_total = ops.sum64(y)
    errors = ops.zeros((len(alphas), y.shape[1]))
    for start, stop in zip(bounds[:-1], bounds[1:]):
        n_train = len(y) - (stop - start)
        y_mean = ops.astype((y_total - ops.sum64(y[start:stop])) / n_train, y.dtype)
        if kernel is None:
            values, basis, z, x_mean = moments.minus(Moments.of(ops, x[start:stop], y[start:stop])).solution(ops)
            shrink, a = 1.0 / (values + alphas[:, None]), (x[start:stop] - x_mean) @ basis
        else:
            basis, shrink, a = _dual_split(ops, kernel, start, stop, alphas)
            # z = basis^T (y_train - y_mean), without a centred copy of y_train
            z = basis[:start].T @ y[:start] + basis[start:].T @ y[stop:]
            z -= ops.outer(basis.sum(axis=0), y_mean)
        errors += _split_errors(ops, a, z, y[start:stop] - y_mean, shrink) / (stop - start)
    return ops.to_numpy(errors / n_folds)


@dataclass(frozen=True)
class Moments:
    """The sums a primal ridge fit needs: ``X^T X`` (float64), ``X^T Y`` (working precision), column sums, rows."""

    n: int
    gram: object
    cross: object
    x_sum: object
    y_sum: object

    @classmethod
    def of(cls, ops, x, y) -> "Moments":
        x64 = ops.astype(x, ops.float64)
        return cls(len(x), x64.T @ x64, x.T @ y, x64.sum(axis=0), ops.sum64(y))

    def minus(self, part: "Moments") -> "Moments":
        """The moments of these rows without the rows of ``part`` (which must be among them)."""
        return Moments(self.n - part.n, self.gram - part.gram, self.cross - part.cross,
                       self.x_sum - part.x_sum, self.y_sum - part.y_sum)

    def solution(self, ops):
        """``(l, Q, Q^T X_c^T Y_c, x_mean)`` with ``Q diag(l) Q^T`` the centred ``X_c^T X_c``.

        The ridge coefficients for a penalty ``a`` are ``Q diag(1 / (l + a)) Q^T X_c^T Y_c``.
        """
        x_mean, y_mean = self.x_sum / self.n, self.y_sum / self.n
        values, q = ops.eigh(self.gram - self.n * ops.outer(x_mean, x_mean), overwrite=True)
        cross = self.cross - ops.astype(self.n * ops.outer(x_mean, y_mean), self.cross.dtype)
        q = ops.astype(q, self.cross.dtype)
        return values, q, q.T @ cross, ops.astype(x_mean, self.cross.dtype)


def published_cv_errors(ops, values, basis, y, n_folds, alphas) -> np.ndarray:
    """Inner cross-validation of the published code: ``1 - R^2`` per penalty and target, summed over folds.

    This is ``cross_val_ridge(..., method="kernel_ridge")`` of Li et al.
    (2023)'s code: the rows are cut into ``n_folds`` contiguous blocks in
    their given order (scikit-learn's ``KFold`` without shuffling,
    :func:`kfold_bounds`); for each block and penalty ``a`` an uncentred
    kernel ridge without intercept, ``W = X_t^T (X_t X_t^T + a I)^-1 Y_t``,
    is fitted on the other rows and predicts the block. Its error per target
    is ``1 - R^2`` with ``R^2 = 1 - MSE / var``: the mean squared error over
    the block's rows over the block's variance with ``n - 1`` in the
    denominator (``torch.var``'s default), and ``R^2`` set to 0 where that is
    NaN and to the largest finite float where it is infinite (``torch.nan_to_num``),
    which only happens for a target constant within a block. The errors are
    summed (not averaged) over the blocks, as the published code does.

    ``values`` and ``basis`` are the eigendecomposition ``K = U diag(l) U^T``
    of the kernel ``X X^T`` of all rows (float64). No block needs a fit of
    its own: with ``M = K + a I``, the residuals of block ``v`` predicted
    from the other rows are ``[(M^-1)_vv]^-1 (M^-1 Y)_v`` (the block form of
    the leave-one-out identity of kernel ridge and Gaussian processes; exact
    because the map has no intercept), and ``M^-1 = U diag(1 / (l + a))
    U^T``, so one decomposition serves every block, penalty and target.
    Returns a NumPy array, shape (n_alphas, n_targets).
    """
    alphas = ops.asarray(alphas)
    bounds = kfold_bounds(len(y), n_folds)
    blocks = list(zip(bounds[:-1], bounds[1:]))
    z = basis.T @ y
    variances = [ops.to_numpy(ops.column_sq_sums(y[start:stop] - y[start:stop].mean(axis=0))) / (stop - start - 1)
                 for start, stop in blocks]
    shrink = 1.0 / (values[None, :] + alphas[:, None])  # (n_alphas, n_rows)
    errors = np.zeros((len(alphas), y.shape[1]))
    for (start, stop), variance in zip(blocks, variances):
        block = ops.contiguous(basis[start:stop])
        rows = block[None] * shrink[:, None, :]  # per penalty, the block's rows of U diag(1 / (l + a))
        residuals = [ops.solve_pos(lhs, rhs) for lhs, rhs in zip(rows @ block.T, rows @ z)]  # one per penalty
        mse = np.stack([ops.to_numpy(ops.column_sq_sums(r, overwrite=True)) for r in residuals]) / (stop - start)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            errors += 1.0 - np.nan_to_num(1.0 - mse / variance)
    return errors


def kfold_bounds(n_rows: int, n_folds: int) -> np.ndarray:
    """Edges of the contiguous blocks scikit-learn's ``KFold(n_folds)`` cuts ``n_rows`` rows into, unshuffled.

    Block ``f`` is rows ``bounds[f]:bounds[f + 1]``; the first ``n_rows % n_folds`` blocks have one row more.
    """
    sizes = np.full(n_folds, n_rows // n_folds)
    sizes[: n_rows % n_folds] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def _dual_split(ops, kernel, start, stop, alphas):
    """Eigendecomposition of the kernel of the training rows (all but ``start:stop``), re-centred on them.

    With ``m`` the mean over training rows, ``(x_i - m) . (x_j - m) = K_ij -
    mean_t K_it - mean_t K_jt + mean_tt K``, so the sub-blocks of one kernel
    serve every inner fold. Returns the eigenvectors ``U``, the shrinkage
    ``1 / (l + a)`` per penalty and eigenvalue, and the validation x training
    kernel times ``U``.
    """
    k_train = _outside(ops, _outside(ops, kernel, start, stop).T, start, stop)
    k_cross = _outside(ops, kernel[start:stop].T, start, stop).T  # validation x training
    row_means = k_train.mean(axis=1)
    grand = row_means.mean()
    k_train -= row_means[:, None]
    k_train -= row_means[None, :] - grand
    k_cross -= k_cross.mean(axis=1, keepdims=True)
    k_cross -= row_means[None, :] - grand
    values, u = ops.eigh(k_train, overwrite=True)
    shrink = 1.0 / (values + alphas[:, None])
    return u, shrink, k_cross @ u


def _split_errors(ops, a, z, y_val, shrink):
    """Summed squared error ``||y_val - a diag(shrink[i]) z||^2`` per penalty ``i`` and target, float64.

    When ``a`` has more rows than columns, ``a = QR`` and the error splits
    into ``||Q^T y_val - R diag(shrink) z||^2`` plus the part of ``y_val``
    outside the span of ``Q``, so each penalty costs one product with the
    triangular ``R`` (BLAS ``trmm`` with NumPy, half the work of a general
    product). Targets are handled a block at a time, in Fortran order so that
    the sums of squares run along contiguous memory.
    """
    triangular = a.shape[0] > a.shape[1]
    if triangular:
        q, a = ops.qr(a)
        y_proj = q.T @ y_val
        outside = ops.column_sq_sums(y_val) - ops.column_sq_sums(y_proj)
        y_val = y_proj
    else:
        outside = ops.zeros(y_val.shape[1])
    scaled = [ops.fortran(a * factor[None, :]) for factor in ops.astype(shrink, a.dtype)]
    errors = ops.empty((len(shrink), y_val.shape[1]))
    for lo in range(0, y_val.shape[1], BLOCK):
        cols = slice(lo, lo + BLOCK)
        z_block, y_block = ops.fortran(z[:, cols]), ops.fortran(y_val[:, cols])
        for i, matrix in enumerate(scaled):
            residual = ops.trmm(matrix, z_block) if triangular else matrix @ z_block
            residual -= y_block
            errors[i, cols] = outside[cols] + ops.column_sq_sums(residual, overwrite=True)
    return errors


# --- the refit on all training rows -------------------------------------------


def refit_primal(ops, moments: Moments, alphas, best):
    """Coefficients for the penalty ``alphas[best[j]]`` of each target ``j``, from the moments of all rows."""
    values, q, z, _ = moments.solution(ops)
    coef = ops.empty(z.shape, dtype=z.dtype)
    for i in np.unique(best):
        cols = ops.index(best == i)
        coef[:, cols] = q @ (ops.astype(1.0 / (values + alphas[i]), z.dtype)[:, None] * z[:, cols])
    return coef


def refit_dual(ops, x, y, kernel, x_mean, y_mean, alphas, best, decomposition=None):
    """Dual coefficients ``(K + aI)^-1 (y - y_mean)``, then ``coef = (x - x_mean)^T dual``.

    One penalty for all targets is a single Cholesky solve (in float64, it is
    cheap); several need the eigendecomposition of the kernel, ``(values,
    vectors)`` of ``ops.eigh(kernel)`` if ``decomposition`` has it already.
    """
    y = y - y_mean
    if np.all(best == best[0]):
        system = ops.astype(kernel, ops.float64)
        ops.add_to_diagonal(system, alphas[best[0]])
        dual = ops.astype(ops.solve_pos(system, y), x.dtype)
    else:
        values, u = decomposition if decomposition is not None else ops.eigh(kernel)
        z = u.T @ y
        dual = ops.empty(y.shape, dtype=y.dtype)
        for i in np.unique(best):
            cols = ops.index(best == i)
            dual[:, cols] = u @ (z[:, cols] / (values + alphas[i])[:, None])
    return x.T @ dual - ops.outer(x_mean, dual.sum(axis=0))


def centred_kernel(ops, x, mean):
    """``(x - mean)(x - mean)^T``, centring a block of columns at a time instead of copying ``x``."""
    kernel = ops.zeros((len(x), len(x)), dtype=x.dtype)
    for lo in range(0, x.shape[1], BLOCK):
        block = x[:, lo : lo + BLOCK] - mean[lo : lo + BLOCK]
        kernel += block @ block.T
    return kernel


def _outside(ops, a, start, stop):
    """The rows of ``a`` outside ``start:stop``, as a new array."""
    return ops.concatenate([a[:start], a[stop:]])

