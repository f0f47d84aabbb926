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

from . import datasets as D
from . import features as F
from . import models as M
from . import pereira as P
from . import simulate as S
from . import rsa
from . import words as W
from .cache import Cache, text_digest
from .evaluation import match_dimensions, retrieval_scores
from .folds import make_splits
from .procrustes import Procrustes
from .ridge import Ridge, encoding_scores
from .recording import Recording, SentenceRecording
from .reduction import pca
from .scenario import Scenario
from .smoothing import smooth, window_fits

# Bump when a step's computation changes, so old cache entries are not reused.
VERSIONS = {"features": 2, "simulation": 1, "brain": 2, "decoding": 3}


def cache(cfg: Scenario) -> Cache:
    return Cache(cfg.cache_dir)


@lru_cache(maxsize=4)
def schedule(cfg: Scenario) -> S.Schedule:
    """What was shown and when (the simulated experiment's story schedule)."""
    return S.reading_schedule(S.load_story().paragraphs, cfg.n_runs)


def stimulus_items(cfg: Scenario) -> np.ndarray:
    """Every item shown, fixation marks included (sentence datasets: every word of the sentences)."""
    if cfg.dataset == "simulated":
        return schedule(cfg).items
    return D.stimulus(recordings(cfg)[0])


def stimulus_runs(cfg: Scenario) -> np.ndarray:
    """The run of every item of :func:`stimulus_items` (sentence datasets: all in one run)."""
    if cfg.dataset == "simulated":
        sched = schedule(cfg)
        return sched.runs[np.searchsorted(sched.tr_times, sched.onsets, side="right") - 1]
    rec = recordings(cfg)[0]
    return np.zeros(len(stimulus_items(cfg)), dtype=int) if isinstance(rec, SentenceRecording) else rec.word_runs()


@dataclass(frozen=True)
class ModelFeatures:
    """Hidden states of one model for every word occurrence of the stimulus.

    ``extraction`` records how the cached entry was computed: device, dtype,
    tokens, seconds, tokens per second, peak memory.
    """

    model: str
    source: str
    vectors: np.ndarray  # (n_states, n_words, width) float32
    key: dict
    extraction: dict

    @property
    def n_states(self) -> int:
        return self.vectors.shape[0]


def features_key(cfg: Scenario, model: str) -> tuple[dict, M.Resolved]:
    """Cache key of a model's features: its files and revision, how words are read, the dtype, the text and its runs."""
    F.check_options(cfg.context, cfg.pooling)
    resolved = M.resolve(model)
    _, dtype = M.choose_device()
    runs = stimulus_runs(cfg)
    key = {
        "version": VERSIONS["features"],
        "model": resolved.fingerprint(),
        "context": cfg.context,
        "pooling": cfg.pooling,
        "dtype": str(dtype).removeprefix("torch."),
        "stored": F.STORED_DTYPE,
        "text": text_digest(stimulus_items(cfg)),
        "run_starts": (np.flatnonzero(np.diff(runs)) + 1).tolist(),
    }
    return key, resolved


@lru_cache(maxsize=8)
def lm_features(cfg: Scenario, model: str) -> ModelFeatures:
    """Every hidden state of ``model`` for every word of the stimulus (cached; an interrupted extraction resumes).

    Runs on the device of :func:`helpers.models.choose_device` (set
    ``HELPERS_DEVICE`` to override); memory: the returned float32 array,
    n_states x n_words x width x 4 bytes (OPT-30B over 5,000 words: 7 GB).
    """
    key, resolved = features_key(cfg, model)
    items = stimulus_items(cfg)
    runs = np.searchsorted(key["run_starts"], np.arange(len(items)), side="right")

    def make(folder) -> None:
        tokenizer, net, _ = M.load(model, dtype=key["dtype"])
        F.write_features(folder, tokenizer, net, items, context=cfg.context, pooling=cfg.pooling, runs=runs)

    folder = cache(cfg).get_or_make("features", key, make, resume=True)
    return ModelFeatures(resolved.name, resolved.source, F.read_features(folder), key, F.read_record(folder))


def word_onsets(cfg: Scenario) -> np.ndarray:
    """Onset (s) of every word occurrence in the scenario's recordings.

    Sentence datasets have no word timing: there a word's "onset" is the
    index of its sentence, so a blocked split keeps sentences together and
    ``buffer_s`` counts sentences.
    """
    rec = recordings(cfg)[0]
    if isinstance(rec, SentenceRecording):
        return P.word_table(rec)[1].astype(np.float64)
    return rec.onsets[word_mask(rec)]


def occurrence_types(cfg: Scenario) -> np.ndarray:
    """The type (lower-cased core) of every word occurrence of the stimulus."""
    return np.array([W.word_type(item) for item in stimulus_items(cfg) if W.is_word(item)])


def recording_key(cfg: Scenario, subject: str) -> dict:
    if cfg.dataset != "simulated":
        path = _files(cfg)[[r.subject for r in recordings(cfg)].index(subject)]  # files are read in this order
        fields = ("dataset", "bad_voxels") + (("tr",) if cfg.dataset == "natural_stories" else ())
        return {"subject": subject, "file": D.fingerprint(path), **cfg.fields(*fields)}
    planted = lm_features(cfg, cfg.planted_model)
    return {
        "version": VERSIONS["simulation"],
        "subject": subject,
        "planted": planted.key,
        **cfg.fields("dataset", "design", "seed", "n_voxels", "n_runs", "snr", "planted_layer"),
    }


@lru_cache(maxsize=4)
def _files(cfg: Scenario) -> tuple:
    return tuple(D.files(cfg.dataset, cfg.data_dir, cfg.subjects, cfg.experiment, cfg.download))


@lru_cache(maxsize=4)
def recordings(cfg: Scenario) -> tuple[Recording | SentenceRecording, ...]:
    """The scenario's recordings: a real dataset's subjects (:mod:`helpers.datasets`), or the simulated ones."""
    if cfg.dataset != "simulated":
        return D.load(cfg.dataset, list(_files(cfg)), cfg.bad_voxels, cfg.tr, cfg.data_dir)
    planted = lm_features(cfg, cfg.planted_model)
    info = {
        "planted_model": planted.model,
        "planted_layer": cfg.planted_layer,
        "planted_source": planted.source,
        "story": S.load_story().title,
    }
    simulate = S.simulate_reading if cfg.design == "reading" else S.simulate_events
    return tuple(
        simulate(
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
    limit = min(recording.data.shape)
    return min(limit, width) if cfg.brain_dims == "model" else min(limit, int(cfg.brain_dims))


def brain_vectors(cfg: Scenario, recording: Recording, n_components: int | None, outside: str = "error") -> np.ndarray:
    """Word-level brain vectors of one recording, shape ``(n_words, k)`` (cached).

    As in the paper, the TR x voxel matrix is first reduced by PCA to
    ``n_components`` (``None`` keeps all voxels), then smoothed to words
    (:mod:`helpers.smoothing`); non-words are dropped. With
    ``outside="ignore"``, words whose window leaves their run get zeros.
    A sentence recording has no smoothing: each word gets its sentence's
    (reduced) response (:func:`helpers.pereira.word_table`).
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
        if isinstance(recording, SentenceRecording):
            return {"vectors": data[P.word_table(recording)[1]]}
        vectors = smooth(recording, data, outside=outside, **options)
        return {"vectors": vectors[word_mask(recording)]}

    return cache(cfg).arrays("brain", key, make)["vectors"]


def word_mask(recording: Recording | SentenceRecording) -> np.ndarray:
    """Which shown items are words."""
    return np.array([W.is_word(item) for item in D.stimulus(recording)])


DECODERS = ("procrustes", "ridge")


def _decoder(cfg: Scenario, method: str):
    if method == "procrustes":
        return Procrustes
    if method == "ridge":
        return lambda: Ridge(alphas=cfg.ridge_alphas, seed=cfg.seed)
    raise ValueError(f"unknown decoding method {method!r}; choose one of {DECODERS}.")


def _protocol_key(cfg: Scenario) -> dict:
    return {
        "version": VERSIONS["decoding"],
        "recordings": [recording_key(cfg, r.subject) for r in recordings(cfg)],
        "protocol": cfg.fields("n_folds", "split", "buffer_s", "seed", "csls_neighbours", "candidates", "ks"),
    }


def decoding_table(cfg: Scenario, method: str = "procrustes", progress: bool = True) -> pd.DataFrame:
    """Brain -> model retrieval scores for every subject, model, layer, fold, retrieval and k (cached).

    ``method`` is ``"procrustes"`` (an orthogonal map; both sides reduced to
    a common dimension by PCA) or ``"ridge"`` (a linear map with the penalty
    chosen by cross-validation over types inside the training fold).
    Brain vectors have :func:`brain_dims` components. One tidy row per
    subject x model x layer x fold x retrieval x metric.
    """
    _decoder(cfg, method)
    tables = []
    for model in cfg.models:
        feats = lm_features(cfg, model)
        key = _decoding_key(cfg, method, feats)
        tables.append(cache(cfg).table("decoding", key, lambda: _decoding_rows(cfg, feats, method, progress=progress)))
    return pd.concat(tables, ignore_index=True)


def _decoding_key(cfg: Scenario, method: str, feats: ModelFeatures) -> dict:
    return {
        **_protocol_key(cfg),
        "method": method,
        "ridge_alphas": cfg.ridge_alphas if method == "ridge" else None,
        "smoothing": smoothing_options(cfg),
        "brain_dims": cfg.brain_dims,
        "features": feats.key,
    }


def precision_curve(cfg: Scenario, model: str, layer: int, method: str = "procrustes",
                    ks: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500)) -> pd.DataFrame:
    """Decoding scores of one model layer for many k: the full precision@k curve (cached).

    As :func:`decoding_table` (same folds, subjects and candidate set), for
    the given ``ks``; those larger than the smallest candidate set are left
    out.
    """
    _decoder(cfg, method)
    feats = lm_features(cfg, model)
    n_types = len(np.unique(occurrence_types(cfg)))
    curve = dataclasses.replace(cfg, ks=tuple(k for k in ks if k <= n_types))
    if cfg.candidates == "test":  # the smallest fold's test types bound k
        splits = make_splits(cfg.split, occurrence_types(cfg), word_onsets(cfg), cfg.n_folds, cfg.seed, cfg.buffer_s)
        smallest = min(len(np.unique(occurrence_types(cfg)[test])) for _, test in splits)
        curve = dataclasses.replace(curve, ks=tuple(k for k in curve.ks if k <= smallest))
    key = {**_decoding_key(curve, method, feats), "layer": layer}
    return cache(cfg).table("precision_curve", key, lambda: _decoding_rows(curve, feats, method, layers=[layer]))


def _decoding_rows(cfg: Scenario, feats: ModelFeatures, method: str, layers=None, keep=None, outside="error", progress=True) -> pd.DataFrame:
    """Scores of the given layers (default all) on the word occurrences in ``keep`` (default all)."""
    types = occurrence_types(cfg)
    names, type_vectors = F.type_means(feats.vectors, types)
    keep = np.ones(len(types), dtype=bool) if keep is None else keep
    layers = range(feats.n_states) if layers is None else layers
    splits = make_splits(cfg.split, types[keep], word_onsets(cfg)[keep], cfg.n_folds, cfg.seed, cfg.buffer_s)
    rows = []
    recs = recordings(cfg)
    steps = tqdm(total=len(recs) * len(layers), desc=f"{method} {feats.model}", disable=not progress)
    for rec in recs:
        brain = brain_vectors(cfg, rec, brain_dims(cfg, rec, feats.vectors.shape[2]), outside)[keep]
        for layer in layers:
            x, y = match_dimensions(brain, type_vectors[layer]) if method == "procrustes" else (brain, type_vectors[layer])
            scores = retrieval_scores(
                x, types[keep], names, y, _decoder(cfg, method), splits, ks=cfg.ks,
                neighbours=cfg.csls_neighbours, candidates=cfg.candidates, seed=cfg.seed,
            )
            rows += [{**_row_labels(rec, feats, layer), "method": method, "split": cfg.split, **row} for row in scores]
            steps.update()
    steps.close()
    return pd.DataFrame(rows)


def _row_labels(rec: Recording, feats: ModelFeatures, layer: int) -> dict:
    info = M.lookup(feats.model)
    return {
        "dataset": rec.dataset,
        "simulated": rec.simulated,
        "subject": rec.subject,
        "model": feats.model,
        "family": info.family if info else "",
        "n_params_m": info.n_params if info else np.nan,
        "layer": layer,
        "n_states": feats.n_states,
        "relative_depth": layer / (feats.n_states - 1),
    }


def rsa_table(cfg: Scenario, progress: bool = True) -> pd.DataFrame:
    """RSA between brain and model, per subject, model and layer, with a permutation p-value (cached).

    Word types are the items: a type's brain vector is the mean over its
    occurrences (as its model vector is). RDMs use ``cfg.rsa_metric``; the
    score is Spearman's rho between their upper triangles, its p-value from
    ``cfg.n_permutations`` permutations of the brain RDM's word labels
    (one-sided), and ``p_fwe`` corrected across the model's layers by the
    maximum statistic (:func:`helpers.rsa.permutation_test_many`).
    """
    types = occurrence_types(cfg)
    tables = []
    for model in cfg.models:
        feats = lm_features(cfg, model)
        key = {
            **_protocol_key(cfg),
            "method": "rsa",
            "rsa": {**cfg.fields("rsa_metric", "n_permutations"), "test": "brain labels permuted, max over layers"},
            "smoothing": smoothing_options(cfg),
            "brain_dims": cfg.brain_dims,
            "features": feats.key,
        }

        def make() -> pd.DataFrame:
            names, type_vectors = F.type_means(feats.vectors, types)
            model_rdms = [rsa.rdm(v, cfg.rsa_metric) for v in type_vectors]
            rows = []
            for rec in tqdm(recordings(cfg), desc=f"RSA {feats.model}", disable=not progress):
                brain = brain_vectors(cfg, rec, brain_dims(cfg, rec, feats.vectors.shape[2]))
                brain_rdm = rsa.rdm(F.type_means(brain[None], types)[1][0], cfg.rsa_metric)
                test = rsa.permutation_test_many(model_rdms, brain_rdm, cfg.n_permutations, seed=cfg.seed)
                for layer in range(len(model_rdms)):
                    null = test["null"][:, layer]
                    rows.append({
                        **_row_labels(rec, feats, layer), "method": "rsa", "metric": f"rho ({cfg.rsa_metric})",
                        "value": test["rho"][layer], "p": test["p"][layer], "p_fwe": test["p_fwe"][layer],
                        "null_mean": float(np.mean(null)), "null_95": float(np.percentile(null, 95)),
                        "chance": 0.0, "n_types": len(names),
                    })
            return pd.DataFrame(rows)

        tables.append(cache(cfg).table("rsa", key, make))
    return pd.concat(tables, ignore_index=True)


def encoding_table(cfg: Scenario, model: str, layer: int) -> pd.DataFrame:
    """Encoding direction: ridge from one model layer to every voxel, per subject (cached).

    Pairs as in decoding (each word occurrence with its type's model vector);
    penalties per voxel by inner cross-validation over types; scored by the
    Pearson r and R^2 of the out-of-fold predictions. One row per subject and
    voxel, with its MNI coordinates.
    """
    feats = lm_features(cfg, model)
    types = occurrence_types(cfg)
    key = {
        **_protocol_key(cfg),
        "method": "encoding",
        "ridge_alphas": cfg.ridge_alphas,
        "smoothing": smoothing_options(cfg),
        "features": feats.key,
        "layer": layer,
    }

    def make() -> pd.DataFrame:
        names, type_vectors = F.type_means(feats.vectors[layer][None], types)
        lm = type_vectors[0][np.searchsorted(names, types)]
        splits = make_splits(cfg.split, types, word_onsets(cfg), cfg.n_folds, cfg.seed, cfg.buffer_s)
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
        **_protocol_key(cfg),
        "variants": {label: [smoothing_options(v), v.brain_dims] for label, v in settings.items()},
        "features": feats.key,
        "layer": layer,
    }

    def make() -> pd.DataFrame:
        tables = []
        for label, variant in tqdm(settings.items(), desc="smoothing variants"):
            table = _decoding_rows(variant, feats, "procrustes", layers=[layer], keep=keep, outside="ignore", progress=False)
            tables.append(table.assign(variant=label, n_words=int(keep.sum())))
        return pd.concat(tables, ignore_index=True)

    return cache(cfg).table("smoothing_variants", key, make)
