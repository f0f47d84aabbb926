"""Slow, obvious versions of the smoothing rules of :mod:`helpers.brain.smoothing`.

One word at a time, with plain loops, written from the rules in that module's
docstring and not from its vectorised code, so that the tests (and
``benchmarks/smoothing.py``) can check the fast versions against them. Both
return float64 word vectors, shape ``(n_words, n_features)``.
"""

from __future__ import annotations

import numpy as np

TOL = 1e-9  # times closer than this count as equal, as in helpers.brain.smoothing
STEP = 0.5
FILL_GAP = 2.0


# ----------------------------------------------------------------------------------------------------------------
# "paper"


def paper_grid_loop(onsets, last_tr_time) -> list[float]:
    """The grid: every onset; 0.5 s steps inside gaps longer than 2 s; 0.5 s steps after the last onset up to the last TR."""
    onsets = [float(t) for t in onsets]
    grid = []
    for i, onset in enumerate(onsets):
        grid.append(onset)
        if i + 1 < len(onsets) and onsets[i + 1] - onset > FILL_GAP + TOL:
            m = 1
            while onset + STEP * m < onsets[i + 1] - TOL:
                grid.append(onset + STEP * m)
                m += 1
    m = 1
    while onsets[-1] + STEP * m <= last_tr_time + TOL:
        grid.append(onsets[-1] + STEP * m)
        m += 1
    return grid


def grid_trs_loop(grid: list[float], tr_times) -> list[int]:
    """For each grid time, the first TR whose start is at or after it (the last TR if there is none)."""
    out = []
    j = 0
    for t in grid:
        while j < len(tr_times) - 1 and tr_times[j] < t - TOL:
            j += 1
        out.append(j)
    return out


def closest_index_loop(grid: list[float], target: float, hint: int = 0) -> int:
    """Index of the grid time closest to ``target``.

    Halfway between two times goes to the earlier; before the first or after
    the last time goes to that end; of equal times the first is taken.
    ``hint`` is where to start walking (any index gives the same answer).
    """
    if target <= grid[0]:
        k = 0
    elif target >= grid[-1]:
        k = len(grid) - 1
    else:
        k = min(max(hint, 0), len(grid) - 2)
        while k > 0 and grid[k] >= target:
            k -= 1
        while grid[k + 1] < target:
            k += 1
        # now grid[k] < target <= grid[k + 1]
        if grid[k + 1] - target < target - grid[k] - TOL:
            k += 1
    while k > 0 and grid[k - 1] == grid[k]:
        k -= 1
    return k


def paper_loop(rec, data=None, lookback=2.0, lookforward=2.0, delay=6.0, word_duration=0.5, kernel="gaussian",
               windows=False, published=False):
    """The ``"paper"`` rule one word at a time.

    With ``windows=True`` also returns, per word, the list of grid indices of
    its window and whether the window was empty. With ``published=True``, the
    ``"published"`` rule (see :func:`published_loop`).
    """
    values = rec.data if data is None else data
    grid = paper_grid_loop(rec.onsets, rec.tr_times[-1])
    grid_tr = grid_trs_loop(grid, rec.tr_times)
    out = np.zeros((len(rec.onsets), values.shape[1]))
    slots_of_word, empty = [], []
    start = stop = 0
    for i, onset in enumerate(rec.onsets):
        anchor = grid[i] if published else onset
        start = closest_index_loop(grid, anchor - lookback + delay, hint=start)
        stop = closest_index_loop(grid, anchor + word_duration + lookforward + delay, hint=stop)
        empty.append(stop <= start)
        if published:
            slots = list(range(start, stop))  # an empty window stays empty: a zero vector
        else:
            slots = list(range(start, max(stop, start + 1)))
        n = len(slots)
        if kernel == "gaussian":
            weights = np.exp(-np.linspace(-(n // 2), n // 2, n) ** 2 / 2)
        else:
            weights = np.ones(n)
        weights = weights / weights.sum()
        for weight, slot in zip(weights, slots):
            out[i] += float(weight) * np.asarray(values[grid_tr[slot]], dtype=np.float64)
        slots_of_word.append(slots)
    if windows:
        return out, slots_of_word, empty
    return out


def published_loop(rec, data=None, **options):
    """The ``"published"`` rule one word at a time: the ``"paper"`` rule except for two points.

    Word ``i``'s window is placed from the ``i``-th grid time instead of its
    onset, and a window whose two ends are the same grid index has no slot
    (the word's vector is zero) instead of its start slot. Takes the options
    of :func:`paper_loop`.
    """
    return paper_loop(rec, data, published=True, **options)


# ----------------------------------------------------------------------------------------------------------------
# "within_run"


def within_run_loop(rec, data=None, lookback=2.0, lookforward=2.0, delay=6.0, word_duration=0.5):
    """The ``"within_run"`` rule one word at a time (Gaussian kernel; only for words whose window fits their run).

    A regular 0.5 s grid from the first TR; the window takes the slots from
    the one closest to ``t - lookback + delay`` to the one closest to
    ``t + word_duration + lookforward + delay`` (halves rounded up), both
    included; each slot holds the TR it falls in.
    """
    values = rec.data if data is None else data
    t0 = rec.tr_times[0]
    out = np.zeros((len(rec.onsets), values.shape[1]))
    for i, onset in enumerate(rec.onsets):
        first = int(np.floor((onset - lookback + delay - t0) / STEP + 0.5 + TOL))
        last = int(np.floor((onset + word_duration + lookforward + delay - t0) / STEP + 0.5 + TOL))
        n = last - first + 1
        weights = np.exp(-np.linspace(-(n // 2), n // 2, n) ** 2 / 2)
        weights /= weights.sum()
        for weight, slot in zip(weights, range(first, last + 1)):
            t = t0 + STEP * slot
            tr = int(np.searchsorted(rec.tr_times, t + TOL, side="right")) - 1  # the TR that t falls in
            out[i] += float(weight) * np.asarray(values[tr], dtype=np.float64)
    return out
