"""A directory of intermediate results, keyed by everything that determines them.

Each entry lives in ``<root>/<kind>/<digest>/`` where the digest is a hash of
the entry's key (a JSON-able dict: parameters, model fingerprint, a hash of
the text, ...). The key is stored beside the files and checked on every read,
so an entry is never reused for other parameters. Entries are written into a
temporary folder and renamed into place when complete: an interrupted run
leaves no half-written entry behind. The last file written is a manifest
(``manifest.json``: every file's size and SHA-256); an entry is used only if
its key and manifest check out. A damaged entry (a changed digit, a
truncated or missing file) is reported by name, moved aside into
``<root>/.damaged/`` (nothing is deleted) and made again. Long computations can instead resume
(``get_or_make(..., resume=True)``): their work folder is kept after an
interruption and handed back on the next call. A file lock per entry lets
one process make it while others that ask for it at the same time wait and
then read it (or, asking for several, make the others first). :class:`Memo`
keeps results in memory, one copy per key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout
from threadpoolctl import threadpool_limits
from tqdm import tqdm

KEY_FILE = "key.json"
MANIFEST = "manifest.json"
DAMAGED = ".damaged"  # under the root: entries set aside, <kind>/<digest>-<time>/, with a reason.txt
log = logging.getLogger(__name__)
# BLAS threads of every entry's computation. A product's sums are split by thread, so the last bits of a result
# depend on their number (not on the machine's cores): fixed, the same scenario gives the same bytes however many
# cores, jobs or threads there are. Work runs side by side as chapters, grid workers or array tasks instead.
BLAS_THREADS = 1


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
        """Whether the entry exists and checks out; a damaged one is set aside (and so is not there)."""
        folder = self.entry(kind, key)
        if not folder.exists():
            return False
        problem = damage(folder, json.loads(json.dumps(key, sort_keys=True, default=_jsonable)))
        if problem is None:
            return True
        self.set_aside(folder, problem)
        return False

    def set_aside(self, folder: Path, problem: str) -> None:
        """Move a damaged entry into ``<root>/.damaged/`` with the reason beside it, and say so on stderr."""
        kind = folder.parent.name
        aside = self.root / DAMAGED / kind / f"{folder.name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(folder, aside)
        except FileNotFoundError:  # another process set it aside first
            return
        (aside / "reason.txt").write_text(problem + "\n")
        log.warning("cache entry %s/%s%s is damaged (%s): moved to %s; it is made again.",
                    kind, folder.name, _described(aside / KEY_FILE), problem, aside)

    def get_or_make(self, kind: str, key: dict, make: Callable[[Path], None], resume: bool = False,
                    wait: bool = True, blas_threads: int | None = BLAS_THREADS) -> Path | None:
        """Return the entry's folder, calling ``make(work_folder)`` first if it is missing.

        ``make`` writes its files into the work folder it is given; the folder
        becomes the entry only once ``make`` has returned. By default the work
        folder is a fresh temporary one, removed if ``make`` fails. With
        ``resume=True`` it is ``<kind>/.<digest>.partial``: it survives a
        failure or an interruption, and the next call hands it to ``make``
        again with whatever was finished in it (``make`` must skip that).
        With ``wait=False``, an entry that another process is making now is
        not waited for: the call returns None. ``make`` runs with
        ``blas_threads`` threads in BLAS (None: as many as BLAS would use).
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
            for dead in folder.parent.glob(f".{folder.name}-*"):  # work folders of writers killed before us
                shutil.rmtree(dead, ignore_errors=True)
            if resume:
                work = folder.parent / f".{folder.name}.partial"
                work.mkdir(exist_ok=True)
            else:
                work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
            try:
                with threadpool_limits(blas_threads, user_api="blas"):
                    make(work)
                with open(work / KEY_FILE, "w") as f:
                    json.dump(key, f, sort_keys=True, indent=1, default=_jsonable)
                write_manifest(work)
                if folder.exists():  # a leftover that has() could not set aside (it appeared meanwhile)
                    self.set_aside(folder, "found in the way of a new entry")
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


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> None:
    """Write ``manifest.json``: each file of ``folder`` (recursively) with its size and SHA-256."""
    files = {p.relative_to(folder).as_posix(): {"bytes": p.stat().st_size, "sha256": file_digest(p)}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps(files, indent=1))


def damage(folder: Path, key: dict | None = None) -> str | None:
    """What is wrong with an entry's folder (None: nothing): its key (if given) and every file of its manifest."""
    stored = {}
    for name in (KEY_FILE, MANIFEST):
        try:
            stored[name] = json.loads((folder / name).read_text())
        except FileNotFoundError:
            return f"it has no {name}"
        except (ValueError, UnicodeDecodeError):
            return f"its {name} is unreadable"
    if key is not None and stored[KEY_FILE] != key:
        return f"its {KEY_FILE} holds other parameters than the ones asked for"
    manifest = stored[MANIFEST]
    present = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    for name in sorted(set(manifest) | set(present)):
        if name not in present:
            return f"{name} is missing"
        if name not in manifest:
            return f"{name} is not in its manifest"
        if present[name].stat().st_size != manifest[name]["bytes"]:
            return f"{name} has {present[name].stat().st_size} bytes, not {manifest[name]['bytes']}"
        if file_digest(present[name]) != manifest[name]["sha256"]:
            return f"{name} does not hold what was written (SHA-256 differs)"
    return None


def _described(key_file: Path) -> str:
    """A few of the key's plain values, to name an entry in a message (empty if the key is unreadable)."""
    try:
        key = json.loads(key_file.read_text())
    except (OSError, ValueError):
        return ""
    shown = [f"{k}={v}" for k, v in key.items() if isinstance(v, (str, int, float)) and len(str(v)) <= 40][:6]
    return f" ({', '.join(shown)})" if shown else ""


class Memo:
    """Results this process keeps in memory, one copy per cache key.

    Keyed by what determines a result (the same key as on disk), not by the
    scenario that asked: four variants of a scenario that share features
    share one array. The oldest entries are dropped beyond ``size``.
    """

    def __init__(self, size: int = 12) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def has(self, kind: str, key: dict) -> bool:
        return (kind, digest(key)) in self._items

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


def entries(root: Path):
    """Every entry folder under ``root`` (``<kind>/<digest>``), leaving out work folders and set-aside ones."""
    for kind in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        yield from sorted(p for p in kind.iterdir() if p.is_dir() and not p.name.startswith("."))


def leftovers(root: Path) -> tuple[list[Path], list[Path]]:
    """Work folders of killed writers (``.<digest>-*``) and resumable work (``.<digest>.partial``) under ``root``."""
    hidden = [p for kind in root.iterdir() if kind.is_dir() and not kind.name.startswith(".")
              for p in kind.glob(".*") if p.is_dir()]
    partial = sorted(p for p in hidden if p.name.endswith(".partial"))
    return sorted(set(hidden) - set(partial)), partial


def verify(root: Path, move: bool = False) -> dict[Path, str]:
    """Check every entry under ``root`` against its manifest; print what was found; return the damaged ones.

    With ``move=True`` the damaged entries are set aside as a run would set them aside.
    """
    found, counts = {}, {}
    for folder in tqdm(list(entries(root)), desc="checking entries", disable=None):
        counts[folder.parent.name] = counts.get(folder.parent.name, 0) + 1
        problem = damage(folder)
        if problem is not None:
            found[folder] = problem
    for kind, n in counts.items():
        bad = sum(folder.parent.name == kind for folder in found)
        print(f"{kind}: {n} entries, {n - bad} sound, {bad} damaged")
    for folder, problem in found.items():
        print(f"damaged: {folder.parent.name}/{folder.name}{_described(folder / KEY_FILE)}: {problem}")
        if move:
            Cache(root).set_aside(folder, problem)
    dead, partial = leftovers(root)
    aside = list((root / DAMAGED).glob("*/*")) if (root / DAMAGED).exists() else []
    print(f"{len(dead)} work folders of killed runs (remove with: clean), {len(partial)} resumable extractions, "
          f"{len(aside)} entries set aside in {DAMAGED}/")
    return found


def clean(root: Path, partial: bool = False) -> list[Path]:
    """Remove the work folders of killed runs (and with ``partial=True`` resumable work too); return what went.

    A folder whose entry's lock another process holds is left alone. Run it
    when no other run is using the cache: the entries' lock files go too.
    """
    dead, resumable = leftovers(root)
    removed = []
    for folder in dead + (resumable if partial else []):
        digest_name = folder.name[1:].split("-")[0].removesuffix(".partial")
        lock = FileLock(folder.parent / f".{digest_name}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue
        try:
            shutil.rmtree(folder)
            removed.append(folder)
        finally:
            lock.release()
    for lock_file in (p for kind in root.iterdir() if kind.is_dir() for p in kind.glob(".*.lock")):
        lock_file.unlink(missing_ok=True)
    print(f"removed {len(removed)} leftover folders" + ("" if partial else f"; kept {len(resumable)} resumable extractions (--partial removes them)"))
    return removed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Check or tidy a cache folder.",
                                     epilog="e.g. python -m helpers.run.cache verify --scenario default")
    parser.add_argument("command", choices=("verify", "clean"),
                        help="verify: check every entry against its manifest; clean: remove what killed runs left")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scenario", default="default", help="the scenario whose cache_dir to look at")
    where.add_argument("--root", help="a cache folder")
    parser.add_argument("--move", action="store_true", help="verify: set the damaged entries aside (as a run would)")
    parser.add_argument("--partial", action="store_true", help="clean: also remove interrupted extractions' work")
    args = parser.parse_args(argv)
    if args.root:
        root = Path(args.root)
    else:
        from .scenario import load  # the scenario reads plugins and models; only needed here

        root = Path(load(args.scenario).cache_dir)
    if not root.is_dir():
        raise SystemExit(f"no cache folder at {root}.")
    if args.command == "verify":
        if verify(root, args.move) and not args.move:
            raise SystemExit(1)
    else:
        clean(root, args.partial)


if __name__ == "__main__":
    main()
