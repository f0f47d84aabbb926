"""The score tables of the book: views over cells, and the few tables that are not cells.

Every table is tidy: one row per subject x model x layer x fold x retrieval
x metric (RSA and CKA: per subject x model x layer), with the columns of
:func:`helpers.run.cells.row_labels`, the score ``value`` and its chance
levels. :func:`scores` and the views beside it read cells
(:mod:`helpers.run.cells`); the smoothing sweep (one common word set for
every window), the encoding maps (every voxel) and the similarity between
a model's layers are cached results of their own. Plots and summaries
(:mod:`helpers.align.statistics`) read these tables.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..align import measures as MS
from ..align import statistics
from ..align.ridge import encoding_scores
from ..brain.smoothing import window_fits
from ..data.words import word_mask
from ..lm import models as M
from ..lm.vectors import type_means
from . import cells, steps
from .pipeline import (brain_vectors, cache, features_key, lm_features, lm_width, n_states, occurrence_types, planted,
                       recording_key, recordings, smoothing_options)
from .protocols import PROTOCOLS
from .scenario import Scenario


def _recordings_key(cfg: Scenario) -> list[dict]:
    return [recording_key(cfg, r.subject) for r in recordings(cfg)]


def scores(cfg: Scenario, measure: str, progress: bool = True) -> pd.DataFrame:
    """Every subject, model and layer of the scenario scored by ``measure`` (a name in
    :mod:`helpers.align.measures`): the rows of its cells (:func:`helpers.run.cells.table`), each made once.

    A decoder (Procrustes, ridge) gives one row per fold, retrieval and k;
    RSA one per layer with its permutation p-values; CKA one per layer with
    its null. Brain vectors have :func:`~helpers.run.pipeline.brain_dims`
    components.
    """
    return cells.table(cfg, measure, progress=progress)


def headlines(cfg: Scenario, measures: tuple[str, ...] | None = None,
              depths: dict[str, tuple[float, ...]] | None = None) -> dict[str, pd.DataFrame]:
    """Each measure's headline rows (P@10 by CSLS for a decoder, every row of RSA and CKA), by its summary label.

    ``measures``: default the scenario's ``grid_methods``. ``depths`` maps a
    measure to the relative depths (0: embeddings, 1: last layer) at which
    it is scored, for one too costly to score at every layer
    (:func:`depth_layers`); the others are scored at every layer. What the
    scaling, layer and controls chapters compare across measures
    (:func:`helpers.align.statistics.scored_layers`).
    """
    out = {}
    for name in cfg.grid_methods if measures is None else measures:
        layers = depth_layers(cfg, depths[name]) if depths and name in depths else None
        measure, table = MS.get(name), cells.table(cfg, name, layers=layers)
        out[measure.summary] = table[measure.headline(table).to_numpy()]
    return out


SAMPLED_DEPTHS = (0.0, 0.5, 1.0)  # where compared() scores a measure that the grid does not


def compared(cfg: Scenario, also: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """The headlines the scaling and layer chapters compare: every measure of ``grid_methods``, and the measures
    ``also`` beside them, each of those at the first, middle and last layer (:data:`SAMPLED_DEPTHS`) unless the grid
    scores it at every layer (for a costly measure: a ridge cell fits an inner cross-validation per fold)."""
    extra = tuple(name for name in also if name not in cfg.grid_methods)
    return headlines(cfg, cfg.grid_methods + extra, depths={name: SAMPLED_DEPTHS for name in extra})


def depth_layers(cfg: Scenario, depths: tuple[float, ...]) -> dict[str, list[int]]:
    """For every model of the scenario, the layers nearest the relative ``depths`` (0: embeddings, 1: last)."""
    if not depths or min(depths) < 0 or max(depths) > 1:
        raise ValueError(f"depths must be relative depths between 0 and 1, got {depths}.")
    out = {}
    for model in cfg.models:
        last = n_states(cfg, model) - 1
        out[model] = sorted({int(round(d * last)) for d in depths})
    return out


def decoder(cfg: Scenario) -> str:
    """The measure a chapter looks at closely by default: the first of ``grid_methods`` that fits a map."""
    fitted = [m for m in cfg.grid_methods if MS.get(m).fits_map]
    if not fitted:
        raise ValueError(f"grid_methods {list(cfg.grid_methods)} has no measure that fits a map; add one of "
                         f"{[m for m in MS.names() if MS.get(m).fits_map]}.")
    return fitted[0]


def ladder_models(cfg: Scenario) -> tuple[str, ...]:
    """The models of the scenario's ``models`` and ``ladders`` that stand on a ladder: one family scored at two
    or more sizes, its trained models and its untrained ones (``random:``) counted apart."""
    ladders: dict[tuple[str, bool], dict[str, float]] = {}
    for model in dict.fromkeys(cfg.models + cfg.ladders):
        info = M.lookup(model.removeprefix(M.RANDOM_PREFIX))
        if info is not None:
            ladders.setdefault((info.family, model.startswith(M.RANDOM_PREFIX)), {})[model] = info.n_params
    return tuple(m for sizes in ladders.values() if len(set(sizes.values())) > 1 for m in sizes)


def last_layers(cfg: Scenario, models) -> dict[str, list[int]]:
    """Each model's last layer, in the form :func:`helpers.run.cells.table` takes (``model -> [layer]``)."""
    return {m: [n_states(cfg, m) - 1] for m in models}


# Each ladder's conditions: (protocol, split). The shuffled split over types is the paper's; the blocked split keeps
# every test word's temporal neighbours out of training (on a measure that fits a map).
LADDER_CONDITIONS = (("published", "types"), ("careful", "types"), ("careful", "blocks"))
LADDER_COLUMNS = ["measure", "protocol", "split", "signal", "width", "score", "family", "trained", "slope", "ci_low",
                  "ci_high", "n_models", "smallest_m", "largest_m"]


def ladder_slopes(cfg: Scenario, measure: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Each ladder's scaling slope (:func:`helpers.align.statistics.family_slopes` of the headline score of
    ``measure``, default :func:`decoder`, at each model's best layer, or its last with ``ladder_layers: last``)
    under every condition that could make one.

    The conditions: each protocol and split of :data:`LADDER_CONDITIONS`
    (the scenario's own protocol fields left out; the blocked split only
    for a measure that fits a map); each model with its own width
    (``width`` "own", the brain side reduced as the scenario says) and
    every model cut to the narrowest model's width on both sides (the brain
    side by ``brain_dims``, the model side by the measure's matching of
    dimensions); and, on a simulation, the scenario's signal and pure noise
    (``signal`` "noise", ``snr`` 0), where no size can help. Each slope is
    fitted to the raw score (``score`` "raw") and, for a measure with a
    permutation null, to the score minus that null's mean ("above its
    null"), since a wider space can raise the null itself. The cells are
    ordinary cells, cached; ``measure`` holds the measure's summary label.
    Only models of :func:`ladder_models` are scored; with none, the table is
    empty (with the columns of :data:`LADDER_COLUMNS`).
    """
    models = ladder_models(cfg)
    if not models:
        return pd.DataFrame(columns=LADDER_COLUMNS)
    name = measure or decoder(cfg)
    narrowest = min(lm_width(cfg, m) for m in models)
    signals = {"scenario": {}, "noise": {"snr": 0.0}} if planted(cfg) else {"scenario": {}}
    widths = {"own": {}, f"all {narrowest}": {"brain_dims": narrowest}}
    layers = last_layers(cfg, models) if cfg.ladder_layers == "last" else None
    conditions = [c for c in LADDER_CONDITIONS if MS.get(name).fits_map or c[1] == "types"]
    todo = [(p, split, s, w) for p, split in conditions for s in signals for w in widths]
    parts = []
    for protocol, split, signal, width in tqdm(todo, desc="ladders", disable=not progress or None):
        variant = dataclasses.replace(cfg, models=models, focus_model="", focus_layer=None, protocol=protocol, split=split,
                                      **{field: None for field in PROTOCOLS[protocol]}, **signals[signal], **widths[width])
        table = cells.table(variant, name, layers=layers, progress=False)
        table = table[MS.get(name).headline(table).to_numpy()]
        scores = {"raw": table}
        if "chance_permuted" in table:
            scores["above its null"] = table.assign(value=table["value"] - table["chance_permuted"])
        for score, rows in scores.items():
            slopes = statistics.family_slopes(rows)
            parts.append(slopes.assign(measure=MS.get(name).summary, protocol=protocol, split=split, signal=signal,
                                       width=width, score=score))
    return pd.concat(parts, ignore_index=True)[LADDER_COLUMNS]


def ladder_scores(cfg: Scenario, measure: str | None = None, every_layer: bool = False,
                  progress: bool = True) -> dict[str, pd.DataFrame]:
    """The headline rows of ``measure`` (default :func:`decoder`) for the models of :func:`ladder_models`, under the
    scenario's own protocol, split, width and signal, one table per ladder labelled "trained <family>" or
    "untrained <family>": at each model's last layer, or at ``every_layer``. Empty without ladders."""
    models = ladder_models(cfg)
    if not models:
        return {}
    name = measure or decoder(cfg)
    layers = None if every_layer else last_layers(cfg, models)
    table = cells.table(dataclasses.replace(cfg, models=models, focus_model="", focus_layer=None), name, layers=layers,
                        progress=progress)
    table = table[MS.get(name).headline(table).to_numpy()]
    return {f"{'trained' if trained else 'untrained'} {family}": rows.reset_index(drop=True)
            for (family, trained), rows in table.groupby(["family", "trained"], sort=False)}


def ladder_depths(cfg: Scenario) -> dict[str, pd.DataFrame]:
    """Every layer of every ladder model (:func:`ladder_scores`) scored by each measure of ``grid_methods`` that fits
    no map, labelled "<measure's summary>, <ladder>": where along a ladder the best layer sits, by measures through
    which no test word's temporal neighbours can leak into a fitted map (chapter 7 finds that leak growing with
    size). Empty without ladders or without such a measure."""
    unfitted = [name for name in cfg.grid_methods if not MS.get(name).fits_map]
    return {f"{MS.get(name).summary}, {ladder}": rows for name in unfitted
            for ladder, rows in ladder_scores(cfg, name, every_layer=True, progress=False).items()}


def ladder_power(cfg: Scenario, measure: str | None = None) -> pd.DataFrame:
    """For each ladder (:func:`ladder_scores`, last layers), how often a planted slope of known size is detected
    with the ladder's sizes, the scenario's subjects and the spread of their scores
    (:func:`helpers.align.statistics.slope_power`), with the columns ``ladder`` and ``measure``."""
    label = MS.get(measure or decoder(cfg)).summary
    parts = [statistics.slope_power(rows).assign(ladder=ladder, measure=label)
             for ladder, rows in ladder_scores(cfg, measure, progress=False).items()]
    columns = ["ladder", "measure", "planted", "detected", "n_subjects", "spread"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def at_layer(cfg: Scenario, model: str, layer: int, measure: str | None = None) -> pd.DataFrame:
    """One model layer scored by ``measure`` (default :func:`decoder`) for every subject: the cells' rows."""
    return cells.table(cfg, measure or decoder(cfg), models=[model], layers={model: [layer]}, progress=False)


def precision_curve(cfg: Scenario, model: str, layer: int, measure: str | None = None,
                    ks: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500)) -> pd.DataFrame:
    """Decoding scores of one model layer for many k: the full precision@k curve (cached).

    As :func:`scores` (same folds, subjects and candidate set), for the given
    ``ks``; those larger than the smallest candidate set are left out.
    """
    types = occurrence_types(cfg, model)
    largest = len(np.unique(types))
    if cfg.candidates == "test":  # the smallest fold's test types bound k
        largest = min(len(np.unique(types[test])) for _, test in cells.word_splits(cfg, model=model))
    curve = dataclasses.replace(cfg, ks=tuple(k for k in ks if k <= largest))
    return at_layer(curve, model, layer, measure)


def encoding_table(cfg: Scenario, model: str, layer: int) -> pd.DataFrame:
    """Encoding direction: ridge from one model layer to every voxel, per subject (cached).

    Pairs as in decoding (each word occurrence with its type's model vector);
    penalties per voxel by inner cross-validation over types; scored by the
    Pearson r and R^2 of the out-of-fold predictions. One row per subject and
    voxel, with its MNI coordinates.
    """
    types = occurrence_types(cfg, model)
    key = steps.key("encoding", cfg, recordings=_recordings_key(cfg), features=features_key(cfg, model)[0], layer=layer,
                    smoothing=smoothing_options(cfg))

    def make() -> pd.DataFrame:  # the hidden states are read only here: a rebuild reads the table alone
        feats = lm_features(cfg, model)
        names, type_vectors = type_means(feats.vectors[layer][None], types)
        lm = type_vectors[0][np.searchsorted(names, types)]
        splits = cells.word_splits(cfg, model=model)
        tables = []
        for rec in tqdm(recordings(cfg), desc=f"encoding {feats.model} layer {layer}"):
            scores = encoding_scores(lm, brain_vectors(cfg, rec, None), splits, alphas=cfg.ridge_alphas, groups=types, seed=cfg.seed)
            xyz = rec.voxel_mni if rec.voxel_mni is not None else np.full((rec.n_voxels, 3), np.nan)
            tables.append(pd.DataFrame({
                "subject": rec.subject, "voxel": np.arange(rec.n_voxels), "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                "r": scores["r"], "r2": scores["r2"], "model": feats.model, "layer": layer, "simulated": rec.simulated,
            }))
        return pd.concat(tables, ignore_index=True)

    return cache(cfg).table("encoding", key, make)


def layer_similarity(cfg: Scenario, model: str) -> np.ndarray:
    """Mean cosine between the centred states of every pair of a model's layers, ``(layers, layers)``
    (:func:`helpers.align.statistics.layer_similarity`; cached, so a rebuild reads one small matrix instead of
    every hidden state)."""
    key = steps.key("layer_similarity", cfg, features=features_key(cfg, model)[0])

    def make() -> dict[str, np.ndarray]:
        return {"similarity": statistics.layer_similarity(lm_features(cfg, model).vectors)}

    return cache(cfg).arrays("layer_similarity", key, make)["similarity"]


def smoothing_variants(cfg: Scenario, variants: dict[str, dict], model: str, layer: int,
                       measure: str | None = None) -> pd.DataFrame:
    """Scores of one model layer by ``measure`` (default :func:`decoder`) under several smoothing settings,
    on one common word set.

    ``variants`` maps a label to scenario fields to change (``{"delay 4 s":
    {"delay": 4.0}, "HRF": {"smoothing": "hrf"}}``). Only words whose window
    fits inside their run under *every* variant are scored, so the variants
    are compared on the same words. Adds the columns ``variant`` and
    ``n_words``.
    """
    settings = {label: dataclasses.replace(cfg, **fields) for label, fields in variants.items()}
    keep = np.ones(len(occurrence_types(cfg)), dtype=bool)
    for variant in settings.values():
        options = smoothing_options(variant)
        for rec in recordings(variant):
            keep &= window_fits(rec, **options)[word_mask(rec.stimulus)]
    measure = MS.get(measure or decoder(cfg))
    key = steps.key("smoothing_variants", cfg, recordings=_recordings_key(cfg), features=features_key(cfg, model)[0],
                    layer=layer, measure=[measure.name, measure.version, cfg.fields(*measure.fields)],
                    variants={label: [smoothing_options(v), v.brain_dims] for label, v in settings.items()})

    def make() -> pd.DataFrame:
        feats = lm_features(cfg, model)
        tables = []
        for label, variant in tqdm(settings.items(), desc="smoothing variants"):
            rows = [row for rec in recordings(variant)
                    for row in cells.score(variant, measure, feats, rec, [layer], keep=keep, outside="ignore")]
            tables.append(pd.DataFrame(rows).assign(variant=label, n_words=int(keep.sum())))
        return pd.concat(tables, ignore_index=True)

    return cache(cfg).table("smoothing_variants", key, make)

