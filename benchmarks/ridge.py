"""Benchmark: cross-validated ridge in both directions on a Harry-Potter-sized problem.

5,000 words in about 1,300 word types, 30,000 voxels and 768 language-model
dimensions, float32 (one subject of Wehbe et al. 2014 against a BERT-sized
model). Four outer folds over word types (:func:`helpers.align.folds.type_folds`),
ten penalties, four inner folds over the training types. Times

* decoding, brain (30,000) -> model (768), ``Ridge(per_target=False)``: the
  dual form, one kernel per outer fold;
* encoding, model (768) -> every voxel, :func:`helpers.align.ridge.encoding_scores`:
  the primal form, one penalty per voxel.

The synthetic brain is a low-rank linear function of the model vectors in a
tenth of the voxels plus noise everywhere, so both directions have a signal
to find; the scores printed beside the times are a sanity check, not a result.

    python benchmarks/ridge.py [--words 5000] [--types 1300] [--voxels 30000] [--dims 768]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from helpers.align.folds import type_folds
from helpers.align.ridge import Ridge, encoding_scores


def synthetic(n_words: int, n_types: int, n_voxels: int, n_dims: int, seed: int = 0):
    """Word types, model vectors (type vector + context) and brain vectors, all float32."""
    rng = np.random.default_rng(seed)
    types = np.array([f"t{k}" for k in rng.integers(0, n_types, n_words)])
    _, index = np.unique(types, return_inverse=True)
    type_vectors = rng.standard_normal((n_types, n_dims), dtype=np.float32)
    lm = type_vectors[index] + 0.5 * rng.standard_normal((n_words, n_dims), dtype=np.float32)
    signal = n_voxels // 10
    mixing = rng.standard_normal((n_dims, 20), dtype=np.float32) @ rng.standard_normal((20, signal), dtype=np.float32)
    brain = rng.standard_normal((n_words, n_voxels), dtype=np.float32)
    brain[:, :signal] += (lm @ mixing) / np.sqrt(20 * n_dims, dtype=np.float32)
    return types, lm, brain, signal


def decode(brain, lm, types, splits, alphas):
    """Out-of-fold decoding; returns the mean Pearson r over model dimensions and the chosen alphas."""
    prediction = np.zeros_like(lm)
    chosen = []
    for train, test in splits:
        model = Ridge(alphas, inner_folds=4, per_target=False, seed=0).fit(brain[train], lm[train], types[train])
        prediction[test] = model.predict(brain[test])
        chosen.append(model.alpha_)
    a = prediction - prediction.mean(axis=0)
    b = lm - lm.mean(axis=0)
    r = (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return float(r.mean()), chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--types", type=int, default=1300)
    parser.add_argument("--voxels", type=int, default=30000)
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--alphas", type=int, default=10, help="penalties, log-spaced from 1e-2 to 1e5")
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args()

    types, lm, brain, signal = synthetic(args.words, args.types, args.voxels, args.dims)
    alphas = np.logspace(-2, 5, args.alphas)
    splits = type_folds(types, args.folds, seed=0)
    print(
        f"{args.words} words, {len(np.unique(types))} types, brain {brain.shape} ({brain.nbytes / 2**20:.0f} MiB), "
        f"LM {lm.shape}, float32; {args.alphas} penalties, {args.folds} outer x 4 inner folds"
    )

    start = time.perf_counter()
    r_decode, chosen = decode(brain, lm, types, splits, alphas)
    t_decode = time.perf_counter() - start
    print(f"decoding brain -> LM  : {t_decode:7.1f} s   mean r over LM dims {r_decode:.3f}, alpha per fold {chosen}")

    start = time.perf_counter()
    scores = encoding_scores(lm, brain, splits, alphas, inner_folds=4, groups=types, seed=0)
    t_encode = time.perf_counter() - start
    r = scores["r"]
    print(
        f"encoding LM -> voxels : {t_encode:7.1f} s   mean r signal voxels {r[:signal].mean():.3f}, "
        f"noise voxels {r[signal:].mean():.3f}"
    )
    print(f"total                 : {t_decode + t_encode:7.1f} s")


if __name__ == "__main__":
    main()
