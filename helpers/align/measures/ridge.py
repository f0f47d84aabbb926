"""Ridge as a measure: a linear map from brain to model, its penalty chosen by inner cross-validation in each
training fold, scored by word retrieval.

The setting ``ridge_protocol`` chooses the map. "careful": :class:`~helpers.align.ridge.Ridge`, with an
intercept and one penalty from ``ridge_alphas`` for all outputs, chosen by inner folds over word types.
"published": the published code's ridge as a whole: :class:`~helpers.align.ridge.PublishedRidge` (kernel ridge
without intercept, one penalty per output from ``10^-6 ... 10^9``, chosen by unshuffled inner folds over
occurrences; ``ridge_alphas`` is not used) from the brain at every voxel (not reduced to ``brain_dims``), the
out-of-fold predictions of all folds pooled to make the candidates' CSLS neighbourhood (``csls_reference``
"pooled", whatever the scenario's). Scaling, CSLS neighbours and k come from their own settings either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..ridge import RIDGE_PROTOCOLS, PublishedRidge, Ridge
from . import decoding
from .registry import CellInput, Measure, register


def map_maker(settings: dict) -> Callable[[], object]:
    """What makes a fresh, unfitted map for each fold under ``settings["ridge_protocol"]``."""
    protocol = settings["ridge_protocol"]
    if protocol == "careful":
        return lambda: Ridge(alphas=settings["ridge_alphas"], seed=settings["seed"])
    if protocol == "published":
        return PublishedRidge
    raise ValueError(f"ridge_protocol must be one of {RIDGE_PROTOCOLS}, got {protocol!r}.")


def published(settings: dict) -> bool:
    return settings["ridge_protocol"] == "published"


def score(cell: CellInput) -> list[dict]:
    if published(cell.settings):
        cell = dataclasses.replace(cell, settings={**cell.settings, "csls_reference": "pooled"})
    return decoding.retrieval_rows(cell, map_maker(cell.settings), cell.brain, cell.vectors)


MEASURE = register(Measure("ridge", "ridge P@10 (CSLS)", score,
                           fields=decoding.FIELDS + ("ridge_alphas", "ridge_protocol"),
                           fits_map=True, headline=decoding.p10_csls, reads_voxels=published))
