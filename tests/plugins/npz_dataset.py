"""A toy dataset written outside the package, as a user would: recordings stored as ``<subject>.npz`` files.

Each file holds the words shown with their onsets (s), the TR times and runs,
and the TR x voxel data. Registered as ``npz_reading`` when a scenario names
this file in ``plugins``; it reads the scenario's ``data_dir`` and
``subjects`` (empty: every ``.npz`` file there).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from helpers.data.datasets import FileDataset, register
from helpers.data.recording import Recording

VERSION = 1


def save(recording: Recording, path: Path) -> None:
    np.savez(path, words=recording.words.astype(str), onsets=recording.onsets, tr_times=recording.tr_times,
             runs=recording.runs, data=recording.data, tr=recording.tr)


def load(path: Path, bad_voxels: str = "drop") -> Recording:
    with np.load(path, allow_pickle=False) as f:
        return Recording("npz_reading", path.stem, f["words"], f["onsets"], f["tr_times"], f["runs"], f["data"],
                         float(f["tr"]))


@register
@dataclass(frozen=True)
class NpzReading(FileDataset):
    name: ClassVar[str] = "npz_reading"
    loader_version: ClassVar[int] = VERSION

    def load_file(self, subject: str, path: Path) -> Recording:
        return load(path)

    def every_subject(self) -> tuple[str, ...]:
        return tuple(sorted(p.stem for p in Path(self.data_dir).glob("*.npz")))

    def find_files(self, names: tuple[str, ...]) -> dict[str, Path]:
        files = {name: Path(self.data_dir) / f"{name}.npz" for name in names}
        missing = [str(p) for p in files.values() if not p.is_file()]
        if missing or not files:
            raise FileNotFoundError(f"npz_reading: no recording file(s) {missing or ['*.npz']} in {self.data_dir}.")
        return files
