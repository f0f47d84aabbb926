"""Checks of the exercises of chapter 7 (Scaling: do bigger models align better?)."""

from __future__ import annotations

import pandas as pd

from ..align import statistics
from ..lm import models as M
from ..run import pipeline, tables
from .registry import exercise
from .verdict import mapping, numbers_close


def model_scores(cfg, at: str) -> pd.DataFrame:
    """Each measure's score per model at its ``"best"`` or ``"last"`` layer, as the chapter's ``best`` and ``last``."""
    return statistics.model_scores(statistics.scored_layers(tables.compared(cfg, also=("ridge",))), at)


def procrustes(cfg) -> pd.DataFrame:
    """The headline rows of Procrustes (P@10 by CSLS), as the chapter's ``measures``."""
    (table,) = tables.headlines(cfg, ("procrustes",)).values()
    return table


def has_twin(cfg) -> str | None:
    """Why exercise 7.1 does not apply to ``cfg`` (the focus model has no untrained twin among its models), or None."""
    model = cfg.value("focus_model")  # pipeline.focus's model, without reading features for its layer
    if M.RANDOM_PREFIX + model in cfg.models:
        return None
    return (f"this exercise compares {model} with its untrained twin, and this scenario's models have no "
            f"{M.RANDOM_PREFIX}{model}")


@exercise("7.1", applies=has_twin)
def trained_against_untrained(answer, cfg):
    model = pipeline.focus(cfg)[0]
    best = model_scores(cfg, "best")
    above = (best["mean"] - best["chance"]).set_axis(pd.MultiIndex.from_frame(best[["measure", "model"]]))
    expected = {measure: above[(measure, M.RANDOM_PREFIX + model)] / above[(measure, model)]
                for measure in best["measure"].unique()}
    return mapping(answer, expected, f"the share of {model}'s height above chance that its twin reaches, per measure",
                   "At each model's best layer take mean - chance (the permutation null), then divide the twin's "
                   "by the trained model's, measure by measure.", numbers_close())


@exercise("7.2")
def best_or_last(answer, cfg):
    both = model_scores(cfg, "best").merge(model_scores(cfg, "last"), on=["measure", "model"],
                                           suffixes=(" best", " last"))
    changes = sum(list(rows.sort_values("mean best")["model"]) != list(rows.sort_values("mean last")["model"])
                  for _, rows in both.groupby("measure"))
    expected = {"largest gain": float((both["mean best"] - both["mean last"]).max()), "rankings that change": changes}
    return mapping(answer, expected, "the best layer against the last",
                   "The gain is mean at the best layer minus mean at the last, largest over every measure and model "
                   "(twins included); count the measures whose order of models differs between the two.",
                   numbers_close())


@exercise("7.3")
def slope_per_subject(answer, cfg):
    slopes = pd.Series({subject: statistics.scaling_slope(rows, "best", n_boot=1)["slope"]
                        for subject, rows in procrustes(cfg).groupby("subject")})
    expected = {"positive": int((slopes > 0).sum()), "negative": int((slopes < 0).sum()),
                "no slope": int(slopes.isna().sum())}  # fewer than two trained model sizes: no slope (NaN)
    return mapping(answer, expected, "the signs of the subjects' Procrustes slopes",
                   "Fit `statistics.scaling_slope(rows, 'best')` to each subject's rows of the Procrustes table "
                   "and count the signs of `slope`, and its NaNs.", numbers_close())
