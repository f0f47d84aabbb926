"""Checks of the exercises of chapter 5 (Ridge regression)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..align import statistics
from ..run import pipeline, tables
from .chapter4 import csls_at, k_shown, simulated
from .registry import exercise
from .verdict import mapping, numbers_close


def careful_ridge(cfg) -> str | None:
    """Why an exercise about the penalties of ``ridge_alphas`` does not apply to ``cfg``, or None."""
    if cfg.value("ridge_protocol") == "careful":
        return None
    return ("this exercise is about the penalties of ridge_alphas, and this scenario's ridge (ridge_protocol: "
            "published) chooses its own penalty per output dimension from a fixed grid instead")


def shared_voxels(cfg) -> str | None:
    """Why a map averaged over subjects voxel by voxel means nothing for ``cfg`` (its subjects do not share voxels),
    or None (simulated subjects share theirs; so does a single subject)."""
    if pipeline.planted(cfg):
        return None
    recordings = pipeline.recordings(cfg)
    first = recordings[0].voxel_mni
    if len(recordings) == 1 or (first is not None and all(
            r.voxel_mni is not None and np.array_equal(r.voxel_mni, first) for r in recordings)):
        return None
    return (f"this exercise compares maps averaged over subjects voxel by voxel, and this scenario's subjects "
            f"({cfg.dataset}) do not share their voxels")


def focus_only(cfg):
    """The chapter's ``one``: ``cfg`` with its focus model as its only model."""
    return dataclasses.replace(cfg, models=(pipeline.focus(cfg)[0],))


def mean_and_null(table: pd.DataFrame, cfg, layer: int) -> pd.Series:
    """Mean ``value`` and ``chance_permuted`` of ``layer``'s rows at P@k (CSLS, :func:`~.chapter4.k_shown`)."""
    rows = csls_at(table, cfg)
    return rows[rows["layer"] == layer][["value", "chance_permuted"]].mean()


def above_null(table: pd.DataFrame, cfg, layer: int) -> float:
    """How far ``layer``'s mean score is above its permutation null (:func:`mean_and_null`)."""
    means = mean_and_null(table, cfg, layer)
    return float(means["value"] - means["chance_permuted"])


@exercise("5.1", applies=careful_ridge)
def penalties_chosen(answer, cfg):
    ridge = tables.scores(focus_only(cfg), "ridge")
    rows = csls_at(ridge, cfg)
    best = int(statistics.best_layers(rows, ["model"])["layer"].iloc[0])
    chosen = rows[rows["layer"] == best]["alpha"].value_counts().sort_index()
    edges = [min(cfg.ridge_alphas), max(cfg.ridge_alphas)]
    expected = {"penalty": float(chosen.idxmax()), "at an edge": int(chosen[chosen.index.isin(edges)].sum())}
    return mapping(answer, expected, f"the penalties chosen at the best layer ({best})",
                   f"Keep the CSLS rows at P@{k_shown(cfg)} of the best layer (one per subject and fold) and count "
                   "their `alpha` (the smallest penalty wins a tie); an edge is the smallest or the largest of "
                   "`cfg.ridge_alphas`.", numbers_close())


@exercise("5.2", applies=careful_ridge)
def one_small_penalty(answer, cfg):
    one = focus_only(cfg)
    model, layer = pipeline.focus(cfg)
    chosen = mean_and_null(tables.scores(one, "ridge"), cfg, layer)
    fixed = mean_and_null(tables.precision_curve(dataclasses.replace(one, ridge_alphas=(0.1,)), model, layer,
                                                 measure="ridge", ks=cfg.ks), cfg, layer)
    expected = {"score ratio": fixed["value"] / chosen["value"],
                "null ratio": fixed["chance_permuted"] / chosen["chance_permuted"]}
    return mapping(answer, expected, f"the ratios fixed / chosen penalty at P@{k_shown(cfg)}",
                   f"Divide the focus layer's mean P@{k_shown(cfg)} (CSLS) with the penalty fixed at 0.1 by the same "
                   "with the penalty chosen by inner CV, for the score and for `chance_permuted`.", numbers_close())


@exercise("5.3", applies=simulated)
def more_signal(answer, cfg):
    one = focus_only(cfg)
    model, layer = pipeline.focus(cfg)
    strong = dataclasses.replace(one, snr=5.0)
    runs = {"scenario snr": lambda measure: tables.scores(one, measure),
            "snr 5": lambda measure: tables.precision_curve(strong, model, layer, measure=measure, ks=cfg.ks)}
    expected = {label: above_null(scored("ridge"), cfg, layer) - above_null(scored("procrustes"), cfg, layer)
                for label, scored in runs.items()}
    return mapping(answer, expected, "ridge's height above its null minus Procrustes's, at each snr",
                   f"At the focus layer, mean P@{k_shown(cfg)} (CSLS) minus its `chance_permuted` for ridge, minus "
                   "the same for Procrustes; once at the scenario's snr, once with snr=5.", numbers_close())


@exercise("5.4", applies=shared_voxels)
def embedding_map(answer, cfg):
    model, layer = pipeline.focus(cfg)
    other = 0 if layer != 0 else pipeline.lm_features(cfg, model).n_states - 1
    maps = [statistics.encoding_map(tables.encoding_table(cfg, model, at))[0]["r"] for at in (layer, other)]
    expected = {"correlation": float(np.corrcoef(*maps)[0, 1]), "better": int((maps[0] > maps[1]).sum())}
    return mapping(answer, expected, f"the encoding maps of layers {layer} and {other}",
                   "Average `r` per voxel over subjects for each layer, then correlate the two maps over voxels and "
                   f"count the voxels where layer {layer} has the higher r.", numbers_close())
