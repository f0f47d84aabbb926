"""From TRs to words: one brain vector per shown word ("smoothing").

Every method is a sparse ``(n_words, n_trs)`` weight matrix whose rows sum to 1 or, for a word the method
leaves out, are all zero; the word vectors are that matrix times the data: one sparse product, with no copy
of the data on a finer grid and no Python loop over words.

``"paper"`` (the default) follows the rule of Li et al. (2023)'s public code (the ``coastalcph/brain2llm``
repository):

1. **Grid.** A list of times that starts at the first word's onset (not at the first TR): every shown
   item's onset, in order; where two consecutive onsets ``a < b`` are more than 2 s apart (a rest), also
   ``a + 0.5, a + 1.0, ...``, every step strictly before ``b``; after the last onset ``c``, ``c + 0.5,
   c + 1.0, ...`` up to the last TR's start (included if it is one of these steps). A gap of 2 s or less is
   not filled: one grid time stands for the whole gap. Onsets 20.0, 20.5, 21.0, 25.0 with a last TR at 30 s
   give 20.0, 20.5, 21.0, 21.5, ..., 24.5, 25.0, 25.5, ..., 30.0.
2. **TR of a grid time.** Grid time ``t`` holds the first TR starting at or after it (``tr_times[j-1] < t
   <= tr_times[j]``): a grid time equal to a TR's start holds that TR, one 0.5 s later the next. TRs before
   the first word are never used.
3. **Window** of a word with onset ``t``: the grid indices from the one whose time is closest to
   ``t - lookback + delay`` up to, *not* including, the one closest to
   ``t + word_duration + lookforward + delay``. A target halfway between two grid times goes to the earlier;
   one before the first or after the last grid time goes to that end (the window is *clamped*). The
   defaults (2, 2, 6 and 0.5 s) give ``t + 4.0`` up to but not including ``t + 8.5`` s: 9 slots where the
   grid is regular, fewer where it jumps.
4. **Weights.** ``n`` slots get a Gaussian of sigma one slot at the positions
   ``linspace(-(n // 2), n // 2, n)`` (not whole numbers for even ``n``), normalised to sum 1
   (``kernel="boxcar"``: equal weights). Slots that hold the same TR add their weights.

The rule ignores runs: a window may reach into the next run's first TRs, or be clamped at the end of the
grid. Neither is an error (``outside`` is accepted and ignored; :func:`window_fits` says every word fits);
:func:`paper_window_report` counts such words. Where the authors' code departs from the rule, has no
answer, or depends on rounding, this method keeps to the rule:

* the window of word ``i`` is placed from its onset; the authors' code places it from the ``i``-th *grid* time;
* an empty window (both ends at one grid index) takes the single slot at its start; the authors' code gives
  a zero vector;
* times less than 1e-9 s apart count as equal; the authors' code compares floats exactly, which matters
  only for onsets that are not exact binary fractions (20.3 s, not 20.25 s);
* a TR that holds no grid time (only possible for TRs shorter than 2 s) is not used; the authors' code gives
  it one slot anyway, after which every grid time holds the TR of the grid time before it
  (``trs_without_slot`` of :func:`paper_window_report` counts such TRs);
* the grid ends at the last TR's start (the authors' code may add one time up to 0.1 s later, holding no
  TR); a grid time after the last TR's start (a word shown during the last TR) holds the last TR.

``"published"`` follows the authors' code on the first two of these points, and is ``"paper"`` otherwise:
word ``i``'s window is placed from ``g_i``, the ``i``-th grid time, in place of its onset (the same until
the first filled gap, after which the window trails the word: :mod:`helpers.brain.window_lag`); and an
empty window gets no slot, so its row is zero (the authors' Gaussian of size 0) and still counts as fitting
in :func:`window_fits`, since the authors' code keeps its zero vector.

``"within_run"``: an earlier reading that keeps each window inside its word's run
(:func:`within_run_weights`). ``"hrf"``: each TR is weighted by the area of the canonical (Glover) HRF's
positive lobe (0 to 9.5 s after the onset) within it, normalised to sum 1 (:func:`hrf_weights`); it places
the window by physiology instead of by a chosen delay, so ``lookback``, ``lookforward`` and ``delay`` do not
apply. Both refuse a word whose window leaves the scanned period of its run (``outside="error"``) or leave
its row empty (``outside="ignore"``; :func:`window_fits` tells which words those are).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..data.recording import Recording

GRID_S = 0.5
PAPER_WINDOW = {"lookback": 2.0, "lookforward": 2.0, "delay": 6.0}  # the paper's defaults, in seconds
WORD_DURATION_S = 0.5
FILL_GAP_S = 2.0  # "paper": gaps between onsets longer than this are filled with grid steps
METHODS = ("paper", "published", "within_run", "hrf")
GRID_METHODS = ("paper", "published")  # the methods on the grid of paper_grid
KERNELS = ("gaussian", "boxcar")
OUTSIDE = ("error", "ignore")
HRF_POSITIVE_S = 9.5
EPS_S = 1e-9  # times closer than this count as equal


def _check_seconds(**values: float) -> None:
    for name, value in values.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}.")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")


def _kernel_weights(rows: np.ndarray, lengths: np.ndarray, kernel: str) -> np.ndarray:
    """Weights of consecutive windows of ``lengths`` slots (``rows``: the window of each slot), each summing to 1.

    Slot ``k`` of a window of ``n`` slots sits at ``linspace(-(n // 2), n // 2, n)[k]``.
    """
    k = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    n = lengths[rows]
    if kernel == "boxcar":
        return 1.0 / n
    half = n // 2
    shape = np.exp(-0.5 * (-half + k * np.where(n > 1, 2.0 * half / np.maximum(n - 1, 1), 0.0)) ** 2)
    return shape / np.bincount(rows, weights=shape, minlength=len(lengths))[rows]



class PaperWindows(NamedTuple):
    """Where the ``"paper"`` or ``"published"`` windows lie (see :func:`paper_windows`).

    ``grid``: the grid times (s); ``grid_tr``: the TR each holds; per word, the window ``grid[start:stop]``,
    whether its start (end) target lay before the first (after the last) grid time (``clamped_start``,
    ``clamped_end``), and whether both ends fell on one grid index (``empty``): ``"paper"`` then gives the
    window its start slot (``stop == start + 1``), ``"published"`` leaves it empty (``stop == start``).
    """

    grid: np.ndarray
    grid_tr: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    clamped_start: np.ndarray
    clamped_end: np.ndarray
    empty: np.ndarray


def paper_grid(recording: Recording) -> np.ndarray:
    """The ``"paper"`` grid times in seconds (rule 1 of the module docstring, with its examples)."""
    onsets, last_tr = recording.onsets, recording.tr_times[-1]
    gaps = np.diff(onsets)
    # steps a + 0.5 m, m >= 1, strictly before the next onset b: m < (b - a) / 0.5
    n_fill = np.where(gaps > FILL_GAP_S + EPS_S, np.ceil((gaps - EPS_S) / GRID_S).astype(np.int64) - 1, 0)
    n_tail = max(int(np.floor((last_tr - onsets[-1] + EPS_S) / GRID_S)), 0)
    counts = np.r_[n_fill, n_tail] + 1  # each onset and the steps that follow it
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(onsets, counts) + GRID_S * step


def _closest(grid: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the grid time closest to each target: ties to the earlier, clamped to the ends, first of equal times."""
    if len(grid) == 1:
        return np.zeros(len(targets), dtype=np.int64)
    after = np.clip(np.searchsorted(grid, targets, side="left"), 1, len(grid) - 1)  # first time >= target
    later = grid[after] - targets < targets - grid[after - 1] - EPS_S
    pick = np.where(later, after, after - 1)
    pick = np.where(targets <= grid[0], 0, np.where(targets >= grid[-1], len(grid) - 1, pick))
    return np.searchsorted(grid, grid[pick], side="left")


def paper_windows(recording: Recording, lookback: float = PAPER_WINDOW["lookback"],
                  lookforward: float = PAPER_WINDOW["lookforward"], delay: float = PAPER_WINDOW["delay"],
                  word_duration: float = WORD_DURATION_S, method: str = "paper") -> PaperWindows:
    """The grid, the TR of each grid time and every word's window (:class:`PaperWindows`).

    ``method``: ``"paper"`` (windows from the onsets, an empty one takes its start slot) or ``"published"``
    (windows from the grid times ``grid[:n_words]``, an empty one stays empty).
    """
    _check_choice("method", method, GRID_METHODS)
    _check_seconds(lookback=lookback, lookforward=lookforward, delay=delay, word_duration=word_duration)
    rec = recording
    grid = paper_grid(rec)
    grid_tr = np.minimum(np.searchsorted(rec.tr_times, grid - EPS_S, side="left"), rec.n_trs - 1)
    anchor = rec.onsets if method == "paper" else grid[: len(rec.onsets)]  # the grid holds every onset
    first = anchor - lookback + delay
    last = anchor + word_duration + lookforward + delay
    start, stop = _closest(grid, first), _closest(grid, last)
    empty = stop <= start
    if method == "paper":
        stop = np.maximum(stop, start + 1)
    return PaperWindows(grid, grid_tr, start, stop, first < grid[0] - EPS_S, last > grid[-1] + EPS_S, empty)


def _window_slots(windows: PaperWindows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every slot of every window: its word and its grid index; and each window's length."""
    lengths = windows.stop - windows.start
    rows = np.repeat(np.arange(len(lengths)), lengths)
    slots = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths - windows.start, lengths)
    return rows, slots, lengths


def paper_weights(recording: Recording, lookback: float = PAPER_WINDOW["lookback"],
                  lookforward: float = PAPER_WINDOW["lookforward"], delay: float = PAPER_WINDOW["delay"],
                  word_duration: float = WORD_DURATION_S, kernel: str = "gaussian",
                  outside: str = "ignore", method: str = "paper") -> sp.csr_matrix:
    """Sparse ``(n_words, n_trs)`` matrix of the ``"paper"`` or ``"published"`` weights (see the module docstring).

    Rows sum to 1, except the zero rows of empty windows under ``"published"``.

    Parameters
    ----------
    lookback, lookforward, delay, word_duration : float
        The window, in seconds (defaults: the paper's).
    kernel : {"gaussian", "boxcar"}
        The paper's Gaussian, or equal weights over the same slots.
    outside : {"error", "ignore"}
        Accepted so that every method takes the same options, and ignored:
        this rule does not look at runs, so no window is "outside".
    method : {"paper", "published"}
        Where the windows are anchored and what an empty one gets (:func:`paper_windows`).
    """
    _check_choice("kernel", kernel, KERNELS)
    _check_choice("outside", outside, OUTSIDE)
    windows = paper_windows(recording, lookback, lookforward, delay, word_duration, method)
    rows, slots, lengths = _window_slots(windows)
    weights = _kernel_weights(rows, lengths, kernel)
    matrix = sp.coo_matrix((weights, (rows, windows.grid_tr[slots])), shape=(len(lengths), recording.n_trs))
    return matrix.tocsr()  # slots holding the same TR add up here


def paper_window_report(recording: Recording, lookback: float = PAPER_WINDOW["lookback"],
                        lookforward: float = PAPER_WINDOW["lookforward"], delay: float = PAPER_WINDOW["delay"],
                        word_duration: float = WORD_DURATION_S, kernel: str | None = None,
                        outside: str | None = None, method: str = "paper") -> dict[str, int]:
    """How many ``"paper"`` (or ``"published"``) windows break the runs or the grid, for the book to report.

    Takes the options of :func:`paper_weights` (``kernel`` and ``outside`` are
    ignored: they do not move a window). Returns a dict: ``words``, the number
    of words; ``other_run``, words whose window holds a TR of another run than
    the word's own (the run of the TR during which it starts);
    ``clamped_end`` (``clamped_start``), words whose end (start) target lay
    after the last (before the first) grid time, so that the window was cut
    there; ``empty``, words whose window was empty (``"paper"``: given its
    start slot; ``"published"``: a zero row); ``trs_without_slot``, TRs
    between the first and last grid time that no grid time holds (0 when TRs
    last 2 s or more; otherwise the authors' code shifts later grid times).
    """
    rec = recording
    w = paper_windows(rec, lookback, lookforward, delay, word_duration, method)
    rows, slots, lengths = _window_slots(w)
    foreign = rec.runs[w.grid_tr[slots]] != rec.word_runs()[rows]
    return {
        "words": len(lengths),
        "other_run": int((np.bincount(rows, weights=foreign, minlength=len(lengths)) > 0).sum()),
        "clamped_end": int(w.clamped_end.sum()),
        "clamped_start": int(w.clamped_start.sum()),
        "empty": int(w.empty.sum()),
        "trs_without_slot": int(w.grid_tr[-1] - w.grid_tr[0] + 1 - len(np.unique(w.grid_tr))),
    }



def _tr_of_times(rec: Recording, times: np.ndarray) -> np.ndarray:
    """Index of the TR that each time falls in, or -1 where no TR covers it."""
    index = np.searchsorted(rec.tr_times, times + EPS_S, side="right") - 1
    inside = (index >= 0) & (times < rec.tr_times[np.maximum(index, 0)] + rec.tr - EPS_S)
    return np.where(inside, index, -1)


def _within_run_slots(rec: Recording, lookback, lookforward, delay, word_duration):
    """Per word: the TR of every slot of its window (-1 if unscanned), and whether the window fits."""
    _check_seconds(lookback=lookback, lookforward=lookforward, delay=delay, word_duration=word_duration)
    t0 = rec.tr_times[0]
    first = np.floor((rec.onsets - lookback + delay - t0) / GRID_S + 0.5 + EPS_S).astype(np.int64)
    last = np.floor((rec.onsets + word_duration + lookforward + delay - t0) / GRID_S + 0.5 + EPS_S).astype(np.int64)
    lengths = last - first + 1
    rows = np.repeat(np.arange(len(first)), lengths)
    slots = np.repeat(first, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    slot_tr = _tr_of_times(rec, t0 + GRID_S * slots)
    word_run = rec.word_runs()
    good = (slot_tr >= 0) & (rec.runs[np.maximum(slot_tr, 0)] == word_run[rows])
    fits = np.ones(len(first), dtype=bool)
    np.logical_and.at(fits, rows, good)
    return rows, lengths, slot_tr, fits


def _refuse_or_ignore(rec: Recording, fits: np.ndarray, outside: str, what: str) -> None:
    _check_choice("outside", outside, OUTSIDE)
    if outside == "error" and not fits.all():
        i = int(np.flatnonzero(~fits)[0])
        raise ValueError(
            f"{rec.dataset}/{rec.subject}: the {what} of word {i} ({str(rec.words[i])!r}, onset {rec.onsets[i]:.2f} s) "
            f"reaches outside the scanned period of its run ({int((~fits).sum())} word(s) in all). Shorten the "
            "window (scenario fields delay, lookforward) so that it ends before the run does, or pass "
            "outside=\"ignore\" to leave those words out."
        )


def within_run_weights(recording: Recording, lookback: float = PAPER_WINDOW["lookback"],
                       lookforward: float = PAPER_WINDOW["lookforward"], delay: float = PAPER_WINDOW["delay"],
                       word_duration: float = WORD_DURATION_S, kernel: str = "gaussian",
                       outside: str = "error") -> sp.csr_matrix:
    """Sparse ``(n_words, n_trs)`` matrix of the ``"within_run"`` weights.

    1. A regular 0.5 s grid anchored at the first TR's start; each slot takes the TR it falls in.
    2. A word with onset ``t`` takes the slots from the one closest to ``t - lookback + delay`` to the one
       closest to ``t + word_duration + lookforward + delay``, *both* included. "Closest" rounds half up (a
       delay of 6.2 s acts as 6.0 s). The defaults give 10 slots, ``t + 4.0`` to ``t + 8.5`` s.
    3. The kernels of :func:`paper_weights` over those slots.
    4. A window never leaves its word's run: a word whose window reaches outside the scanned period of its run
       is an error naming it (``outside="error"``), or gets an empty row (``outside="ignore"``;
       :func:`window_fits` tells which words those are).
    """
    _check_choice("kernel", kernel, KERNELS)
    rec = recording
    rows, lengths, slot_tr, fits = _within_run_slots(rec, lookback, lookforward, delay, word_duration)
    _refuse_or_ignore(rec, fits, outside, "smoothing window")
    weights = _kernel_weights(rows, lengths, kernel)
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
    start = np.searchsorted(rec.tr_times, rec.onsets + EPS_S, side="right") - 1
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
    fits &= scanned_until >= last_needed - EPS_S
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


def _check_hrf_options(options: dict) -> None:
    unused = sorted(set(options) - {"outside"})
    if unused:
        raise ValueError(f"the hrf method takes no {', '.join(unused)}: its window is the HRF itself.")



def window_fits(recording: Recording, method: str = "paper", **options) -> np.ndarray:
    """Which words have a usable window, a boolean array of shape ``(n_words,)``.

    Takes the arguments of :func:`word_weights`. ``"within_run"``, ``"hrf"``:
    whether the whole window lies inside the scanned period of the word's
    run. ``"paper"``, ``"published"``: always True (the options are still
    checked), since by the paper's rule, which ignores runs, every window is
    valid (the zero row of an empty ``"published"`` window included: the
    authors' code keeps it); :func:`paper_window_report` counts those that
    reach into another run, are clamped at the end of the grid or are empty.
    """
    window = {name: value for name, value in options.items() if name not in ("kernel", "outside")}
    if method in GRID_METHODS:
        paper_windows(recording, **window, method=method)
        return np.ones(len(recording.onsets), dtype=bool)
    if method == "within_run":
        return _within_run_slots(recording, **{**PAPER_WINDOW, "word_duration": WORD_DURATION_S, **window})[3]
    if method == "hrf":
        _check_hrf_options(options)
        return _hrf_parts(recording)[3]
    raise ValueError(f"unknown smoothing method {method!r}; choose one of {METHODS}.")


def word_weights(recording: Recording, method: str = "paper", **options) -> sp.csr_matrix:
    """The weight matrix of a method, given that method's keyword arguments.

    ``"paper"``, ``"published"``: :func:`paper_weights`; ``"within_run"``: :func:`within_run_weights`;
    ``"hrf"``: :func:`hrf_weights`. Every method accepts ``outside``; ``"paper"`` and ``"published"`` ignore it.
    """
    if method in GRID_METHODS:
        return paper_weights(recording, **options, method=method)
    if method == "within_run":
        return within_run_weights(recording, **options)
    if method == "hrf":
        _check_hrf_options(options)
        return hrf_weights(recording, **options)
    raise ValueError(f"unknown smoothing method {method!r}; choose one of {METHODS}.")


def smooth(recording: Recording, data: np.ndarray | None = None, method: str = "paper", **options) -> np.ndarray:
    """Brain vector of every shown word, shape ``(n_words, n_features)``: one sparse matrix product.

    ``data`` defaults to the recording's voxels; pass TR-level PCA scores
    (see :func:`helpers.brain.reduction.pca`) to smooth a reduced space instead.
    ``method`` and ``options`` go to :func:`word_weights`. The result has the
    dtype of the data.
    """
    values = recording.data if data is None else np.asarray(data)
    if values.ndim != 2 or values.shape[0] != recording.n_trs:
        raise ValueError(f"data must have one row per TR ({recording.n_trs}), got shape {values.shape}.")
    weights = word_weights(recording, method, **options).astype(values.dtype)
    return np.asarray(weights @ values)
