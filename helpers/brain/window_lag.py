"""How far the published code's smoothing windows lag behind their words.

The ``"published"`` smoothing (:mod:`helpers.brain.smoothing`) anchors word
``i``'s window at ``g_i``, the ``i``-th time of the filled grid, in place of
its onset. The grid holds every onset, so ``g_i`` is the onset itself until
the first filled gap; from there on each fill step pushes the onsets one
place further along the grid, and the window trails its word: in Harry
Potter, every run but the first starts after a rest, so its windows lag by
all the rests filled before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.recording import Recording
from .smoothing import EPS_S, paper_grid


def window_lag(recording: Recording) -> np.ndarray:
    """Per word, the seconds by which the anchor of its ``"published"`` window lags its onset: ``onset_i - g_i``.

    ``g_i`` is the ``i``-th grid time. The lag is 0 up to the first filled gap and positive after it; where
    the grid steps by 0.5 s throughout, it is the time filled so far. The window's options (lookback, delay,
    ...) shift both anchors alike, so they do not change the lag and are not taken.
    """
    return recording.onsets - paper_grid(recording)[: len(recording.onsets)]


def lag_by_run(recording: Recording) -> pd.DataFrame:
    """:func:`window_lag` per run (of the words, :meth:`~helpers.data.recording.Recording.word_runs`), a DataFrame.

    One row per run: ``run``, ``n_words``, ``words_lagged`` (lag over 1e-9 s), ``share_lagged``,
    ``median_lag_s``, ``max_lag_s`` (NaN for a run without words).
    """
    lag, word_runs = window_lag(recording), recording.word_runs()
    rows = []
    for run in np.unique(recording.runs):
        own = lag[word_runs == run]
        lagged = int((own > EPS_S).sum())
        rows.append({"run": run, "n_words": len(own), "words_lagged": lagged,
                     "share_lagged": lagged / len(own) if len(own) else np.nan,
                     "median_lag_s": float(np.median(own)) if len(own) else np.nan,
                     "max_lag_s": float(own.max()) if len(own) else np.nan})
    return pd.DataFrame(rows)
