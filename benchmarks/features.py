"""Benchmark: language-model feature extraction against a bare forward pass.

For each model and context, over the project's story repeated to ``--words``
words in 4 runs, the same batches (:func:`helpers.features.make_plan`) go
through

* a bare forward pass: ``model(input_ids, attention_mask)``, nothing kept;
* the full extraction: :func:`helpers.features.write_features` into a
  temporary folder (tokenising, every hidden state pooled to words,
  float16 parts on disk, one file per layer).

It prints seconds, tokens per second, peak memory (the process's resident
memory on a CPU, which includes the weights; GPU memory allocated on CUDA)
and the throughput of the extraction as a fraction of the bare pass (best
of ``--repeats`` interleaved runs); on a GPU also the achieved fraction of
the device's dense bf16 peak, counting 2 x parameters x tokens FLOPs.

    python benchmarks/features.py                                   # MiniLM and SmolLM2, 5,000 words, sentence context
    python benchmarks/features.py --model all-MiniLM-L6-v2 --context sentence run previous:10
    python benchmarks/features.py --model random:opt-30b --device cuda --words 5176    # one 80 GB GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from helpers.lm import extraction as F
from helpers.lm import models as M
from helpers.data.simulate import load_story

# Dense (no sparsity) bf16 tensor-core peaks from NVIDIA's data sheets, TFLOP/s.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 NVL": 835.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0}


def peak_tflops(device_name: str) -> float | None:
    """The bf16 peak of a GPU given its name (``torch.cuda.get_device_name()``), most specific name first."""
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if key in device_name:
            return PEAK_BF16_TFLOPS[key]
    return None


def story_items(n_words: int, n_runs: int = 4) -> tuple[list[str], list[int]]:
    """The story's words repeated to ``n_words``, and their runs (equal parts)."""
    words = [word for paragraph in load_story().paragraphs for word in paragraph]
    items = (words * (n_words // len(words) + 1))[:n_words]
    return items, [i * n_runs // n_words for i in range(n_words)]


def bare_forward(model, plan: F.Plan, batches, pad: int) -> float:
    """Seconds for a forward pass over ``batches`` of ``plan``, keeping nothing."""
    device = model.get_input_embeddings().weight.device
    synchronize = torch.cuda.synchronize if device.type == "cuda" else lambda device: None
    synchronize(device)
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            input_ids, mask, _ = plan.inputs(batch, pad)
            model(input_ids=input_ids.to(device), attention_mask=mask.to(device))
    synchronize(device)
    return time.perf_counter() - start


def run(name: str, contexts: list[str], n_words: int, device: str | None, token_budget: int | None, repeats: int) -> None:
    start = time.perf_counter()
    tokenizer, model, resolved = M.load(name, device=device)
    load_s = time.perf_counter() - start
    place = model.get_input_embeddings().weight.device
    n_params = sum(p.numel() for p in model.parameters())
    peak = peak_tflops(torch.cuda.get_device_name(place)) if place.type == "cuda" else None
    print(f"\n{resolved.name}: {n_params / 1e6:,.1f}M parameters, {next(model.parameters()).dtype} on {place}, loaded in {load_s:.1f} s")
    print(f"  from {resolved.source}")
    items, runs = story_items(n_words)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for context in contexts:
        plan = F.make_plan(tokenizer, model.config, items, token_budget or F.default_token_budget(place), context, runs=runs)
        tokens = plan.n_tokens()
        bare_forward(model, plan, plan.batches[-1:], pad)  # the shortest batch: first-call costs out of the timings
        bare, full = [], []
        for _ in range(repeats):  # interleaved, best of each: the machine may be shared
            with F.PeakMemory(place) as memory:
                bare.append((bare_forward(model, plan, plan.batches, pad), memory))
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                record = F.write_features(folder, tokenizer, model, items, context, runs=runs, token_budget=token_budget, progress=False)
                full.append((time.perf_counter() - start, record))
        (bare_s, memory), (full_s, record) = min(bare, key=lambda x: x[0]), min(full, key=lambda x: x[0])
        print(f"  context {context}: {n_words} words, {tokens} tokens in {len(plan.batches)} batches, best of {repeats}")
        for label, seconds, mib in (("bare forward", bare_s, memory.mib), ("full extraction", full_s, record["peak_memory_mib"])):
            line = f"    {label:16s} {seconds:8.2f} s  {tokens / seconds:9.0f} tokens/s  peak {mib or float('nan'):8.0f} MiB"
            if peak is not None:
                line += f"  {2 * n_params * tokens / seconds / 1e12 / peak:6.1%} of the bf16 peak ({peak:.0f} TFLOP/s)"
            print(line)
        print(f"    extraction throughput = {bare_s / full_s:.0%} of the bare forward; end to end with loading {load_s + full_s:.1f} s")
        print(f"    (peak memory: {record['peak_memory_of']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=["all-MiniLM-L6-v2", "SmolLM2-135M"], help="registry names, ids, folders, random:NAME")
    parser.add_argument("--context", nargs="+", default=["sentence"], help="sentence, run, previous:N")
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps")
    parser.add_argument("--token-budget", type=int, default=None, help="padded tokens per batch (default: 1,024 on a CPU, 8,192 on a GPU)")
    parser.add_argument("--repeats", type=int, default=2, help="timings are the best of this many")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    for name in args.model:
        run(name, args.context, args.words, args.device, args.token_budget, args.repeats)


if __name__ == "__main__":
    main()
