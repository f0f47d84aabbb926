"""The grid of a scenario: every cell (:mod:`helpers.run.cells`) as an independent job.

    python -m helpers.run.grid --scenario default                  # in this process
    python -m helpers.run.grid --scenario paper --engine submitit  # a SLURM job array
    python -m helpers.run.grid --scenario paper --engine dask --address tcp://scheduler:8786

A cell is one model layer scored by one measure on one subject (every fold
of its split); a measure whose result covers every layer at once (RSA, whose
test is corrected across layers) has one cell per model and subject. Each
cell writes its rows to the cache (atomically, one writer at a time), so a
rerun computes only the cells that are missing and says how many it
skipped; a cell that fails is reported with its error and the others are
kept. The chapters' tables read the same cells, so what the grid computed
a chapter never computes again. The language-model features are extracted
once, before the cells run; every cell reads them, and the subject's brain
vectors, from the cache. The same function runs a cell in this process
(``engine: local``), in a SLURM job array or its local imitation through
submitit, or on a Dask cluster: the analysis code does not change with the
engine.
"""

from __future__ import annotations

import argparse
import traceback
from dataclasses import dataclass

import pandas as pd
from tqdm import tqdm

from . import cells as C
from . import scenario as S
from .cells import Cell
from .pipeline import cache, require_inputs

ENGINES = S.ENGINES  # the scenario checks its field against them


@dataclass
class GridResult:
    """The grid's tidy table, and what happened to its cells."""

    table: pd.DataFrame
    computed: int
    skipped: int
    failed: dict[str, str]


def cells(cfg: S.Scenario) -> list[Cell]:
    """Every cell of the scenario's grid (``grid_methods`` x ``models`` x subjects x layers)."""
    return C.cells(cfg)


def run_cell(cfg: S.Scenario, cell: Cell) -> pd.DataFrame:
    """The rows of one cell, from the cache or computed now (and cached)."""
    return C.rows(cfg, cell)


def run(cfg: S.Scenario, engine: str | None = None, workers: int | None = None, address: str | None = None,
        progress: bool = True) -> GridResult:
    """Run every missing cell of the grid on ``engine`` (default: the scenario's) and gather the tidy table."""
    engine = engine or cfg.engine
    workers = workers or cfg.workers
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}.")
    require_inputs(cfg)
    every = cells(cfg)  # extracts every model's features once, here, before any worker reads them
    todo = [c for c in every if not cache(cfg).has("cell", C.key(cfg, c))]
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
