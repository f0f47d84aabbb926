"""Benchmark: loading a GGUF model's weights from the GGUF file against the dequantised copy kept in the model cache.

``transformers`` reads a GGUF file by parsing its metadata in Python and
dequantising every tensor to float32; :func:`helpers.lm.gguf.dequantized`
does that once and keeps the float32 weights as safetensors, which
:func:`helpers.lm.models.load` reads. For each model it prints the seconds
of both loads (best of ``--repeats``), their ratio, and whether the two
hold the same weights to the bit. The first run also makes the kept copy
(not timed).

    python benchmarks/gguf_load.py                       # SmolLM2-135M and Gemma 3 270M
    python benchmarks/gguf_load.py --model SmolLM2-135M --repeats 3
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import AutoModel

from helpers.lm import gguf
from helpers.lm import models as M


def best_seconds(load, repeats: int):
    """The fewest seconds of ``repeats`` calls of ``load``, and what the last call returned."""
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = load()
        best = min(best, time.perf_counter() - began)
    return best, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="a GGUF model of the registry (repeatable)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"torch threads: {torch.get_num_threads()}")
    for name in args.model or ["SmolLM2-135M", "gemma-3-270m"]:
        resolved = M.resolve(name)
        gguf.dequantized(resolved.folder, resolved.gguf_file)  # made once, not timed
        from_gguf, direct = best_seconds(lambda: AutoModel.from_pretrained(
            resolved.folder, gguf_file=resolved.gguf_file, trust_remote_code=False, dtype=torch.float32), args.repeats)
        kept, (_, model, _) = best_seconds(lambda: M.load(name, device="cpu", dtype="float32"), args.repeats)
        theirs, ours = direct.state_dict(), model.state_dict()
        same = theirs.keys() == ours.keys() and all(torch.equal(theirs[k], ours[k]) for k in theirs)
        print(f"{name}: from the GGUF file {from_gguf:.1f} s, from the kept float32 copy {kept:.1f} s "
              f"({from_gguf / kept:.0f}x faster); the same weights to the bit: {same}")


if __name__ == "__main__":
    main()
