"""Checks of the exercises of chapter 8 (Layers: where are models most brain-like?)."""

from __future__ import annotations

import numpy as np

from ..align import measures as MS
from ..align import statistics
from ..run import pipeline, tables
from .chapter4 import planted_only, simulated
from .registry import exercise
from .verdict import mapping, numbers_close

THIRDS = ("first", "middle", "last")


def third(relative_depth: float) -> str:
    """The third of a model a relative depth lies in; a layer at exactly 1/3 or 2/3 counts in the lower one."""
    return THIRDS[0] if relative_depth <= 1 / 3 else THIRDS[1] if relative_depth <= 2 / 3 else THIRDS[2]


def _same_third(answer, expected: str) -> bool:
    """Whether ``answer`` names the third ``expected`` ("last" or "last third", any case)."""
    return isinstance(answer, str) and answer.strip().lower().removesuffix(" third") == expected


def layer_means(cfg):
    """The chapter's ``layers``: every measure's headline summarised per model and layer (ridge at three depths)."""
    return statistics.scored_layers(tables.compared(cfg, also=("ridge",)))


@exercise("8.1")
def third_of_the_best_layer(answer, cfg):
    model = pipeline.focus(cfg)[0]
    best = statistics.model_scores(layer_means(cfg), "best")
    best = best[best["model"] == model]
    expected = {row.measure: third(row.relative_depth) for row in best.itertuples()}
    return mapping(answer, expected, f"the thirds of {model} that hold its best layers",
                   f"Read `relative_depth` in `best` for {model}: up to 1/3 is 'first', up to 2/3 'middle', "
                   "above it 'last'.", _same_third)


@exercise("8.2")
def layers_within_the_best_interval(answer, cfg):
    proc = layer_means(cfg)
    proc = proc[proc["measure"] == MS.get("procrustes").summary]
    expected = {}
    for model, part in proc.groupby("model"):
        top = part.loc[part["mean"].idxmax()]
        expected[model] = int((part["mean"] >= top["mean"] - np.nan_to_num(top["ci95"])).sum())
    return mapping(answer, expected, "the counts of layers within the best layer's interval",
                   "Per model, take the layer of highest Procrustes mean and count the layers (itself included) whose "
                   "`mean` is at least its `mean - ci95`.", numbers_close())


@exercise("8.3", applies=simulated)
def best_layer_under_blocks(answer, cfg):
    best = {name: statistics.layer_rank(tables.scores(planted_only(cfg, split=split), "procrustes"),
                                        cfg.planted_model, cfg.planted_layer, metric="P@10",
                                        retrieval="csls")["best_layer"]
            for name, split in (("shuffled", "types"), ("blocked", "blocks"))}
    return mapping(answer, best, f"{cfg.planted_model}'s best layers (planted: {cfg.planted_layer})",
                   "Score the planted model alone under split='types' and split='blocks' and take the layer of "
                   "highest mean P@10 (CSLS) in each, e.g. `statistics.layer_rank(...)['best_layer']`.",
                   numbers_close())
