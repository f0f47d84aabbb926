"""From TRs to words: one brain vector per shown word ("smoothing").

The paper-compatible rule (Li et al. 2023, METHODS.md section 3):

1. Put the TR series on a 0.5 s grid: each grid slot takes the value of the
   TR it falls in.
2. For a word with onset ``t``, take the slots from the one closest to
   ``t - lookback + delay`` to the one closest to
   ``t + word_duration + lookforward + delay`` (both included; "closest"
   rounds half up).
3. Weight those ``n`` slots with a discrete Gaussian over the positions
   ``linspace(-(n // 2), n // 2, n)`` with sigma one slot, normalised to sum 1.

Because every slot is a copy of one TR, the whole rule is a sparse
``(n_words, n_trs)`` weight matrix: the word vectors are that matrix times
the data, and the data are never copied onto the finer grid.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .recording import Recording

GRID_S = 0.5
_EPS = 1e-9


def paper_weights(
    recording: Recording,
    lookback: float = 2.0,
    lookforward: float = 2.0,
    delay: float = 6.0,
    word_duration: float = 0.5,
) -> sp.csr_matrix:
    """Sparse ``(n_words, n_trs)`` matrix of the paper's smoothing weights.

    Each row sums to 1. Raises ``ValueError`` if a parameter is negative or
    if a word's window reaches outside the scanned period or into another run.
    """
    for name, value in (("lookback", lookback), ("lookforward", lookforward), ("delay", delay), ("word_duration", word_duration)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}.")
    rec = recording
    t0 = rec.tr_times[0]
    n_slots = int(np.floor((rec.tr_times[-1] + rec.tr - t0) / GRID_S + _EPS))
    slot_times = t0 + GRID_S * np.arange(n_slots)
    slot_tr = np.searchsorted(rec.tr_times, slot_times + _EPS, side="right") - 1
    slot_scanned = slot_times < rec.tr_times[slot_tr] + rec.tr - _EPS

    first = np.floor((rec.onsets - lookback + delay - t0) / GRID_S + 0.5 + _EPS).astype(np.int64)
    last = np.floor((rec.onsets + word_duration + lookforward + delay - t0) / GRID_S + 0.5 + _EPS).astype(np.int64)
    outside = (first < 0) | (last >= n_slots)
    if np.any(outside):
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{rec.dataset}/{rec.subject}: the smoothing window of word {i} ({rec.words[i]!r}, onset "
            f"{rec.onsets[i]:.2f} s) runs from {rec.onsets[i] - lookback + delay:.2f} s to "
            f"{rec.onsets[i] + word_duration + lookforward + delay:.2f} s, outside the scanned period "
            f"{t0:.2f}-{t0 + n_slots * GRID_S:.2f} s; shorten the delay/window or drop the words near the edges."
        )

    lengths = last - first + 1
    rows = np.repeat(np.arange(len(first)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    slots = np.repeat(first, lengths) + offsets
    weights = np.empty(len(slots), dtype=np.float64)
    for n in np.unique(lengths):
        positions = np.linspace(-(n // 2), n // 2, n)
        kernel = np.exp(-0.5 * positions**2)
        kernel /= kernel.sum()
        in_group = np.repeat(lengths == n, lengths)
        weights[in_group] = np.tile(kernel, int(np.sum(lengths == n)))

    unscanned = ~slot_scanned[slots]
    word_run = np.repeat(rec.word_runs(), lengths)
    other_run = rec.runs[slot_tr[slots]] != word_run
    bad = unscanned | other_run
    if np.any(bad):
        i = int(rows[np.flatnonzero(bad)[0]])
        raise ValueError(
            f"{rec.dataset}/{rec.subject}: the smoothing window of word {i} ({rec.words[i]!r}, onset "
            f"{rec.onsets[i]:.2f} s) reaches a period that was not scanned in the word's own run; "
            "windows must not cross run boundaries. Shorten the delay/window or drop that word."
        )
    matrix = sp.coo_matrix((weights, (rows, slot_tr[slots])), shape=(len(first), rec.n_trs))
    return matrix.tocsr()


def smooth(recording: Recording, data: np.ndarray | None = None, **window) -> np.ndarray:
    """Brain vector of every shown word, shape ``(n_words, n_features)``.

    ``data`` defaults to the recording's voxels; pass TR-level PCA scores
    (see :func:`helpers.reduction.pca`) to smooth a reduced space instead.
    ``window`` takes the keyword arguments of :func:`paper_weights`.
    """
    values = recording.data if data is None else np.asarray(data)
    if values.ndim != 2 or values.shape[0] != recording.n_trs:
        raise ValueError(f"data must have one row per TR ({recording.n_trs}), got shape {values.shape}.")
    weights = paper_weights(recording, **window).astype(values.dtype)
    return np.asarray(weights @ values)
