"""Peak memory of a block of work, on the GPU or the CPU."""

from __future__ import annotations

import threading


class PeakMemory:
    """Peak memory while a block runs, in MiB (``None`` where it cannot be measured).

    On CUDA: the most memory PyTorch allocated on the device. Elsewhere: the
    process's resident set, sampled every 10 ms (needs ``psutil``), which
    includes the model's weights.
    """

    def __init__(self, device) -> None:
        import torch  # imported here, not with the module: reading cached results needs no torch

        self._torch = torch
        self.device = torch.device(device)
        self.what = "GPU memory allocated" if self.device.type == "cuda" else "process resident memory"
        self.mib: float | None = None

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            self._torch.cuda.reset_peak_memory_stats(self.device)
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
            self.mib = round(self._torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        elif hasattr(self, "_thread"):
            self._stop.set()
            self._thread.join()
            self.mib = round(self._peak / 2**20, 1)
