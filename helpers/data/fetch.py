"""Downloading a data file into a data directory, once, with a checksum.

:func:`download` fetches one URL into one file:

* the bytes go to ``<file>.part`` and are renamed to the final name only when
  complete, so nothing half-written ever sits under the final name; on any
  error the ``.part`` file is deleted (there is no resuming: the next call
  starts over);
* ``checksums.json`` in the data directory records the SHA-256 of every file
  the first time it is downloaded ("trust on first use"), unless a known
  checksum is passed; every later call verifies the file on disk against it
  and skips the download when it matches, and refuses a file whose content
  changed;
* progress is shown with a tqdm bar in bytes.

HTTPS URLs are preferred (every URL in this package is HTTPS); a plain HTTP
URL gets a warning, since only the checksum protects what it delivers.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from tqdm import tqdm

from .files import CHUNK, file_sha256, write_atomic

CHECKSUMS = "checksums.json"


class ChecksumError(RuntimeError):
    """A file's SHA-256 differs from the one expected for it."""


class DownloadError(RuntimeError):
    """A file could not be downloaded."""


def download(url: str, dest_path: str | os.PathLike, sha256: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest_path`` unless a verified copy is already there.

    Parameters
    ----------
    url : str
        Where the file is (``https://`` preferred).
    dest_path : path
        The file to write; its folder is the data directory, which holds
        ``checksums.json``.
    sha256 : str, optional
        The known SHA-256 of the file. Without it, the checksum recorded on
        the first download is used from then on.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Path
        ``dest_path``, verified.

    Raises
    ------
    ChecksumError
        The file (on disk or just downloaded) does not have the expected checksum.
    DownloadError
        The server could not be reached or the transfer failed.
    PermissionError
        The data directory cannot be written to.
    """
    dest = Path(dest_path)
    known = sha256 if sha256 is not None else _recorded(dest)
    expected = known.lower() if known else None
    if dest.exists():
        actual = file_sha256(dest)
        if expected is None:
            _record(dest, actual)  # a file put there by hand: trust it from now on
        elif actual != expected:
            raise ChecksumError(
                f"{dest} does not have the expected content: SHA-256 {actual}, expected {expected}. "
                f"Delete the file to download it again; if you trust this copy, remove its entry from {dest.parent / CHECKSUMS}."
            )
        return dest
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"url must start with https:// (or http://), got {url!r}.")
    if url.startswith("http://"):
        warnings.warn(f"downloading {url} over plain HTTP; only its checksum protects the content.", stacklevel=2)
    _writable(dest.parent)
    part = dest.with_name(dest.name + ".part")
    try:
        actual = _fetch(url, part, progress)
        if expected is not None and actual != expected:
            raise ChecksumError(
                f"the file downloaded from {url} does not have the expected content: SHA-256 {actual}, expected "
                f"{expected} (recorded in {dest.parent / CHECKSUMS} or passed by the caller). The server's copy changed "
                "or the transfer was corrupted; nothing was kept. Try again later, or check the source."
            )
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    if expected is None:
        _record(dest, actual)
    return dest


def _fetch(url: str, part: Path, progress: bool) -> str:
    """Stream ``url`` into ``part``; return the SHA-256 of what was written."""
    h = hashlib.sha256()
    where = part.with_name(part.name.removesuffix(".part"))
    advice = f"Check the connection and try again, or download the file by hand and save it as {where}."
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            total = response.length
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=where.name, disable=not progress or None) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as err:
        raise DownloadError(f"could not download {url}: {err}. {advice}") from err
    except urllib.error.URLError as err:
        raise DownloadError(f"could not download {url}: {err.reason}. {advice}") from err
    except (OSError, http.client.HTTPException) as err:  # connection reset, timeout, incomplete read, disk full
        raise DownloadError(f"downloading {url} failed: {type(err).__name__}: {err}. {advice}") from err
    if total is not None and received != total:
        raise DownloadError(f"downloading {url} stopped after {received} of {total} bytes. {advice}")
    return h.hexdigest()


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PermissionError(f"cannot create the data directory {folder} ({err}); pass another data_dir, a folder you can write to.") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to the data directory {folder}; pass another data_dir, a folder you can write to.")


def _checksums(folder: Path) -> dict[str, str]:
    path = folder / CHECKSUMS
    if not path.exists():
        return {}
    try:
        with open(path) as f:
            table = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable checksum table ({err}); fix or delete it (it is rebuilt on the next downloads).") from err
    if not isinstance(table, dict):
        raise ValueError(f"{path} should hold a JSON object of file name -> SHA-256; fix or delete it.")
    return table


def _recorded(dest: Path) -> str | None:
    return _checksums(dest.parent).get(dest.name)


def _record(dest: Path, digest: str) -> None:
    """Add ``dest``'s checksum to the table, written atomically."""
    _writable(dest.parent)
    table = _checksums(dest.parent)
    table[dest.name] = digest
    write_atomic(dest.parent / CHECKSUMS, lambda f: f.write(json.dumps(table, indent=1, sort_keys=True).encode()))
