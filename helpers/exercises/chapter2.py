"""Checks of the exercises of chapter 2 (From TRs to words: smoothing)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..align import statistics
from ..brain import smoothing
from ..data import datasets
from ..run import pipeline, tables
from .chapter4 import csls_at, simulated
from .registry import exercise
from .verdict import mapping, numbers_close

DELAYS = (2, 4, 6, 8)  # the delays (s) exercise 2.4 sweeps


def timed(cfg) -> str | None:
    """Why an exercise on the words' timing does not apply to ``cfg`` (sentence-level data), or None."""
    if datasets.get(cfg.dataset).word_timing:
        return None
    return f"the {cfg.dataset} recordings hold one response per sentence: there is no word timing to smooth"


@exercise("2.1", applies=timed)
def no_delay(answer, cfg, word: int):
    rec = pipeline.recordings(cfg)[0]
    window = {**cfg.fields("lookback", "lookforward", "delay"), "delay": 0.0}
    taken = rec.tr_times[smoothing.word_weights(rec, method="paper", **window)[word].indices] - rec.onsets[word]
    return mapping(answer, {"from": taken.min(), "to": taken.max()},
                   "the word's first and last TR with no delay (s from its onset)",
                   "Take the paper's rule with `delay=0.0`, the indices of the word's row of `smoothing.word_weights` "
                   "(`[first].indices`), their `rec.tr_times`, and subtract the word's onset (s; before it is "
                   "negative).", numbers_close())


@exercise("2.2", applies=timed)
def narrowest_window(answer, cfg):
    rec = pipeline.recordings(cfg)[0]
    model, _ = pipeline.focus(cfg)
    k = pipeline.brain_dims(cfg, rec, pipeline.lm_features(cfg, model).vectors.shape[2])
    method = cfg.value("smoothing")
    narrow = dataclasses.replace(cfg, smoothing="paper" if method == "hrf" else method, lookback=0.0, lookforward=0.0)
    per_word = np.diff(smoothing.word_weights(rec, **pipeline.smoothing_options(narrow)).indptr)
    similarity = statistics.lag_similarity(pipeline.brain_vectors(narrow, rec, k), [1])[1]
    return mapping(answer, {"most TRs per word": int(per_word.max()), "similarity at distance 1": similarity},
                   "the narrowest window (lookback = lookforward = 0)",
                   "Count the non-zero weights per row of the narrow variant's `word_weights` and take the most; "
                   "the similarity is `statistics.lag_similarity` of its brain vectors (with the chapter's `k`) at "
                   "distance 1.", numbers_close())


@exercise("2.3", applies=timed)
def long_delay(answer, cfg):
    rec = pipeline.recordings(cfg)[0]
    window = {**cfg.fields("lookback", "lookforward", "delay"), "delay": 12.0}
    report = smoothing.paper_window_report(rec, **window)
    leave = int((~smoothing.window_fits(rec, method="within_run", **window)).sum())
    return mapping(answer, {"leave their run": leave, "other_run": report["other_run"],
                            "clamped_end": report["clamped_end"]},
                   "the windows a 12 s delay breaks in the first recording",
                   "Count the items whose within-run window does not fit (`smoothing.window_fits`), then read "
                   "`other_run` and `clamped_end` of the paper's rule (`smoothing.paper_window_report`), both with "
                   "delay 12 s.", numbers_close())


@exercise("2.4", applies=simulated)
def best_delay(answer, cfg, variants: dict):
    sweep_cfg = dataclasses.replace(cfg, split="blocks")
    model, layer = pipeline.focus(cfg)
    tried = {f"delay {d} s": d for d in DELAYS}
    strong = dataclasses.replace(sweep_cfg, snr=5.0, n_subjects=1)
    sweeps = {"scenario": tables.smoothing_variants(sweep_cfg, variants, model, layer),
              "strong": tables.smoothing_variants(strong, {label: {"delay": float(d)} for label, d in tried.items()},
                                                  model, layer)}
    best = {}
    for name, sweep in sweeps.items():
        means = statistics.summarise(csls_at(sweep, cfg), ["variant"]).set_index("variant")["mean"]
        best[name] = tried[means[list(tried)].idxmax()]
    return mapping(answer, best, f"the best delays among {', '.join(map(str, DELAYS))} s",
                   "Take the delay of the highest mean P@10 (CSLS) among the delays both sweeps tried: in the "
                   "chapter's sweep (`sweep`) and in the one at snr = 5.", numbers_close())
