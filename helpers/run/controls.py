"""The controls: what a brain score means, measured beside it.

* **Trivial features** (:mod:`helpers.lm.trivial`: length, frequency,
  position, position identity) and the **untrained twins** go through the
  same tables as the language models (:func:`controls_table`).
* **Splits**: every source is scored under shuffled types (the paper), blocks
  with a buffer, and leave-one-run-out (:mod:`helpers.align.folds`).
* **Noise ceiling** (:func:`ceiling_table`): each subject predicted from the
  other subjects with the same measure and split, so a score can be read as
  a share of what the data allow.
* **Recovery** (:func:`recovery_table`): on the simulation, the planted layer
  swept over noise and temporal blur, through the grid.

Each source is scored at one layer: its best under the scenario's own
protocol by Procrustes P@10 (CSLS), the layer a paper would report
(:func:`chosen_layers`); trivial features have one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..align import measures as MS
from ..align.folds import SPLITS
from ..lm import trivial
from ..lm.vectors import type_means
from . import cells, grid, steps
from .cells import NO_SPLIT
from .pipeline import (ModelFeatures, brain_dims, brain_vectors, cache, focus, lm_width, occurrence_types, planted,
                       recording_key, recordings, smoothing_options, word_runs)
from .scenario import Scenario
from .tables import decoder

CEILING = "noise ceiling"
# The recovery sweep: no temporal overlap (one sample per word), then reading with the HRF and a 2 s TR.
DESIGNS = {"events": {"design": "events", "smoothing": "within_run"}, "reading": {"design": "reading"}}
SNRS = (0.0, 0.5, 4.0)


def sources(cfg: Scenario) -> tuple[str, ...]:
    """The scenario's models, then every trivial feature not among them."""
    return tuple(dict.fromkeys(cfg.models + trivial.NAMES))


def possible_splits(cfg: Scenario) -> tuple[str, ...]:
    """Every split kind the dataset allows: leave-one-run-out needs at least two runs (sentence datasets have one)."""
    return tuple(s for s in SPLITS if s != "runs" or len(np.unique(word_runs(cfg))) > 1)


def with_sources(cfg: Scenario) -> Scenario:
    """The scenario with :func:`sources` as its models (cells already cached for the models are reused)."""
    return dataclasses.replace(cfg, models=sources(cfg))


def chosen_layers(cfg: Scenario) -> dict[str, int]:
    """Every source's layer for the controls: its best by the mean headline score of :func:`~helpers.run.tables.decoder`
    (Procrustes P@10 by CSLS by default) under the scenario's protocol."""
    measure = MS.get(decoder(cfg))
    table = cells.table(with_sources(cfg), measure.name, progress=False)
    means = table[measure.headline(table)].groupby(["model", "layer"])["value"].mean()
    return {model: int(means[model].idxmax()) for model in sources(cfg)}


def controls_table(cfg: Scenario, splits: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                   layers: dict[str, int] | None = None, progress: bool = True) -> pd.DataFrame:
    """Every source at one layer, scored by every measure: those that fit a map under each split, the others once.

    ``splits`` defaults to :func:`possible_splits`, ``methods`` to the
    scenario's ``grid_methods``; ``layers`` maps each source to its layer
    (default :func:`chosen_layers`). The rows are those of the cells
    (:mod:`helpers.run.cells`), so a cell a chapter or the grid made is read,
    not made again; a measure that fits no map has ``split``
    :data:`~helpers.run.cells.NO_SPLIT`.
    """
    methods = cfg.grid_methods if methods is None else methods
    splits = possible_splits(cfg) if splits is None else splits
    cfg = with_sources(cfg)
    layers = chosen_layers(cfg) if layers is None else layers
    wanted = {model: [layers[model]] for model in cfg.models}
    parts = []
    for name in tqdm(methods, desc="controls: measures", disable=not progress or None):
        for split in (splits if MS.get(name).fits_map else splits[:1]):
            parts.append(cells.table(dataclasses.replace(cfg, split=split), name, layers=wanted, progress=False))
    return pd.concat(parts, ignore_index=True)


def ceiling_table(cfg: Scenario, splits: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                  progress: bool = True) -> pd.DataFrame:
    """The noise ceiling: every subject predicted from the others, by each measure and split (cached).

    The "model" of a subject is the other subjects' word-level brain vectors
    side by side (each reduced as for the focus model, so no voxel
    correspondence between subjects is assumed), scored as one model layer
    by each measure (``methods``: default the scenario's ``grid_methods``),
    under each split for a measure that fits a map; a measure with a
    ``ceiling`` of its own uses it (RSA compares the subject's RDM with the
    mean of the others' RDMs). Rows as in the other tables, with ``model``
    :data:`CEILING`.
    """
    methods = tuple(cfg.grid_methods if methods is None else methods)
    splits = possible_splits(cfg) if splits is None else splits
    recs = recordings(cfg)
    if len(recs) < 2:
        raise ValueError(f"the noise ceiling predicts each subject from the others; the scenario has {len(recs)} subject(s).")
    width = lm_width(cfg, focus(cfg)[0])
    used = {name: [MS.get(name).version, cfg.fields(*MS.get(name).fields)] for name in methods}
    key = steps.key("ceiling", cfg, recordings=[recording_key(cfg, r.subject) for r in recs], splits=list(splits),
                    smoothing=smoothing_options(cfg), width=width, measures=used)
    return cache(cfg).table("ceiling", key, lambda: _ceiling_rows(cfg, recs, width, splits, methods, progress))


def _ceiling_rows(cfg: Scenario, recs, width: int, splits, methods, progress: bool) -> pd.DataFrame:
    types = occurrence_types(cfg)
    every = {r.subject: brain_vectors(cfg, r, brain_dims(cfg, r, width)) for r in recs}
    rows = []
    for rec in tqdm(recs, desc="noise ceiling", disable=not progress or None):
        others = [v for s, v in every.items() if s != rec.subject]
        feats = ModelFeatures(CEILING, "the other subjects' brain vectors", np.hstack(others)[None].astype(np.float32), {}, {})
        for name in methods:
            measure = MS.get(name)
            if measure.ceiling is not None:
                own, *theirs = (type_means(v[None], types)[1][0] for v in [every[rec.subject], *others])
                rows += [{"subject": rec.subject, "layer": 0, "method": name, "split": NO_SPLIT, **row}
                         for row in measure.ceiling(own, theirs, cfg.fields(*measure.fields))]
                continue
            for split in (splits if measure.fits_map else (cfg.split,)):
                rows += cells.score(dataclasses.replace(cfg, split=split), measure, feats, rec, [0])
    return pd.DataFrame(rows).assign(model=CEILING, trained=False, family="")


def recovery_table(cfg: Scenario, designs: tuple[str, ...] = tuple(DESIGNS), snrs: tuple[float, ...] = SNRS,
                   split: str = "blocks", progress: bool = True) -> pd.DataFrame:
    """The planted model's every layer scored by each of ``grid_methods`` over a sweep of noise and blur, through the grid.

    One simulated experiment per design (:data:`DESIGNS`: no temporal
    overlap, then reading with the HRF) and SNR, the scenario's other fields
    kept; every cell is cached by the grid, so a rerun computes nothing.
    Adds the columns ``design`` and ``snr``.
    """
    if not planted(cfg):
        raise ValueError(f"the recovery sweep plants a layer in the simulation; the scenario reads {cfg.dataset!r}.")
    unknown = sorted(set(designs) - set(DESIGNS))
    if unknown:
        raise ValueError(f"unknown design(s) {unknown}; choose from {tuple(DESIGNS)}.")
    points = [(d, s) for d in designs for s in snrs]
    tables = []
    for design, snr in tqdm(points, desc="recovery sweep", disable=not progress or None):
        variant = dataclasses.replace(cfg, **DESIGNS[design], snr=float(snr), split=split, models=(cfg.planted_model,),
                                      focus_model="", focus_layer=None)
        tables.append(grid.run(variant, engine="local", progress=False).table.assign(design=design, snr=float(snr)))
    return pd.concat(tables, ignore_index=True)
