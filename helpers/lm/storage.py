"""Extracted hidden states on disk: streamed, resumable, one file per layer.

:func:`write_features` does the work of :func:`helpers.lm.extraction.extract`
into a folder: batches are grouped so that the pooled states of one group
fit in ``memory_mib`` (float32); each finished group is written at once (all
layers) into ``parts/``, and a rerun skips the groups already there. At the
end the parts are gathered into one file per layer (``layer_000.npy`` ...,
float16, or float32 for a layer whose values exceed float16's range, as the
massive activations of Gemma's residual stream do (up to ~1e5); each
written atomically and skipped if present; memory: one layer), and ``extraction.json`` records the device, dtype, throughput and
peak memory. Beside that, memory holds the model and one batch's hidden
states. :func:`read_features` reads the layers back as float32.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.files import write_atomic
from .extraction import PART_DTYPE, STORED, STORED_DTYPE, Plan, make_plan, pad_id, pooled_states, token_budget_for
from .memory import PeakMemory


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
    threads: int | None = 1,
    on_part: Callable[[int], None] | None = None,
    progress: bool = True,
) -> dict:
    """Extract as :func:`extract` does, streaming to ``folder`` and resuming what an earlier call left there.

    ``folder`` ends with one float16 file per hidden state (``layer_000.npy``:
    ``(n_words, width)``) and ``extraction.json``; see the module docstring
    for the parts written on the way. ``on_part(group)`` is called after each
    group is saved (tests interrupt there). On the CPU the model runs on
    ``threads`` threads (None: torch's default): a matrix product's sums are
    split by thread, so the stored bits depend on their number (not on the
    number of cores). Returns the extraction record: device, dtype, threads,
    tokens, seconds, tokens per second, peak memory.
    """
    import torch  # imported where it is used: reading cached features needs no torch

    folder = Path(folder)
    device = model.get_input_embeddings().weight.device
    plan = make_plan(tokenizer, model.config, items, token_budget_for(token_budget, device), context, pooling, runs, max_length, memory_mib)
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
    with PeakMemory(device) as peak, cpu_threads(threads if device.type == "cpu" else None):
        start = time.perf_counter()
        with tqdm(total=len(batches), desc=f"{type(model).__name__} batches", disable=not progress or None) as bar:
            for g in todo:
                words = plan.words(g)
                states = np.empty((plan.n_states, len(words), plan.width), dtype=PART_DTYPE)
                for batch_words, layer, pooled in pooled_states(model, plan, plan.groups[g], pad_id(tokenizer), bar):
                    states[layer, np.searchsorted(words, batch_words)] = pooled
                _save_part(parts / f"{g:05d}", words, states)
                if on_part is not None:
                    on_part(g)
        _gather_layers(folder, parts, plan, progress)
        seconds = time.perf_counter() - start
    record = {
        "device": str(device),
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "threads": (threads or torch.get_num_threads()) if device.type == "cpu" else None,
        "stored": STORED,
        "n_states": plan.n_states,
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


@contextmanager
def cpu_threads(n: int | None):
    """Torch's intra-op threads set to ``n`` inside the block (None: left as they are), then restored."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _save_part(part: Path, words: np.ndarray, states: np.ndarray) -> None:
    tmp = part.with_name(f".{part.name}")
    tmp.mkdir()
    np.save(tmp / "words.npy", words, allow_pickle=False)
    np.save(tmp / "states.npy", states, allow_pickle=False)
    os.replace(tmp, part)


def _gather_layers(folder: Path, parts: Path, plan: Plan, progress: bool) -> None:
    """One file per hidden state from the parts; layers already written are kept."""
    loaded = [(np.load(p / "words.npy"), np.load(p / "states.npy", mmap_mode="r")) for p in sorted(parts.iterdir())]
    for layer in tqdm(range(plan.n_states), desc="writing layers", disable=not progress or None):
        path = folder / f"layer_{layer:03d}.npy"
        if path.exists():
            continue
        out = np.empty((plan.n_words, plan.width), dtype=PART_DTYPE)
        for words, states in loaded:
            out[words] = states[layer]
        if np.abs(out).max() < np.finfo(STORED_DTYPE).max:  # else (massive activations) keep float32: no inf
            out = out.astype(STORED_DTYPE)
        write_atomic(path, lambda f: np.save(f, out, allow_pickle=False))


def read_features(folder: str | os.PathLike) -> np.ndarray:
    """The hidden states written by :func:`write_features`, float32 ``(n_states, n_words, width)``.

    Layers are read by their index, 0 to the record's ``n_states`` - 1: a
    missing layer file is an error, never a shorter model.
    """
    folder = Path(folder)
    n_states = read_record(folder)["n_states"]
    paths = [folder / f"layer_{layer:03d}.npy" for layer in range(n_states)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)} of its {n_states} layers; remove the folder "
                                "to extract the features again.")
    first = np.load(paths[0], mmap_mode="r")
    out = np.empty((n_states,) + first.shape, dtype=np.float32)
    for layer, path in enumerate(paths):
        out[layer] = np.load(path, mmap_mode="r")
    return out


def read_shape(folder: str | os.PathLike) -> tuple[int, int, int]:
    """The shape :func:`read_features` would return, ``(n_states, n_words, width)``, from the record and the
    first layer's header, without reading any hidden state."""
    n_words, width = np.load(Path(folder) / "layer_000.npy", mmap_mode="r").shape
    return int(read_record(folder)["n_states"]), int(n_words), int(width)


def read_record(folder: str | os.PathLike) -> dict:
    """The extraction record (device, dtype, throughput, peak memory) written by :func:`write_features`."""
    return json.loads((Path(folder) / "extraction.json").read_text())
