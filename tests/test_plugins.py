"""Measures and datasets of one's own: written in a file outside the package, registered, and found everywhere.

The plugins live in ``tests/plugins/``; a scenario names them in ``plugins``
and nothing in ``helpers`` changes.
"""

from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers.run import book, cells, control_report, controls, grid, pipeline, tables
from helpers.run import scenario as S
from helpers.run.scenario import Scenario
from tests.test_features import tiny_folder

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture(scope="module")
def with_mean_cosine(tmp_path_factory):
    folder = tiny_folder(tmp_path_factory.mktemp("tiny_bert"), "bert")
    return Scenario(plugins=(str(PLUGINS / "mean_cosine.py"),), n_subjects=2, n_voxels=120, snr=2.0, models=(folder,),
                    grid_methods=("procrustes", "mean_cosine"), cache_dir=str(tmp_path_factory.mktemp("cache")))


def by_hand(cfg: Scenario, subject: str, layer: int) -> float:
    """The toy measure computed with a loop over word types, from the pipeline's inputs."""
    rec = next(r for r in pipeline.recordings(cfg) if r.subject == subject)
    model = pipeline.lm_features(cfg, cfg.models[0]).vectors[layer].astype(np.float64)
    brain = pipeline.brain_vectors(cfg, rec, pipeline.brain_dims(cfg, rec, model.shape[1])).astype(np.float64)
    types = pipeline.occurrence_types(cfg)
    names = sorted(set(types))
    b = np.array([brain[types == t].mean(axis=0) for t in names])
    m = np.array([model[types == t].mean(axis=0) for t in names])
    d = min(b.shape[1], m.shape[1])
    b, m = b[:, :d] - b[:, :d].mean(axis=0), m[:, :d] - m[:, :d].mean(axis=0)
    return float(np.mean([x @ y / np.sqrt((x @ x) * (y @ y)) for x, y in zip(b, m)]))


def test_a_measure_of_ones_own_is_in_the_grid_the_chapter_tables_and_the_controls(with_mean_cosine, monkeypatch):
    cfg = with_mean_cosine
    result = grid.run(cfg, progress=False)
    mine = result.table[result.table["method"] == "mean_cosine"]
    assert len(mine) == 2 * 3 and not result.failed  # subjects x layers, one row each
    assert set(mine["split"]) == {cells.NO_SPLIT} and set(mine["metric"]) == {"mean cosine"}
    row = mine[(mine["subject"] == "sim-02") & (mine["layer"] == 1)].iloc[0]
    assert row["value"] == pytest.approx(by_hand(cfg, "sim-02", 1), abs=1e-5)

    made = []
    real = cells.compute
    monkeypatch.setattr(cells, "compute", lambda c, cell: made.append(cell) or real(c, cell))
    chapter = tables.scores(cfg, "mean_cosine", progress=False)
    assert made == [] and np.array_equal(np.sort(chapter["value"]), np.sort(mine["value"]))  # the grid's cells, read
    assert list(tables.headlines(cfg)) == ["Procrustes P@10 (CSLS)", "mean cosine"]

    table = controls.controls_table(cfg, splits=("types",), progress=False)
    sources = set(controls.sources(cfg))
    assert set(table[table["method"] == "mean_cosine"]["model"]) == sources
    summary = control_report.controls_summary(table)
    assert set(summary[summary["measure"] == "mean cosine"]["model"]) == sources


def test_an_unknown_measure_or_a_missing_plugin_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"grid_methods must name some of the registered measures .*got \['svcca'\]"):
        Scenario(grid_methods=("svcca",))
    with pytest.raises(FileNotFoundError, match=r"plugins: .*nowhere\.py is not a Python file"):
        Scenario(plugins=(str(tmp_path / "nowhere.py"),))
    with pytest.raises(ValueError, match=r"unknown dataset 'npz_elsewhere'.*helpers\.data\.datasets\.register"):
        Scenario(dataset="npz_elsewhere")


@pytest.fixture(scope="module")
def npz_scenario(site, tmp_path_factory):
    """A scenario file that reads the smoke book's simulated recordings back from ``.npz`` files."""
    folder = tmp_path_factory.mktemp("npz")
    cache = str(site.parent / "cache")  # the smoke book's: the same text, so the same language-model features
    for rec in pipeline.recordings(S.load("smoke", {"cache_dir": cache})):
        from tests.plugins import npz_dataset

        npz_dataset.save(rec, folder / f"{rec.subject}.npz")
    path = folder / "npz.yml"
    path.write_text(yaml.safe_dump({"dataset": "npz_reading", "plugins": [str(PLUGINS / "npz_dataset.py")],
                                    "data_dir": str(folder), "models": ["all-MiniLM-L6-v2"], "ladders": [], "focus_layer": 4,
                                    "n_folds": 2, "n_permutations": 20, "cache_dir": cache}))  # two folds: half the time
    return path


def test_a_dataset_of_ones_own_builds_the_book(npz_scenario, tmp_path):
    cfg = S.load(npz_scenario)
    assert [r.subject for r in pipeline.recordings(cfg)] == ["sim-01", "sim-02"] and not pipeline.planted(cfg)
    index = book.build(str(npz_scenario), {}, tmp_path)
    executed = sorted((tmp_path / "stage" / "notebooks").glob("*.ipynb"))
    assert len(executed) == len(book.notebooks()) and all(book.error_cells(p) == [] for p in executed)
    assert "npz_reading" in (index.parent / "notebooks" / "01_data_loading.html").read_text()
