"""Every hidden state of a language model for every word shown, pooled to words.

The passages of a context (:mod:`helpers.lm.passages`) are tokenised, cut
into windows where longer than the model's positions, sorted by length and
batched under a token budget (:func:`make_plan`); every hidden state is
pooled to words on the device, one scatter-add per layer and batch.

:func:`extract` returns everything in memory (float32, n_states x
n_words x width x 4 bytes: 7 GB for OPT-30B over 5,000 words);
:func:`helpers.lm.storage.write_features` streams the same work to disk,
resumably.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..data import words as W
from .passages import check_options, passages, token_word_index, windows

PART_DTYPE = "float32"  # pooled states of a group of batches, in memory and in parts/ on disk
STORED_DTYPE = "float16"  # one file per layer: float16, or float32 for a layer with values beyond float16's range
STORED = "float16, or float32 where a layer exceeds float16's range"  # for cache keys and records


def default_token_budget(device) -> int:
    """Padded tokens per batch: 1,024 on a CPU, 8,192 on a GPU.

    On a CPU, batches whose activations stay in the caches run faster: for
    SmolLM2 on 2 cores, 1,024 tokens a batch are twice as fast as 8,192.
    """
    import torch

    return 1024 if torch.device(device).type == "cpu" else 8192


def token_budget_for(token_budget: int | None, device) -> int:
    return default_token_budget(device) if token_budget is None else token_budget


def _batches(lengths: np.ndarray, token_budget: int) -> list[np.ndarray]:
    """Sequence indices grouped into batches of at most ``token_budget`` padded tokens, longest first."""
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


@dataclass(frozen=True)
class Plan:
    """What the model is fed: token sequences, their batches, and the groups of batches saved together.

    ``targets[s]`` gives, per token of sequence ``s``, the word (index among
    the words of the items) it is pooled into, or -1.
    """

    ids: list[np.ndarray]
    targets: list[np.ndarray]
    groups: list[list[np.ndarray]]
    n_words: int
    n_states: int
    width: int

    @property
    def batches(self) -> list[np.ndarray]:
        return [batch for group in self.groups for batch in group]

    def n_tokens(self, batches: Sequence[np.ndarray] | None = None) -> int:
        """Tokens fed (without padding) in ``batches`` (default: all)."""
        return int(sum(len(self.ids[s]) for batch in (self.batches if batches is None else batches) for s in batch))

    def words(self, group: int) -> np.ndarray:
        """The words read out in one group, sorted."""
        words = np.unique(np.concatenate([self.targets[s] for batch in self.groups[group] for s in batch]))
        return words[words >= 0]

    def inputs(self, batch: np.ndarray, pad: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Right-padded ``input_ids``, ``attention_mask`` and per-token targets of one batch."""
        import torch

        lengths = [len(self.ids[s]) for s in batch]
        input_ids = torch.full((len(batch), max(lengths)), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), max(lengths)), dtype=torch.long)
        target = np.full((len(batch), max(lengths)), -1, dtype=np.int64)
        for row, (s, n) in enumerate(zip(batch, lengths)):
            input_ids[row, :n] = torch.from_numpy(self.ids[s])
            mask[row, :n] = 1
            target[row, :n] = self.targets[s]
        return input_ids, mask, target

    def digest(self) -> str:
        """Hash of the sequences and their grouping: a resumed run must cut the work the same way."""
        h = hashlib.sha256()
        for group in self.groups:
            for batch in group:
                for s in batch:
                    h.update(self.ids[s].tobytes() + self.targets[s].tobytes() + b"|")
                h.update(b"b")
            h.update(b"g")
        return h.hexdigest()[:20]


def make_plan(
    tokenizer,
    config,
    items: Sequence[str],
    token_budget: int,
    context: str = "sentence",
    pooling: str = "mean",
    runs: Sequence[int] | None = None,
    max_length: int | None = None,
    memory_mib: float | None = None,
) -> Plan:
    """Tokenise the passages of ``context`` and cut the work into batches and groups.

    Parameters
    ----------
    tokenizer, config
        The model's fast tokenizer and its ``transformers`` config.
    items
        See :func:`extract`.
    token_budget : int
        Most padded tokens in one batch (:func:`default_token_budget`).
    context, pooling, runs
        See :func:`extract`.
    max_length : int, optional
        Longest sequence fed (default: the model's ``max_position_embeddings``);
        longer texts are cut into windows (:func:`windows`).
    memory_mib : float, optional
        Host memory (MiB) for the pooled float32 states of one group of
        batches (a group holds at least one batch); default: one group.
    """
    check_options(context, pooling)
    if token_budget < 1:
        raise ValueError(f"token_budget must be positive, got {token_budget}.")
    items = [str(item) for item in items]
    is_word = np.array([W.is_word(item) for item in items], dtype=bool)
    if not is_word.any():
        raise ValueError("none of the items is a word; nothing to extract.")
    column = np.cumsum(is_word) - 1  # an item's index among the words
    limit = max_length or getattr(config, "max_position_embeddings", None) or 10**9
    texts = passages(items, context, runs)
    encoded = tokenizer([p.text for p in texts], return_offsets_mapping=True, return_special_tokens_mask=True, verbose=False)
    ids, targets = [], []
    for p, input_ids, offsets, special in zip(texts, encoded["input_ids"], encoded["offset_mapping"], encoded["special_tokens_mask"]):
        local = token_word_index(np.asarray(offsets), p.spans)
        if pooling == "first":
            tokens = np.flatnonzero(local >= 0)
            local[tokens[np.r_[False, np.diff(local[tokens]) == 0]]] = -1
        covered = np.zeros(len(p.spans), dtype=bool)
        covered[local[local >= 0]] = True
        missing = np.flatnonzero(p.read & ~covered)
        if len(missing):
            raise ValueError(
                f"no token covers the word {p.text[slice(*p.spans[missing[0]])]!r} of the text {p.text[:80]!r}: this "
                f"tokenizer drops its characters ({len(missing)} word(s) of this text). Replace those characters in the "
                "stimulus (e.g. unusual Unicode punctuation inside a word) or use a model whose tokenizer covers them."
            )
        words = np.where(p.read, column[p.items], -1)
        target = np.where(local >= 0, words[np.maximum(local, 0)], -1)
        for chunk_ids, chunk_target in windows(np.asarray(input_ids, dtype=np.int64), target, np.asarray(special), limit):
            ids.append(chunk_ids)
            targets.append(chunk_target)
    n_states, width = config.num_hidden_layers + 1, config.hidden_size
    per_group = int(memory_mib * 2**20 // (np.dtype(PART_DTYPE).itemsize * n_states * width)) if memory_mib else len(column)
    groups, current, n_read = [], [], 0
    for batch in _batches(np.array([len(x) for x in ids]), token_budget):
        read = sum(int(np.sum(targets[s] >= 0)) for s in batch)
        if current and n_read + read > per_group:
            groups.append(current)
            current, n_read = [], 0
        current.append(batch)
        n_read += read
    groups.append(current)
    return Plan(ids, targets, groups, int(is_word.sum()), n_states, width)


def pooled_states(model, plan: Plan, batches: Sequence[np.ndarray], pad: int, bar: tqdm) -> Iterator[tuple[np.ndarray, int, np.ndarray]]:
    """For each batch and hidden state: the words the batch reads out, the state's index, their pooled vectors.

    The vectors are float32 ``(n_words_of_batch, width)``; one hidden state at
    a time reaches the host.
    """
    import torch

    device = model.get_input_embeddings().weight.device
    for batch in batches:
        input_ids, mask, target = plan.inputs(batch, pad)
        flat = target.reshape(-1)
        words, slot = np.unique(np.r_[-1, flat], return_inverse=True)  # slot 0: no word, dropped below
        scale = torch.from_numpy(1.0 / np.bincount(slot[1:], minlength=len(words))[1:]).float().to(device)[:, None]
        index = torch.from_numpy(slot[1:]).to(device)
        with torch.inference_mode():
            states = model(input_ids=input_ids.to(device), attention_mask=mask.to(device), output_hidden_states=True).hidden_states
            if len(states) != plan.n_states:
                raise ValueError(
                    f"the model gave {len(states)} hidden states, its config promises {plan.n_states} "
                    "(num_hidden_layers + 1): the config does not describe these weights. Load the model with its own "
                    "config.json (helpers.lm.models.load), not one edited or taken from another model."
                )
            for layer, h in enumerate(states):
                total = torch.zeros(len(words), plan.width, dtype=torch.float32, device=device)
                total.index_add_(0, index, h.reshape(-1, plan.width).to(device, torch.float32))
                yield words[1:], layer, (total[1:] * scale).cpu().numpy()
        bar.update()


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def extract(
    tokenizer,
    model,
    items: Sequence[str],
    context: str = "sentence",
    pooling: str = "mean",
    runs: Sequence[int] | None = None,
    token_budget: int | None = None,
    max_length: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Every hidden state for every word among ``items``, in memory.

    Parameters
    ----------
    tokenizer, model
        A fast tokenizer and a ``transformers`` model (:func:`helpers.lm.models.load`).
    items : sequence of str
        Everything shown; words are the items for which
        :func:`helpers.data.words.is_word` holds, in order.
    context : str
        ``"sentence"``, ``"previous:N"`` or ``"run"`` (module docstring).
    pooling : str
        ``"mean"`` over a word's tokens or its ``"first"`` token.
    runs : sequence of int, optional
        The run of every item (default: one run).
    token_budget : int, optional
        Most padded tokens in one batch (default: :func:`default_token_budget`).
    max_length : int, optional
        See :func:`make_plan`.
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    ndarray
        float32 of shape ``(n_layers + 1, n_words, width)``; index 0 is the
        embedding layer.
    """
    device = model.get_input_embeddings().weight.device
    plan = make_plan(tokenizer, model.config, items, token_budget_for(token_budget, device), context, pooling, runs, max_length)
    out = np.empty((plan.n_states, plan.n_words, plan.width), dtype=np.float32)
    with tqdm(total=len(plan.batches), desc=f"{type(model).__name__} batches", disable=not progress or None) as bar:
        for words, layer, pooled in pooled_states(model, plan, plan.batches, pad_id(tokenizer), bar):
            out[layer, words] = pooled
    return out
