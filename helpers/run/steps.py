"""What every cached step depends on: its version and the scenario fields it reads.

Every cache key of the pipeline is built by :func:`key`, from the step's
declared scenario fields and the keys of what it reads (the features, the
recordings, the smoothing). A step whose computation changes gets a new
version here, so entries computed before the change are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scenario import Scenario


@dataclass(frozen=True)
class Step:
    """A cached step: its version and the scenario fields that determine its result (beyond its inputs)."""

    version: int
    fields: tuple[str, ...] = ()


# folds and retrieval
PROTOCOL = ("n_folds", "split", "fold_rule", "buffer_s", "seed", "csls_neighbours", "candidates", "ks", "scaling", "csls_reference",
            "pca_fit", "pca_signs")

STEPS: dict[str, Step] = {
    "features": Step(5, ("context", "pooling", "extraction_threads")),
    "trivial_features": Step(1),  # inputs: the feature (helpers.lm.trivial.key), the text and its runs
    "recordings": Step(1),  # inputs: every subject's recording key (a simulation's parameters and planted features)
    "brain": Step(4),  # inputs: the subject's recording, the smoothing, the PCA size
    "cell": Step(1),  # one measure, subject, model layer (and split): its fields come from the measure (helpers.run.cells)
    "encoding": Step(2, ("n_folds", "split", "fold_rule", "type_case", "buffer_s", "seed", "ridge_alphas")),
    "smoothing_variants": Step(4, PROTOCOL),
    "ceiling": Step(2, PROTOCOL + ("brain_dims",)),  # and each measure's own fields
    "layer_similarity": Step(1),  # inputs: the model's features
}


def key(step: str, cfg: Scenario, **inputs) -> dict:
    """The cache key of ``step`` for ``cfg``: name, version, declared fields, and ``inputs`` (keys of what it reads)."""
    declared = STEPS[step]
    key = {"step": step, "version": declared.version, **cfg.fields(*declared.fields), **inputs}
    if step != "brain" and "smoothing" in inputs:  # a table built from brain vectors changes when they do
        key["brain_version"] = STEPS["brain"].version
    return key
