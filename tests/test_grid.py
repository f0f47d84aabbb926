"""The grid: one row per cell, the same numbers whatever runs it, resumable, and safe for parallel workers."""

import dataclasses
import multiprocessing

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.run import cells, grid, pipeline, tables
from helpers.run.scenario import Scenario
from tests.test_features import tiny_folder

CELL_COLUMNS = ["model", "method", "subject", "layer", "fold", "retrieval", "metric"]
N_CELLS = 3 + 1 + 3  # Procrustes: one cell per layer (its 4 folds inside); RSA: one for every layer; CKA: one per layer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One subject, a 2-block model: 3 Procrustes cells (one per layer, 4 folds each), one RSA cell, 3 CKA cells."""
    folder = tiny_folder(tmp_path_factory.mktemp("tiny_bert"), "bert")
    return Scenario(n_subjects=1, n_voxels=120, snr=2.0, models=(folder,), planted_model="all-MiniLM-L6-v2",
                    grid_methods=("procrustes", "rsa", "cka"), n_permutations=20, cache_dir=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def local(tiny):
    return grid.run(tiny, engine="local", progress=False)


def test_one_row_per_cell_and_no_duplicates(tiny, local):
    assert local.computed == len(grid.cells(tiny)) == N_CELLS and local.read == local.by_others == 0 and not local.failed
    table = local.table
    counts = table.groupby("method").size().to_dict()
    assert counts == {"procrustes": 3 * 4 * 2 * 6, "rsa": 3, "cka": 3}  # layers x folds x retrievals x ks (1 ... 100)
    assert not table.duplicated(subset=CELL_COLUMNS).any()
    assert {"family", "n_params_m", "relative_depth", "chance", "value", "subject"} <= set(table.columns)


def test_the_tables_read_the_grids_cells_and_compute_none(tiny, local, monkeypatch):
    made = []
    real = cells.compute
    monkeypatch.setattr(cells, "compute", lambda cfg, cell: made.append(cell) or real(cfg, cell))
    decoding = tables.scores(tiny, "procrustes", progress=False)
    rsa = tables.scores(tiny, "rsa", progress=False)
    assert made == []
    grid_rows = local.table[local.table["method"] == "procrustes"].reset_index(drop=True)[list(decoding.columns)]
    pd.testing.assert_frame_equal(decoding, grid_rows, check_dtype=False)  # the grid's fold column holds NaN for RSA and CKA
    np.testing.assert_array_equal(local.table[local.table["method"] == "rsa"]["value"], rsa["value"])


def test_a_rerun_computes_nothing_and_says_so(tiny, local, capsys):
    again = grid.run(tiny, engine="local")
    assert (again.computed, again.read, again.by_others) == (0, len(grid.cells(tiny)), 0)
    assert f"{N_CELLS} cells, {N_CELLS} already computed, 0 to run" in capsys.readouterr().out
    pd.testing.assert_frame_equal(again.table, local.table)


@pytest.mark.parametrize("engine", ["submitit", "dask"])
def test_real_worker_processes_give_the_same_numbers(tiny, local, tmp_path, engine):
    fresh = dataclasses.replace(tiny, cache_dir=str(tmp_path))
    pipeline.lm_features(fresh, tiny.models[0])  # the features entry (the grid extracts it too; here it is timed apart)
    result = grid.run(fresh, engine=engine, workers=2, address="local" if engine == "submitit" else None, progress=False)
    assert result.computed == len(grid.cells(tiny)) and not result.failed
    a = local.table.sort_values(CELL_COLUMNS).reset_index(drop=True)
    b = result.table.sort_values(CELL_COLUMNS).reset_index(drop=True)
    # float32 brain data: a worker with another BLAS thread count sums in another order
    np.testing.assert_allclose(b["value"], a["value"], rtol=1e-4)


def test_cells_another_process_makes_meanwhile_are_counted_as_its(tiny, local, tmp_path, monkeypatch, capsys):
    """The command line, with --set: a field that changes the CKA cells only (features and recordings are read)."""
    scenario = tmp_path / "tiny.yml"
    scenario.write_text(yaml.safe_dump({k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(tiny).items()}))
    every = grid.cells(dataclasses.replace(tiny, grid_methods=("cka",)))
    real = cells.compute

    def and_another_makes_the_last(cfg, cell):
        if cell == every[0]:  # while this process works on its first cell, another makes the last one
            cells.rows(cfg, every[-1])
        return real(cfg, cell)

    monkeypatch.setattr(cells, "compute", and_another_makes_the_last)
    grid.main(["--scenario", str(scenario), "--set", "grid_methods=[cka]", "--set", "cka_permutations=7"])
    out = capsys.readouterr().out
    assert "3 cells, 0 already computed, 3 to run" in out
    assert "2 cells computed, 0 read from the cache, 1 made by another process, 0 failed; 3 rows" in out


def test_a_failing_cell_is_reported_and_the_others_kept(tiny, tmp_path, monkeypatch, capsys):
    fresh = dataclasses.replace(tiny, cache_dir=str(tmp_path), grid_methods=("cka",))
    real = cells.compute

    def fail_on_layer_1(cfg, cell):
        if cell.layer == 1:
            raise RuntimeError("out of memory on this node")
        return real(cfg, cell)

    monkeypatch.setattr(cells, "compute", fail_on_layer_1)
    result = grid.run(fresh, engine="local", progress=False)
    assert list(result.failed) == [f"cka {tiny.models[0]} layer 1 subject sim-01"]
    assert "out of memory on this node" in result.failed[list(result.failed)[0]]
    assert sorted(result.table["layer"]) == [0, 2] and result.computed == 2
    out = capsys.readouterr().out
    assert f"cell failed: cka {tiny.models[0]} layer 1 subject sim-01: RuntimeError: out of memory on this node\n" in out
    assert "Traceback" not in out  # one line per error; the traceback only with debug
    again = grid.run(fresh, engine="local", progress=False, debug=True)
    assert "Traceback" in again.failed[f"cka {tiny.models[0]} layer 1 subject sim-01"]


def test_bad_grid_settings_are_refused(tiny):
    with pytest.raises(ValueError, match=r"grid_methods must name some of the registered measures \('procrustes', 'ridge', 'rsa', 'cka'.*\), got \['svcca'\]"):
        dataclasses.replace(tiny, grid_methods=("svcca",))
    with pytest.raises(ValueError, match=r"engine must be one of \('local', 'submitit', 'dask'\), got 'ray'"):
        dataclasses.replace(tiny, engine="ray")


def _extract(cfg, model, out):
    out.put(pipeline.lm_features(cfg, model).vectors.sum())


def test_two_workers_extracting_one_model_at_once_both_succeed(tmp_path, tiny):
    cfg = dataclasses.replace(tiny, cache_dir=str(tmp_path))
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_extract, args=(cfg, tiny.models[0], results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    assert [w.exitcode for w in workers] == [0, 0]
    sums = [results.get(timeout=5) for _ in workers]
    assert sums[0] == sums[1]
    entries = [p for p in (tmp_path / "features").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1


def test_the_papers_grid_lists_what_is_missing_before_any_work(tmp_path):
    from helpers.run import scenario as S

    cfg = S.load("paper", {"cache_dir": str(tmp_path), "data_dir": str(tmp_path / "data"), "download": False})
    assert len(cfg.models) == 14 and cfg.fields("scaling", "csls_reference") == {"scaling": "minmax", "csls_reference": "all"}
    problems = pipeline.missing_inputs(cfg)
    assert sum(p.startswith("model ") and "huggingface-cli download" in p for p in problems) == 14
    assert any(p.startswith("data: Harry Potter file(s) missing") and "download: true" in p for p in problems)
    with pytest.raises(FileNotFoundError, match=r"scenario 'paper' needs 15 thing\(s\) that are not on this machine"):
        grid.run(cfg, progress=False)
    assert not (tmp_path / "features").exists()  # nothing was computed
