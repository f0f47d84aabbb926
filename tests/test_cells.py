"""Cells are made once: every table that shows a score reads the same cell, and a change recomputes what it must."""

import collections
import dataclasses
import shutil

import numpy as np
import pytest

from helpers.lm import storage
from helpers.run import cells, controls, pipeline, tables
from helpers.run import scenario as S
from helpers.run.cache import digest


@pytest.fixture
def counted(monkeypatch):
    """The key of every cell computed, in order (a cell's split is in its key, not in ``Cell``), and no feature
    extraction (there must be none)."""
    made = []
    real = cells.compute
    monkeypatch.setattr(cells, "compute", lambda cfg, cell: made.append(digest(cells.key(cfg, cell))) or real(cfg, cell))

    def no_extraction(*args, **kwargs):
        raise AssertionError("features were extracted again; they should have been read from the cache")

    monkeypatch.setattr(storage, "write_features", no_extraction)
    return made


def test_the_chapters_tables_compute_each_cell_once_and_a_new_snr_rereads_the_features(site, counted, tmp_path):
    """With the smoke book's features (extracted there) in a fresh cache, a new SNR: new recordings, new cells, the
    same features."""
    shutil.copytree(site.parent / "cache" / "features", tmp_path / "features")
    cfg = S.load("smoke", {"cache_dir": str(tmp_path), "snr": 0.7})
    old = dataclasses.replace(cfg, snr=0.5)
    assert pipeline.recording_key(cfg, "sim-01") != pipeline.recording_key(old, "sim-01")
    assert pipeline.features_key(cfg, cfg.models[0]) == pipeline.features_key(old, cfg.models[0])
    for name in cfg.grid_methods:  # chapters 4, 6, 7, 8
        tables.scores(cfg, name, progress=False)
    first = len(counted)
    assert first == len(cells.cells(cfg)) > 0  # every cell of the grid, each once
    tables.headlines(cfg)  # chapters 7 and 8 again
    controls.controls_table(cfg, progress=False)  # chapter 9: the models' cells again, trivial features and splits anew
    twice = [key for key, n in collections.Counter(counted).items() if n > 1]
    assert twice == []
    again = len(counted)
    controls.controls_table(cfg, progress=False)
    assert len(counted) == again  # all read back


def test_simulated_recordings_are_simulated_once_and_read_back_to_the_bit(site, monkeypatch, tmp_path):
    from helpers.data import simulate

    shutil.copytree(site.parent / "cache" / "features", tmp_path / "features")
    cfg = S.load("smoke", {"cache_dir": str(tmp_path)})
    runs, real = [], simulate.simulate_reading
    monkeypatch.setattr(simulate, "simulate_reading", lambda *args, **kwargs: runs.append(args) or real(*args, **kwargs))
    pipeline.MEMORY.clear()
    made = pipeline.recordings(cfg)
    pipeline.MEMORY.clear()  # as in another process: the recordings are read from the cache
    read = pipeline.recordings(cfg)
    assert len(runs) == 1 and len(read) == len(made) == cfg.n_subjects
    for a, b in zip(made, read):
        assert a.data.tobytes() == b.data.tobytes() and a.voxel_mni.tobytes() == b.voxel_mni.tobytes()
        assert (a.subject, a.info, a.words.tolist()) == (b.subject, b.info, b.words.tolist())
    pipeline.recordings(dataclasses.replace(cfg, snr=0.7))
    assert len(runs) == 2  # another experiment, simulated anew


def test_a_models_layer_count_and_width_are_read_without_its_hidden_states(site, monkeypatch):
    cfg = S.load("smoke", {"cache_dir": str(site.parent / "cache")})
    model = cfg.models[0]
    shape = pipeline.lm_features(cfg, model).vectors.shape
    pipeline.MEMORY.clear()
    pipeline.KEYS.clear()

    def no_reading(folder):
        raise AssertionError("the hidden states were read to count layers or to compare widths")

    monkeypatch.setattr(storage, "read_features", no_reading)
    assert (pipeline.n_states(cfg, model), pipeline.lm_width(cfg, model)) == (shape[0], shape[2])
    assert pipeline.features_shape(cfg, model) == shape


def test_a_field_changes_the_keys_of_the_cells_that_read_it_and_no_others(site):
    cfg = S.load("smoke", {"cache_dir": str(site.parent / "cache")})
    model = cfg.models[0]
    some = [cells.Cell(model, "procrustes", "sim-01", 4), cells.Cell(model, "rsa", "sim-01"), cells.Cell(model, "cka", "sim-01", 4)]
    every = {c.measure for c in some}
    for field, value, changed in (("rsa_metric", "cosine", {"rsa"}), ("n_permutations", 50, {"rsa"}),
                                  ("cka_permutations", 5, {"cka"}), ("split", "blocks", {"procrustes"}),
                                  ("csls_neighbours", 5, {"procrustes"}), ("protocol", "paper", every),  # its PCA signs too
                                  ("protocol", "published", every), ("fold_rule", "published", {"procrustes"}),
                                  ("pca_signs", "scores", every), ("type_case", "model", set()),  # MiniLM is uncased
                                  ("lm_reduction", "occurrences", every),
                                  ("ridge_alphas", (1.0, 10.0), set()), ("focus_layer", 2, set()),
                                  ("delay", 4.0, every), ("snr", 0.7, every), ("seed", 1, every),
                                  ("brain_dims", pipeline.lm_width(cfg, model), set()),  # the model's own width
                                  ("brain_dims", 16, every)):
        other = dataclasses.replace(cfg, **{field: value})
        assert {c.measure for c in some if cells.key(cfg, c) != cells.key(other, c)} == changed, field


def test_a_wide_model_is_reduced_on_its_occurrences_before_type_means_as_published():
    from helpers.brain.reduction import pca

    rng = np.random.default_rng(8)
    types = np.array(list("abcabcaadb") * 3)
    vectors = rng.standard_normal((2, len(types), 7)).astype(np.float32)
    names, reduced = cells.reduced_type_means(vectors, types, 3, "scores")
    assert names.tolist() == ["a", "b", "c", "d"] and reduced.shape == (2, 4, 3)
    for layer in range(2):  # by hand: the PCA of the layer's occurrences, then each type's mean
        scores = pca(vectors[layer], 3, signs="scores")
        for t, name in enumerate(names):
            np.testing.assert_allclose(reduced[layer, t], scores[types == name].mean(axis=0), rtol=1e-5, atol=1e-6)
    _, kept = cells.reduced_type_means(vectors, types, None)
    _, narrow = cells.reduced_type_means(vectors, types, 7)  # not wider: nothing to reduce
    np.testing.assert_allclose(kept, narrow)
    np.testing.assert_allclose(kept[0, 0], vectors[0][types == "a"].mean(axis=0), rtol=1e-6)


def test_components_as_many_as_the_models_width_are_the_cells_of_brain_dims_model(site):
    """The width-matched tables ask for a number of components; for the model that sets that width it is the
    computation of ``brain_dims: model``, so its cells are those, made once."""
    cfg = S.load("smoke", {"cache_dir": str(site.parent / "cache")})
    model = cfg.models[0]
    matched = dataclasses.replace(cfg, brain_dims=pipeline.lm_width(cfg, model))
    for cell in (cells.Cell(model, "procrustes", "sim-01", 3), cells.Cell(model, "cka", "sim-01", 3)):
        assert cells.key(matched, cell) == cells.key(cfg, cell)
        assert cells.compute(matched, cell).equals(cells.compute(cfg, cell))  # the same rows, computed both ways
    narrower = dataclasses.replace(cfg, brain_dims=pipeline.lm_width(cfg, model) // 2)
    cell = cells.Cell(model, "procrustes", "sim-01", 3)
    assert not cells.compute(narrower, cell).equals(cells.compute(cfg, cell))
