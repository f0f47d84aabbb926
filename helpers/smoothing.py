"""From TRs to words: one brain vector per shown word ("smoothing").

Every method below is a sparse ``(n_words, n_trs)`` weight matrix whose rows
sum to 1; the word vectors are that matrix times the data, so the data are
never copied onto a finer grid and no Python loop runs over words.

``"paper"`` (Li et al. 2023; METHODS.md section 3), the default:

1. Put the TR series on a 0.5 s grid: each grid slot takes the value of the
   TR it falls in.
2. For a word with onset ``t``, take the slots from the one closest to
   ``t - lookback + delay`` to the one closest to
   ``t + word_duration + lookforward + delay``, both included. "Closest"
   rounds half up, so window edges that are not multiples of 0.5 s are
   rounded to the grid (a delay of 6.2 s acts as 6.0 s).
3. Weight those ``n`` slots with a discrete Gaussian over the positions
   ``linspace(-(n // 2), n // 2, n)`` with sigma one slot (``kernel="gaussian"``),
   or equally (``kernel="boxcar"``, a plain average), normalised to sum 1.

``"hrf"``: each TR is weighted by the area of the canonical (Glover) HRF's
positive lobe (0 to 9.5 s after the onset) that falls within it, normalised
to sum 1. It places the window by physiology instead of by a chosen delay;
``lookback``, ``lookforward`` and ``delay`` do not apply.

A word's window must lie inside the scanned period of its own run. With
``outside="error"`` (default) a word that breaks this is an error naming it;
with ``outside="ignore"`` its row is left empty (all zeros) and
:func:`window_fits` tells which words those are.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .recording import Recording

GRID_S = 0.5
METHODS = ("paper", "hrf")
KERNELS = ("gaussian", "boxcar")
OUTSIDE = ("error", "ignore")
HRF_POSITIVE_S = 9.5
_EPS = 1e-9


def _check_seconds(**values: float) -> None:
    for name, value in values.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}.")


def _tr_of_times(rec: Recording, times: np.ndarray) -> np.ndarray:
    """Index of the TR that each time falls in, or -1 where no TR covers it."""
    index = np.searchsorted(rec.tr_times, times + _EPS, side="right") - 1
    inside = (index >= 0) & (times < rec.tr_times[np.maximum(index, 0)] + rec.tr - _EPS)
    return np.where(inside, index, -1)


def _paper_slots(rec: Recording, lookback, lookforward, delay, word_duration):
    """Per word: the TR of every slot of its window (-1 if unscanned), and whether the window fits."""
    _check_seconds(lookback=lookback, lookforward=lookforward, delay=delay, word_duration=word_duration)
    t0 = rec.tr_times[0]
    first = np.floor((rec.onsets - lookback + delay - t0) / GRID_S + 0.5 + _EPS).astype(np.int64)
    last = np.floor((rec.onsets + word_duration + lookforward + delay - t0) / GRID_S + 0.5 + _EPS).astype(np.int64)
    lengths = last - first + 1
    rows = np.repeat(np.arange(len(first)), lengths)
    slots = np.repeat(first, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    slot_tr = _tr_of_times(rec, t0 + GRID_S * slots)
    word_run = rec.word_runs()
    good = (slot_tr >= 0) & (rec.runs[np.maximum(slot_tr, 0)] == word_run[rows])
    fits = np.ones(len(first), dtype=bool)
    np.logical_and.at(fits, rows, good)
    return rows, lengths, slot_tr, fits


_PAPER_DEFAULTS = {"lookback": 2.0, "lookforward": 2.0, "delay": 6.0, "word_duration": 0.5}


def window_fits(recording: Recording, method: str = "paper", **options) -> np.ndarray:
    """Which words have their whole window inside the scanned period of their run.

    Takes the same arguments as :func:`word_weights` (the kernel does not
    change where a window lies).
    """
    if method == "hrf":
        return _hrf_parts(recording)[3]
    window = {name: value for name, value in options.items() if name not in ("kernel", "outside")}
    return _paper_slots(recording, **{**_PAPER_DEFAULTS, **window})[3]


def _refuse_or_ignore(rec: Recording, fits: np.ndarray, outside: str, what: str) -> None:
    if outside not in OUTSIDE:
        raise ValueError(f"outside must be one of {OUTSIDE}, got {outside!r}.")
    if outside == "error" and not fits.all():
        i = int(np.flatnonzero(~fits)[0])
        raise ValueError(
            f"{rec.dataset}/{rec.subject}: the {what} of word {i} ({str(rec.words[i])!r}, onset {rec.onsets[i]:.2f} s) "
            f"reaches outside the scanned period of its run ({int((~fits).sum())} word(s) in all). Shorten the "
            "delay or window, or pass outside='ignore' to leave those words out (see window_fits)."
        )


def paper_weights(
    recording: Recording,
    lookback: float = 2.0,
    lookforward: float = 2.0,
    delay: float = 6.0,
    word_duration: float = 0.5,
    kernel: str = "gaussian",
    outside: str = "error",
) -> sp.csr_matrix:
    """Sparse ``(n_words, n_trs)`` matrix of the paper's smoothing weights (see the module docstring)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}.")
    rec = recording
    rows, lengths, slot_tr, fits = _paper_slots(rec, lookback, lookforward, delay, word_duration)
    _refuse_or_ignore(rec, fits, outside, "smoothing window")
    weights = np.empty(len(rows), dtype=np.float64)
    for n in np.unique(lengths):
        if kernel == "gaussian":
            shape = np.exp(-0.5 * np.linspace(-(n // 2), n // 2, n) ** 2)
        else:
            shape = np.ones(n)
        in_group = np.repeat(lengths == n, lengths)
        weights[in_group] = np.tile(shape / shape.sum(), int(np.sum(lengths == n)))
    keep = fits[rows]
    matrix = sp.coo_matrix((weights[keep], (rows[keep], slot_tr[keep])), shape=(len(lengths), rec.n_trs))
    return matrix.tocsr()


def _hrf_parts(rec: Recording):
    """Rows, TR columns and weights of the HRF method, and which words fit."""
    from nilearn.glm.first_level import glover_hrf

    step = 0.01
    hrf = glover_hrf(t_r=step, oversampling=1, time_length=HRF_POSITIVE_S + step)[: int(round(HRF_POSITIVE_S / step)) + 1]
    area = np.r_[0.0, np.cumsum(np.clip(hrf, 0, None))[:-1]] * step  # area of the positive lobe from 0 to x
    grid = np.arange(len(area)) * step

    def cumulative(x: np.ndarray) -> np.ndarray:
        return np.interp(np.clip(x, 0.0, HRF_POSITIVE_S), grid, area)

    n_span = int(np.ceil(HRF_POSITIVE_S / rec.tr)) + 2
    start = np.searchsorted(rec.tr_times, rec.onsets + _EPS, side="right") - 1
    cols = start[:, None] + np.arange(n_span)[None, :]
    inside = (cols >= 0) & (cols < rec.n_trs)
    safe = np.clip(cols, 0, rec.n_trs - 1)
    begin = rec.tr_times[safe] - rec.onsets[:, None]
    weights = np.where(inside, cumulative(begin + rec.tr) - cumulative(begin), 0.0)
    word_run = rec.word_runs()
    same_run = inside & (rec.runs[safe] == word_run[:, None])
    fits = np.all(same_run | (weights <= 0), axis=1)
    # the lobe must also be fully scanned: the TRs must reach onset + 9.5 s
    last_needed = rec.onsets + HRF_POSITIVE_S
    scanned_until = np.where(same_run, rec.tr_times[safe] + rec.tr, -np.inf).max(axis=1)
    fits &= scanned_until >= last_needed - _EPS
    weights = np.where(same_run, weights, 0.0)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    rows = np.repeat(np.arange(len(rec.onsets)), n_span)
    return rows, safe.ravel(), weights.ravel(), fits


def hrf_weights(recording: Recording, outside: str = "error") -> sp.csr_matrix:
    """Sparse ``(n_words, n_trs)`` matrix of HRF-area weights (see the module docstring)."""
    rows, cols, weights, fits = _hrf_parts(recording)
    _refuse_or_ignore(recording, fits, outside, "haemodynamic response (0-9.5 s)")
    keep = fits[rows] & (weights > 0)
    return sp.coo_matrix((weights[keep], (rows[keep], cols[keep])), shape=(len(fits), recording.n_trs)).tocsr()


def word_weights(recording: Recording, method: str = "paper", **options) -> sp.csr_matrix:
    """The weight matrix of a method: ``"paper"`` (:func:`paper_weights`) or ``"hrf"`` (:func:`hrf_weights`)."""
    if method == "paper":
        return paper_weights(recording, **options)
    if method == "hrf":
        unused = sorted(set(options) - {"outside"})
        if unused:
            raise ValueError(f"the hrf method takes no {', '.join(unused)}: its window is the HRF itself.")
        return hrf_weights(recording, **options)
    raise ValueError(f"unknown smoothing method {method!r}; choose one of {METHODS}.")


def smooth(recording: Recording, data: np.ndarray | None = None, method: str = "paper", **options) -> np.ndarray:
    """Brain vector of every shown word, shape ``(n_words, n_features)``.

    ``data`` defaults to the recording's voxels; pass TR-level PCA scores
    (see :func:`helpers.reduction.pca`) to smooth a reduced space instead.
    ``options`` go to :func:`word_weights`. The result has the dtype of the data.
    """
    values = recording.data if data is None else np.asarray(data)
    if values.ndim != 2 or values.shape[0] != recording.n_trs:
        raise ValueError(f"data must have one row per TR ({recording.n_trs}), got shape {values.shape}.")
    weights = word_weights(recording, method, **options).astype(values.dtype)
    return np.asarray(weights @ values)
