"""Benchmark: decompositions kept by the bytes of their matrix (:class:`helpers.brain.reduction.Decompositions`).

Two places of the default book meet the same matrix again:

* the ridge cells of one model's layers: the brain side (a subject's word
  vectors, reduced to the model's width) is the same in every layer's fit,
  so each inner fold's eigendecomposition and QR factors are too;
* the PCA of one recording at several widths (one per model width), and of
  one model layer's type vectors for every subject (a width-matched table).

At the default book's size (1,770 word occurrences of 645 types, a 384-wide
MiniLM and brain side, 8 penalties, 4 outer x 4 inner folds; a 660 x 2,000
recording reduced to the widths of the default models), on one thread, it
times the fits of 7 layers and the PCAs with the decompositions kept, and
with nothing kept (a fresh store before each), prints the ratio, and checks
that both give the same bits.

    .venv/bin/python benchmarks/kept_decompositions.py
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from helpers.align import ridge_backends
from helpers.align.folds import type_folds
from helpers.align.ridge import Ridge
from helpers.brain import reduction
from helpers.brain.reduction import Decompositions, pca

ALPHAS = np.logspace(-1, 6, 8)


def timed(work, fresh_each: bool):
    """Seconds and results of ``work()`` called for each item, the stores emptied first (and before every
    item when ``fresh_each``)."""
    results, began = [], time.perf_counter()
    for item in work:
        if fresh_each or not results:
            ridge_backends.NUMPY.kept = Decompositions(ridge_backends.KEPT_BYTES)
            reduction.SVDS = Decompositions(reduction.SVDS.limit)
        results.append(item())
    return time.perf_counter() - began, results


def main() -> None:
    rng = np.random.default_rng(0)
    types = rng.integers(0, 645, 1770).astype(str)
    brain = rng.standard_normal((1770, 384)).astype(np.float32)
    layers = [rng.standard_normal((1770, 384)).astype(np.float32) for _ in range(7)]
    train, _ = type_folds(types, 4, 0)[0]
    fits = [lambda y=y: Ridge(alphas=ALPHAS).fit(brain[train], y[train], groups=types[train]).coef_ for y in layers]
    recording = rng.standard_normal((660, 2000)).astype(np.float32)
    widths = [lambda k=k: pca(recording, k) for k in (384, 576, 640, 128, 256, 512)]
    with threadpool_limits(1):
        for what, work in (("ridge, one outer fold of 7 layers", fits), ("PCA of a recording at 6 widths", widths)):
            alone, first = timed(work, fresh_each=True)
            kept, second = timed(work, fresh_each=False)
            same = all(np.array_equal(a, b) for a, b in zip(first, second))
            print(f"{what}: {alone:.2f} s with nothing kept, {kept:.2f} s with the decompositions kept "
                  f"({alone / kept:.1f}x); the same bits: {same}")


if __name__ == "__main__":
    main()
