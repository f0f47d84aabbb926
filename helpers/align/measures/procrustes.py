"""Procrustes as a measure: an orthogonal map from brain to model, scored by word retrieval.

Both sides are first reduced to one width (:func:`helpers.align.evaluation.match_dimensions`),
the brain side per fold when its PCA is fitted inside each training fold.
"""

from __future__ import annotations

from ..evaluation import match_dimensions
from ..procrustes import Procrustes
from . import decoding
from .registry import CellInput, Measure, register


def score(cell: CellInput) -> list[dict]:
    if isinstance(cell.brain, list):
        pairs = [match_dimensions(b, cell.vectors) for b in cell.brain]
        brain, vectors = [x for x, _ in pairs], pairs[0][1]
    else:
        brain, vectors = match_dimensions(cell.brain, cell.vectors)
    return decoding.retrieval_rows(cell, Procrustes, brain, vectors)


MEASURE = register(Measure("procrustes", "Procrustes P@10 (CSLS)", score, fields=decoding.FIELDS, fits_map=True,
                           headline=decoding.p10_csls))
