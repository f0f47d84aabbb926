"""Principal component analysis used on both sides of the comparison.

The paper reduces each subject's TR x voxel matrix to ``min(n_trs, model_dim)``
components before smoothing, and reduces language-model vectors when they are
wider than the brain side. One function does both, deterministically: the
sign of each component is fixed so that its largest loading is positive
(``signs="loadings"``), or, as scikit-learn's PCA up to version 1.4 fixes it
(its ``svd_flip`` decided by the scores), so that the row with the largest
absolute score on it scores positive (``signs="scores"``). The two can differ
for any component, which matters wherever a scaling that is not symmetric
about zero (min-max) follows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

SIGNS = ("loadings", "scores")  # what decides each component's sign: its largest loading, or its largest score


class Decompositions:
    """Decompositions of matrices made in this process, kept read-only by the bytes of the matrix (the most
    recently used, up to ``limit`` bytes in all; one larger than that is not kept), so that a matrix seen
    again gets the one already made: LAPACK, with the same number of threads, would make the same bits
    again. The PCA of one recording at several widths, or of one model layer for several subjects, is one
    SVD; the ridge fits of a model's layers share the brain side's decompositions
    (:mod:`helpers.align.ridge_backends`)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._kept: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
        self._lock = threading.Lock()  # cells computed in threads of one process (a Dask worker's) share a store

    def get(self, kind: str, a: np.ndarray, make) -> tuple[np.ndarray, ...]:
        """``make()`` (a tuple of arrays), or what it returned before for a matrix with the bytes of ``a``
        (read before ``make`` may overwrite ``a``)."""
        a = np.ascontiguousarray(a)
        key = (kind, a.shape, a.dtype.str, hashlib.blake2b(a.data, digest_size=20).digest())
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        made = tuple(make())
        for part in made:
            part.flags.writeable = False
        if sum(part.nbytes for part in made) > self.limit:  # larger than the whole store: returned, not kept
            return made
        with self._lock:
            self._kept[key] = made
            while sum(p.nbytes for parts in self._kept.values() for p in parts) > self.limit:
                self._kept.popitem(last=False)  # the oldest first: the one just kept fits on its own
        return made


SVDS = Decompositions(256 * 2**20)  # the SVDs behind :func:`pca`


def pca(x: np.ndarray, n_components: int, fit_rows: np.ndarray | None = None, signs: str = "loadings") -> np.ndarray:
    """Scores of the rows of ``x`` on its first ``n_components`` principal axes.

    The axes (and the centring mean) are fitted on ``fit_rows`` (a boolean
    mask or indices; default: every row), and every row is projected on
    them. The result has shape ``(n_rows, n_components)`` and the dtype of
    ``x``. ``signs`` (:data:`SIGNS`): see the module docstring; with
    ``"scores"`` the largest score is taken over the fitted rows.
    """
    if signs not in SIGNS:
        raise ValueError(f"signs must be one of {SIGNS}, got {signs!r}.")
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"PCA needs a 2-D array (samples x features), got shape {x.shape}.")
    fitted = x if fit_rows is None else x[fit_rows]
    limit = min(fitted.shape)
    if not 1 <= n_components <= limit:
        raise ValueError(
            f"n_components must be between 1 and {limit} for fitting on an array of shape {fitted.shape}, got "
            f"{n_components}; ask for fewer components (scenario field brain_dims)."
        )
    mean = fitted.mean(axis=0, dtype=np.float64).astype(x.dtype)
    centred = fitted - mean
    u, _, vt = SVDS.get("svd", centred, lambda: np.linalg.svd(centred, full_matrices=False))
    u, vt, at = u[:, :n_components], vt[:n_components], np.arange(n_components)
    pivots = vt[at, np.argmax(np.abs(vt), axis=1)] if signs == "loadings" else u[np.argmax(np.abs(u), axis=0), at]
    flip = np.where(pivots < 0, -1.0, 1.0)
    return ((x - mean) @ (vt * flip[:, None]).T).astype(x.dtype, copy=False)
