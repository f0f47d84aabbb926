"""The analysis steps of the book, each cached by what determines it.

``scenario -> stimulus -> language-model features -> recordings -> word-level
brain vectors -> alignment scores``. Each step reads its inputs through the
steps before it, so a notebook can be run on its own: whatever is missing
from the cache is computed, and nothing else.
"""

from __future__ import annotations

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
from .smoothing import smooth

# Bump when a step's computation changes, so old cache entries are not reused.
VERSIONS = {"features": 1, "simulation": 1, "brain": 1, "procrustes": 2}


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


def brain_vectors(cfg: Scenario, recording: Recording, n_components: int | None) -> np.ndarray:
    """Word-level brain vectors of one recording, shape ``(n_words, k)`` (cached).

    As in the paper, the TR x voxel matrix is first reduced by PCA to
    ``n_components`` (``None`` keeps all voxels), then smoothed to words
    (:mod:`helpers.smoothing`); non-words are dropped.
    """
    window = cfg.fields("lookback", "lookforward", "delay")
    key = {
        "version": VERSIONS["brain"],
        "recording": recording_key(cfg, recording.subject),
        "window": window,
        "n_components": n_components,
    }

    def make() -> dict[str, np.ndarray]:
        data = recording.data if n_components is None else pca(recording.data, n_components)
        vectors = smooth(recording, data, **window)
        keep = np.array([W.is_word(item) for item in recording.words])
        return {"vectors": vectors[keep]}

    return cache(cfg).arrays("brain", key, make)["vectors"]


def procrustes_table(cfg: Scenario, progress: bool = True) -> pd.DataFrame:
    """Procrustes retrieval scores for every subject, model, layer, fold, retrieval and k.

    One tidy row per subject x model x layer x fold x retrieval x metric.
    Brain vectors are reduced to ``min(n_trs, n_voxels, model width)``
    components; language-model type vectors are reduced by PCA to that
    number when wider.
    """
    tables = []
    types = occurrence_types(cfg)
    for model in cfg.models:
        feats = lm_features(cfg, model)
        key = {
            "version": VERSIONS["procrustes"],
            "recordings": [recording_key(cfg, r.subject) for r in recordings(cfg)],
            "window": cfg.fields("lookback", "lookforward", "delay"),
            "features": feats.key,
            "protocol": cfg.fields("n_folds", "split", "buffer_s", "seed", "csls_neighbours", "candidates", "ks"),
        }
        tables.append(cache(cfg).table("procrustes", key, lambda: _procrustes_rows(cfg, feats, types, progress)))
    return pd.concat(tables, ignore_index=True)


def _procrustes_rows(cfg: Scenario, feats: ModelFeatures, types: np.ndarray, progress: bool) -> pd.DataFrame:
    names, type_vectors = F.type_means(feats.vectors, types)
    info = M.lookup(feats.model)
    rows = []
    recs = recordings(cfg)
    onsets = schedule(cfg).onsets[[W.is_word(item) for item in stimulus_items(cfg)]]
    splits = make_splits(cfg.split, types, onsets, cfg.n_folds, cfg.seed, cfg.buffer_s)
    steps = tqdm(total=len(recs) * feats.n_states, desc=f"Procrustes {feats.model}", disable=not progress)
    for rec in recs:
        k = min(rec.n_trs, rec.n_voxels, feats.vectors.shape[2])
        brain = brain_vectors(cfg, rec, k)
        for layer in range(feats.n_states):
            x, y = match_dimensions(brain, type_vectors[layer])
            scores = retrieval_scores(
                x, types, names, y, Procrustes, splits, ks=cfg.ks,
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
