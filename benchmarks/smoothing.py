"""Benchmark: paper-mode smoothing of one Harry-Potter-sized subject.

5,176 words at 0.5 s in 4 runs (20 s of rest at the start of each run, 8-10 s
at its end), 1,351 TRs of 2 s on one clock, 30,000 voxels, float32 (the size
of one subject of Wehbe et al. 2014). Times the sparse-matrix form
(:func:`helpers.brain.smoothing.smooth`, weights built and applied) against
the per-word reference loop of the same rule (``tests/reference.py``), checks
that they agree, and measures the peak memory each allocates beyond its input
(tracemalloc sees NumPy's allocations). The reference works in float64, so
its output is twice the size of the float32 result. The same is done for the
``"within_run"`` rule (words whose window leaves their run left out) unless
``--paper-only`` is given.

    python benchmarks/smoothing.py [--voxels 30000] [--repeats 3] [--paper-only]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.brain.smoothing import paper_window_report, smooth, window_fits  # noqa: E402
from helpers.data.recording import Recording  # noqa: E402
from tests.reference import paper_loop, within_run_loop  # noqa: E402


def hp_sized_recording(n_voxels: int, seed: int = 0) -> Recording:
    run_trs = [324, 337, 345, 345]  # 1,351 TRs
    end_rests = [10.0, 8.0, 8.0, 8.0]  # seconds from the end of the last word to the end of the run
    tr_times = 2.0 * np.arange(sum(run_trs))
    runs = np.repeat(np.arange(4), run_trs)
    starts = 2.0 * np.r_[0, np.cumsum(run_trs)[:-1]]
    onsets = np.concatenate([s + np.arange(20.0, 2.0 * n - rest, 0.5) for s, n, rest in zip(starts, run_trs, end_rests)])
    data = np.random.default_rng(seed).standard_normal((len(tr_times), n_voxels), dtype=np.float32)
    return Recording("benchmark", "hp-sized", [f"w{i}" for i in range(len(onsets))], onsets, tr_times, runs, data, 2.0)


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


def compare(label: str, fast_call, slow_call, repeats: int, output_mb: float, rows=slice(None)) -> None:
    """Time both, and the largest difference between their word vectors (of ``rows`` only)."""
    t_fast, peak_fast, fast = measure(fast_call, repeats)
    t_slow, peak_slow, slow = measure(slow_call, 1)
    difference = float(np.max(np.abs(fast[rows] - slow[rows])))
    del fast, slow
    print(f"{label}")
    print(f"  sparse matrix : {t_fast:7.3f} s   peak allocation {peak_fast / 2**20:7.0f} MiB ({peak_fast / 2**20 / output_mb:.2f} x output)")
    print(f"  per-word loop : {t_slow:7.3f} s   peak allocation {peak_slow / 2**20:7.0f} MiB ({peak_slow / 2**20 / output_mb:.2f} x output)")
    print(f"  speed-up      : {t_slow / t_fast:7.1f} x   max |difference| {difference:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voxels", type=int, default=30000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paper-only", action="store_true", help="skip the within_run rule")
    args = parser.parse_args()
    rec = hp_sized_recording(args.voxels)
    output_mb = len(rec.onsets) * rec.n_voxels * 4 / 2**20
    print(f"{len(rec.onsets)} words, {rec.n_trs} TRs, {rec.n_voxels} voxels (float32); output {output_mb:.0f} MiB")
    print(f"paper windows: {paper_window_report(rec)}")
    compare('"paper" (default window)', lambda: smooth(rec), lambda: paper_loop(rec), args.repeats, output_mb)
    if not args.paper_only:
        # some windows at the ends of runs leave their run: those rows are left empty and not compared
        fits = window_fits(rec, method="within_run")
        compare(f'"within_run" (default window; {int((~fits).sum())} words that leave their run left out)',
                lambda: smooth(rec, method="within_run", outside="ignore"), lambda: within_run_loop(rec),
                args.repeats, output_mb, rows=fits)


if __name__ == "__main__":
    main()
