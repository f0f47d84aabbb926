"""What the two decoders share: word retrieval through a map fitted on training folds.

A decoder measure maps brain vectors into the model's space on each
training fold and ranks the candidate word types for every held-out
occurrence (:func:`helpers.align.evaluation.retrieval_scores`): one row per
fold, retrieval (CSLS, cosine) and k. Its headline is P@10 by CSLS.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..evaluation import retrieval_scores
from .registry import CellInput

# The scenario fields a decoder reads (the split's own fields are the run stage's: it makes the folds).
FIELDS = ("ks", "csls_neighbours", "candidates", "scaling", "csls_reference", "seed")


def retrieval_rows(cell: CellInput, make_map: Callable[[], object], brain, vectors) -> list[dict]:
    """Retrieval rows of ``brain`` (one array, or one per split) against the type ``vectors`` over the cell's folds."""
    s = cell.settings
    return retrieval_scores(brain, cell.types, cell.type_names, vectors, make_map, cell.splits, ks=s["ks"],
                            neighbours=s["csls_neighbours"], candidates=s["candidates"], scaling=s["scaling"],
                            csls_reference=s["csls_reference"], seed=s["seed"], fold_numbers=cell.fold_numbers)


def p10_csls(table: pd.DataFrame) -> pd.Series:
    """The headline rows of a decoder: precision@10 by CSLS."""
    return (table["metric"] == "P@10") & (table["retrieval"] == "csls")
