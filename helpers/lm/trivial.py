"""Trivial word features that stand in for a language model: the controls.

A brain score means little until it is compared with what features that know
nothing of language reach. ``trivial:<name>`` goes wherever a model name goes
(``models`` of a scenario, the grid, every table) and gives one "layer":

``trivial:length``
    the number of letters of the word (its core, without punctuation);
``trivial:frequency``
    its log frequency: the Zipf value of ``wordfreq``'s English lists
    (log10 of occurrences per billion words; 0 for a word the lists lack);
``trivial:position``
    where it stands in its run, from 0 (the first word) to 1 (the last);
``trivial:position_identity``
    which word of its run it is: an identity matrix over positions in the
    run, smoothed over neighbouring positions by a Gaussian of
    :data:`IDENTITY_SIGMA` words (the "position" feature of Feghhi et al.
    2024). It knows only *when* a word came, nothing of *what* it was.

A single number per word would make cosine retrieval meaningless (every
cosine is +1 or -1), so each of the three scalar features is spread over a
bank of :data:`N_BUMPS` Gaussian bumps evenly spaced over its range in the
text, one column per bump: every method can then read any smooth function
of the value. Sentence datasets show everything in one run, so there the
position is the word's place in the whole list of sentences.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

import numpy as np

from ..data import words as W

PREFIX = "trivial:"
FEATURES = {
    "length": "letters in the word",
    "frequency": "log frequency (Zipf, wordfreq)",
    "position": "relative position in the run",
    "position_identity": "position identity, smoothed",
}
NAMES = tuple(PREFIX + name for name in FEATURES)
N_BUMPS = 16
IDENTITY_SIGMA = 2.0  # words
VERSION = 1  # bump when the features change, so cached results are recomputed


def is_trivial(name: str) -> bool:
    return name.startswith(PREFIX)


def check(name: str, field: str = "models") -> None:
    """An error naming the field and the choices if ``name`` is ``trivial:`` plus an unknown feature."""
    if is_trivial(name) and name not in NAMES:
        raise ValueError(f"{field}: unknown trivial feature {name!r}; choose one of {', '.join(NAMES)}.")


def describe(name: str) -> str:
    """A line saying what the feature is and how it is encoded, for the tables' ``source``."""
    check(name)
    feature = name.removeprefix(PREFIX)
    if feature == "position_identity":
        return f"{FEATURES[feature]} (Gaussian, sigma {IDENTITY_SIGMA:g} words)"
    if feature == "frequency":
        return f"{FEATURES[feature]} {importlib.metadata.version('wordfreq')}, {N_BUMPS} Gaussian bumps"
    return f"{FEATURES[feature]}, {N_BUMPS} Gaussian bumps"


def key(name: str) -> dict:
    """What determines the feature's values besides the text: its name, this module's version, wordfreq's."""
    check(name)
    return {"trivial": name, "version": VERSION, "n_bumps": N_BUMPS, "sigma": IDENTITY_SIGMA,
            "wordfreq": importlib.metadata.version("wordfreq") if name == PREFIX + "frequency" else None}


def trivial_vectors(name: str, items: Sequence[str], runs: Sequence[int]) -> np.ndarray:
    """The feature of every word occurrence among ``items`` (fixation marks are skipped), shape ``(1, n_words, width)``.

    ``runs`` gives the run of every item. float32, as language-model
    features.
    """
    check(name)
    items, runs = np.asarray(items), np.asarray(runs)
    if items.shape != runs.shape:
        raise ValueError(f"need one run per item: {len(items)} items, {len(runs)} runs.")
    words = W.word_mask(items)
    feature = name.removeprefix(PREFIX)
    if feature == "length":
        values = np.array([len(W.word_type(item)) for item in items[words]], dtype=np.float64)
    elif feature == "frequency":
        from wordfreq import zipf_frequency

        values = np.array([zipf_frequency(W.word_type(item), "en") for item in items[words]])
    else:
        index, length = _position_in_run(runs[words])
        if feature == "position_identity":
            grid = np.arange(length.max())
            return np.exp(-0.5 * ((index[:, None] - grid[None]) / IDENTITY_SIGMA) ** 2)[None].astype(np.float32)
        values = index / np.maximum(length - 1, 1)
    return bumps(values)[None].astype(np.float32)


def bumps(values: np.ndarray, n: int = N_BUMPS) -> np.ndarray:
    """Each value as ``n`` Gaussian bumps evenly spaced over the values' range, each as wide as the spacing."""
    values = np.asarray(values, dtype=np.float64)
    low, high = values.min(), values.max()
    if high == low:
        raise ValueError("the feature has one value for every word: it cannot tell words apart.")
    centres = np.linspace(low, high, n)
    width = centres[1] - centres[0]
    return np.exp(-0.5 * ((values[:, None] - centres[None]) / width) ** 2)


def _position_in_run(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The index of every word within its run (0, 1, ...) and the length of its run, in words."""
    starts = np.r_[0, np.flatnonzero(np.diff(runs)) + 1]
    lengths = np.diff(np.r_[starts, len(runs)])
    run_of = np.repeat(np.arange(len(starts)), lengths)
    return np.arange(len(runs)) - starts[run_of], lengths[run_of]
