"""RSA as a measure: the brain's and each layer's dissimilarities between word types, rank-correlated.

Word types are the items: a type's brain vector is the mean over its
occurrences (as its model vector is). RDMs use ``rsa_metric``; the score is
Spearman's rho between their upper triangles, its p-value from
``n_permutations`` permutations of the brain RDM's word labels (one-sided),
and ``p_fwe`` corrected across the model's layers by the maximum statistic
(:func:`helpers.align.rsa.permutation_test_many`). Because of that
correction, one result holds every layer of a model.
"""

from __future__ import annotations

import numpy as np

from ...lm.vectors import type_means
from .. import rsa
from .registry import CellInput, Measure, register


def score(cell: CellInput) -> list[dict]:
    s = cell.settings
    layers = sorted(cell.layers)
    model_rdms = [rsa.rdm(cell.layers[layer], s["rsa_metric"]) for layer in layers]
    brain_rdm = rsa.rdm(type_means(cell.brain[None], cell.types)[1][0], s["rsa_metric"])
    test = rsa.permutation_test_many(model_rdms, brain_rdm, s["n_permutations"], seed=s["seed"])
    rows = []
    for at, layer in enumerate(layers):
        null = test["null"][:, at]
        rows.append({"layer": layer, "metric": f"rho ({s['rsa_metric']})", "value": test["rho"][at], "p": test["p"][at],
                     "p_fwe": test["p_fwe"][at], "null_mean": float(np.mean(null)), "null_95": float(np.percentile(null, 95)),
                     "chance": 0.0, "n_types": len(cell.type_names)})
    return rows


def ceiling(own: np.ndarray, others: list[np.ndarray], settings: dict) -> list[dict]:
    """A subject's RDM against the mean of the other subjects' RDMs."""
    metric = settings["rsa_metric"]
    mean_rdm = np.mean([rsa.rdm(other, metric) for other in others], axis=0)
    return [{"metric": f"rho ({metric})", "value": rsa.score(rsa.rdm(own, metric), mean_rdm), "chance": 0.0}]


MEASURE = register(Measure("rsa", "RSA (rho)", score, fields=("rsa_metric", "n_permutations", "seed"), all_layers=True,
                           ceiling=ceiling))
