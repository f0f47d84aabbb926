"""Checks of the exercises of chapter 1 (What a recording is)."""

from __future__ import annotations

import dataclasses

from ..brain import consistency
from ..data import words
from ..run import pipeline
from .chapter4 import simulated
from .registry import exercise
from .verdict import mapping, numbers_close

TRICKY = ('"Well,', "ferry-house.", "--", "+", "3rd", "don't", "l'homme")  # the items of exercise 1.1


def several_subjects(cfg) -> str | None:
    """Why the pure-noise map of exercise 1.3 does not apply to ``cfg``, or None: it needs simulated subjects,
    at least two (simulated subjects share their voxels)."""
    reason = simulated(cfg)
    if reason is None and cfg.n_subjects < 2:
        return f"the inter-subject correlation needs two subjects or more, and this scenario has {cfg.n_subjects}"
    return reason


@exercise("1.1")
def word_types(answer, cfg):
    expected = {item: words.word_type(item) if words.is_word(item) else "" for item in TRICKY}
    return mapping(answer, expected, "the seven items' types",
                   "An item is a word if it holds a letter or a digit (`words.is_word`); its type strips the "
                   "punctuation at both ends only and lowers the case (`words.word_type`); a non-word gets ''.",
                   same=lambda given, right: (given if given is not None else "") == right)


@exercise("1.2", applies=simulated)
def two_runs(answer, cfg):
    two = pipeline.recordings(dataclasses.replace(cfg, n_runs=2))[0]
    expected = {"TRs": two.n_trs, "longest run": int(two.run_table()["n_trs"].max()),
                "words": int(words.word_mask(two.words).sum())}
    return mapping(answer, expected, "the two-run simulation's first recording",
                   "Simulate `dataclasses.replace(cfg, n_runs=2)` and read its first recording: `n_trs`, the "
                   "largest `n_trs` of its `run_table()`, and the word occurrences (`words.word_mask`, not every "
                   "item shown).", numbers_close())


@exercise("1.3", applies=several_subjects)
def noise_map(answer, cfg):
    isc = consistency.intersubject_correlation(list(pipeline.recordings(dataclasses.replace(cfg, snr=0.0))))
    expected = {"mean": isc.mean(), "std": isc.std(), "max": isc.max()}
    return mapping(answer, expected, "the inter-subject correlation map on pure noise (snr = 0)",
                   "Simulate `dataclasses.replace(cfg, snr=0.0)`, compute the map over all its subjects and "
                   "describe it over the voxels (`pd.Series(map).describe()`).", numbers_close())
