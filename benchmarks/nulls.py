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
  the same draws spread over every occurrence.

    python benchmarks/nulls.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from helpers.align.cka import linear_cka, permuted_cka
from helpers.align.evaluation import _type_bootstrap


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
        weights, inverse = _type_bootstrap(types, 1000, [0, 1])
        return [weights @ np.bincount(inverse, h) for h in hits]

    slow, slow_means = best_of(args.repeats, per_occurrence)
    fast, fast_means = best_of(args.repeats, per_type)
    assert np.allclose(slow_means, fast_means, atol=1e-12)
    print(f"type bootstrap, 1,000 draws x 600 occurrences x 6 scores: per occurrence {slow * 1e3:.1f} ms, "
          f"per type {fast * 1e3:.1f} ms ({slow / fast:.1f}x)")


if __name__ == "__main__":
    main()
