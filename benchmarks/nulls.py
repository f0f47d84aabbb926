"""Benchmark: the permutation nulls and the type bootstrap, at the default book's size.

645 word types (the simulated story), a brain side and a model side of 576
dimensions (SmolLM2's width; the brain reduced to it), 20 CKA permutations
(the scenario default), and one Procrustes fold's bootstrap (1,000 draws of
~160 test types, ~600 test occurrences, 3 values of k, 2 retrievals).

* CKA null: :func:`helpers.align.cka.permuted_cka` (the centred Gram
  matrices once, then one gather per permutation) against
  :func:`~helpers.align.cka.linear_cka` of every shuffled copy, as the
  tables computed it before; both give the same null.
* Type bootstrap: weights per type (``helpers.align.evaluation``) against
  the same draws spread over every occurrence; and a fold's draws made once
  for every layer of a 7-layer model against made again for each layer.
* Permutation null of a ranking with ties (a trivial feature's scores tie
  across the top-k boundary): each row's k-th best score as a threshold
  (:func:`helpers.align.retrieval.permutation_chance`) against ranking every
  row twice with ``scipy.stats.rankdata`` (the earlier code); the two give
  the same null to the bit.

    python benchmarks/nulls.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from helpers.align.cka import linear_cka, permuted_cka
from scipy.stats import rankdata

from helpers.align.evaluation import _bootstrap_draws, _type_bootstrap
from helpers.align.retrieval import permutation_chance


def best_of(repeats: int, run) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_types, width, n_permutations = 645, 576, 20
    brain, model = rng.standard_normal((n_types, width)), rng.standard_normal((n_types, width))

    def every_copy():
        shuffle = np.random.default_rng([0, 3])
        return np.array([linear_cka(brain[shuffle.permutation(n_types)], model) for _ in range(n_permutations)])

    slow, slow_null = best_of(args.repeats, every_copy)
    fast, (_, fast_null) = best_of(args.repeats, lambda: permuted_cka(brain, model, n_permutations, [0, 3]))
    assert np.allclose(slow_null, fast_null, atol=1e-12)
    print(f"CKA null, {n_permutations} permutations, {n_types} x {width}: every copy {slow:.3f} s, "
          f"Gram matrices once {fast:.3f} s ({slow / fast:.1f}x)")

    types = rng.integers(0, 160, 600).astype(str)
    hits = [rng.random(600) for _ in range(6)]

    def per_occurrence():  # the draws as the tables spread them before: one weight per occurrence
        names, inverse = np.unique(types, return_inverse=True)
        counts = np.random.default_rng([0, 1]).multinomial(len(names), np.full(len(names), 1 / len(names)), size=1000)
        weights = counts[:, inverse].astype(np.float64)
        weights /= weights.sum(axis=1, keepdims=True)
        return [weights @ h for h in hits]

    def per_type():
        _bootstrap_draws.cache_clear()  # drawn here, not read from the previous repeat
        weights, inverse = _type_bootstrap(types, 1000, [0, 1])
        return [weights @ np.bincount(inverse, h) for h in hits]

    slow, slow_means = best_of(args.repeats, per_occurrence)
    fast, fast_means = best_of(args.repeats, per_type)
    assert np.allclose(slow_means, fast_means, atol=1e-12)
    print(f"type bootstrap, 1,000 draws x 600 occurrences x 6 scores: per occurrence {slow * 1e3:.1f} ms, "
          f"per type {fast * 1e3:.1f} ms ({slow / fast:.1f}x)")

    def every_layer(reuse: bool):
        _bootstrap_draws.cache_clear()
        for _ in range(7):
            if not reuse:
                _bootstrap_draws.cache_clear()
            _type_bootstrap(types, 1000, [0, 1])

    slow, _ = best_of(args.repeats, lambda: every_layer(False))
    fast, _ = best_of(args.repeats, lambda: every_layer(True))
    print(f"type bootstrap of one fold for 7 layers: drawn per layer {slow * 1e3:.1f} ms, "
          f"drawn once {fast * 1e3:.1f} ms ({slow / fast:.1f}x)")

    ks = [1, 5, 10, 30, 50, 100]
    scores = np.round(rng.standard_normal((600, n_types)), 1)  # few distinct values: ties at every k
    correct = rng.integers(0, n_types, 600)

    def ranked():  # the earlier exact path: every row ranked twice
        high = rankdata(scores, method="max", axis=1)
        greater, equal = n_types - high, high - rankdata(scores, method="min", axis=1)
        share = np.bincount(correct, minlength=n_types) / len(correct)
        return {k: float(share @ np.clip((k - greater) / (equal + 1), 0.0, 1.0).mean(axis=0)) for k in ks}

    slow, slow_null = best_of(args.repeats, ranked)
    fast, fast_null = best_of(args.repeats, lambda: permutation_chance(scores, correct, ks))
    assert slow_null == fast_null
    print(f"permutation null with ties, 600 x {n_types} scores, 6 values of k: ranking every row {slow * 1e3:.1f} ms, "
          f"k-th score as threshold {fast * 1e3:.1f} ms ({slow / fast:.1f}x)")


if __name__ == "__main__":
    main()
