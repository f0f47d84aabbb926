"""How fast the grid runs: cells per second per method, in-process and on an engine's local backend.

    .venv/bin/python benchmarks/grid.py                 # both parts
    .venv/bin/python benchmarks/grid.py --part size     # cells at Harry Potter size only

Part ``engines``: the same cells of a small simulated scenario (one subject,
MiniLM, every layer) run in this process, through submitit's local executor
and on a Dask LocalCluster (fresh caches each, features extracted beforehand
and shared), so the ratio is the engines' overhead per cell.

Part ``size``: one cell of each measure at Harry Potter size (5,176 word
occurrences of about 1,300 types, brain vectors reduced to a 768-d model's
width, the 768-d model; a decoder's cell is its four folds), timed on random
data through the same functions the grid calls; then the projected time of
the paper's grid (14 models, all layers, 8 subjects, Procrustes and ridge
per layer, RSA per model and subject, its cost growing with the model's
number of layers) on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time

import numpy as np

from helpers.align import mantel, rsa
from helpers.align.cka import permuted_cka
from helpers.align.evaluation import retrieval_scores
from helpers.align.folds import type_folds
from helpers.align.procrustes import Procrustes
from helpers.align.ridge import DEFAULT_ALPHAS, Ridge
from helpers.lm.models import REGISTRY
from helpers.run import grid, pipeline
from helpers.run.scenario import Scenario

PAPER_MODELS = [name for name, info in REGISTRY.items() if info.family in ("BERT", "GPT-2", "OPT")]


def engines(workers: int) -> None:
    base = tempfile.mkdtemp()
    cfg = Scenario(n_subjects=1, n_voxels=1000, models=("all-MiniLM-L6-v2",), grid_methods=("procrustes", "cka"),
                   cka_permutations=5, cache_dir=f"{base}/features")
    pipeline.lm_features(cfg, "all-MiniLM-L6-v2")
    n = len(grid.cells(cfg))
    seconds = {}
    for engine in ("local", "submitit", "dask"):
        run = dataclasses.replace(cfg, cache_dir=f"{base}/{engine}")
        shutil.copytree(f"{base}/features/features", f"{base}/{engine}/features")
        start = time.perf_counter()
        grid.run(run, engine=engine, workers=workers, address="local" if engine == "submitit" else None, progress=False)
        seconds[engine] = time.perf_counter() - start
        print(f"{engine:9s}: {n} cells in {seconds[engine]:6.1f} s = {n / seconds[engine]:5.2f} cells/s"
              f" ({seconds[engine] / seconds['local']:.2f}x the in-process time)")
    shutil.rmtree(base)


def size() -> dict[str, float]:
    rng = np.random.default_rng(0)
    n_words, n_types, width, n_layers = 5176, 1300, 768, 13
    types = np.array([f"t{i:04d}" for i in rng.zipf(1.3, n_words) % n_types])
    names = np.unique(types)
    model = rng.standard_normal((len(names), width))
    brain = model[np.searchsorted(names, types)] + 3 * rng.standard_normal((n_words, width))
    splits = type_folds(types, 4, seed=0)
    cost = {}
    for method, make_map in (("procrustes", Procrustes), ("ridge", lambda: Ridge(DEFAULT_ALPHAS))):
        start = time.perf_counter()
        retrieval_scores(brain, types, names, model, make_map, splits)
        cost[method] = time.perf_counter() - start
    brain_types = model + rng.standard_normal(model.shape)
    start = time.perf_counter()
    mantel.permutation_test_many([rsa.rdm(model)] * n_layers, rsa.rdm(brain_types), 200)
    cost["rsa (13 layers)"] = time.perf_counter() - start
    start = time.perf_counter()
    permuted_cka(brain_types, model, 20, seed=0)  # the value and a 20-permutation null
    cost["cka"] = time.perf_counter() - start
    for method, seconds in cost.items():
        print(f"{method:16s}: {seconds:6.2f} s per cell = {1 / seconds:6.2f} cells/s (Harry Potter size, 768-d"
              + (", four folds)" if method in ("procrustes", "ridge") else ")"))
    states = sum(REGISTRY[m].n_layers + 1 for m in PAPER_MODELS)
    decoder_cells = states * 8
    rsa_seconds = 8 * states / n_layers * cost["rsa (13 layers)"]  # every model's RSA cell, per subject, by its layers
    total = decoder_cells * (cost["procrustes"] + cost["ridge"]) + rsa_seconds
    print(f"paper grid: {len(PAPER_MODELS)} models, {states} hidden states, {2 * decoder_cells} decoder cells + "
          f"{8 * len(PAPER_MODELS)} RSA cells: about {total / 3600:.1f} h on this machine at 768-d "
          "(wider models cost more), not counting feature extraction")
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("engines", "size", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.part in ("size", "both"):
        size()
    if args.part in ("engines", "both"):
        engines(args.workers)


if __name__ == "__main__":
    main()
