"""RSA as a measure: the brain's and each layer's dissimilarities between items, rank-correlated.

``rsa_units`` names the items. ``"types"``: word types, a type's brain vector
being the mean over its occurrences (as its model vector is).
``"occurrences"``: every word occurrence, with its own brain vector and its
type's model vector (the published code of Li et al. 2023), so occurrences of
one type are exact copies on the model side. ``rsa_scaling`` ``"minmax"``
scales each dimension of both sides to [0, 1] over the items before the RDMs
(as that code does). RDMs use ``rsa_metric``; the score is Spearman's rho
between their upper triangles, its p-value from ``n_permutations``
permutations of the brain RDM's item labels (one-sided), and ``p_fwe``
corrected across the model's layers by the maximum statistic
(:func:`helpers.align.mantel.permutation_test_many`). Because of that
correction, one result holds every layer of a model. ``p_parametric`` is
``scipy.stats.spearmanr``'s p-value of the same rho, which treats the RDM
entries as independent and is reported only because the published code
reports it.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ...lm.vectors import type_means
from .. import mantel, rsa
from .registry import CellInput, Measure, register


def _type_rows(cell: CellInput) -> np.ndarray:
    """The row of ``cell.type_names`` (and of each layer) of every occurrence's type."""
    rows = np.searchsorted(cell.type_names, cell.types)
    known = rows < len(cell.type_names)
    known[known] = cell.type_names[rows[known]] == np.asarray(cell.types)[known]
    if not known.all():
        raise ValueError(f"{np.sum(~known)} occurrence(s) have a type without model vectors, "
                         f"e.g. {np.asarray(cell.types)[~known][0]!r}.")
    return rows


def score(cell: CellInput) -> list[dict]:
    s = cell.settings
    metric = s["rsa_metric"]
    units = rsa.check_option("rsa_units", s["rsa_units"], rsa.RSA_UNITS)
    scaling = rsa.check_option("rsa_scaling", s["rsa_scaling"], rsa.RSA_SCALINGS)
    layers = sorted(cell.layers)
    brain = type_means(cell.brain[None], cell.types)[1][0] if units == "types" else cell.brain
    copies = None if units == "types" else np.unique(_type_rows(cell), return_inverse=True)
    model_side = _model_side(cell, layers, metric, scaling, copies)
    test = mantel.permutation_test_many(model_side, rsa.rdm(brain, metric, scaling), s["n_permutations"], seed=s["seed"])
    rows = []
    for at, layer in enumerate(layers):
        null = test["null"][:, at]
        rows.append({"layer": layer, "metric": f"rho ({metric})", "value": test["rho"][at], "p": test["p"][at],
                     "p_fwe": test["p_fwe"][at], "p_parametric": test["p_parametric"][at],
                     "null_mean": float(np.mean(null)), "null_95": float(np.percentile(null, 95)), "chance": 0.0,
                     "n_types": len(cell.type_names), "n_items": len(brain)})
    return rows


def _model_side(cell: CellInput, layers: list[int], metric: str, scaling: str, copies) -> mantel.RankedRDMs:
    """The layers' RDMs, ranked; over occurrences (``copies``: the types present and each occurrence's row among
    them) each type's RDM row repeated, so that copies tie exactly (their min-max scaling over the occurrences is
    that over the types present). The last family made is kept: the cells of one model's other subjects read the
    same layers, and are ranked again only if their vectors differ (a digest of their bytes says so)."""
    digest = hashlib.blake2b(repr((metric, scaling, layers)).encode())
    for part in [cell.layers[layer] for layer in layers] + ([] if copies is None else list(copies)):
        digest.update(np.ascontiguousarray(part).view(np.uint8))
    if _LAST_MODEL_SIDE.get("digest") != digest.hexdigest():
        if copies is None:
            family = mantel.RankedRDMs.of([rsa.rdm(cell.layers[layer], metric, scaling) for layer in layers])
        else:
            present, rows = copies
            family = mantel.RankedRDMs.of_copies([rsa.rdm(cell.layers[layer][present], metric, scaling)
                                                  for layer in layers], rows)
        _LAST_MODEL_SIDE.clear()
        if family.ranks.nbytes <= KEEP_BYTES:
            _LAST_MODEL_SIDE.update(digest=digest.hexdigest(), family=family)
        return family
    return _LAST_MODEL_SIDE["family"]


_LAST_MODEL_SIDE: dict = {}
KEEP_BYTES = 2**29  # a larger family (RSA over many occurrences) is not kept between cells


def ceiling(own: np.ndarray, others: list[np.ndarray], settings: dict) -> list[dict]:
    """A subject's RDM against the mean of the other subjects' RDMs, over word types (``rsa_scaling`` applied)."""
    metric, scaling = settings["rsa_metric"], settings["rsa_scaling"]
    mean_rdm = np.mean([rsa.rdm(other, metric, scaling) for other in others], axis=0)
    return [{"metric": f"rho ({metric})", "value": rsa.score(rsa.rdm(own, metric, scaling), mean_rdm), "chance": 0.0}]


MEASURE = register(Measure("rsa", "RSA (rho)", score, fields=("rsa_metric", "rsa_units", "rsa_scaling", "n_permutations", "seed"),
                           all_layers=True, version=2, ceiling=ceiling))
