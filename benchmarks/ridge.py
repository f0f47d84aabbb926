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

``--backend`` chooses where the arithmetic runs (``numpy``, ``torch`` on the
CPU, ``torch_cuda``, ``auto``); with a backend other than NumPy the NumPy
path runs too (unless ``--skip-numpy``), and the script prints the ratio of
the times and how far the two backends' scores differ. ``--small`` is a
problem several times cheaper (2,400 words, 10,000 voxels, 384 dimensions)
whose training folds still take the float32 path, for quick comparisons. Wall time
is what counts; the CPU time of the process is printed beside it, as a check
on a machine shared with other work.

    python benchmarks/ridge.py [--small] [--backend numpy] [--words 5000] [--types 1300] [--voxels 30000] [--dims 768]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from helpers.align.folds import type_folds
from helpers.align.ridge import Ridge, encoding_scores
from helpers.align.ridge_backends import BACKENDS, get_backend

SMALL = {"words": 2400, "types": 700, "voxels": 10000, "dims": 384}  # training folds just over LARGE: float32


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


def decode(brain, lm, types, splits, alphas, backend="numpy"):
    """Out-of-fold decoding; returns the Pearson r per model dimension and the chosen alphas."""
    prediction = np.zeros_like(lm)
    chosen = []
    for train, test in splits:
        model = Ridge(alphas, inner_folds=4, per_target=False, seed=0, backend=backend)
        model.fit(brain[train], lm[train], types[train])
        prediction[test] = model.predict(brain[test])
        chosen.append(model.alpha_)
    a = prediction - prediction.mean(axis=0)
    b = lm - lm.mean(axis=0)
    r = (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return r, chosen


def timed(function, *args, **kwargs):
    """``(result, wall seconds, CPU seconds of this process)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(backend, types, lm, brain, signal, splits, alphas) -> dict:
    """Time both directions on one backend; prints a line each and returns the times and scores."""
    (r_decode, chosen), wall_d, cpu_d = timed(decode, brain, lm, types, splits, alphas, backend)
    print(f"[{backend:>10}] decoding brain -> LM  : {wall_d:7.1f} s wall ({cpu_d:7.1f} s CPU)   "
          f"mean r over LM dims {r_decode.mean():.3f}, alpha per fold {chosen}")
    scores, wall_e, cpu_e = timed(encoding_scores, lm, brain, splits, alphas, 4, types, 0, backend)
    r = scores["r"]
    print(f"[{backend:>10}] encoding LM -> voxels : {wall_e:7.1f} s wall ({cpu_e:7.1f} s CPU)   "
          f"mean r signal voxels {r[:signal].mean():.3f}, noise voxels {r[signal:].mean():.3f}")
    print(f"[{backend:>10}] total                 : {wall_d + wall_e:7.1f} s wall ({cpu_d + cpu_e:7.1f} s CPU)")
    return {"decode": wall_d, "encode": wall_e, "r_decode": r_decode, "r_encode": r, "alpha": scores["alpha"]}


def warm_up(backend) -> None:
    """One tiny fit, so that a GPU's start-up (context, library handles) is not timed."""
    rng = np.random.default_rng(1)
    Ridge([1.0, 10.0], inner_folds=2, backend=backend).fit(rng.standard_normal((20, 30)), rng.standard_normal((20, 2)))
    Ridge([1.0, 10.0], inner_folds=2, backend=backend).fit(rng.standard_normal((30, 5)), rng.standard_normal((30, 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help=f"a smaller problem: {SMALL} unless given")
    parser.add_argument("--words", type=int)
    parser.add_argument("--types", type=int)
    parser.add_argument("--voxels", type=int)
    parser.add_argument("--dims", type=int)
    parser.add_argument("--alphas", type=int, default=10, help="penalties, log-spaced from 1e-2 to 1e5")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--backend", default="numpy", choices=BACKENDS, help="where the arithmetic runs")
    parser.add_argument("--skip-numpy", action="store_true", help="with another backend, do not also time NumPy")
    args = parser.parse_args()
    size = dict(SMALL) if args.small else {"words": 5000, "types": 1300, "voxels": 30000, "dims": 768}
    size.update({k: getattr(args, k) for k in size if getattr(args, k) is not None})

    backend = get_backend(args.backend).name  # "auto" resolved; a missing GPU stops here, with the reason
    types, lm, brain, signal = synthetic(size["words"], size["types"], size["voxels"], size["dims"])
    alphas = np.logspace(-2, 5, args.alphas)
    splits = type_folds(types, args.folds, seed=0)
    print(
        f"{size['words']} words, {len(np.unique(types))} types, brain {brain.shape} ({brain.nbytes / 2**20:.0f} MiB), "
        f"LM {lm.shape}, float32; {args.alphas} penalties, {args.folds} outer x 4 inner folds; backend {backend}"
    )
    backends = [backend] if backend == "numpy" or args.skip_numpy else ["numpy", backend]
    for name in backends:
        warm_up(name)
    results = {name: run(name, types, lm, brain, signal, splits, alphas) for name in backends}
    if len(results) == 2:
        ours, base = results[backend], results["numpy"]
        for part in ("decode", "encode"):
            print(f"{part}: {backend} / numpy time = {ours[part] / base[part]:.2f}")
        total = (ours["decode"] + ours["encode"]) / (base["decode"] + base["encode"])
        print(f"total : {backend} / numpy time = {total:.2f}")
        print(
            f"largest |r difference| to numpy: decoding {np.abs(ours['r_decode'] - base['r_decode']).max():.1e}, "
            f"encoding {np.nanmax(np.abs(ours['r_encode'] - base['r_encode'])):.1e}; "
            f"same alpha for {np.mean(ours['alpha'] == base['alpha']):.1%} of fold x voxel"
        )


if __name__ == "__main__":
    main()
