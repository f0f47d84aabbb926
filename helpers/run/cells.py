"""Cells: the one unit of result, made once and read by every table that shows it.

A cell is one subject's recording, one model's features, one layer, one
measure (:mod:`helpers.align.measures`), and for a measure that fits a map
one split, all under the scenario's protocol. Its rows (every fold, retrieval
and k of a decoder; one row of CKA) are computed once, cached under a key
made of exactly what they depend on (:func:`key`), with a file lock so two
processes never make the same cell, and read back by the chapters' score
tables (:func:`table`), the grid (:mod:`helpers.run.grid`) and the controls
(:mod:`helpers.run.controls`). A measure whose result covers every layer at
once (RSA's test is corrected across layers) has one cell per model and
subject, with ``layer`` None.

Nothing here asks a measure's name: what a measure reads and how it scores
are in its registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..align import measures as MS
from ..align.folds import make_splits
from ..brain.reduction import pca
from ..data.recording import Recording, SentenceRecording
from ..lm import models as M
from ..lm import trivial
from ..lm.vectors import type_means
from . import steps
from .cache import Memo, digest
from .pipeline import (ModelFeatures, brain_dims, brain_vectors, cache, cased_types, features_key, lm_features,
                       lm_width, n_states, occurrence_types, recording_key, recordings, smoothing_options, subjects,
                       training_brain_vectors, word_onsets, word_runs)
from .scenario import Scenario, ScenarioError

NO_SPLIT = "none"  # the split column of a measure that fits no map
SPLIT_FIELDS = ("split", "fold_rule", "n_folds", "buffer_s", "seed", "pca_fit")  # what the folds and a per-fold PCA depend on
BRAINS = Memo(size=8)  # a subject's brain vectors for the cells of one model, in this process
ROWS = Memo(size=5000)  # cells' rows read in this process: a chapter's tables read many cells more than once


@dataclass(frozen=True)
class Cell:
    """One cell: ``layer`` None for a measure that scores every layer at once."""

    model: str
    measure: str
    subject: str
    layer: int | None = None

    def label(self) -> str:
        where = "every layer" if self.layer is None else f"layer {self.layer}"
        return f"{self.measure} {self.model} {where} subject {self.subject}"


def cells(cfg: Scenario, models=None, measures=None, layers: dict[str, list[int]] | None = None) -> list[Cell]:
    """The cells of ``measures`` (default ``grid_methods``) x ``models`` (default the scenario's) x subjects
    x layers (default every layer; ``layers`` maps a model to the layers wanted)."""
    models = cfg.models if models is None else models
    measures = [MS.get(m) for m in (cfg.grid_methods if measures is None else measures)]
    names = subjects(cfg)
    out = []
    for model in models:
        wanted = layers[model] if layers is not None else range(n_states(cfg, model))
        for measure in measures:
            for subject in names:
                if measure.all_layers:
                    out.append(Cell(model, measure.name, subject))
                else:
                    out += [Cell(model, measure.name, subject, int(layer)) for layer in wanted]
    return out


def key(cfg: Scenario, cell: Cell) -> dict:
    """What a cell's rows depend on: the measure and its fields, the split's fields where it fits a map,
    the subject's recording, the smoothing, the brain side's width and PCA signs, the model's features, the layer."""
    measure = MS.get(cell.measure)
    return steps.key("cell", cfg, measure=measure.name, measure_version=measure.version,
                     settings=cfg.fields(*measure.fields), split=cfg.fields(*SPLIT_FIELDS) if measure.fits_map else None,
                     recording=recording_key(cfg, cell.subject), smoothing=smoothing_options(cfg),
                     brain_dims=_brain_dims(cfg, cell.model), pca_signs=cfg.value("pca_signs"), lm_reduction=cfg.value("lm_reduction"),
                     cased_types=cased_types(cfg, cell.model), features=features_key(cfg, cell.model)[0], layer=cell.layer)


def _brain_dims(cfg: Scenario, model: str) -> str | int:
    """The scenario's ``brain_dims`` as a cell's key holds it: a number of components equal to the model's
    width is ``"model"``, the same computation (so a width-matched table reads the cells of the model that
    sets the width instead of making them again)."""
    if isinstance(cfg.brain_dims, int) and cfg.brain_dims == lm_width(cfg, model):
        return "model"
    return cfg.brain_dims


def compute(cfg: Scenario, cell: Cell) -> pd.DataFrame:
    """A cell's rows, computed now (not cached: :func:`rows` is)."""
    feats = lm_features(cfg, cell.model)
    rec = next(r for r in recordings(cfg) if r.subject == cell.subject)
    layers = range(feats.n_states) if cell.layer is None else [cell.layer]
    return pd.DataFrame(score(cfg, MS.get(cell.measure), feats, rec, layers))


def rows(cfg: Scenario, cell: Cell) -> pd.DataFrame:
    """A cell's rows, from the cache or computed now (and cached)."""
    return cache(cfg).table("cell", key(cfg, cell), lambda: compute(cfg, cell))


def make(cfg: Scenario, cell: Cell) -> bool:
    """Make a cell if it is missing (cached); whether this call computed it (False: it was there, or another
    process made it while this one waited for its lock)."""
    made = []
    cache(cfg).table("cell", key(cfg, cell), lambda: made.append(True) or compute(cfg, cell))
    return bool(made)


def table(cfg: Scenario, measure: str, models=None, layers: dict[str, list[int]] | None = None,
          progress: bool = True) -> pd.DataFrame:
    """The rows of every cell of one measure (:func:`cells`), each made once (cached), in one tidy table."""
    todo = cells(cfg, models, [measure], layers)
    keys = [key(cfg, c) for c in todo]
    where = f"cell in {cache(cfg).root}"  # a cell read from one cache folder is not taken for one of another
    unread = [(k, c) for k, c in zip(keys, todo) if not ROWS.has(where, k)]
    read = cache(cfg).tables("cell", [(k, lambda c=c: compute(cfg, c)) for k, c in unread],
                             progress=f"{measure} cells" if progress else None)
    fresh = {digest(k): rows for (k, _), rows in zip(unread, read)}
    table = pd.concat([ROWS.get(where, k, lambda k=k: fresh[digest(k)]) for k in keys], ignore_index=True)
    if layers is not None and MS.get(measure).all_layers:  # such a cell holds every layer: keep those asked for
        table = table[[layer in layers[model] for model, layer in zip(table["model"], table["layer"])]]
    return table.reset_index(drop=True)


def word_splits(cfg: Scenario, keep: np.ndarray | None = None, model: str | None = None):
    """The scenario's (train, test) folds over the word occurrences in ``keep`` (default all), over ``model``'s
    word types (:func:`~helpers.run.pipeline.occurrence_types`)."""
    types, onsets, runs = occurrence_types(cfg, model), word_onsets(cfg), word_runs(cfg)
    if keep is not None:
        types, onsets, runs = types[keep], onsets[keep], runs[keep]
    return make_splits(cfg.split, types, onsets, cfg.n_folds, cfg.seed, cfg.buffer_s, runs, rule=cfg.value("fold_rule"))


def check_ks(cfg: Scenario) -> None:
    """Refuse, before any work, a k of ``ks`` larger than the candidate word types of some fold (a decoder
    ranks the candidates: precision@k needs k of them)."""
    types = occurrence_types(cfg)
    if cfg.candidates == "all":
        fewest, what = len(np.unique(types)), "the word types of the stimulus, every fold's candidates"
    else:
        fewest = min(len(np.unique(types[test])) for _, test in word_splits(cfg))
        what = f"the word types of the smallest test fold, its candidates (split: {cfg.split})"
    if max(cfg.ks) > fewest:
        raise ScenarioError([f"ks must be at most {fewest} ({what}), got {list(cfg.ks)}."])


def score(cfg: Scenario, measure: MS.Measure, feats: ModelFeatures, rec: Recording | SentenceRecording, layers,
          keep: np.ndarray | None = None, outside: str = "error") -> list[dict]:
    """Rows of ``measure`` for one subject and the given ``layers`` of a model, on the word occurrences in
    ``keep`` (default all; type vectors are always the means over every occurrence). With ``outside="ignore"``
    words whose smoothing window leaves their run are allowed (and should be left out of ``keep``)."""
    types = occurrence_types(cfg, feats.model)
    keep = np.ones(len(types), dtype=bool) if keep is None else keep
    layers = list(layers)
    k = brain_dims(cfg, rec, feats.vectors.shape[2]) if cfg.value("lm_reduction") == "occurrences" else None
    names, type_vectors = reduced_type_means(feats.vectors[layers], types, k, cfg.value("pca_signs"))
    splits = word_splits(cfg, keep, feats.model) if measure.fits_map else None
    settings = cfg.fields(*measure.fields)
    width = None if measure.reads_voxels(settings) else feats.vectors.shape[2]
    brain = subject_brain(cfg, rec, width, splits, keep, outside)
    groups = [layers] if measure.all_layers else [[layer] for layer in layers]
    out = []
    for group in groups:
        cell = MS.CellInput(brain, types[keep], names, {layer: type_vectors[layers.index(layer)] for layer in group},
                            settings, splits, list(range(len(splits))) if splits else None)
        for row in measure.score(cell):
            layer = row.pop("layer", group[0])
            out.append({**row_labels(rec, feats, layer), "method": measure.name,
                        "split": cfg.split if measure.fits_map else NO_SPLIT, **row})
    return out


def reduced_type_means(vectors: np.ndarray, types: np.ndarray, width: int | None, signs: str = "loadings"):
    """Each layer's type vectors (:func:`~helpers.lm.vectors.type_means`), after reducing each layer's occurrence
    vectors ``(n_layers, n_occurrences, d)`` by PCA to ``width`` where the model is wider (``lm_reduction:
    occurrences``, as the published code reduces a model wider than the number of TRs); ``None``: no reduction."""
    if width is not None and width < vectors.shape[2]:
        vectors = np.stack([pca(layer, width, signs=signs) for layer in vectors])
    return type_means(vectors, types)


def subject_brain(cfg: Scenario, rec: Recording | SentenceRecording, width: int | None, splits, keep: np.ndarray,
                  outside: str = "error") -> np.ndarray | list[np.ndarray]:
    """One subject's brain vectors of the kept word occurrences for a model of this width (None: every voxel).

    One array, or, with ``pca_fit: train`` and ``splits`` given, one per split
    (the PCA fitted on that split's training words), kept in memory for the
    next cell of the same model.
    """
    k = None if width is None else brain_dims(cfg, rec, width)
    if cfg.pca_fit != "train" or k is None or splits is None:
        return brain_vectors(cfg, rec, k, outside)[keep]
    slot = {"recording": recording_key(cfg, rec.subject), "smoothing": smoothing_options(cfg), "k": k,
            "pca_signs": cfg.value("pca_signs"), "split": cfg.fields(*SPLIT_FIELDS),
            "folds": digest({"train": [np.flatnonzero(train) for train, _ in splits]}),
            "keep": digest({"keep": np.flatnonzero(~keep)}), "outside": outside}
    kept, every = np.flatnonzero(keep), np.arange(len(keep))
    return BRAINS.get("fold brains", slot, lambda: [
        training_brain_vectors(cfg, rec, k, np.isin(every, kept[train]), outside)[keep] for train, _ in splits])


def row_labels(rec: Recording | SentenceRecording, feats: ModelFeatures, layer: int) -> dict:
    """The columns that say where a score comes from: dataset, subject, model (family, size, trained, or
    random weights or a trivial feature), layer and its relative depth."""
    info = M.lookup(feats.model.removeprefix(M.RANDOM_PREFIX))
    return {
        "dataset": rec.dataset,
        "simulated": rec.simulated,
        "subject": rec.subject,
        "model": feats.model,
        "family": info.family if info else ("trivial feature" if trivial.is_trivial(feats.model) else ""),
        "n_params_m": info.n_params if info else np.nan,
        "trained": not (feats.model.startswith(M.RANDOM_PREFIX) or trivial.is_trivial(feats.model)),
        "layer": layer,
        "n_states": feats.n_states,
        "relative_depth": layer / max(feats.n_states - 1, 1),
    }
