"""Hidden states of a language model for every word shown, every layer.

Words are mapped to tokens through the fast tokenizer's character offsets:
each passage is tokenised as running text (words joined by single spaces,
as a reader sees them), and a token belongs to the word whose core (the word
without leading or trailing punctuation, see :mod:`helpers.words`) it
overlaps. So ``"owl,"`` gets the vector of ``owl`` and not of the comma,
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
    cut into windows that overlap by half, and each word is read from the
    window where it has the most left context.

A word split into several tokens gets the mean of its tokens (``"mean"``)
or its first token (``"first"``). Texts are sorted by length and batched
under a token budget; every hidden state is pooled to words on the device,
one scatter-add per layer and batch.

:func:`extract` returns everything in memory (float32, n_states x
n_words x width x 4 bytes: 7 GB for OPT-30B over 5,000 words).
:func:`write_features` streams to a folder instead, resumably: batches are
grouped so that the pooled states of one group fit in ``memory_mib``
(float16); each finished group is written at once (all layers) into
``parts/``, and a rerun skips the groups already there. At the end the
parts are gathered into one file per layer (``layer_000.npy`` ...,
float16, each written atomically and skipped if present; memory: one
layer), and ``extraction.json`` records the device, dtype, throughput and
peak memory. Beside that, memory holds the model and one batch's hidden
states. :func:`read_features` reads the layers back as float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from tqdm import tqdm

from . import words as W
from .cache import write_atomic

POOLINGS = ("mean", "first")
STORED_DTYPE = "float16"


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


def default_token_budget(device) -> int:
    """Padded tokens per batch: 1,024 on a CPU, 8,192 on a GPU.

    On a CPU, batches whose activations stay in the caches run faster: for
    SmolLM2 on 2 cores, 1,024 tokens a batch are twice as fast as 8,192.
    """
    return 1024 if torch.device(device).type == "cpu" else 8192


def _budget(token_budget: int | None, device) -> int:
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
        Host memory (MiB) for the pooled float16 states of one group of
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
            raise ValueError(f"no token covers the word {p.text[slice(*p.spans[missing[0]])]!r} of the text {p.text[:80]!r}")
        words = np.where(p.read, column[p.items], -1)
        target = np.where(local >= 0, words[np.maximum(local, 0)], -1)
        for chunk_ids, chunk_target in windows(np.asarray(input_ids, dtype=np.int64), target, np.asarray(special), limit):
            ids.append(chunk_ids)
            targets.append(chunk_target)
    n_states, width = config.num_hidden_layers + 1, config.hidden_size
    per_group = int(memory_mib * 2**20 // (np.dtype(STORED_DTYPE).itemsize * n_states * width)) if memory_mib else len(column)
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


def _pooled(model, plan: Plan, batches: Sequence[np.ndarray], pad: int, bar: tqdm) -> Iterator[tuple[np.ndarray, int, np.ndarray]]:
    """For each batch and hidden state: the words the batch reads out, the state's index, their pooled vectors.

    The vectors are float32 ``(n_words_of_batch, width)``; one hidden state at
    a time reaches the host.
    """
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
                raise ValueError(f"the model gave {len(states)} hidden states, its config promises {plan.n_states}.")
            for layer, h in enumerate(states):
                total = torch.zeros(len(words), plan.width, dtype=torch.float32, device=device)
                total.index_add_(0, index, h.reshape(-1, plan.width).to(device, torch.float32))
                yield words[1:], layer, (total[1:] * scale).cpu().numpy()
        bar.update()


def _pad_id(tokenizer) -> int:
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
        A fast tokenizer and a ``transformers`` model (:func:`helpers.models.load`).
    items : sequence of str
        Everything shown; words are the items for which
        :func:`helpers.words.is_word` holds, in order.
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
    plan = make_plan(tokenizer, model.config, items, _budget(token_budget, device), context, pooling, runs, max_length)
    out = np.empty((plan.n_states, plan.n_words, plan.width), dtype=np.float32)
    with tqdm(total=len(plan.batches), desc=f"{type(model).__name__} batches", disable=not progress) as bar:
        for words, layer, pooled in _pooled(model, plan, plan.batches, _pad_id(tokenizer), bar):
            out[layer, words] = pooled
    return out


def write_features(
    folder: str | os.PathLike,
    tokenizer,
    model,
    items: Sequence[str],
    context: str = "sentence",
    pooling: str = "mean",
    runs: Sequence[int] | None = None,
    token_budget: int | None = None,
    max_length: int | None = None,
    memory_mib: float = 1024,
    on_part: Callable[[int], None] | None = None,
    progress: bool = True,
) -> dict:
    """Extract as :func:`extract` does, streaming to ``folder`` and resuming what an earlier call left there.

    ``folder`` ends with one float16 file per hidden state (``layer_000.npy``:
    ``(n_words, width)``) and ``extraction.json``; see the module docstring
    for the parts written on the way. ``on_part(group)`` is called after each
    group is saved (tests interrupt there). Returns the extraction record:
    device, dtype, tokens, seconds, tokens per second, peak memory.
    """
    folder = Path(folder)
    device = model.get_input_embeddings().weight.device
    plan = make_plan(tokenizer, model.config, items, _budget(token_budget, device), context, pooling, runs, max_length, memory_mib)
    parts, manifest, digest = folder / "parts", folder / "plan.json", plan.digest()
    if manifest.exists() and json.loads(manifest.read_text())["plan"] != digest:
        shutil.rmtree(parts, ignore_errors=True)  # cut differently (another budget): start again
        for stale in folder.glob("layer_*.npy"):
            stale.unlink()
    parts.mkdir(parents=True, exist_ok=True)
    write_atomic(manifest, lambda f: f.write(json.dumps({"plan": digest}).encode()))
    for leftover in parts.glob(".*"):
        shutil.rmtree(leftover)
    todo = [g for g in range(len(plan.groups)) if not (parts / f"{g:05d}").exists()]
    batches = [batch for g in todo for batch in plan.groups[g]]
    with PeakMemory(device) as peak:
        start = time.perf_counter()
        with tqdm(total=len(batches), desc=f"{type(model).__name__} batches", disable=not progress) as bar:
            for g in todo:
                words = plan.words(g)
                states = np.empty((plan.n_states, len(words), plan.width), dtype=STORED_DTYPE)
                for batch_words, layer, pooled in _pooled(model, plan, plan.groups[g], _pad_id(tokenizer), bar):
                    states[layer, np.searchsorted(words, batch_words)] = pooled
                _save_part(parts / f"{g:05d}", words, states)
                if on_part is not None:
                    on_part(g)
        _gather_layers(folder, parts, plan, progress)
        seconds = time.perf_counter() - start
    record = {
        "device": str(device),
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "stored": STORED_DTYPE,
        "tokens": plan.n_tokens(batches),
        "padded_tokens": int(sum(len(b) * max(len(plan.ids[s]) for s in b) for b in batches)),
        "batches": len(batches),
        "groups": f"{len(todo)} of {len(plan.groups)} computed",
        "seconds": round(seconds, 3),
        "tokens_per_s": round(plan.n_tokens(batches) / seconds, 1) if batches else None,
        "peak_memory_mib": peak.mib,
        "peak_memory_of": peak.what,
    }
    (folder / "extraction.json").write_text(json.dumps(record, indent=1))
    shutil.rmtree(parts)
    manifest.unlink()
    return record


def _save_part(part: Path, words: np.ndarray, states: np.ndarray) -> None:
    tmp = part.with_name(f".{part.name}")
    tmp.mkdir()
    np.save(tmp / "words.npy", words, allow_pickle=False)
    np.save(tmp / "states.npy", states, allow_pickle=False)
    os.replace(tmp, part)


def _gather_layers(folder: Path, parts: Path, plan: Plan, progress: bool) -> None:
    """One file per hidden state from the parts; layers already written are kept."""
    loaded = [(np.load(p / "words.npy"), np.load(p / "states.npy", mmap_mode="r")) for p in sorted(parts.iterdir())]
    for layer in tqdm(range(plan.n_states), desc="writing layers", disable=not progress):
        path = folder / f"layer_{layer:03d}.npy"
        if path.exists():
            continue
        out = np.empty((plan.n_words, plan.width), dtype=STORED_DTYPE)
        for words, states in loaded:
            out[words] = states[layer]
        write_atomic(path, lambda f: np.save(f, out, allow_pickle=False))


def read_features(folder: str | os.PathLike) -> np.ndarray:
    """The hidden states written by :func:`write_features`, float32 ``(n_states, n_words, width)``."""
    paths = sorted(Path(folder).glob("layer_*.npy"))
    if not paths:
        raise FileNotFoundError(f"{folder} holds no layer_*.npy files of extracted features.")
    first = np.load(paths[0], mmap_mode="r")
    out = np.empty((len(paths),) + first.shape, dtype=np.float32)
    for layer, path in enumerate(paths):
        out[layer] = np.load(path, mmap_mode="r")
    return out


def read_record(folder: str | os.PathLike) -> dict:
    """The extraction record (device, dtype, throughput, peak memory) written by :func:`write_features`."""
    return json.loads((Path(folder) / "extraction.json").read_text())


class PeakMemory:
    """Peak memory while a block runs, in MiB (``None`` where it cannot be measured).

    On CUDA: the most memory PyTorch allocated on the device. Elsewhere: the
    process's resident set, sampled every 10 ms (needs ``psutil``), which
    includes the model's weights.
    """

    def __init__(self, device) -> None:
        self.device = torch.device(device)
        self.what = "GPU memory allocated" if self.device.type == "cuda" else "process resident memory"
        self.mib: float | None = None

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        try:
            import psutil
        except ImportError:
            return self
        process, self._stop = psutil.Process(), threading.Event()
        self._peak = process.memory_info().rss

        def sample() -> None:
            while not self._stop.wait(0.01):
                self._peak = max(self._peak, process.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.mib = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        elif hasattr(self, "_thread"):
            self._stop.set()
            self._thread.join()
            self.mib = round(self._peak / 2**20, 1)


def word_across_layers(vectors: np.ndarray, word: int) -> pd.DataFrame:
    """How one word occurrence's vector changes from layer to layer.

    One row per hidden state: the vector's norm, its cosine with the same
    word's vector at the previous layer and at the embedding layer, and its
    mean cosine with the other words at that layer (how anisotropic the
    layer is).
    """
    v = vectors[:, word].astype(np.float64)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    others = np.delete(vectors, word, axis=1).astype(np.float64)
    others /= np.linalg.norm(others, axis=2, keepdims=True)
    return pd.DataFrame(
        {
            "layer": np.arange(len(v)),
            "norm": np.linalg.norm(v, axis=1),
            "cosine with previous layer": np.r_[np.nan, np.sum(unit[1:] * unit[:-1], axis=1)],
            "cosine with embedding layer": unit @ unit[0],
            "mean cosine with other words": np.einsum("ld,lnd->l", unit, others) / others.shape[1],
        }
    )


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
