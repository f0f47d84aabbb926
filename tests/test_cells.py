"""Cells are made once: every table that shows a score reads the same cell, and a change recomputes what it must."""

import collections
import dataclasses

import pytest

from helpers.lm import storage
from helpers.run import cells, controls, pipeline, tables
from helpers.run import scenario as S


@pytest.fixture
def counted(monkeypatch):
    """Every cell computed, in order, and every feature extraction (none may happen)."""
    made = []
    real = cells.compute
    monkeypatch.setattr(cells, "compute", lambda cfg, cell: made.append(cell) or real(cfg, cell))

    def no_extraction(*args, **kwargs):
        raise AssertionError("features were extracted again; they should have been read from the cache")

    monkeypatch.setattr(storage, "write_features", no_extraction)
    return made


def test_the_chapters_tables_compute_each_cell_once_and_a_new_snr_rereads_the_features(site, counted):
    """With the smoke book's cache (features extracted there), a new SNR: new recordings, new cells, the same features."""
    cfg = S.load("smoke", {"cache_dir": str(site.parent / "cache"), "snr": 0.7})
    old = dataclasses.replace(cfg, snr=0.5)
    assert pipeline.recording_key(cfg, "sim-01") != pipeline.recording_key(old, "sim-01")
    assert pipeline.features_key(cfg, cfg.models[0]) == pipeline.features_key(old, cfg.models[0])
    for name in cfg.grid_methods:  # chapters 4, 6, 7, 8
        tables.scores(cfg, name, progress=False)
    first = len(counted)
    assert first == len(cells.cells(cfg)) > 0  # every cell of the grid, each once
    tables.headlines(cfg)  # chapters 7 and 8 again
    controls.controls_table(cfg, progress=False)  # chapter 9: the models' cells again, trivial features and splits anew
    twice = [cell for cell, n in collections.Counter(counted).items() if n > 1]
    assert twice == []
    again = len(counted)
    controls.controls_table(cfg, progress=False)
    assert len(counted) == again  # all read back
