"""The RSA permutation null: one dot product per permutation and layer, against batches of permutations in one product.

    .venv/bin/python benchmarks/rsa_null.py

Random data of the default book's size (about 1,100 word types) and of
Harry Potter's (1,300 types; 5,176 occurrences), 31 layers (SmolLM2's 30
blocks and embeddings) or 13, 200 permutations, one BLAS thread (as every
cell runs). The per-permutation ``einsum`` is the null as it was computed
before; :func:`helpers.align.rsa.permutation_test_many` batches the
permuted squares into one matrix product. Prints both times, their ratio
and the largest difference between the two nulls.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from helpers.align import rsa


def einsum_null(a_squares, b_square, n_permutations, seed):
    rng = np.random.default_rng(seed)
    dots = np.empty((n_permutations, len(a_squares)))
    for k in range(n_permutations):
        p = rng.permutation(b_square.shape[0])
        dots[k] = 0.5 * np.einsum("mij,ij->m", a_squares, b_square.take(p, axis=0).take(p, axis=1))
    return dots


def main() -> None:
    rng = np.random.default_rng(0)
    for n, layers in ((1100, 31), (1300, 13), (2500, 13)):
        squares = [rsa._square(rsa._centred_ranks(rng.standard_normal(n * (n - 1) // 2), "a"), n) for _ in range(layers)]
        a_squares, b_square = np.stack(squares[1:] + squares[:1]), squares[0]
        with threadpool_limits(1, user_api="blas"):
            start = time.perf_counter()
            old = einsum_null(a_squares, b_square, 200, 0)
            old_s = time.perf_counter() - start
            start = time.perf_counter()
            new = rsa._null_dots(a_squares, b_square, 200, 0)
            new_s = time.perf_counter() - start
        print(f"{n} items, {layers} layers, 200 permutations: einsum {old_s:.2f} s, batched product {new_s:.2f} s "
              f"({old_s / new_s:.1f}x faster); largest relative difference {np.max(np.abs(new - old) / np.abs(old).max()):.1e}")


if __name__ == "__main__":
    main()
