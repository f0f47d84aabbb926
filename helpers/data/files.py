"""Files written whole or not at all, and the checksums that identify them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 16


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file whole or not at all: ``write(f)`` fills an open binary file beside ``path``, renamed to ``path`` when done.

    (A file object, not a name, so that ``np.save`` or ``scipy.io.savemat``
    do not append their own extension to the temporary name.) The temporary
    name is unique to the process, so two processes writing the same file
    never write into one temporary file; the last rename wins, whole.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of the names and SHA-256 of every file under a folder."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    inside = sorted(p for p in path.rglob("*") if p.is_file())
    listing = "\n".join(f"{p.relative_to(path)} {file_sha256(p)}" for p in inside)
    return hashlib.sha256(listing.encode()).hexdigest()
