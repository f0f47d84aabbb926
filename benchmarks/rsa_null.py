"""The RSA permutation null: one dot product per permutation and layer, against batches of permutations in one product.

    .venv/bin/python benchmarks/rsa_null.py

Random RDMs over about 1,100 word types (the default book's RSA over
types), 1,300 (Harry Potter's) and 2,358 word occurrences (the default
book's RSA over occurrences, the published protocol), 31 layers (SmolLM2's
30 blocks and embeddings) or 13, 200 permutations, one BLAS thread (as every
cell runs). The per-permutation ``einsum`` over square RDMs is the null as
it was computed before; :func:`helpers.align.mantel.permutation_test_many`
batches the permuted upper triangles into one matrix product. Prints both
times, their ratio and the largest difference between the two nulls.
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


def main() -> None:
    rng = np.random.default_rng(0)
    for n, layers in ((1100, 31), (1300, 13), (2358, 31)):
        ranks = [rsa._centred_ranks(rng.standard_normal(n * (n - 1) // 2), "a") for _ in range(layers + 1)]
        a_ranks, b_square = np.stack(ranks[1:]), rsa._square(ranks[0], n)
        with threadpool_limits(1, user_api="blas"):
            start = time.perf_counter()
            old = einsum_null(np.stack([rsa._square(r, n) for r in a_ranks]), b_square, 200, 0)
            old_s = time.perf_counter() - start
            start = time.perf_counter()
            new = mantel._null_dots(a_ranks, b_square, 200, 0)
            new_s = time.perf_counter() - start
        print(f"{n} items, {layers} layers, 200 permutations: einsum over squares {old_s:.2f} s, batched product over "
              f"upper triangles {new_s:.2f} s ({old_s / new_s:.1f}x faster); largest relative difference "
              f"{np.max(np.abs(new - old) / np.abs(old).max()):.1e}")


if __name__ == "__main__":
    main()
