"""The measure registry: each measure is one module and one entry here.

A :class:`Measure` says which scenario fields it reads, whether it fits a
map on held-out folds (and so depends on the split), whether one result
covers every layer of a model (a test corrected across layers), how it turns
one subject's brain vectors and a model's type vectors into rows, and which
of its rows make its one headline score. The run stage
(:mod:`helpers.run.cells`) loops over the registry and never asks a
measure's name, so a measure written in a file of one's own plugs in with
:func:`register` (a scenario loads such files with ``plugins``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CellInput:
    """What a measure scores: one subject's brain vectors and one model's type vectors.

    ``brain``: one vector per word occurrence ``(n_occurrences, k)``, or, for a
    measure that fits a map with the PCA fitted inside each training fold,
    one such array per split. ``types``: the type of every occurrence;
    ``type_names``: the sorted types; ``layers``: layer -> type vectors
    ``(n_types, width)`` (one layer, or every layer for a measure with
    ``all_layers``). ``splits``: ``(train, test)`` masks over the occurrences
    and ``fold_numbers`` their numbers (measures that fit a map); ``settings``:
    the scenario fields the measure declared, as in effect.
    """

    brain: np.ndarray | list[np.ndarray]
    types: np.ndarray
    type_names: np.ndarray
    layers: dict[int, np.ndarray]
    settings: dict
    splits: list | None = None
    fold_numbers: list[int] | None = None

    @property
    def layer(self) -> int:
        """The one layer of a per-layer cell."""
        (layer,) = self.layers
        return layer

    @property
    def vectors(self) -> np.ndarray:
        """The type vectors of the one layer of a per-layer cell."""
        return self.layers[self.layer]


def _every_row(table: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=table.index)


def _reduced(settings: dict) -> bool:
    return False


@dataclass(frozen=True)
class Measure:
    """One way to score how alike a subject's brain vectors and a model layer are.

    ``score(cell)`` returns a list of row dicts, each with at least ``metric``,
    ``value`` and ``chance`` (and ``layer`` when ``all_layers``; a measure that
    fits a map gives ``fold`` too). ``headline(table)`` marks the rows that
    make the measure's one summary score (default: all its rows), named
    ``summary``. ``ceiling(own, others, settings)``, where given, scores a
    subject's type vectors against the other subjects' (``list`` of type
    vector arrays) for the noise ceiling; without it the others' vectors side
    by side are scored as one model layer. ``reads_voxels(settings)`` says
    whether, under these settings, the measure reads the brain at every voxel
    rather than reduced to the scenario's ``brain_dims`` (default: never).
    Bump ``version`` when the
    computation changes, so that cached cells made before are not reused.
    """

    name: str
    summary: str
    score: Callable[[CellInput], list[dict]]
    fields: tuple[str, ...] = ()
    fits_map: bool = False
    all_layers: bool = False
    version: int = 1
    headline: Callable[[pd.DataFrame], pd.Series] = field(default=_every_row)
    ceiling: Callable[[np.ndarray, list[np.ndarray], dict], list[dict]] | None = None
    reads_voxels: Callable[[dict], bool] = field(default=_reduced)


REGISTRY: dict[str, Measure] = {}


def register(measure: Measure, replace: bool = False) -> Measure:
    """Add ``measure`` to the registry (``replace=True`` to redefine a name already taken)."""
    if not measure.name or not isinstance(measure.name, str):
        raise ValueError(f"a measure needs a name, got {measure.name!r}.")
    if measure.name in REGISTRY and not replace and REGISTRY[measure.name] != measure:
        raise ValueError(f"a measure named {measure.name!r} is registered already; pass replace=True to redefine it.")
    REGISTRY[measure.name] = measure
    return measure


def get(name: str) -> Measure:
    """The registered measure called ``name``; an unknown name is an error that lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown measure {name!r}; registered measures: {', '.join(REGISTRY)}. "
                         "A measure of your own is added with helpers.align.measures.register.") from None


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def headline_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One score per row for each measure in ``table`` (its headline rows), with a ``measure`` column naming it.

    ``chance`` becomes the permutation null's mean where the row has one.
    """
    parts = []
    for name, rows in table.groupby("method", sort=False):
        measure = get(name)
        parts.append(rows[measure.headline(rows).to_numpy()].assign(measure=measure.summary))
    out = pd.concat(parts) if parts else table.assign(measure=[])
    if "chance_permuted" in out:
        out = out.assign(chance=out["chance_permuted"].fillna(out["chance"]))
    return out
