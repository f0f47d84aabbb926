"""Benchmark: the chapters' kernels with glibc's allocator told to keep freed memory (``helpers.run.book.ALLOCATOR``).

A Procrustes cell makes and frees the same large arrays again and again (a
fold's brain and model rows, the cross-covariance, a cosine matrix). By
default glibc hands large freed blocks back to the system, and the next
array faults fresh pages in, which is system time. This script scores
Procrustes retrieval at the default book's size (1,770 word occurrences of
645 types, 576 wide like SmolLM2, 4 folds over types, 12 layers) in child
processes, one thread each, alternately with the default allocator and with
the book's settings, and prints each run's wall, user and system seconds,
the ratio of the medians, and whether every run gave the same bits.

    .venv/bin/python benchmarks/allocator.py
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

ROUNDS = 3


def child() -> None:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from helpers.align.evaluation import retrieval_scores
    from helpers.align.folds import type_folds
    from helpers.align.procrustes import Procrustes

    rng = np.random.default_rng(0)
    types = rng.integers(0, 645, 1770).astype(str)
    names = np.unique(types)
    brain = rng.standard_normal((1770, 576))
    splits = type_folds(types, 4, 0)
    began, before = time.perf_counter(), os.times()
    digest = hashlib.sha256()
    with threadpool_limits(1):
        for _ in range(12):
            vectors = rng.standard_normal((len(names), 576))
            rows = retrieval_scores(brain, types, names, vectors, Procrustes, splits, ks=(1, 5, 10, 30, 50, 100))
            digest.update(json.dumps(rows).encode())
    after = os.times()  # the scoring's own time, not the imports'
    print(json.dumps({"wall": time.perf_counter() - began, "user": after.user - before.user,
                      "sys": after.system - before.system, "digest": digest.hexdigest()}))


def run(settings: dict, names) -> dict:
    """One child's result, with ``settings`` for the allocator variables ``names`` (none set: glibc's defaults)."""
    env = {key: value for key, value in os.environ.items() if key not in names}
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **settings})
    out = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from helpers.run.book import ALLOCATOR

    runs = {"default allocator": [], "book's settings": []}
    for _ in range(ROUNDS):
        for label, settings in (("default allocator", {}), ("book's settings", ALLOCATOR)):
            result = run(settings, ALLOCATOR)
            runs[label].append(result)
            print(f"{label}: {result['wall']:.1f} s wall, {result['user']:.1f} s user, {result['sys']:.1f} s system")
    default, book = ([r["wall"] for r in runs[k]] for k in runs)
    same = len({r["digest"] for rs in runs.values() for r in rs}) == 1
    print(f"median wall: {statistics.median(default):.1f} s default, {statistics.median(book):.1f} s with the book's "
          f"settings ({statistics.median(default) / statistics.median(book):.2f}x); the same bits: {same}")


if __name__ == "__main__":
    child() if sys.argv[1:] == ["--child"] else main()
