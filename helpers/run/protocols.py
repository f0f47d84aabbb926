"""The protocols: what ``protocol: published``, ``paper`` and ``careful`` set, field by field.

Each point where the published code and the careful protocol differ is a
scenario field of its own, so that one can be changed at a time; a field
left empty (None) in a scenario takes its protocol's value
(:meth:`helpers.run.scenario.Scenario.value`).
"""

from __future__ import annotations

from ..align.evaluation import CSLS_REFERENCES, SCALINGS
from ..align.folds import FOLD_RULES
from ..align.ridge import RIDGE_PROTOCOLS
from ..align.rsa import RSA_SCALINGS, RSA_UNITS
from ..brain.reduction import SIGNS as PCA_SIGNS
from ..brain.smoothing import METHODS

LM_DTYPES = ("auto", "published", "float32", "bfloat16", "float16")  # published: float16 for OPT, float32 otherwise
LM_REDUCTIONS = ("types", "occurrences")  # a model wider than the brain side: PCA of its type, or occurrence, vectors
TYPE_CASES = ("lower", "model")  # word types lower-cased for every model, or keeping their case for a cased model
# What each protocol sets, for every field of the scenario left empty (None). "published": the computation of the
# paper's published code, point by point; "paper": the same with each word's smoothing window at its own onset, as the
# paper describes the method; "careful": the protocol this book argues for. Each point is its own field, so that one
# can be changed at a time (helpers.run.tables.LADDER walks from "published" to "careful").
PROTOCOLS = {
    "published": {"smoothing": "published", "pca_signs": "scores", "type_case": "model", "lm_reduction": "occurrences",
                  "lm_dtype": "published", "fold_rule": "published", "csls_neighbours": 100,
                  "csls_reference": "all", "scaling": "minmax",
                  "ridge_protocol": "published", "rsa_units": "occurrences", "rsa_scaling": "minmax"},
    "careful": {"smoothing": "paper", "pca_signs": "loadings", "type_case": "lower", "lm_reduction": "types",
                "lm_dtype": "auto", "fold_rule": "shuffled", "csls_neighbours": 10,
                "csls_reference": "test", "scaling": "centre",
                "ridge_protocol": "careful", "rsa_units": "types", "rsa_scaling": "none"},
}
PROTOCOLS["paper"] = {**PROTOCOLS["published"], "smoothing": "paper"}
# The values of the protocol's fields that have a fixed set of choices (None, the protocol's, is always allowed).
CHOICES = {
    "smoothing": METHODS,
    "pca_signs": PCA_SIGNS,
    "type_case": TYPE_CASES,
    "lm_reduction": LM_REDUCTIONS,
    "lm_dtype": LM_DTYPES,
    "fold_rule": FOLD_RULES,
    "csls_reference": CSLS_REFERENCES,
    "scaling": SCALINGS,
    "ridge_protocol": RIDGE_PROTOCOLS,
    "rsa_units": RSA_UNITS,
    "rsa_scaling": RSA_SCALINGS,
}
