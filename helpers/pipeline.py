"""The analysis steps of the book, each cached by what determines it.

``scenario -> stimulus -> language-model features -> recordings -> word-level
brain vectors -> alignment scores``. Each step reads its inputs through the
steps before it, so a notebook can be run on its own: whatever is missing
from the cache is computed, and nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import features as F
from . import models as M
from . import simulate as S
from . import words as W
from .cache import Cache, text_digest
from .evaluation import match_dimensions, retrieval_scores
from .folds import make_splits
from .procrustes import Procrustes
from .recording import Recording
from .reduction import pca
from .scenario import Scenario
from .smoothing import smooth, window_fits

# Bump when a step's computation changes, so old cache entries are not reused.
VERSIONS = {"features": 1, "simulation": 1, "brain": 2, "procrustes": 2}


def cache(cfg: Scenario) -> Cache:
    return Cache(cfg.cache_dir)


@lru_cache(maxsize=4)
def schedule(cfg: Scenario) -> S.Schedule:
    """What was shown and when (the simulated experiment's story schedule)."""
    return S.reading_schedule(S.load_story().paragraphs, cfg.n_runs)


def stimulus_items(cfg: Scenario) -> np.ndarray:
    """Every item shown, fixation marks included."""
    return schedule(cfg).items


@dataclass(frozen=True)
class ModelFeatures:
    """Hidden states of one model for every word occurrence of the stimulus."""

    model: str
    source: str
    vectors: np.ndarray  # (n_states, n_words, width)
    key: dict

    @property
    def n_states(self) -> int:
        return self.vectors.shape[0]


def features_key(cfg: Scenario, model: str) -> tuple[dict, M.Resolved]:
    resolved = M.resolve(model)
    key = {
        "version": VERSIONS["features"],
        "model": resolved.fingerprint(),
        "context": cfg.context,
        "pooling": cfg.pooling,
        "text": text_digest(stimulus_items(cfg)),
    }
    return key, resolved


@lru_cache(maxsize=8)
def lm_features(cfg: Scenario, model: str) -> ModelFeatures:
    """Every hidden state of ``model`` for every word of the stimulus (cached)."""
    key, resolved = features_key(cfg, model)
    items = stimulus_items(cfg)

    def make() -> dict[str, np.ndarray]:
        tokenizer, net, _ = M.load(model)
        vectors = F.extract(tokenizer, net, items, context=cfg.context, pooling=cfg.pooling)
        return {f"layer_{i:03d}": v for i, v in enumerate(vectors)}

    layers = cache(cfg).arrays("features", key, make)
    vectors = np.stack([layers[name] for name in sorted(layers)])
    return ModelFeatures(resolved.name, resolved.source, vectors, key)


def occurrence_types(cfg: Scenario) -> np.ndarray:
    """The type (lower-cased core) of every word occurrence of the stimulus."""
    return np.array([W.word_type(item) for item in stimulus_items(cfg) if W.is_word(item)])


def recording_key(cfg: Scenario, subject: str) -> dict:
    planted = lm_features(cfg, cfg.planted_model)
    return {
        "version": VERSIONS["simulation"],
        "subject": subject,
        "planted": planted.key,
        **cfg.fields("dataset", "seed", "n_voxels", "n_runs", "snr", "planted_layer"),
    }


@lru_cache(maxsize=4)
def recordings(cfg: Scenario) -> tuple[Recording, ...]:
    """The scenario's recordings: the simulated subjects, with the planted driver."""
    planted = lm_features(cfg, cfg.planted_model)
    info = {
        "planted_model": planted.model,
        "planted_layer": cfg.planted_layer,
        "planted_source": planted.source,
        "story": S.load_story().title,
    }
    return tuple(
        S.simulate_reading(
            schedule(cfg),
            planted.vectors[cfg.planted_layer],
            n_subjects=cfg.n_subjects,
            n_voxels=cfg.n_voxels,
            snr=cfg.snr,
            seed=cfg.seed,
            info=info,
        )
    )


def smoothing_options(cfg: Scenario) -> dict:
    """The scenario's arguments for :func:`helpers.smoothing.word_weights`."""
    if cfg.smoothing == "hrf":
        return {"method": "hrf"}
    return {"method": "paper", **cfg.fields("lookback", "lookforward", "delay", "kernel")}


def brain_dims(cfg: Scenario, recording: Recording, width: int) -> int | None:
    """Number of TR-level PCA components for a model of this width (``None``: all voxels)."""
    if cfg.brain_dims == "voxels":
        return None
    limit = min(recording.n_trs, recording.n_voxels)
    return min(limit, width) if cfg.brain_dims == "model" else min(limit, int(cfg.brain_dims))


def brain_vectors(cfg: Scenario, recording: Recording, n_components: int | None, outside: str = "error") -> np.ndarray:
    """Word-level brain vectors of one recording, shape ``(n_words, k)`` (cached).

    As in the paper, the TR x voxel matrix is first reduced by PCA to
    ``n_components`` (``None`` keeps all voxels), then smoothed to words
    (:mod:`helpers.smoothing`); non-words are dropped. With
    ``outside="ignore"``, words whose window leaves their run get zeros.
    """
    options = smoothing_options(cfg)
    key = {
        "version": VERSIONS["brain"],
        "recording": recording_key(cfg, recording.subject),
        "smoothing": options,
        "outside": outside,
        "n_components": n_components,
    }

    def make() -> dict[str, np.ndarray]:
        data = recording.data if n_components is None else pca(recording.data, n_components)
        vectors = smooth(recording, data, outside=outside, **options)
        return {"vectors": vectors[word_mask(recording)]}

    return cache(cfg).arrays("brain", key, make)["vectors"]


def word_mask(recording: Recording) -> np.ndarray:
    """Which shown items are words."""
    return np.array([W.is_word(item) for item in recording.words])


def procrustes_table(cfg: Scenario, progress: bool = True) -> pd.DataFrame:
    """Procrustes retrieval scores for every subject, model, layer, fold, retrieval and k.

    One tidy row per subject x model x layer x fold x retrieval x metric.
    Brain vectors are reduced to :func:`brain_dims` components; language-model
    type vectors are reduced by PCA to that number when wider.
    """
    tables = []
    for model in cfg.models:
        feats = lm_features(cfg, model)
        key = {
            "version": VERSIONS["procrustes"],
            "recordings": [recording_key(cfg, r.subject) for r in recordings(cfg)],
            "smoothing": smoothing_options(cfg),
            "brain_dims": cfg.brain_dims,
            "features": feats.key,
            "protocol": cfg.fields("n_folds", "split", "buffer_s", "seed", "csls_neighbours", "candidates", "ks"),
        }
        tables.append(cache(cfg).table("procrustes", key, lambda: _procrustes_rows(cfg, feats, progress=progress)))
    return pd.concat(tables, ignore_index=True)


def _procrustes_rows(cfg: Scenario, feats: ModelFeatures, layers=None, keep=None, outside="error", progress=True) -> pd.DataFrame:
    """Procrustes scores of the given layers (default all) on the word occurrences in ``keep`` (default all)."""
    types = occurrence_types(cfg)
    names, type_vectors = F.type_means(feats.vectors, types)
    keep = np.ones(len(types), dtype=bool) if keep is None else keep
    layers = range(feats.n_states) if layers is None else layers
    info = M.lookup(feats.model)
    onsets = schedule(cfg).onsets[[W.is_word(item) for item in stimulus_items(cfg)]]
    splits = make_splits(cfg.split, types[keep], onsets[keep], cfg.n_folds, cfg.seed, cfg.buffer_s)
    rows = []
    recs = recordings(cfg)
    steps = tqdm(total=len(recs) * len(layers), desc=f"Procrustes {feats.model}", disable=not progress)
    for rec in recs:
        brain = brain_vectors(cfg, rec, brain_dims(cfg, rec, feats.vectors.shape[2]), outside)[keep]
        for layer in layers:
            x, y = match_dimensions(brain, type_vectors[layer])
            scores = retrieval_scores(
                x, types[keep], names, y, Procrustes, splits, ks=cfg.ks,
                neighbours=cfg.csls_neighbours, candidates=cfg.candidates,
            )
            for row in scores:
                rows.append(
                    {
                        "dataset": rec.dataset,
                        "simulated": rec.simulated,
                        "subject": rec.subject,
                        "model": feats.model,
                        "family": info.family if info else "",
                        "n_params_m": info.n_params if info else np.nan,
                        "layer": layer,
                        "n_states": feats.n_states,
                        "relative_depth": layer / (feats.n_states - 1),
                        "method": "procrustes",
                        "split": cfg.split,
                        **row,
                    }
                )
            steps.update()
    steps.close()
    return pd.DataFrame(rows)


def smoothing_variants(cfg: Scenario, variants: dict[str, dict], model: str | None = None, layer: int | None = None) -> pd.DataFrame:
    """Procrustes scores of one model layer under several smoothing settings, on one common word set.

    ``variants`` maps a label to scenario fields to change (``{"delay 4 s":
    {"delay": 4.0}, "HRF": {"smoothing": "hrf"}}``). Only words whose window
    fits inside their run under *every* variant are scored, so the variants
    are compared on the same words. The model and layer default to the
    planted ones. Adds the columns ``variant`` and ``n_words``.
    """
    model = model or cfg.planted_model
    layer = cfg.planted_layer if layer is None else layer
    feats = lm_features(cfg, model)
    settings = {label: dataclasses.replace(cfg, **fields) for label, fields in variants.items()}
    keep = np.ones(len(occurrence_types(cfg)), dtype=bool)
    for variant in settings.values():
        options = smoothing_options(variant)
        for rec in recordings(variant):
            keep &= window_fits(rec, **options)[word_mask(rec)]
    key = {
        "version": VERSIONS["procrustes"],
        "recordings": [recording_key(cfg, r.subject) for r in recordings(cfg)],
        "variants": {label: [smoothing_options(v), v.brain_dims] for label, v in settings.items()},
        "features": feats.key,
        "layer": layer,
        "protocol": cfg.fields("n_folds", "split", "buffer_s", "seed", "csls_neighbours", "candidates", "ks"),
    }

    def make() -> pd.DataFrame:
        tables = []
        for label, variant in tqdm(settings.items(), desc="smoothing variants"):
            table = _procrustes_rows(variant, feats, layers=[layer], keep=keep, outside="ignore", progress=False)
            tables.append(table.assign(variant=label, n_words=int(keep.sum())))
        return pd.concat(tables, ignore_index=True)

    return cache(cfg).table("smoothing_variants", key, make)
