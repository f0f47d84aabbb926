"""One brain vector per word occurrence, from any recording.

A time-locked :class:`~helpers.data.recording.Recording` is smoothed from
TRs to words (:mod:`helpers.brain.smoothing`) and its non-words are dropped;
a :class:`~helpers.data.recording.SentenceRecording` gives each word its
sentence's response (:meth:`~helpers.data.recording.SentenceRecording.item_sentences`).
"""

from __future__ import annotations

import numpy as np

from ..data.recording import Recording, SentenceRecording
from ..data.words import word_mask
from .smoothing import smooth, word_weights


def word_vectors(recording: Recording | SentenceRecording, data: np.ndarray, smoothing: dict,
                 outside: str = "error") -> np.ndarray:
    """The brain vector of every word occurrence of ``recording``, shape ``(n_words, n_features)``.

    ``data`` holds one row per TR (per sentence), e.g. the recording's voxels
    or their PCA scores; ``smoothing`` the arguments of
    :func:`helpers.brain.smoothing.word_weights` (unused for sentences).
    """
    if isinstance(recording, SentenceRecording):
        return np.asarray(data)[recording.item_sentences()]
    return smooth(recording, data, outside=outside, **smoothing)[word_mask(recording.stimulus)]


def rows_used(recording: Recording | SentenceRecording, smoothing: dict, words: np.ndarray, outside: str = "error") -> np.ndarray:
    """Which rows of the data (TRs, or sentences) the given word occurrences draw on: a boolean mask.

    ``words`` is a boolean mask over the word occurrences (non-words
    excluded), e.g. a fold's training words; a PCA fitted on these rows
    sees nothing of the other words' own TRs beyond those they share.
    """
    if isinstance(recording, SentenceRecording):
        used = np.zeros(len(recording.sentences), dtype=bool)
        used[recording.item_sentences()[words]] = True
        return used
    weights = word_weights(recording, outside=outside, **smoothing)[word_mask(recording.stimulus)]
    return np.asarray(abs(weights[np.flatnonzero(words)]).sum(axis=0)).ravel() > 0
