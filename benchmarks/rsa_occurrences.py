"""What RSA over word occurrences costs at Harry Potter size, against RSA over word types.

    .venv/bin/python benchmarks/rsa_occurrences.py                      # 200 permutations (the scenario default)
    .venv/bin/python benchmarks/rsa_occurrences.py --permutations 1000

Random data as in ``benchmarks/grid.py``: 5,176 occurrences of about 1,300
types, 768-d brain and model vectors, 13 layers, the spearman metric and
min-max scaling. Times the RDMs and the permutation test of one RSA cell
(every layer of one model, one subject) for both ``rsa_units``: once with
a single permutation (mostly the ranking of the RDMs) and once with
``--permutations``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from helpers.align import mantel, rsa


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--permutations", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_words, n_types, width, n_layers = 5176, 1300, 768, 13
    types = np.array([f"t{i:04d}" for i in rng.zipf(1.3, n_words) % n_types])
    names, rows = np.unique(types, return_inverse=True)
    model = rng.standard_normal((len(names), width))
    brain = model[rows] + 3 * rng.standard_normal((n_words, width))
    brain_types = np.array([brain[rows == r].mean(axis=0) for r in range(len(names))])
    for units, b, items in (("types", brain_types, len(names)), ("occurrences", brain, n_words)):
        brain_rdm, brain_s = timed(lambda: rsa.rdm(b, "spearman", "minmax"))
        one = (lambda: rsa.rdm(model, "spearman", "minmax")) if units == "types" else (
            lambda: rsa.expand(rsa.rdm(model, "spearman", "minmax"), rows))
        model_rdm, model_s = timed(one)
        _, one_s = timed(lambda: mantel.permutation_test_many([model_rdm] * n_layers, brain_rdm, 1))
        _, all_s = timed(lambda: mantel.permutation_test_many([model_rdm] * n_layers, brain_rdm, args.permutations))
        print(f"{units:11s}: {items} items, RDM of {brain_rdm.size:,} entries; brain RDM {brain_s:.2f} s, one layer's "
              f"RDM {model_s:.2f} s; test of {n_layers} layers: {one_s:.1f} s with 1 permutation, {all_s:.1f} s with "
              f"{args.permutations}")

if __name__ == "__main__":
    main()
