"""A toy measure written outside the package, as a user would: the mean cosine between brain and model.

Each side's word-type vectors are centred and cut to their first ``d``
columns, ``d`` the smaller width; the score is the mean over types of the
cosine between a type's brain and model vectors. It fits nothing, so it has
no split, and its chance level is 0 (the mean cosine of unrelated vectors).
Registered when a scenario names this file in ``plugins``.
"""

import numpy as np

from helpers.align.measures import CellInput, Measure, register
from helpers.lm.vectors import type_means


def mean_cosine(brain: np.ndarray, model: np.ndarray) -> float:
    d = min(brain.shape[1], model.shape[1])
    a, b = brain[:, :d] - brain[:, :d].mean(axis=0), model[:, :d] - model[:, :d].mean(axis=0)
    return float(np.mean(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def score(cell: CellInput) -> list[dict]:
    brain = type_means(cell.brain[None], cell.types)[1][0]
    return [{"metric": "mean cosine", "value": mean_cosine(brain, cell.vectors), "chance": 0.0}]


register(Measure("mean_cosine", "mean cosine", score))
