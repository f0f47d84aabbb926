"""Ridge as a measure: a linear map from brain to model, its penalty chosen by inner cross-validation over
word types in each training fold, scored by word retrieval."""

from __future__ import annotations

from ..ridge import Ridge
from . import decoding
from .registry import CellInput, Measure, register


def score(cell: CellInput) -> list[dict]:
    alphas, seed = cell.settings["ridge_alphas"], cell.settings["seed"]
    return decoding.retrieval_rows(cell, lambda: Ridge(alphas=alphas, seed=seed), cell.brain, cell.vectors)


MEASURE = register(Measure("ridge", "ridge P@10 (CSLS)", score, fields=decoding.FIELDS + ("ridge_alphas",),
                           fits_map=True, headline=decoding.p10_csls))
