"""The grid of a scenario: every cell (:mod:`helpers.run.cells`) as an independent job.

    python -m helpers.run.grid --scenario default                  # in this process
    python -m helpers.run.grid --scenario smoke --set snr=2 --out grid.csv
    python -m helpers.run.grid --scenario paper --engine submitit  # a SLURM job array
    python -m helpers.run.grid --scenario paper --engine dask --address tcp://scheduler:8786

A cell is one model layer scored by one measure on one subject (every fold
of its split); a measure whose result covers every layer at once (RSA, whose
test is corrected across layers) has one cell per model and subject. Each
cell writes its rows to the cache (atomically, one writer at a time), so a
rerun computes only the cells that are missing; it says how many cells it
computed, how many it read and how many another process made meanwhile. A
cell that fails is reported in one line (with ``--debug``, its traceback)
and the others are kept. The chapters' tables read the same cells, so what the grid computed
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

from ..align import measures as MS
from . import cells as C
from . import scenario as S
from .cells import Cell
from .pipeline import cache, require_inputs

ENGINES = S.ENGINES  # the scenario checks its field against them


@dataclass
class GridResult:
    """The grid's tidy table, and what happened to its cells."""

    table: pd.DataFrame
    computed: int  # by this run
    read: int  # in the cache before the run
    by_others: int  # missing when the run began, then made by another process that shares the cache
    failed: dict[str, str]  # a cell's label: its error


def cells(cfg: S.Scenario) -> list[Cell]:
    """Every cell of the scenario's grid (``grid_methods`` x ``models`` x subjects x layers)."""
    return C.cells(cfg)


def run_cell(cfg: S.Scenario, cell: Cell) -> bool:
    """Make one cell if it is missing; whether this call computed it (False: another process had)."""
    return C.make(cfg, cell)


def run(cfg: S.Scenario, engine: str | None = None, workers: int | None = None, address: str | None = None,
        progress: bool = True, debug: bool = False) -> GridResult:
    """Run every missing cell of the grid on ``engine`` (default: the scenario's) and gather the tidy table.

    A failed cell's error is kept as one line, or with ``debug`` (local
    engine) as its traceback.
    """
    engine = engine or cfg.engine
    workers = workers or cfg.workers
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}.")
    require_inputs(cfg)
    if any(MS.get(name).fits_map for name in cfg.grid_methods):
        C.check_ks(cfg)
    every = cells(cfg)  # extracts every model's features once, here, before any worker reads them
    todo = [c for c in every if not cache(cfg).has("cell", C.key(cfg, c))]
    if progress:
        print(f"grid of {cfg.name!r}: {len(every)} cells, {len(every) - len(todo)} already computed, "
              f"{len(todo)} to run on {engine}")
    outcomes = _engines[engine](cfg, todo, workers, address, progress, debug)
    failed = {label: error for label, error in outcomes.items() if isinstance(error, str)}
    done = [c for c in every if c.label() not in failed]
    table = pd.concat([C.rows(cfg, c) for c in done], ignore_index=True) if done else pd.DataFrame()
    for error, labels in _grouped(failed).items():
        print(f"cell failed: {labels[0]}" + (f" (and {len(labels) - 1} more cells with the same error)" if len(labels) > 1 else "")
              + f": {error}")
    made = sum(outcome is True for outcome in outcomes.values())
    return GridResult(table, made, len(every) - len(todo), len(todo) - made - len(failed), failed)


def _grouped(failed: dict[str, str]) -> dict[str, list[str]]:
    """The failed cells' labels by their error, so that one error shared by many cells is printed once."""
    groups: dict[str, list[str]] = {}
    for label, error in failed.items():
        groups.setdefault(error, []).append(label)
    return groups


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0] if str(err) else type(err).__name__


def _local(cfg, todo, workers, address, progress, debug) -> dict[str, bool | str]:
    outcomes = {}
    for cell in tqdm(todo, desc="grid cells", disable=not progress or None):
        try:
            outcomes[cell.label()] = run_cell(cfg, cell)
        except Exception as err:  # a failed cell is reported; the others go on
            outcomes[cell.label()] = traceback.format_exc() if debug else _one_line(err)
    return outcomes


def _submitit(cfg, todo, workers, address, progress, debug) -> dict[str, bool | str]:
    import submitit

    executor = submitit.AutoExecutor(folder=f"{cfg.cache_dir}/submitit/%j", cluster=address)
    executor.update_parameters(timeout_min=24 * 60, slurm_array_parallelism=workers, tasks_per_node=1)
    jobs = executor.map_array(run_cell, [cfg] * len(todo), todo) if todo else []
    outcomes = {}
    for cell, job in tqdm(list(zip(todo, jobs)), desc="grid cells", disable=not progress or None):
        try:
            outcomes[cell.label()] = job.result()
        except Exception as err:
            outcomes[cell.label()] = _one_line(err)
    return outcomes


def _dask(cfg, todo, workers, address, progress, debug) -> dict[str, bool | str]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None if address else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    outcomes = {}
    with Client(address or cluster) as client:
        futures = {client.submit(run_cell, cfg, cell, pure=False): cell for cell in todo}
        for future in tqdm(as_completed(futures), total=len(futures), desc="grid cells", disable=not progress or None):
            label = futures[future].label()
            outcomes[label] = _one_line(future.exception()) if future.status == "error" else future.result()
    if cluster is not None:
        cluster.close()
    return outcomes


_engines = {"local": _local, "submitit": _submitit, "dask": _dask}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="default", help="a scenario name in scenarios/ or a path to a .yml file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one scenario field (repeatable)")
    parser.add_argument("--engine", choices=ENGINES, help="where the cells run (default: the scenario's engine)")
    parser.add_argument("--workers", type=int, help="parallel workers or array tasks (default: the scenario's)")
    parser.add_argument("--address", help="submitit: the cluster ('slurm', 'local'; default: detected); dask: the scheduler")
    parser.add_argument("--out", help="also write the table to this CSV file")
    parser.add_argument("--debug", action="store_true", help="show errors with their tracebacks")
    args = parser.parse_args(argv)
    try:
        result = run(S.load(args.scenario, S.parse_set(args.set)), args.engine, args.workers, args.address,
                     debug=args.debug)
    except (S.ScenarioError, FileNotFoundError) as err:  # a user's error: its message alone, unless --debug
        if args.debug:
            raise
        raise SystemExit(f"error: {err}") from None
    if args.out:
        result.table.to_csv(args.out, index=False)
    print(f"{result.computed} cells computed, {result.read} read from the cache, {result.by_others} made by another "
          f"process, {len(result.failed)} failed; {len(result.table)} rows")
    if result.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
