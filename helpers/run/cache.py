"""A directory of intermediate results, keyed by everything that determines them.

Each entry lives in ``<root>/<kind>/<digest>/`` where the digest is a hash of
the entry's key (a JSON-able dict: parameters, model fingerprint, a hash of
the text, ...). The key is stored beside the files and checked on every read,
so an entry is never reused for other parameters. Entries are written into a
temporary folder and renamed into place when complete: an interrupted run
leaves no half-written entry behind. Long computations can instead resume
(``get_or_make(..., resume=True)``): their work folder is kept after an
interruption and handed back on the next call. A file lock per entry lets
one process make it while others that ask for it at the same time wait and
then read it (or, asking for several, make the others first). :class:`Memo`
keeps results in memory, one copy per key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout
from tqdm import tqdm

KEY_FILE = "key.json"


def digest(key: dict) -> str:
    """Stable short hash of a JSON-able dict (key order does not matter)."""
    text = json.dumps(key, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def text_digest(items) -> str:
    """Hash of a sequence of strings, to key results on the exact text."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode())
        h.update(b"\x00")
    return h.hexdigest()[:20]


def _jsonable(value: Any):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (np.ndarray, tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cache keys must be JSON-able, got {type(value).__name__}")


class Cache:
    """Intermediate results under one root directory.

    Parameters
    ----------
    root : path
        Where entries are stored; created on first write.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def entry(self, kind: str, key: dict) -> Path:
        """Folder of the entry for ``kind`` and ``key`` (it may not exist yet)."""
        return self.root / kind / digest(key)

    def has(self, kind: str, key: dict) -> bool:
        folder = self.entry(kind, key)
        stored = folder / KEY_FILE
        if not stored.exists():
            return False
        with open(stored) as f:
            on_disk = json.load(f)
        expected = json.loads(json.dumps(key, sort_keys=True, default=_jsonable))
        if on_disk != expected:
            raise RuntimeError(
                f"cache entry {folder} was written for other parameters than the ones asked for; "
                "delete that folder and run again."
            )
        return True

    def get_or_make(self, kind: str, key: dict, make: Callable[[Path], None], resume: bool = False,
                    wait: bool = True) -> Path | None:
        """Return the entry's folder, calling ``make(work_folder)`` first if it is missing.

        ``make`` writes its files into the work folder it is given; the folder
        becomes the entry only once ``make`` has returned. By default the work
        folder is a fresh temporary one, removed if ``make`` fails. With
        ``resume=True`` it is ``<kind>/.<digest>.partial``: it survives a
        failure or an interruption, and the next call hands it to ``make``
        again with whatever was finished in it (``make`` must skip that).
        With ``wait=False``, an entry that another process is making now is
        not waited for: the call returns None.
        """
        folder = self.entry(kind, key)
        if self.has(kind, key):
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        # One writer at a time per entry, across processes and machines sharing the folder: a second worker
        # waits, then finds the entry made (or, after a failure, the partial work to resume).
        lock = FileLock(folder.parent / f".{folder.name}.lock")
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            return None
        try:
            if self.has(kind, key):
                return folder
            if resume:
                work = folder.parent / f".{folder.name}.partial"
                work.mkdir(exist_ok=True)
            else:
                work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
            try:
                make(work)
                with open(work / KEY_FILE, "w") as f:
                    json.dump(key, f, sort_keys=True, indent=1, default=_jsonable)
                if folder.exists():  # an unreadable leftover without key.json
                    shutil.rmtree(folder)
                os.replace(work, folder)
            finally:
                if not resume and work.exists():
                    shutil.rmtree(work)
        finally:
            lock.release()
        return folder

    def arrays(self, kind: str, key: dict, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Named arrays, computed by ``make()`` once and then read from disk."""

        def write(tmp: Path) -> None:
            for name, array in make().items():
                np.save(tmp / f"{name}.npy", np.asarray(array), allow_pickle=False)

        folder = self.get_or_make(kind, key, write)
        return {p.stem: np.load(p, allow_pickle=False) for p in sorted(folder.glob("*.npy"))}

    def table(self, kind: str, key: dict, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A tidy table, computed by ``make()`` once and then read from CSV."""
        return pd.read_csv(self.get_or_make(kind, key, _as_csv(make)) / "table.csv")

    def tables(self, kind: str, entries: list[tuple[dict, Callable[[], pd.DataFrame]]],
               progress: str | None = None) -> list[pd.DataFrame]:
        """Several tables, one per ``(key, make)``, as :meth:`table`, in an order that shares work.

        An entry that another process is making now is left for last and
        then read (or made, if that process failed), so that two processes
        asking for the same tables at the same time each make a part of them.
        ``progress``: the label of a progress bar over the entries (none if None).
        """
        bar = tqdm(total=len(entries), desc=progress, disable=progress is None or None)
        busy = []
        for key, make in entries:
            if self.get_or_make(kind, key, _as_csv(make), wait=False) is None:
                busy.append((key, make))
            else:
                bar.update()
        for key, make in busy:
            self.get_or_make(kind, key, _as_csv(make))
            bar.update()
        bar.close()
        return [pd.read_csv(self.entry(kind, key) / "table.csv") for key, _ in entries]


def _as_csv(make: Callable[[], pd.DataFrame]) -> Callable[[Path], None]:
    """What writes the table ``make()`` returns into an entry's work folder."""
    return lambda folder: make().to_csv(folder / "table.csv", index=False)


class Memo:
    """Results this process keeps in memory, one copy per cache key.

    Keyed by what determines a result (the same key as on disk), not by the
    scenario that asked: four variants of a scenario that share features
    share one array. The oldest entries are dropped beyond ``size``.
    """

    def __init__(self, size: int = 12) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def get(self, kind: str, key: dict, make: Callable[[], Any]) -> Any:
        """The value for ``key``, from memory or from ``make()``."""
        slot = (kind, digest(key))
        if slot in self._items:
            self._items.move_to_end(slot)
            return self._items[slot]
        value = make()
        self._items[slot] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()
