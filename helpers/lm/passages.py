"""The texts a language model reads, and which of their tokens belong to which word.

Words are mapped to tokens through the fast tokenizer's character offsets:
each passage is tokenised as running text (words joined by single spaces,
as a reader sees them), and a token belongs to the word whose core (the word
without leading or trailing punctuation, see :mod:`helpers.data.words`)
overlaps it. So ``"owl,"`` gets the vector of ``owl`` and not of the comma,
and byte-level BPE tokenizers see each word with its leading space, as in
their training text. (Tokenising pre-split words would drop those spaces:
SmolLM2 would then read "flew" as ``f`` + ``lew``.)

Contexts, i.e. what the model reads around a word (non-words such as
fixation marks are never part of the text):

``"sentence"``
    each sentence on its own, as in the paper;
``"previous:N"``
    each word with up to ``N`` preceding words of its run as left context
    (``"previous:0"``: every word alone). The word is the last one of the
    text, so a bidirectional encoder (BERT, MiniLM) sees no right context
    either, unlike in the other two contexts;
``"run"``
    the whole run as one text. A text longer than the model's positions is
    cut into windows that overlap by half (:func:`windows`), and each word
    is read from the window where it has the most left context.

A word split into several tokens gets the mean of its tokens (``"mean"``)
or its first token (``"first"``).

This module does not import torch: a scenario checks its context and
pooling here without loading a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import words as W

POOLINGS = ("mean", "first")


def parse_context(context: str) -> tuple[str, int | None]:
    """Check a context name; return its kind and, for ``"previous:N"``, ``N``."""
    if context in ("sentence", "run"):
        return context, None
    kind, _, n = str(context).partition(":")
    if kind == "previous" and n.isdigit():
        return kind, int(n)
    raise ValueError(
        f"unknown context {context!r}; choose 'sentence', 'run' (the whole run as one text) or "
        "'previous:N' (each word with up to N >= 0 preceding words, e.g. 'previous:20')."
    )


def check_options(context: str, pooling: str) -> None:
    """Raise a clear error for an unknown context or pooling."""
    parse_context(context)
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLINGS}.")


@dataclass(frozen=True)
class Passage:
    """One text given to the model: the words it joins and which of them are read out."""

    text: str
    items: np.ndarray  # item index of each word of the text
    spans: np.ndarray  # (n_words, 2) character span of each word's core in the text
    read: np.ndarray  # bool: the word's vector is taken from this text (False: context only)


def _passage(items: Sequence[str], index: np.ndarray, read: np.ndarray) -> Passage:
    text, spans = "", []
    for i in index:
        if text:
            text += " "
        start, end = W.core_span(items[i])
        spans.append((len(text) + start, len(text) + end))
        text += items[i]
    return Passage(text, index, np.asarray(spans, dtype=np.int64).reshape(-1, 2), read)


def passages(items: Sequence[str], context: str = "sentence", runs: Sequence[int] | None = None) -> list[Passage]:
    """The texts the model reads for ``context`` (see the module docstring).

    ``runs`` gives the run of every item (default: one run); windows of
    ``"previous:N"`` and texts of ``"run"`` never cross a run boundary.
    """
    kind, n = parse_context(context)
    items = [str(item) for item in items]
    words = np.flatnonzero([W.is_word(item) for item in items])
    if kind == "sentence":
        groups = _split(words, W.sentence_ids(items)[words])
    else:
        runs = np.zeros(len(items), dtype=np.int64) if runs is None else np.asarray(runs)
        if runs.shape != (len(items),):
            raise ValueError(f"runs must give one run per item: {len(items)} items, runs of shape {runs.shape}.")
        groups = _split(words, runs[words])
    if kind != "previous":
        return [_passage(items, g, np.ones(len(g), dtype=bool)) for g in groups]
    windows = [g[max(0, j - n): j + 1] for g in groups for j in range(len(g))]
    return [_passage(items, w, np.arange(len(w)) == len(w) - 1) for w in windows]


def _split(index: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """``index`` cut wherever ``labels`` changes."""
    return np.split(index, np.flatnonzero(np.diff(labels)) + 1) if len(index) else []


def token_word_index(offsets: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """For each token ``(start, end)`` the index of the word span it overlaps, or -1.

    Special tokens (empty spans) and tokens made only of spaces or of
    punctuation outside a word's core get -1.
    """
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    starts, ends = offsets[:, 0], offsets[:, 1]
    j = np.searchsorted(spans[:, 1], starts, side="right")
    inside = j < len(spans)
    jj = np.minimum(j, len(spans) - 1)
    overlaps = inside & (ends > starts) & (spans[jj, 0] < ends) & (spans[jj, 1] > starts)
    return np.where(overlaps, jj, -1)


def token_table(tokenizer, items: Sequence[str], index: int = 0, context: str = "sentence", runs=None) -> pd.DataFrame:
    """The tokens of one passage and the word each is pooled into (``None``: none, or context only)."""
    passage = passages(items, context, runs)[index]
    encoded = tokenizer(passage.text, return_offsets_mapping=True, verbose=False)
    owner = token_word_index(np.asarray(encoded["offset_mapping"]), passage.spans)
    return pd.DataFrame(
        {
            "token": tokenizer.convert_ids_to_tokens(encoded["input_ids"]),
            "characters": [tuple(o) for o in encoded["offset_mapping"]],
            "word": [str(items[passage.items[j]]) if j >= 0 and passage.read[j] else None for j in owner],
        }
    )


def windows(ids: np.ndarray, target: np.ndarray, special: np.ndarray, limit: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut one tokenised text that is longer than ``limit`` tokens into overlapping windows.

    ``target`` gives, per token, the word it is pooled into (-1: none), and
    ``special`` marks the tokenizer's special tokens, which are repeated
    around every window. Windows of ``size`` text tokens start every
    ``ceil(size / 2)`` tokens; a word is read from the first window that
    holds all its tokens, where it has the most left context. Windows that
    read no word are dropped. Returns ``(ids, target)`` per window.
    """
    if len(ids) <= limit:
        return [(ids, target)]
    text = np.flatnonzero(special == 0)
    lead, end = text[0], text[-1] + 1
    prefix, suffix = ids[:lead], ids[end:]
    ids, target = ids[lead:end], target[lead:end]
    size = limit - len(prefix) - len(suffix)
    if size < 2:
        raise ValueError(f"a limit of {limit} tokens leaves no room for text beside the special tokens.")
    step = size - size // 2
    starts = np.arange(0, max(len(ids) - size, 0) + step, step)
    tokens = np.flatnonzero(target >= 0)
    first = np.r_[0, np.flatnonzero(np.diff(target[tokens])) + 1]  # a word's tokens are contiguous
    word_start, word_end = tokens[first], tokens[np.r_[first[1:], len(tokens)] - 1] + 1
    chunk = np.maximum(0, -((size - word_end) // step))  # ceil((end - size) / step)
    if np.any(starts[chunk] > word_start):
        raise ValueError(f"a word has more tokens than half of a {limit}-token window.")
    token_chunk = np.full(len(ids), -1)
    token_chunk[tokens] = np.repeat(chunk, np.diff(np.r_[first, len(tokens)]))
    out = []
    for k, start in enumerate(starts):
        read = np.where(token_chunk[start: start + size] == k, target[start: start + size], -1)
        if np.any(read >= 0):
            out.append((np.r_[prefix, ids[start: start + size], suffix], np.r_[np.full(len(prefix), -1), read, np.full(len(suffix), -1)]))
    return out
