"""Ridge regression with the penalty chosen by grouped cross-validation inside the training data.

Two directions use it. Decoding maps brain vectors (thousands to tens of
thousands of voxels) to language-model vectors (hundreds of dimensions) with
one penalty for all outputs. Encoding maps language-model vectors to every
voxel with one penalty per voxel (:func:`encoding_scores`).

All penalties come from one decomposition per data split
(:mod:`helpers.align.ridge_cv`): predictions of held-out rows under every
penalty cost one matrix product per penalty, not one solve. In the primal
form ``X^T X`` and ``X^T Y`` are computed once per fit and each inner fold
subtracts its validation rows' share; in the dual form (more features than
rows) the kernel is computed once per fit, and the inner folds use its
sub-blocks, re-centred on their own training rows.

Inner folds never split a group (a word type): groups are shuffled with a
seed and dealt into folds by :func:`helpers.align.folds.group_folds`, the
rule of the outer type folds.

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

import numpy as np

from .folds import group_folds
from .ridge_cv import BLOCK, Moments, centred_kernel, cv_errors, refit_dual, refit_primal

DEFAULT_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6)  # the book's penalties (scenario field ridge_alphas)
LARGE = 2**24  # entries of a float32 input from which the work stays float32


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
        fold = group_folds(groups, self.inner_folds, self.seed, "groups (word types)", "inner_folds")

        self.x_mean_ = x.mean(axis=0, dtype=np.float64).astype(dtype)
        self.y_mean_ = y.mean(axis=0, dtype=np.float64).astype(dtype)
        dual = x.shape[1] > x.shape[0]
        kernel = centred_kernel(x, self.x_mean_) if dual else None
        moments = None if dual else Moments.of(x, y)
        errors = cv_errors(x, y, kernel, moments, fold, self.inner_folds, alphas)

        if self.per_target:
            self.cv_errors_ = errors
            best = np.argmin(errors, axis=0)
            self.alpha_ = alphas[best]
        else:
            self.cv_errors_ = errors.sum(axis=1)
            best = np.full(y.shape[1], np.argmin(self.cv_errors_))
            self.alpha_ = float(alphas[best[0]])
        if dual:
            self.coef_ = refit_dual(x, y, kernel, self.x_mean_, self.y_mean_, alphas, best)
        else:
            self.coef_ = refit_primal(moments, alphas, best)
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

    For each ``(train, test)`` pair of boolean masks (:mod:`helpers.align.folds`) a
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
        order = np.argsort(group_folds(labels, inner_folds, seed, "groups (word types)", "inner_folds"), kind="stable")
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


# --- small helpers ------------------------------------------------------------


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
