"""The grid of a scenario: every (model, layer, method, subject, fold) cell as an independent job.

    python -m helpers.run.grid --scenario default                  # in this process
    python -m helpers.run.grid --scenario paper --engine submitit  # a SLURM job array
    python -m helpers.run.grid --scenario paper --engine dask --address tcp://scheduler:8786

A cell is one model layer scored by one method on one subject, and for the
decoders (Procrustes, ridge) on one fold; RSA cells hold every layer of a
model at once, because its permutation test is corrected across layers, and
CKA cells have no folds (no map is fitted). Each cell writes its rows to the
cache (atomically, one writer at a time), so a rerun computes only the cells
that are missing and says how many it skipped; a cell that fails is
reported with its error and the others are kept. The language-model
features are extracted once, before the cells run; every cell reads them,
and the subject's brain vectors, from the cache. The same function runs a
cell in this process (``engine: local``), in a SLURM job array or its local
imitation through submitit, or on a Dask cluster: the analysis code does not
change with the engine.
"""

from __future__ import annotations

import argparse
import traceback
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..align import rsa
from ..lm.vectors import type_means
from . import scenario as S
from . import steps
from .pipeline import cache, lm_features, occurrence_types, recording_key, recordings, require_inputs, smoothing_options
from .tables import cka_row, decode, rsa_rows, subject_brain, word_splits

METHODS, ENGINES = S.GRID_METHODS, S.ENGINES  # the scenario checks its fields against them


@dataclass(frozen=True)
class Cell:
    """One job of the grid; ``layer`` None: every layer (RSA); ``fold`` None: no folds (RSA, CKA)."""

    model: str
    method: str
    subject: str
    layer: int | None = None
    fold: int | None = None

    def label(self) -> str:
        where = "" if self.layer is None else f" layer {self.layer}"
        return f"{self.method} {self.model}{where} subject {self.subject}" + ("" if self.fold is None else f" fold {self.fold}")


@dataclass
class GridResult:
    """The grid's tidy table, and what happened to its cells."""

    table: pd.DataFrame
    computed: int
    skipped: int
    failed: dict[str, str]


def cells(cfg: S.Scenario) -> list[Cell]:
    """Every cell of the scenario's grid (``grid_methods`` x ``models`` x layers x subjects x folds)."""
    subjects = [rec.subject for rec in recordings(cfg)]
    n_folds = len(word_splits(cfg))  # split: runs has one fold per run
    out = []
    for model in cfg.models:
        n_states = lm_features(cfg, model).n_states
        for method in cfg.grid_methods:
            for subject in subjects:
                if method == "rsa":
                    out.append(Cell(model, method, subject))
                elif method == "cka":
                    out += [Cell(model, method, subject, layer) for layer in range(n_states)]
                else:
                    out += [Cell(model, method, subject, layer, fold) for layer in range(n_states) for fold in range(n_folds)]
    return out


def _key(cfg: S.Scenario, cell: Cell) -> dict:
    return steps.key("grid_cell", cfg, cell=asdict(cell), recording=recording_key(cfg, cell.subject),
                     features=lm_features(cfg, cell.model).key, smoothing=smoothing_options(cfg),
                     ridge_alphas=cfg.ridge_alphas if cell.method == "ridge" else None)


def run_cell(cfg: S.Scenario, cell: Cell) -> pd.DataFrame:
    """The rows of one cell, from the cache or computed now (and cached)."""
    return cache(cfg).table("grid_cell", _key(cfg, cell), lambda: _compute(cfg, cell))


def _compute(cfg: S.Scenario, cell: Cell) -> pd.DataFrame:
    feats = lm_features(cfg, cell.model)
    rec = next(r for r in recordings(cfg) if r.subject == cell.subject)
    types = occurrence_types(cfg)
    if cell.method == "rsa":
        model_rdms = [rsa.rdm(v, cfg.rsa_metric) for v in type_means(feats.vectors, types)[1]]
        return pd.DataFrame(rsa_rows(cfg, feats, rec, model_rdms))
    names, layer_vectors = type_means(feats.vectors[cell.layer][None], types)
    if cell.method == "cka":
        return pd.DataFrame([cka_row(cfg, feats, rec, cell.layer, layer_vectors[0])])
    keep = np.ones(len(types), dtype=bool)
    split = [word_splits(cfg)[cell.fold]]
    brain = subject_brain(cfg, rec, feats.vectors.shape[2], split, keep)
    return pd.DataFrame(decode(cfg, feats, rec, brain, cell.layer, names, layer_vectors[0], types, split, cell.method,
                               fold_numbers=[cell.fold]))


def run(cfg: S.Scenario, engine: str | None = None, workers: int | None = None, address: str | None = None,
        progress: bool = True) -> GridResult:
    """Run every missing cell of the grid on ``engine`` (default: the scenario's) and gather the tidy table."""
    engine = engine or cfg.engine
    workers = workers or cfg.workers
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}.")
    require_inputs(cfg)
    every = cells(cfg)  # extracts every model's features once, here, before any worker reads them
    todo = [c for c in every if not cache(cfg).has("grid_cell", _key(cfg, c))]
    if progress:
        print(f"grid of {cfg.name!r}: {len(every)} cells, {len(every) - len(todo)} already computed (skipped), {len(todo)} to run on {engine}")
    failed = _engines[engine](cfg, todo, workers, address, progress)
    done = [c for c in every if c.label() not in failed]
    table = pd.concat([run_cell(cfg, c) for c in done], ignore_index=True) if done else pd.DataFrame()
    for label, error in failed.items():
        print(f"cell failed: {label}\n{error}")
    return GridResult(table, len(todo) - len(failed), len(every) - len(todo), failed)


def _local(cfg, todo, workers, address, progress) -> dict[str, str]:
    failed = {}
    for cell in tqdm(todo, desc="grid cells", disable=not progress or None):
        try:
            run_cell(cfg, cell)
        except Exception:  # a failed cell is reported; the others go on
            failed[cell.label()] = traceback.format_exc()
    return failed


def _submitit(cfg, todo, workers, address, progress) -> dict[str, str]:
    import submitit

    executor = submitit.AutoExecutor(folder=f"{cfg.cache_dir}/submitit/%j", cluster=address)
    executor.update_parameters(timeout_min=24 * 60, slurm_array_parallelism=workers, tasks_per_node=1)
    jobs = executor.map_array(run_cell, [cfg] * len(todo), todo) if todo else []
    failed = {}
    for cell, job in tqdm(list(zip(todo, jobs)), desc="grid cells", disable=not progress or None):
        try:
            job.result()
        except Exception as err:
            failed[cell.label()] = f"{type(err).__name__}: {err}"
    return failed


def _dask(cfg, todo, workers, address, progress) -> dict[str, str]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None if address else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    failed = {}
    with Client(address or cluster) as client:
        futures = {client.submit(run_cell, cfg, cell, pure=False): cell for cell in todo}
        for future in tqdm(as_completed(futures), total=len(futures), desc="grid cells", disable=not progress or None):
            if future.status == "error":
                failed[futures[future].label()] = f"{type(future.exception()).__name__}: {future.exception()}"
    if cluster is not None:
        cluster.close()
    return failed


_engines = {"local": _local, "submitit": _submitit, "dask": _dask}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="default", help="a scenario name in scenarios/ or a path to a .yml file")
    parser.add_argument("--engine", choices=ENGINES, help="where the cells run (default: the scenario's engine)")
    parser.add_argument("--workers", type=int, help="parallel workers or array tasks (default: the scenario's)")
    parser.add_argument("--address", help="submitit: the cluster ('slurm', 'local'; default: detected); dask: the scheduler")
    parser.add_argument("--out", help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    result = run(S.load(args.scenario), args.engine, args.workers, args.address)
    if args.out:
        result.table.to_csv(args.out, index=False)
    print(f"{result.computed} cells computed, {result.skipped} skipped, {len(result.failed)} failed; {len(result.table)} rows")
    if result.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
