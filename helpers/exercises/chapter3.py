"""Checks of the exercises of chapter 3 (Language-model features for every layer)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..data import words
from ..lm import models
from ..run import pipeline, tables
from .registry import exercise
from .verdict import mapping, number, numbers_close

CHANGED = 0.999  # exercise 3.3: a word's vector changes when its two poolings' cosine is below this


def focus_vectors(cfg, **changes) -> np.ndarray:
    """The focus layer's vectors of every word occurrence (float64), read with ``changes`` to the scenario."""
    model, layer = pipeline.focus(cfg)
    return pipeline.lm_features(dataclasses.replace(cfg, **changes), model).vectors[layer].astype(np.float64)


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cosine between each row of ``a`` and the same row of ``b``."""
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def other_pooling(cfg) -> str:
    """The pooling exercise 3.3 compares with: "first" when the scenario pools the mean, else "mean"."""
    return "first" if cfg.pooling == "mean" else "mean"


def other_context(cfg) -> str:
    """The context exercise 3.4 compares with: "run", or "sentence" when the scenario already reads runs."""
    return "run" if cfg.context != "run" else "sentence"


@exercise("3.1")
def tokens_per_type(answer, cfg):
    model = pipeline.focus(cfg)[0]
    tokenizer = models.load_tokenizer(model)
    vocabulary = sorted(set(pipeline.occurrence_types(cfg)))
    pieces = np.array([len(ids) for ids in tokenizer([" " + w for w in vocabulary], add_special_tokens=False)
                       ["input_ids"]])
    # tight: the two default tokenizers' means differ by less than 2 %
    return mapping(answer, {"mean": float(pieces.mean()), "max": int(pieces.max())},
                   f"the tokens per word type of {model}'s tokenizer",
                   "Tokenise every word type as it follows a space (`' ' + w`, `add_special_tokens=False`) with the "
                   "focus model's tokenizer; 'mean' and 'max' are over the word types, not the occurrences.",
                   numbers_close(rtol=1e-3, atol=1e-4))


@exercise("3.2")
def layer_steps(answer, cfg):
    trained = pipeline.focus(cfg)[0].removeprefix(models.RANDOM_PREFIX)
    steps = {name: np.diag(tables.layer_similarity(cfg, name), 1)
             for name in (trained, models.RANDOM_PREFIX + trained)}
    expected = {"step": int(steps[trained].argmin()), "trained": float(steps[trained].min()),
                "random": float(steps[models.RANDOM_PREFIX + trained].min())}
    return mapping(answer, expected, f"the steps between consecutive layers of {trained} and its random twin",
                   "Centre each layer's vectors over the words, scale the rows to length 1, and average the row-wise "
                   "products of layers l and l + 1; 'step' is the l of the trained model's lowest mean cosine.",
                   numbers_close())


@exercise("3.3")
def first_token(answer, cfg):
    items = pipeline.stimulus_items(cfg)
    in_first = words.sentence_ids(items)[words.word_mask(items)] == 0
    cosines = row_cosines(focus_vectors(cfg), focus_vectors(cfg, pooling=other_pooling(cfg)))[in_first]
    return number(answer, int((cosines < CHANGED).sum()), "the number of words of the first sentence that change",
                  f"Compare each word's two vectors at the focus layer, {cfg.pooling} against "
                  f"{other_pooling(cfg)} pooling, and count the cosines below {CHANGED}.", rtol=0, atol=0)


@exercise("3.4")
def sentence_context(answer, cfg):
    items = pipeline.stimulus_items(cfg)
    sentence = words.sentence_ids(items)[words.word_mask(items)]
    starts = np.r_[True, sentence[1:] != sentence[:-1]]
    ends = np.r_[starts[1:], True]
    cosines = row_cosines(focus_vectors(cfg), focus_vectors(cfg, context=other_context(cfg)))
    return mapping(answer, {"first": cosines[starts].mean(), "last": cosines[ends].mean()},
                   f"the mean cosines between the {cfg.context} and {other_context(cfg)} contexts",
                   "Take the cosine between a word's two vectors at the focus layer, then average it over the first "
                   "words of the sentences (position 0) and over their last words.", numbers_close())
