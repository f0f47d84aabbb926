"""The score tables of the book, each cached by what determines it.

Every table is tidy: one row per subject x model x layer x fold x retrieval
x metric (RSA: per subject x model x layer), with the columns of
:func:`row_labels`, the score ``value`` and its chance levels. Plots and
summaries (:mod:`helpers.align.statistics`) read these tables.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..align import rsa
from ..align.cka import permuted_cka
from ..align.evaluation import match_dimensions, retrieval_scores
from ..align.folds import make_splits
from ..align.procrustes import Procrustes
from ..align.ridge import Ridge, encoding_scores
from ..brain.smoothing import window_fits
from ..data.recording import Recording, SentenceRecording
from ..data.words import word_mask
from ..lm import models as M
from ..lm import trivial
from ..lm.vectors import type_means
from . import steps
from .pipeline import (ModelFeatures, brain_dims, brain_vectors, cache, features_key, lm_features, occurrence_types,
                       recording_key, recordings, smoothing_options, training_brain_vectors, word_onsets, word_runs)
from .scenario import Scenario

DECODERS = ("procrustes", "ridge")


def _decoder(cfg: Scenario, method: str):
    if method == "procrustes":
        return Procrustes
    if method == "ridge":
        return lambda: Ridge(alphas=cfg.ridge_alphas, seed=cfg.seed)
    raise ValueError(f"unknown decoding method {method!r}; choose one of {DECODERS}.")


def _recordings_key(cfg: Scenario) -> list[dict]:
    return [recording_key(cfg, r.subject) for r in recordings(cfg)]


def word_splits(cfg: Scenario, keep: np.ndarray | None = None):
    """The scenario's (train, test) folds over the word occurrences in ``keep`` (default all)."""
    types, onsets, runs = occurrence_types(cfg), word_onsets(cfg), word_runs(cfg)
    if keep is not None:
        types, onsets, runs = types[keep], onsets[keep], runs[keep]
    return make_splits(cfg.split, types, onsets, cfg.n_folds, cfg.seed, cfg.buffer_s, runs)


def decoding_table(cfg: Scenario, method: str = "procrustes", progress: bool = True) -> pd.DataFrame:
    """Brain -> model retrieval scores for every subject, model, layer, fold, retrieval and k (cached).

    ``method`` is ``"procrustes"`` (an orthogonal map; both sides reduced to
    a common dimension by PCA) or ``"ridge"`` (a linear map with the penalty
    chosen by cross-validation over types inside the training fold).
    Brain vectors have :func:`~helpers.run.pipeline.brain_dims` components.
    """
    _decoder(cfg, method)

    def entry(model: str):  # the key needs no features: they are read (or extracted) only to make the table
        key = decoding_key("decoding", cfg, method, features_key(cfg, model)[0])
        return key, lambda: decoding_rows(cfg, lm_features(cfg, model), method, progress=progress)

    return pd.concat(cache(cfg).tables("decoding", [entry(model) for model in cfg.models]), ignore_index=True)


def decoding_key(step: str, cfg: Scenario, method: str, features: dict, **more) -> dict:
    """The cache key of decoding scores; ``features``: the key of the model's features."""
    return steps.key(step, cfg, recordings=_recordings_key(cfg), method=method, features=features,
                     ridge_alphas=cfg.ridge_alphas if method == "ridge" else None,
                     smoothing=smoothing_options(cfg), **more)


def precision_curve(cfg: Scenario, model: str, layer: int, method: str = "procrustes",
                    ks: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500)) -> pd.DataFrame:
    """Decoding scores of one model layer for many k: the full precision@k curve (cached).

    As :func:`decoding_table` (same folds, subjects and candidate set), for
    the given ``ks``; those larger than the smallest candidate set are left
    out.
    """
    _decoder(cfg, method)
    feats = lm_features(cfg, model)
    types = occurrence_types(cfg)
    largest = len(np.unique(types))
    if cfg.candidates == "test":  # the smallest fold's test types bound k
        largest = min(len(np.unique(types[test])) for _, test in word_splits(cfg))
    curve = dataclasses.replace(cfg, ks=tuple(k for k in ks if k <= largest))
    key = decoding_key("precision_curve", curve, method, feats.key, layer=layer)
    return cache(cfg).table("precision_curve", key, lambda: decoding_rows(curve, feats, method, layers=[layer]))


def decoding_rows(cfg: Scenario, feats: ModelFeatures, method: str, layers=None, keep=None, outside="error",
                   progress=True) -> pd.DataFrame:
    """Scores of the given layers (default all) on the word occurrences in ``keep`` (default all)."""
    types = occurrence_types(cfg)
    names, type_vectors = type_means(feats.vectors, types)
    keep = np.ones(len(types), dtype=bool) if keep is None else keep
    layers = range(feats.n_states) if layers is None else layers
    splits = word_splits(cfg, keep)
    rows = []
    recs = recordings(cfg)
    bar = tqdm(total=len(recs) * len(layers), desc=f"{method} {feats.model}", disable=not progress or None)
    for rec in recs:
        brain = subject_brain(cfg, rec, feats.vectors.shape[2], splits, keep, outside)
        for layer in layers:
            rows += decode(cfg, feats, rec, brain, layer, names, type_vectors[layer], types[keep], splits, method)
            bar.update()
    bar.close()
    return pd.DataFrame(rows)


def subject_brain(cfg: Scenario, rec: Recording | SentenceRecording, width: int, splits, keep: np.ndarray,
                  outside: str = "error") -> np.ndarray | list[np.ndarray]:
    """One subject's brain vectors of the kept word occurrences for a model of this width.

    One array, or with ``pca_fit: train`` one per split (the PCA fitted on
    that split's training words).
    """
    k = brain_dims(cfg, rec, width)
    if cfg.pca_fit != "train" or k is None:
        return brain_vectors(cfg, rec, k, outside)[keep]
    kept = np.flatnonzero(keep)
    every = np.arange(len(keep))
    return [training_brain_vectors(cfg, rec, k, np.isin(every, kept[train]), outside)[keep] for train, _ in splits]


def decode(cfg: Scenario, feats: ModelFeatures, rec: Recording | SentenceRecording, brain, layer: int,
           names: np.ndarray, layer_vectors: np.ndarray, types: np.ndarray, splits, method: str,
           fold_numbers=None) -> list[dict]:
    """Retrieval rows of one subject and one model layer over ``splits`` (:func:`helpers.align.evaluation.retrieval_scores`)."""
    x, y = (brain, layer_vectors) if method != "procrustes" else _matched(brain, layer_vectors)
    scores = retrieval_scores(
        x, types, names, y, _decoder(cfg, method), splits, ks=cfg.ks, neighbours=cfg.csls_neighbours,
        candidates=cfg.candidates, scaling=cfg.value("scaling"), csls_reference=cfg.value("csls_reference"),
        seed=cfg.seed, fold_numbers=fold_numbers,
    )
    return [{**row_labels(rec, feats, layer), "method": method, "split": cfg.split, **row} for row in scores]


def _matched(brain: np.ndarray | list[np.ndarray], lm: np.ndarray):
    """Both sides reduced to one width for Procrustes (brain: one array, or one per fold)."""
    if isinstance(brain, list):
        pairs = [match_dimensions(b, lm) for b in brain]
        return [x for x, _ in pairs], pairs[0][1]
    return match_dimensions(brain, lm)


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


def rsa_table(cfg: Scenario, progress: bool = True) -> pd.DataFrame:
    """RSA between brain and model, per subject, model and layer, with a permutation p-value (cached).

    Word types are the items: a type's brain vector is the mean over its
    occurrences (as its model vector is). RDMs use ``cfg.rsa_metric``; the
    score is Spearman's rho between their upper triangles, its p-value from
    ``cfg.n_permutations`` permutations of the brain RDM's word labels
    (one-sided), and ``p_fwe`` corrected across the model's layers by the
    maximum statistic (:func:`helpers.align.rsa.permutation_test_many`).
    """
    types = occurrence_types(cfg)

    def entry(model: str):
        key = steps.key("rsa", cfg, recordings=_recordings_key(cfg), features=features_key(cfg, model)[0],
                        smoothing=smoothing_options(cfg), test="brain labels permuted, max over layers")

        def make() -> pd.DataFrame:
            feats = lm_features(cfg, model)
            model_rdms = [rsa.rdm(v, cfg.rsa_metric) for v in type_means(feats.vectors, types)[1]]
            recs = tqdm(recordings(cfg), desc=f"RSA {feats.model}", disable=not progress or None)
            return pd.DataFrame([row for rec in recs for row in rsa_rows(cfg, feats, rec, model_rdms)])

        return key, make

    return pd.concat(cache(cfg).tables("rsa", [entry(model) for model in cfg.models]), ignore_index=True)


def rsa_rows(cfg: Scenario, feats: ModelFeatures, rec: Recording | SentenceRecording, model_rdms: list[np.ndarray]) -> list[dict]:
    """RSA rows of one subject for every layer, the permutation test corrected across the layers."""
    types = occurrence_types(cfg)
    brain = brain_vectors(cfg, rec, brain_dims(cfg, rec, feats.vectors.shape[2]))
    brain_rdm = rsa.rdm(type_means(brain[None], types)[1][0], cfg.rsa_metric)
    test = rsa.permutation_test_many(model_rdms, brain_rdm, cfg.n_permutations, seed=cfg.seed)
    rows = []
    for layer in range(len(model_rdms)):
        null = test["null"][:, layer]
        rows.append({
            **row_labels(rec, feats, layer), "method": "rsa", "metric": f"rho ({cfg.rsa_metric})",
            "value": test["rho"][layer], "p": test["p"][layer], "p_fwe": test["p_fwe"][layer],
            "null_mean": float(np.mean(null)), "null_95": float(np.percentile(null, 95)),
            "chance": 0.0, "n_types": len(np.unique(types)),
        })
    return rows


def cka_table(cfg: Scenario, progress: bool = True) -> pd.DataFrame:
    """Linear CKA between each subject's and each model layer's type vectors, with a permutation null (cached).

    CKA fits nothing, so there are no folds; ``chance`` is the mean of the
    null over ``cka_permutations`` shuffles of the brain side's word labels.
    """
    types = occurrence_types(cfg)

    def entry(model: str):
        key = steps.key("cka", cfg, recordings=_recordings_key(cfg), features=features_key(cfg, model)[0],
                        smoothing=smoothing_options(cfg))

        def make() -> pd.DataFrame:
            feats = lm_features(cfg, model)
            type_vectors = type_means(feats.vectors, types)[1]
            pairs = [(rec, layer) for rec in recordings(cfg) for layer in range(feats.n_states)]
            return pd.DataFrame([cka_row(cfg, feats, rec, layer, type_vectors[layer])
                                 for rec, layer in tqdm(pairs, desc=f"CKA {feats.model}", disable=not progress or None)])

        return key, make

    return pd.concat(cache(cfg).tables("cka", [entry(model) for model in cfg.models]), ignore_index=True)


def cka_row(cfg: Scenario, feats: ModelFeatures, rec: Recording | SentenceRecording, layer: int,
            layer_vectors: np.ndarray) -> dict:
    """Linear CKA of one subject and one model layer over the word types, with its permutation null."""
    types = occurrence_types(cfg)
    brain = type_means(brain_vectors(cfg, rec, brain_dims(cfg, rec, feats.vectors.shape[2]))[None], types)[1][0]
    value, null = permuted_cka(brain, layer_vectors, cfg.cka_permutations, [cfg.seed, layer])
    return {**row_labels(rec, feats, layer), "method": "cka", "metric": "linear CKA", "value": value,
            "chance": float(null.mean()), "null_95": float(np.percentile(null, 95)),
            "p": float((1 + np.sum(null >= value)) / (1 + len(null))), "n_types": len(brain)}


def encoding_table(cfg: Scenario, model: str, layer: int) -> pd.DataFrame:
    """Encoding direction: ridge from one model layer to every voxel, per subject (cached).

    Pairs as in decoding (each word occurrence with its type's model vector);
    penalties per voxel by inner cross-validation over types; scored by the
    Pearson r and R^2 of the out-of-fold predictions. One row per subject and
    voxel, with its MNI coordinates.
    """
    feats = lm_features(cfg, model)
    types = occurrence_types(cfg)
    key = steps.key("encoding", cfg, recordings=_recordings_key(cfg), features=feats.key, layer=layer,
                    smoothing=smoothing_options(cfg))

    def make() -> pd.DataFrame:
        names, type_vectors = type_means(feats.vectors[layer][None], types)
        lm = type_vectors[0][np.searchsorted(names, types)]
        splits = word_splits(cfg)
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


def smoothing_variants(cfg: Scenario, variants: dict[str, dict], model: str, layer: int) -> pd.DataFrame:
    """Procrustes scores of one model layer under several smoothing settings, on one common word set.

    ``variants`` maps a label to scenario fields to change (``{"delay 4 s":
    {"delay": 4.0}, "HRF": {"smoothing": "hrf"}}``). Only words whose window
    fits inside their run under *every* variant are scored, so the variants
    are compared on the same words. Adds the columns ``variant`` and
    ``n_words``.
    """
    feats = lm_features(cfg, model)
    settings = {label: dataclasses.replace(cfg, **fields) for label, fields in variants.items()}
    keep = np.ones(len(occurrence_types(cfg)), dtype=bool)
    for variant in settings.values():
        options = smoothing_options(variant)
        for rec in recordings(variant):
            keep &= window_fits(rec, **options)[word_mask(rec.stimulus)]
    key = steps.key("smoothing_variants", cfg, recordings=_recordings_key(cfg), features=feats.key, layer=layer,
                    variants={label: [smoothing_options(v), v.brain_dims] for label, v in settings.items()})

    def make() -> pd.DataFrame:
        tables = []
        for label, variant in tqdm(settings.items(), desc="smoothing variants"):
            table = decoding_rows(variant, feats, "procrustes", layers=[layer], keep=keep, outside="ignore", progress=False)
            tables.append(table.assign(variant=label, n_words=int(keep.sum())))
        return pd.concat(tables, ignore_index=True)

    return cache(cfg).table("smoothing_variants", key, make)


# The paper's retrieval protocol, then each of the careful protocol's changes on its own, then all of them.
PAPER = {"protocol": "paper", "scaling": "minmax", "csls_reference": "all", "pca_fit": "all", "split": "types"}
PROTOCOL_STEPS = {
    "the paper's protocol": {},
    "centred on training rows, not min-max scaled": {"scaling": "centre"},
    "CSLS neighbourhood over test rows only": {"csls_reference": "test"},
    "PCA fitted on the training words' TRs": {"pca_fit": "train"},
    "blocked split, not shuffled types": {"split": "blocks"},
    "all four changes": {"scaling": "centre", "csls_reference": "test", "pca_fit": "train", "split": "blocks"},
}


def protocol_steps(cfg: Scenario, model: str, layer: int) -> pd.DataFrame:
    """Procrustes scores of one model layer under the paper's protocol and under each deviation from it (cached).

    The rows of :func:`decoding_table` for every setting of
    :data:`PROTOCOL_STEPS` (the paper's protocol with one field changed at a
    time), with a column ``step`` naming it; the other fields are the
    scenario's.
    """
    feats = lm_features(cfg, model)
    settings = {label: dataclasses.replace(cfg, **{**PAPER, **change}) for label, change in PROTOCOL_STEPS.items()}
    key = steps.key("protocol_steps", cfg, recordings=_recordings_key(cfg), features=feats.key, layer=layer,
                    smoothing=smoothing_options(cfg),
                    settings={label: v.fields("scaling", "csls_reference", "pca_fit", "split") for label, v in settings.items()})

    def make() -> pd.DataFrame:
        return pd.concat([decoding_rows(v, feats, "procrustes", layers=[layer], progress=False).assign(step=label)
                          for label, v in tqdm(settings.items(), desc="protocol steps")], ignore_index=True)

    return cache(cfg).table("protocol_steps", key, make)
