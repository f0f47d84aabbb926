"""Benchmark: paper-mode smoothing of one Harry-Potter-sized subject.

5,176 words at 0.5 s in 4 runs, 1,351 TRs of 2 s, 30,000 voxels, float32
(the size of one subject of Wehbe et al. 2014). Times the sparse-matrix form
(:func:`helpers.smoothing.smooth`) against a straightforward loop over words
of the same rule, checks that they agree, and measures the peak memory each
allocates beyond its input (tracemalloc sees NumPy's allocations).

    python benchmarks/smoothing.py [--voxels 30000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from helpers.recording import Recording
from helpers.smoothing import GRID_S, smooth


def hp_sized_recording(n_voxels: int, seed: int = 0) -> Recording:
    run_trs = [338, 338, 338, 337]  # 1,351 TRs
    words_per_run = 1294  # 5,176 words
    tr_times = np.arange(sum(run_trs)) * 2.0
    runs = np.repeat(np.arange(4), run_trs)
    starts = np.r_[0, np.cumsum(run_trs)[:-1]] * 2.0
    onsets = np.concatenate([start + 18.0 + 0.5 * np.arange(words_per_run) for start in starts])
    data = np.random.default_rng(seed).standard_normal((len(tr_times), n_voxels), dtype=np.float32)
    return Recording("benchmark", "hp-sized", [f"w{i}" for i in range(len(onsets))], onsets, tr_times, runs, data, 2.0)


def per_word_loop(rec: Recording, lookback=2.0, lookforward=2.0, delay=6.0, word_duration=0.5) -> np.ndarray:
    """The same rule, one word at a time: its grid slots, their TRs, the weighted sum of those rows."""
    t0 = rec.tr_times[0]
    out = np.empty((len(rec.onsets), rec.n_voxels), dtype=rec.data.dtype)
    for i, onset in enumerate(rec.onsets):
        first = int(np.floor((onset - lookback + delay - t0) / GRID_S + 0.5 + 1e-9))
        last = int(np.floor((onset + word_duration + lookforward + delay - t0) / GRID_S + 0.5 + 1e-9))
        n = last - first + 1
        kernel = np.exp(-0.5 * np.linspace(-(n // 2), n // 2, n) ** 2)
        kernel /= kernel.sum()
        trs = np.searchsorted(rec.tr_times, t0 + GRID_S * np.arange(first, last + 1) + 1e-9, side="right") - 1
        out[i] = kernel.astype(rec.data.dtype) @ rec.data[trs]
    return out


def measure(function, repeats: int):
    """Best wall time of ``repeats`` calls, and the peak memory allocated during one call."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        del result
    tracemalloc.start()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voxels", type=int, default=30000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rec = hp_sized_recording(args.voxels)
    output_mb = len(rec.onsets) * rec.n_voxels * 4 / 2**20
    print(f"{len(rec.onsets)} words, {rec.n_trs} TRs, {rec.n_voxels} voxels (float32); output {output_mb:.0f} MiB")
    t_matrix, peak_matrix, fast = measure(lambda: smooth(rec), args.repeats)
    t_loop, peak_loop, slow = measure(lambda: per_word_loop(rec), args.repeats)
    difference = float(np.max(np.abs(fast - slow)))
    print(f"sparse matrix : {t_matrix:7.3f} s   peak allocation {peak_matrix / 2**20:7.0f} MiB ({peak_matrix / 2**20 / output_mb:.2f} x output)")
    print(f"per-word loop : {t_loop:7.3f} s   peak allocation {peak_loop / 2**20:7.0f} MiB ({peak_loop / 2**20 / output_mb:.2f} x output)")
    print(f"speed-up      : {t_loop / t_matrix:7.1f} x   max |difference| {difference:.2e}")


if __name__ == "__main__":
    main()
