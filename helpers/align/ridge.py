"""Ridge regression with the penalty chosen by grouped cross-validation inside the training data.

Two directions use it. Decoding maps brain vectors (thousands to tens of
thousands of voxels) to language-model vectors (hundreds of dimensions) with
one penalty for all outputs. Encoding maps language-model vectors to every
voxel with one penalty per voxel (:func:`encoding_scores`).

:class:`PublishedRidge` is the published code's decoder (Li et al. 2023):
kernel ridge without intercept, a penalty per output chosen by unshuffled
folds, scored by ``1 - R^2``; ``ridge_protocol`` picks it or :class:`Ridge`.

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
solve either way. This holds on every backend.

Backends: ``backend="numpy"`` (the default) computes with NumPy and SciPy;
``"torch"`` runs the same algorithm (:mod:`helpers.align.ridge_cv`, written
once against the small backend layer of :mod:`helpers.align.ridge_backends`)
on PyTorch tensors on the CPU,
``"torch_cuda"`` on the GPU, and ``"auto"`` picks ``"torch_cuda"`` when
``torch.cuda.is_available()`` and ``"numpy"`` otherwise. Inputs are NumPy
arrays either way (float32 stays float32, float64 stays float64, on the
device); ``coef_``, ``cv_errors_``, ``predict`` and :func:`encoding_scores`
return NumPy arrays. The torch backends agree with NumPy to the working
precision (not bit for bit); PyTorch is imported only when one of them is
chosen. On a GPU, float32 products follow PyTorch's matmul precision
setting: leave ``torch.backends.cuda.matmul.allow_tf32`` off (the default)
for the float32 accuracy stated above.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .folds import group_folds
from .ridge_backends import get_backend
from .ridge_cv import BLOCK, Moments, centred_kernel, cv_errors, published_cv_errors, refit_dual, refit_primal

DEFAULT_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6)  # the book's penalties (scenario field ridge_alphas)
PUBLISHED_ALPHAS = 10.0 ** np.arange(-6, 10)  # the published code's penalties, 1e-6 ... 1e9
# The decoders of the scenario field ridge_protocol: "careful" is Ridge, "published" is PublishedRidge.
RIDGE_PROTOCOLS = ("careful", "published")
LARGE = 2**24  # entries of a float32 input from which the work stays float32


class _LinearMap:
    """What both ridge maps share: ``predict(x) = x @ coef_ + intercept_``, once fitted."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``x @ coef_ + intercept_``, shape (n_rows, n_targets), in the precision of the fit, as a NumPy array."""
        if not hasattr(self, "coef_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(x, y) first.")
        ops = get_backend(self.backend)
        x = _check_matrix(x, "x")
        if x.shape[1] != self.coef_.shape[0]:
            raise ValueError(f"x has {x.shape[1]} features but the model was fitted on {self.coef_.shape[0]}.")
        x = ops.asarray(x.astype(self.coef_.dtype, copy=False))
        return ops.to_numpy(x @ ops.asarray(self.coef_) + ops.asarray(self.intercept_))


class Ridge(_LinearMap):
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
    backend : {"numpy", "torch", "torch_cuda", "auto"}
        Where the arithmetic runs (see the module docstring); the results are
        NumPy arrays either way.

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
        backend: str = "numpy",
    ):
        self.alphas = alphas
        self.inner_folds = inner_folds
        self.per_target = per_target
        self.seed = seed
        self.backend = backend

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> "Ridge":
        """Choose the penalty by inner CV over ``groups``, then refit on all rows."""
        ops = get_backend(self.backend)
        _check_alphas(self.alphas)
        x, y = _check_pair(x, y, "x", "y")
        dtype = _working_dtype(x, y)
        groups = np.arange(len(x)) if groups is None else _check_groups(groups, len(x))
        x, y = ops.asarray(x.astype(dtype, copy=False)), ops.asarray(y.astype(dtype, copy=False))
        self._fit(ops, x, y, groups)
        return self

    def _fit(self, ops, x, y, groups) -> tuple:
        """The fit on backend arrays in the working precision; returns ``(coef, intercept)`` as backend arrays."""
        alphas = _check_alphas(self.alphas)
        fold = group_folds(groups, self.inner_folds, self.seed, "groups (word types)", "inner_folds")
        x_mean = ops.astype(ops.mean64(x), x.dtype)
        y_mean = ops.astype(ops.mean64(y), x.dtype)
        dual = x.shape[1] > x.shape[0]
        kernel = centred_kernel(ops, x, x_mean) if dual else None
        moments = None if dual else Moments.of(ops, x, y)
        errors = cv_errors(ops, x, y, kernel, moments, fold, self.inner_folds, alphas)

        if self.per_target:
            self.cv_errors_ = errors
            best = np.argmin(errors, axis=0)
            self.alpha_ = alphas[best]
        else:
            self.cv_errors_ = errors.sum(axis=1)
            best = np.full(y.shape[1], np.argmin(self.cv_errors_))
            self.alpha_ = float(alphas[best[0]])
        if dual:
            coef = refit_dual(ops, x, y, kernel, x_mean, y_mean, alphas, best)
        else:
            coef = refit_primal(ops, moments, alphas, best)
        intercept = y_mean - x_mean @ coef
        self.x_mean_, self.y_mean_ = ops.to_numpy(x_mean), ops.to_numpy(y_mean)
        self.coef_, self.intercept_ = ops.to_numpy(coef), ops.to_numpy(intercept)
        return coef, intercept


class PublishedRidge(_LinearMap):
    """Kernel ridge as the published code of Li et al. (2023) fits its brain -> model map.

    That code is ``cross_val_ridge(..., method="kernel_ridge")`` of
    ``brain_LMs/utils/ridge_tools_torch.py`` (after Toneva's
    ``ridge_tools.py``). No centring and no intercept: ``W = X^T (X X^T + a
    I)^-1 Y`` and ``predict(x) = x @ W``. Each output dimension gets its own
    penalty ``a``, chosen by an inner ``KFold(n_inner)`` without shuffling
    over the training rows in their given order (contiguous blocks, the
    first ``n % n_inner`` one row longer). For every block and penalty the
    map is fitted on the other rows and predicts the block; its error per
    output is ``1 - R^2``, with ``R^2 = 1 - MSE / var`` over the block's rows
    (the variance with ``n - 1`` in the denominator). The errors are summed
    over the blocks, and each output takes the penalty of its smallest sum
    (the first on a tie). The final map is refitted on all rows, each output
    with its own penalty.

    The computation (:func:`helpers.align.ridge_cv.published_cv_errors`):
    ``X X^T`` and its eigendecomposition, once, give every inner block's
    held-out residuals (no fit per block) and the refit (a Cholesky solve
    when every output chose the same penalty). Always
    float64, unlike the published float32. With fewer features than rows the
    kernel is singular, and the smallest penalties are then as badly
    conditioned here as in any kernel-ridge implementation.

    Parameters
    ----------
    alphas : array-like of positive floats
        Candidate penalties; the published ``10^-6 ... 10^9`` by default.
    n_inner : int
        Inner folds (10 in the published code).
    backend : {"numpy", "torch", "torch_cuda", "auto"}
        Where the arithmetic runs, as for :class:`Ridge`; results are NumPy arrays.

    Attributes
    ----------
    alpha_ : array, shape (n_targets,)
        The chosen penalty of each output dimension.
    coef_ : array, shape (n_features, n_targets)
        ``W``, refitted on all training rows.
    intercept_ : array, shape (n_targets,)
        Zeros: the published map has no intercept.
    cv_errors_ : array, shape (n_alphas, n_targets)
        ``1 - R^2`` summed over the inner blocks, per penalty and output.
    """

    def __init__(
        self,
        alphas: Sequence[float] | np.ndarray = PUBLISHED_ALPHAS,
        n_inner: int = 10,
        backend: str = "numpy",
    ):
        self.alphas = alphas
        self.n_inner = n_inner
        self.backend = backend

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> "PublishedRidge":
        """Choose a penalty per output by the unshuffled inner folds, then refit on all rows.

        ``groups`` is accepted for the retrieval protocol's sake and ignored:
        the published inner folds cut the rows (word occurrences) in order,
        whatever their word types.
        """
        ops = get_backend(self.backend)
        alphas = _check_alphas(self.alphas)
        x, y = _check_pair(x, y, "x", "y")
        if isinstance(self.n_inner, bool) or not isinstance(self.n_inner, (int, np.integer)) or self.n_inner < 2:
            raise ValueError(f"n_inner must be a whole number of at least 2 folds, got {self.n_inner!r}; the published code uses 10.")
        if len(x) < 2 * self.n_inner:
            raise ValueError(
                f"{len(x)} rows are too few for n_inner={self.n_inner}: every inner fold needs at least two rows for its "
                f"variance; pass at least {2 * self.n_inner} rows or a smaller n_inner."
            )
        x, y = ops.asarray(x.astype(np.float64, copy=False)), ops.asarray(y.astype(np.float64, copy=False))
        kernel = x @ x.T
        decomposition = ops.eigh(kernel)
        self.cv_errors_ = published_cv_errors(ops, *decomposition, y, self.n_inner, alphas)
        best = np.argmin(self.cv_errors_, axis=0)
        no_mean_x, no_mean_y = ops.zeros(x.shape[1]), ops.zeros(y.shape[1])
        coef = refit_dual(ops, x, y, kernel, no_mean_x, no_mean_y, alphas, best, decomposition)
        self.alpha_ = alphas[best]
        self.coef_, self.intercept_ = ops.to_numpy(coef), np.zeros(y.shape[1])
        return self


def encoding_scores(
    lm: np.ndarray,
    brain: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    inner_folds: int = 4,
    groups: np.ndarray | None = None,
    seed: int = 0,
    backend: str = "numpy",
) -> dict:
    """Cross-validated encoding of every voxel from language-model vectors.

    For each ``(train, test)`` pair of boolean masks (:mod:`helpers.align.folds`) a
    ``Ridge(per_target=True)`` is fitted on the training rows (its inner CV
    over ``groups[train]``; each row its own group if ``groups`` is None) and
    predicts the test rows. Rows in no test mask are left out of the scores.
    ``backend`` is :class:`Ridge`'s; with a torch backend both arrays go to
    the device once, and the fits, predictions and scores stay there.

    Returns
    -------
    dict
        ``"r"``: Pearson r per voxel between the out-of-fold predictions and
        the data over all tested rows, shape (n_voxels,). ``"r2"``: ``1 -
        SSE / SST`` per voxel over the same rows, with SST around the mean of
        all tested rows (pooled over folds), so a model that only predicts
        each fold's training mean scores a little below 0. Both are NaN for a
        voxel that is constant over the tested rows. ``"alpha"``: the chosen
        penalty per fold and voxel, shape (n_folds, n_voxels). All NumPy arrays.
    """
    ops = get_backend(backend)
    _check_alphas(alphas)
    lm, brain = _check_pair(lm, brain, "lm", "brain")
    n = len(lm)
    if groups is not None:
        groups = _check_groups(groups, n)
    prediction = ops.zeros(brain.shape, dtype=ops.dtype(_working_dtype(lm, brain)))
    lm_all, brain_all = ops.asarray(_floating(lm)), ops.asarray(_floating(brain))
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
        dtype = ops.dtype(_working_dtype(lm, brain, rows=len(rows)))
        index = ops.index(rows[order])
        model = Ridge(alphas, inner_folds, per_target=True, seed=seed, backend=backend)
        coef, intercept = model._fit(
            ops, ops.astype(lm_all[index], dtype, copy=False), ops.astype(brain_all[index], dtype, copy=False), labels[order]
        )
        test_rows = ops.index(test)
        prediction[test_rows] = ops.astype(ops.astype(lm_all[test_rows], coef.dtype, copy=False) @ coef + intercept,
                                           prediction.dtype, copy=False)
        tested |= test
        chosen.append(model.alpha_)
    if not tested.any():
        raise ValueError("no row is in any test mask; pass at least one (train, test) split.")
    r, r2 = _voxel_scores(ops, brain_all, prediction, tested)
    return {"r": r, "r2": r2, "alpha": np.array(chosen)}


# --- small helpers ------------------------------------------------------------


def _voxel_scores(ops, brain, prediction, rows) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r and R^2 per column over ``rows``, a block of columns at a time, in float64.

    ``SSE = sum((d - p)^2)`` comes from the centred sums: ``SST + SPP - 2 SDP +
    n (mean_d - mean_p)^2``. ``brain`` and ``prediction`` are backend arrays,
    ``rows`` a NumPy mask; the results are NumPy arrays.
    """
    r = np.empty(brain.shape[1])
    r2 = np.empty(brain.shape[1])
    every = rows.all()
    mask = ops.index(rows)
    for lo in range(0, brain.shape[1], BLOCK):
        cols = slice(lo, lo + BLOCK)
        data = ops.astype(brain[:, cols] if every else brain[mask, cols], ops.float64)
        pred = ops.astype(prediction[:, cols] if every else prediction[mask, cols], ops.float64)
        gap = data.mean(axis=0) - pred.mean(axis=0)
        data -= data.mean(axis=0)
        pred -= pred.mean(axis=0)
        sst, spp, sdp = (ops.to_numpy(ops.column_dots(a, b)) for a, b in ((data, data), (pred, pred), (data, pred)))
        sse = sst + spp - 2 * sdp + len(data) * ops.to_numpy(gap) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            r[cols] = np.where((sst > 0) & (spp > 0), sdp / np.sqrt(sst * spp), np.nan)
            r2[cols] = np.where(sst > 0, 1.0 - sse / sst, np.nan)
    return r, r2


def _working_dtype(*arrays, rows: int | None = None) -> type:
    """float32 when a float32 input has at least ``LARGE`` entries, float64 otherwise.

    With ``rows``, each array counts as that many of its rows (a training subset).
    """
    if any(a.dtype == np.float32 and (a.size if rows is None else rows * a.shape[1]) >= LARGE for a in arrays):
        return np.float32
    return np.float64


def _floating(a: np.ndarray) -> np.ndarray:
    """``a`` itself if float32 or float64, else a float64 copy (the dtypes the working precision casts between)."""
    return a if a.dtype in (np.dtype(np.float32), np.dtype(np.float64)) else a.astype(np.float64)


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
