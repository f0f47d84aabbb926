"""The RSA permutation null: one dot product per permutation and layer, against batches of permutations in one product.

    .venv/bin/python benchmarks/rsa_null.py

Random RDMs over about 1,100 word types (the default book's RSA over
types), 1,300 (Harry Potter's) and 2,358 word occurrences (the default
book's RSA over occurrences, the published protocol), 31 layers (SmolLM2's
30 blocks and embeddings) or 13, 200 permutations, one BLAS thread (as every
cell runs). Three nulls, the same numbers: the per-permutation ``einsum``
over square RDMs (as the null was first computed); permuted upper triangles
gathered in double precision through a list of positions, batched into one
matrix product (as it was next); and
:func:`helpers.align.mantel.permutation_test_many`'s, which gathers single
precision (exact for centred ranks) and reads the upper triangle through a
boolean mask. Prints the three times, the ratios and the largest
differences between the nulls.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from helpers.align import mantel, rsa


def einsum_null(a_squares, b_square, n_permutations, seed):
    rng = np.random.default_rng(seed)
    dots = np.empty((n_permutations, len(a_squares)))
    for k in range(n_permutations):
        p = rng.permutation(b_square.shape[0])
        dots[k] = 0.5 * np.einsum("mij,ij->m", a_squares, b_square.take(p, axis=0).take(p, axis=1))
    return dots


def gathered_null(a_ranks, b_square, n_permutations, seed):
    rng = np.random.default_rng(seed)
    n = b_square.shape[0]
    upper = np.flatnonzero(np.triu(np.ones((n, n), dtype=bool), k=1))
    permuted = np.empty((n_permutations, a_ranks.shape[1]))
    for k in range(n_permutations):
        p = rng.permutation(n)
        np.take(b_square.take(p, axis=0).take(p, axis=1), upper, out=permuted[k])
    return permuted @ a_ranks.T


def timed(null, *args):
    start = time.perf_counter()
    out = null(*args)
    return out, time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    for n, layers in ((1100, 31), (1300, 13), (2358, 31)):
        ranks = [rsa._centred_ranks(rng.standard_normal(n * (n - 1) // 2), "a") for _ in range(layers + 1)]
        a_ranks, b_square = np.stack(ranks[1:]), rsa._square(ranks[0], n)
        with threadpool_limits(1, user_api="blas"):
            old, old_s = timed(einsum_null, np.stack([rsa._square(r, n) for r in a_ranks]), b_square, 200, 0)
            before, before_s = timed(gathered_null, a_ranks, b_square, 200, 0)
            new, new_s = timed(mantel._null_dots, a_ranks, b_square, 200, 0)
        print(f"{n} items, {layers} layers, 200 permutations: einsum over squares {old_s:.2f} s, double-precision "
              f"gathers {before_s:.2f} s, single-precision gathers and a mask {new_s:.2f} s ({old_s / new_s:.1f}x and "
              f"{before_s / new_s:.1f}x faster); largest relative difference from the einsum "
              f"{np.max(np.abs(new - old) / np.abs(old).max()):.1e}, from the double-precision gathers "
              f"{np.max(np.abs(new - before)):.1e}")


if __name__ == "__main__":
    main()
