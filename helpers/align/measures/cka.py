"""Linear CKA as a measure: brain and model type vectors compared directly, with a permutation null.

CKA fits nothing, so there are no folds; ``chance`` is the mean of the null
over ``cka_permutations`` shuffles of the brain side's word labels.
"""

from __future__ import annotations

import numpy as np

from ...lm.vectors import type_means
from ..cka import permuted_cka
from .registry import CellInput, Measure, register


def score(cell: CellInput) -> list[dict]:
    brain = type_means(cell.brain[None], cell.types)[1][0]
    s = cell.settings
    value, null = permuted_cka(brain, cell.vectors, s["cka_permutations"], [s["seed"], cell.layer])
    return [{"metric": "linear CKA", "value": value, "chance": float(null.mean()), "null_95": float(np.percentile(null, 95)),
             "p": float((1 + np.sum(null >= value)) / (1 + len(null))), "n_types": len(brain)}]


MEASURE = register(Measure("cka", "linear CKA", score, fields=("cka_permutations", "seed")))
