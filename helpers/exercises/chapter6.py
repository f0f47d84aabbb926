"""Checks of the exercises of chapter 6 (Representational similarity analysis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..align import rsa, statistics
from ..lm.vectors import type_means
from ..run import pipeline, tables
from .chapter4 import moved_layer, planted_only, simulated
from .registry import exercise
from .verdict import mapping, numbers_close

ALPHA = 0.05  # the significance level of the chapter's stars


def focus_rsa(cfg) -> pd.DataFrame:
    """The chapter's RSA rows of the focus model."""
    table = tables.scores(cfg, "rsa")
    return table[table["model"] == pipeline.focus(cfg)[0]]


@exercise("6.1")
def monotone_change(answer, cfg):
    model = pipeline.focus(cfg)[0]
    _, (first, last) = type_means(pipeline.lm_features(cfg, model).vectors[[0, -1]], pipeline.occurrence_types(cfg))
    a, b = rsa.rdm(first), rsa.rdm(last)
    expected = {"first vs last": rsa.score(a, b), "cube": rsa.score(a, b**3), "(d - 1)^2": rsa.score(a, (b - 1) ** 2)}
    return mapping(answer, expected, f"the RSA scores between {model}'s first and last layer",
                   "Build both RDMs with `rsa.rdm` from the type means of the first and the last hidden state; "
                   "'cube' and '(d - 1)^2' change the last layer's RDM before `rsa.score`.", numbers_close())


@exercise("6.2")
def cosine_rdms(answer, cfg):
    model = pipeline.focus(cfg)[0]
    cosine = tables.scores(dataclasses.replace(cfg, models=(model,), rsa_metric="cosine"), "rsa")
    means = {name: statistics.summarise(t, ["layer"]).set_index("layer")["mean"]
             for name, t in (("own", focus_rsa(cfg)), ("cosine", cosine))}
    expected = {"mean change": float((means["cosine"] - means["own"]).mean()),
                "best layer, cosine": int(statistics.layer_curve(cosine)[1]["layer"])}
    return mapping(answer, expected, f"{model}'s RSA with cosine RDMs against {cfg.rsa_metric} RDMs",
                   "The change is the cosine mean minus the chapter's mean per layer, averaged over layers; the "
                   "best layer has the highest mean rho with cosine RDMs.", numbers_close())


@exercise("6.3")
def corrected_across_layers(answer, cfg):
    model = pipeline.focus(cfg)[0]
    worst = focus_rsa(cfg).groupby("layer")[["p", "p_fwe"]].max()  # the largest p over subjects, as the stars
    n_layers = len(worst)
    expected = {"significant, max statistic": int((worst["p_fwe"] < ALPHA).sum()),
                "significant, Bonferroni": int((np.minimum(worst["p"] * n_layers, 1) < ALPHA).sum()),
                # n_layers / (1 + n) < 1 / 20 needs n >= 20 n_layers
                "permutations for Bonferroni": round(n_layers / ALPHA)}
    return mapping(answer, expected, f"{model}'s layers corrected two ways",
                   "Count the layers whose largest p over subjects stays below 0.05: `p_fwe` as it is, `p` times "
                   "the number of layers; Bonferroni's smallest p is (number of layers) / (1 + n_permutations).",
                   numbers_close())


@exercise("6.4", applies=simulated)
def shallow_planted_layer(answer, cfg):
    moved = moved_layer(cfg)
    reading = planted_only(cfg, planted_layer=moved)
    designs = {"reading": reading, "events": dataclasses.replace(reading, design="events", smoothing="within_run")}
    expected = {label: statistics.layer_rank(tables.scores(variant, "rsa"), cfg.planted_model, moved)["best_layer"]
                for label, variant in designs.items()}
    return mapping(answer, expected, f"the best layers with layer {moved} planted",
                   f"Score the planted model alone with planted_layer={moved} in each design and take the layer of "
                   "highest mean rho (`statistics.layer_rank(...)['best_layer']`).", numbers_close())
