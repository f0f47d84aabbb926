"""The published code's kernel ridge: one fit per inner block, against every block from one eigendecomposition.

    .venv/bin/python benchmarks/published_ridge.py [--rows 1770] [--voxels 2000] [--dims 576]

One outer training fold of the default book's published decoder: 1,770 word
occurrences, 2,000 min-max scaled voxels, 576 model dimensions, the 16
published penalties and 10 unshuffled inner blocks, one BLAS thread (as
every cell runs). ``per block`` is the computation as it was: each inner
block's training kernel decomposed on its own, then every penalty from
that decomposition. :class:`helpers.align.ridge.PublishedRidge` decomposes
the kernel of all rows once and takes each block's held-out residuals from
it. Prints both times, their ratio, and how far the inner errors and the
chosen penalties differ.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from helpers.align.ridge import PUBLISHED_ALPHAS, PublishedRidge
from helpers.align.ridge_cv import kfold_bounds


def per_block_errors(x: np.ndarray, y: np.ndarray, alphas: np.ndarray, n_inner: int) -> np.ndarray:
    """``1 - R^2`` summed over the inner blocks, each block's training kernel decomposed on its own."""
    kernel, errors = x @ x.T, np.zeros((len(alphas), y.shape[1]))
    bounds = kfold_bounds(len(x), n_inner)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        train = np.r_[0:start, stop : len(x)]
        values, u = linalg.eigh(kernel[np.ix_(train, train)], driver="evd")
        a, z = kernel[start:stop][:, train] @ u, u.T @ y[train]
        variance = y[start:stop].var(axis=0, ddof=1)
        for i, alpha in enumerate(alphas):
            mse = ((y[start:stop] - (a / (np.maximum(values, 0) + alpha)) @ z) ** 2).mean(axis=0)
            errors[i] += mse / variance
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1770)
    parser.add_argument("--voxels", type=int, default=2000)
    parser.add_argument("--dims", type=int, default=576)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.rows, args.voxels))
    y = x[:, : args.dims] @ rng.standard_normal((args.dims, args.dims)) / 30 + rng.standard_normal((args.rows, args.dims))
    with threadpool_limits(1, user_api="blas"):
        start = time.perf_counter()
        old = per_block_errors(x, y, PUBLISHED_ALPHAS, 10)
        old_s = time.perf_counter() - start
        start = time.perf_counter()
        model = PublishedRidge().fit(x, y)
        new_s = time.perf_counter() - start
    same = np.mean(PUBLISHED_ALPHAS[old.argmin(axis=0)] == model.alpha_)
    print(f"{args.rows} rows, {args.voxels} voxels, {args.dims} outputs: per block {old_s:.1f} s (inner folds only), "
          f"one decomposition {new_s:.1f} s (inner folds and refit): {old_s / new_s:.1f}x faster; largest relative "
          f"difference of the inner errors {np.max(np.abs(model.cv_errors_ - old) / np.abs(old)):.1e}, "
          f"{same:.1%} of outputs chose the same penalty")


if __name__ == "__main__":
    main()
