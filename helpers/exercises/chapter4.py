"""Checks of the exercises of chapter 4 (Procrustes analysis)."""

from __future__ import annotations

import dataclasses

from ..align import statistics
from ..run import pipeline, tables
from .registry import exercise
from .verdict import mapping, number, numbers_close


def simulated(cfg) -> str | None:
    """Why an exercise that changes the simulation does not apply to ``cfg``, or None."""
    if pipeline.planted(cfg):
        return None
    return f"this exercise changes the simulation, and this scenario's data ({cfg.dataset}) are not simulated"


def k_shown(cfg) -> int:
    """The k the chapters read: 10 when the scenario scores it, else its largest."""
    return 10 if 10 in cfg.ks else max(cfg.ks)


def csls_at(table, cfg):
    """The rows of CSLS retrieval at :func:`k_shown`."""
    return table[(table["retrieval"] == "csls") & (table["metric"] == f"P@{k_shown(cfg)}")]


def moved_layer(cfg) -> int:
    """The shallow layer exercises 4.4 and 6.4 plant instead: 1, or 2 when layer 1 is already planted."""
    return 1 if cfg.planted_layer != 1 else 2


def planted_only(cfg, **changes):
    """``cfg`` with the planted model as its only model (and any ``changes``)."""
    return dataclasses.replace(cfg, models=(cfg.planted_model,), focus_model="", focus_layer=None, **changes)


@exercise("4.1")
def best_layer_against_chance(answer, cfg):
    k = k_shown(cfg)
    model = pipeline.focus(cfg)[0]
    best = statistics.best_layers(csls_at(tables.scores(cfg, "procrustes"), cfg), ["model"]).set_index("model")
    row = best.loc[model]
    return mapping(answer, {"k/n": row["chance"], "times the null": row["mean"] / row["chance_permuted"]},
                   f"{model}'s best layer at P@{k}",
                   "k/n counts the candidate word types; the ratio divides the best layer's mean by "
                   "`chance_permuted`, not by `chance`.", numbers_close())


@exercise("4.2")
def fewer_candidates(answer, cfg):
    model, layer = pipeline.focus(cfg)
    means = {}
    for candidates in ("all", "test"):
        rows = csls_at(tables.precision_curve(dataclasses.replace(cfg, candidates=candidates), model, layer,
                                              ks=cfg.ks), cfg)
        means[candidates] = rows[["value", "chance_permuted"]].mean()
    expected = {"score ratio": means["test"]["value"] / means["all"]["value"],
                "null ratio": means["test"]["chance_permuted"] / means["all"]["chance_permuted"]}
    return mapping(answer, expected, f"the ratios test / all at P@{k_shown(cfg)}",
                   "Divide the mean under candidates='test' by the mean under 'all', for the score and for "
                   "`chance_permuted`, at the focus layer with CSLS.", numbers_close())


@exercise("4.3", applies=simulated)
def stronger_signal(answer, cfg):
    strong = planted_only(cfg, snr=5.0)
    ranks = {split: statistics.layer_rank(tables.scores(dataclasses.replace(strong, split=split), "procrustes"),
                                          cfg.planted_model, cfg.planted_layer, metric="P@10", retrieval="csls")
             for split in ("types", "blocks")}
    return mapping(answer, {"shuffled": ranks["types"]["rank"], "blocked": ranks["blocks"]["rank"]},
                   f"the planted layer's ranks at snr = 5 (1 = best)",
                   "Rank the planted layer among the planted model's layers by mean P@10 with CSLS, "
                   "`statistics.layer_rank(...)['rank']`, under each split.", numbers_close())


@exercise("4.4", applies=simulated)
def another_planted_layer(answer, cfg):
    moved = moved_layer(cfg)
    table = tables.scores(planted_only(cfg, planted_layer=moved), "procrustes")
    best = statistics.layer_rank(table, cfg.planted_model, moved, metric="P@10", retrieval="csls")["best_layer"]
    return number(answer, best, f"the best layer with layer {moved} planted", "Score the planted model with "
                  f"planted_layer={moved} under the shuffled split and take the layer of highest mean P@10 (CSLS).",
                  rtol=0, atol=0)
