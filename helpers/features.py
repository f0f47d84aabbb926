"""Hidden states of a language model for every word shown, every layer.

Words are mapped to tokens through the fast tokenizer's character offsets:
each sentence is tokenised as running text (words joined by single spaces,
as a reader sees them), and a token belongs to the word whose core (the word
without leading or trailing punctuation, see :mod:`helpers.words`) it
overlaps. So ``"owl,"`` gets the vector of ``owl`` and not of the comma,
and byte-level BPE tokenizers see each word with its leading space, as in
their training text. (Tokenising pre-split words would drop those spaces:
SmolLM2 would then read "flew" as ``f`` + ``lew``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from . import words as W

CONTEXTS = ("sentence",)
POOLINGS = ("mean", "first")


def sentence_texts(items: Sequence[str]) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Each sentence's text, the item indices of its words and their core character spans."""
    sids = W.sentence_ids(items)
    texts, members, spans = [], [], []
    for sid in range(int(sids.max()) + 1 if len(sids) and sids.max() >= 0 else 0):
        index = np.flatnonzero(sids == sid)
        text, span = "", []
        for i in index:
            if text:
                text += " "
            start, end = W.core_span(items[i])
            span.append((len(text) + start, len(text) + end))
            text += items[i]
        texts.append(text)
        members.append(index)
        spans.append(np.asarray(span, dtype=np.int64))
    return texts, members, spans


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


def token_table(tokenizer, items: Sequence[str], sentence: int = 0):
    """The tokens of one sentence and the word each is pooled into (``None`` if none)."""
    import pandas as pd

    texts, members, spans = sentence_texts(items)
    encoded = tokenizer(texts[sentence], return_offsets_mapping=True)
    owner = token_word_index(np.asarray(encoded["offset_mapping"]), spans[sentence])
    return pd.DataFrame(
        {
            "token": tokenizer.convert_ids_to_tokens(encoded["input_ids"]),
            "characters": [tuple(o) for o in encoded["offset_mapping"]],
            "word": [items[members[sentence][j]] if j >= 0 else None for j in owner],
        }
    )


def _batches(lengths: np.ndarray, token_budget: int) -> list[np.ndarray]:
    """Sentence indices grouped into batches of at most ``token_budget`` padded tokens, longest first."""
    order = np.argsort(-lengths, kind="stable")
    batches, current = [], []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]
        if current and width * (len(current) + 1) > token_budget:
            batches.append(np.asarray(current))
            current = []
        current.append(i)
    if current:
        batches.append(np.asarray(current))
    return batches


def extract(
    tokenizer,
    model,
    items: Sequence[str],
    context: str = "sentence",
    pooling: str = "mean",
    token_budget: int = 8192,
    progress: bool = True,
) -> np.ndarray:
    """Every hidden state for every word among ``items``.

    Returns float32 of shape ``(n_layers + 1, n_words, width)``: index 0 is
    the embedding layer. Words are the items for which
    :func:`helpers.words.is_word` holds, in order. ``pooling`` is ``"mean"``
    over a word's tokens or the ``"first"`` token.
    """
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}; choose one of {CONTEXTS}.")
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLINGS}.")
    if token_budget < 1:
        raise ValueError(f"token_budget must be positive, got {token_budget}.")
    items = [str(item) for item in items]
    word_items = np.flatnonzero([W.is_word(item) for item in items])
    if len(word_items) == 0:
        raise ValueError("none of the items is a word; nothing to extract.")
    column = np.full(len(items), -1, dtype=np.int64)
    column[word_items] = np.arange(len(word_items))

    texts, members, spans = sentence_texts(items)
    encoded = tokenizer(texts, return_offsets_mapping=True, add_special_tokens=True)
    limit = getattr(model.config, "max_position_embeddings", None) or 10**9
    token_words, ids = [], []
    for s, (input_ids, offsets) in enumerate(zip(encoded["input_ids"], encoded["offset_mapping"])):
        if len(input_ids) > limit:
            raise ValueError(f"sentence {s} has {len(input_ids)} tokens, more than the model's limit of {limit}: {texts[s][:80]!r}...")
        local = token_word_index(np.asarray(offsets), spans[s])
        if pooling == "first":
            keep = np.zeros(len(local), dtype=bool)
            valid = np.flatnonzero(local >= 0)
            keep[valid[np.unique(local[valid], return_index=True)[1]]] = True
            local = np.where(keep, local, -1)
        missing = np.setdiff1d(np.arange(len(spans[s])), local)
        if len(missing):
            raise ValueError(f"no token covers word {items[members[s][missing[0]]]!r} of sentence {s}: {texts[s][:80]!r}")
        token_words.append(np.where(local >= 0, column[members[s]][np.maximum(local, 0)], -1))
        ids.append(input_ids)

    n_states = model.config.num_hidden_layers + 1
    width = model.config.hidden_size
    total = torch.zeros(n_states, len(word_items), width, dtype=torch.float32)
    count = np.zeros(len(word_items), dtype=np.int64)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lengths = np.array([len(x) for x in ids])
    device = next(model.parameters()).device
    batches = _batches(lengths, token_budget)
    with torch.inference_mode():
        for batch in tqdm(batches, desc=f"{type(model).__name__} batches", disable=not progress):
            longest = int(lengths[batch].max())
            input_ids = torch.full((len(batch), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            target = np.full((len(batch), longest), -1, dtype=np.int64)
            for row, s in enumerate(batch):
                input_ids[row, : lengths[s]] = torch.tensor(ids[s])
                mask[row, : lengths[s]] = 1
                target[row, : lengths[s]] = token_words[s]
            out = model(input_ids=input_ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
            states = torch.stack(out.hidden_states).float().cpu()  # (n_states, batch, tokens, width)
            flat = target.reshape(-1)
            keep = np.flatnonzero(flat >= 0)
            total.index_add_(1, torch.from_numpy(flat[keep]), states.reshape(n_states, -1, width)[:, keep])
            np.add.at(count, flat[keep], 1)
    return (total / torch.from_numpy(count).float()[None, :, None]).numpy()


def type_means(vectors: np.ndarray, types: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decontextualised vectors: the mean over all occurrences of each type.

    ``vectors`` has shape ``(..., n_occurrences, width)``; returns the sorted
    type names and an array of shape ``(..., n_types, width)``.
    """
    types = np.asarray(types)
    if vectors.shape[-2] != len(types):
        raise ValueError(f"need one type per occurrence: {vectors.shape[-2]} vectors, {len(types)} types.")
    names, inverse, counts = np.unique(types, return_inverse=True, return_counts=True)
    averaging = sp.csr_matrix((1.0 / counts[inverse], (inverse, np.arange(len(types)))), shape=(len(names), len(types)))
    flat = np.moveaxis(vectors, -2, 0).reshape(len(types), -1)
    means = np.asarray(averaging @ flat, dtype=vectors.dtype).reshape((len(names),) + vectors.shape[:-2] + vectors.shape[-1:])
    return names, np.moveaxis(means, 0, -2)
