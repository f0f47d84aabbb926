"""The Harry Potter reading experiment (Wehbe et al. 2014): download, load, write.

Eight subjects read chapter 9 of *Harry Potter and the Sorcerer's Stone* one
word every 0.5 s in 4 runs, TR = 2 s. One MATLAB file per subject,
``subject_{1..8}.mat``, from the CMU page (:data:`URL`); the layout, as
documented with the files (``description.txt`` on the same page):

* ``data``: (nTRs, ncols) BOLD signal, one column per voxel;
* ``time``: (nTRs, 2); column 0 the start time (s) of each TR, column 1 its run;
* ``words``: 1 x nwords struct array with fields ``text`` (the string shown,
  ``"+"`` and punctuation included, stored as a 1 x 1 cell holding the
  string: ``loadmat(...)["words"][0][i][0][0][0][0]`` is the i-th text),
  ``start`` (onset in s, same clock as ``time``; ``["words"][0][i][1][0][0]``)
  and ``length`` (0.5 s);
* ``meta``: struct with ``subject, nTRs, nvoxels, dimx, dimy, dimz,
  colToCoord`` (ncols x 3 voxel indices), ``coordToCol`` (volume of 1-based
  column numbers, 0 = no voxel), ``colToROInum`` (AAL region number of each
  column, 0 = none), ``coordToROInum``, ``ROInumToName`` (cell array of 117
  AAL names), ``voxel_size`` and ``matrix`` (4 x 4 voxel-to-MNI matrix).

Conventions of :func:`load` (see :mod:`helpers.data.matlab`):

* ``colToCoord`` holds MATLAB's 1-based voxel indices and ``matrix`` is read
  as an SPM matrix applied to them: ``mni = matrix @ [i, j, k, 1]``. (The
  data were normalised to MNI space with SPM; an SPM ``.mat`` matrix maps
  1-based indices. If a plot of real data shows every voxel shifted by one
  voxel, this is the line to revisit.)
* The region of a column is ``ROInumToName{colToROInum}`` (1-based);
  number 0 gives ``"unlabelled"``.
* ``meta.nvoxels`` is not used: in some files it differs from the number of
  data columns; ``colToCoord`` must have one row per column.
* ``tr`` is the median step between TR start times (2 s).
* A word's ``text`` is read as a 1 x 1 cell holding a string (the real
  layout) or as a plain string (files written by other tools).
* Voxels with NaN or infinite values, or constant over time, are dropped
  with a warning and listed in ``info["dropped_voxels"]`` (``bad_voxels=
  "drop"``), or refused (``"error"``).

Word cleaning is not done here: the recording keeps every item shown, and
the book's one rule (:mod:`helpers.data.words`: an item is a word if it contains
a letter or digit; its type is its core without surrounding punctuation,
lower-cased) is applied after smoothing.

:func:`save` writes a :class:`~helpers.data.recording.Recording` in the same
layout, so the loader runs end to end on simulated data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.io

from . import matlab as mat
from .files import write_atomic
from .fetch import download
from .recording import Recording, screen_voxels

URL = "https://www.cs.cmu.edu/~fmri/plosone/files/subject_{n}.mat"
SUBJECTS = tuple(range(1, 9))
LOADER_VERSION = 2  # bump when a change alters what load() returns; cache keys include it
DATASET = "harry_potter"


def file_path(data_dir: str | os.PathLike, n: int) -> Path:
    """Where subject ``n``'s file lives in ``data_dir``."""
    return Path(data_dir) / f"subject_{n}.mat"


def fetch(data_dir: str | os.PathLike, subjects: Iterable[int] = SUBJECTS, progress: bool = True) -> list[Path]:
    """Download the subjects' files into ``data_dir`` (skipping verified copies).

    Checksums are recorded on first download in ``data_dir/checksums.json``
    and checked on every later call (see :func:`helpers.data.fetch.download`).
    """
    subjects = list(subjects)
    unknown = [n for n in subjects if n not in SUBJECTS]
    if unknown:
        raise ValueError(f"subjects must be among {SUBJECTS}, got {unknown}.")
    return [download(URL.format(n=n), file_path(data_dir, n), progress=progress) for n in subjects]


def load(path: str | os.PathLike, bad_voxels: str = "drop") -> Recording:
    """One subject's recording from a Harry Potter ``.mat`` file.

    Parameters
    ----------
    path : path
        A ``subject_{n}.mat`` file.
    bad_voxels : {"drop", "error"}
        What to do with voxels that hold NaN or infinite values or never
        change: leave them out (with a warning, listed in ``info``) or refuse
        the file.
    """
    path = Path(path)
    where = str(path)
    how = f"Download it with harry_potter.fetch(data_dir) or by hand from {URL.format(n='N')} into that folder."
    variables = mat.read(path, "Harry Potter subject file", how)
    data = mat.matrix(mat.field(variables, "data", where), f"{where}: data").astype(np.float32, copy=False)
    time = mat.matrix(mat.field(variables, "time", where), f"{where}: time", n_columns=2)
    if time.shape[0] != data.shape[0]:
        raise ValueError(f"{where}: time has {time.shape[0]} rows but data has {data.shape[0]} TRs; they must match.")
    if len(time) < 2:
        raise ValueError(f"{where}: need at least 2 TRs to know the repetition time, got {len(time)}.")
    runs = time[:, 1]
    if np.any(runs != np.round(runs)):
        raise ValueError(f"{where}: the run numbers in time(:, 2) must be whole numbers.")
    words, onsets = _words(mat.field(variables, "words", where), f"{where}: words")
    at = f"{where}: meta"
    meta = mat.struct(mat.field(variables, "meta", where), at)
    mni = mat.voxel_mni(mat.field(meta, "colToCoord", at), mat.field(meta, "matrix", at), at)
    numbers = mat.vector(mat.field(meta, "colToROInum", at), f"{at}.colToROInum")
    names = mat.strings(mat.field(meta, "ROInumToName", at), f"{at}.ROInumToName")
    regions = mat.region_names(numbers, names, f"{at}.colToROInum")
    for name, per_voxel in (("colToCoord", mni), ("colToROInum", regions)):
        if len(per_voxel) != data.shape[1]:
            raise ValueError(f"{at}.{name} describes {len(per_voxel)} voxels but data has {data.shape[1]} columns.")
    keep, note = screen_voxels(data, bad_voxels, where)
    return Recording(
        dataset=DATASET,
        subject=_label(mat.field(meta, "subject", at), f"{at}.subject"),
        words=words,
        onsets=onsets,
        tr_times=time[:, 0],
        runs=runs.astype(np.int64),
        data=data[:, keep],
        tr=float(np.median(np.diff(time[:, 0]))),
        voxel_mni=mni[keep],
        voxel_regions=regions[keep],
        info={"file": str(path), **note},
    )


def _label(value, where: str) -> str:
    """A subject label stored as a number (the real files) or a string (simulated ones)."""
    return mat.string(value, where) if np.asarray(value).dtype.kind == "U" else f"{mat.scalar(value, where):g}"


def _words(value, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Texts and onsets of the ``words`` struct array."""
    texts = mat.struct_array_field(value, "text", where)
    starts = mat.struct_array_field(value, "start", where)
    words = np.array([mat.cell_string(t, f"{where}({i + 1}).text") for i, t in enumerate(texts)], dtype=str)
    onsets = np.empty(len(starts))
    for i, start in enumerate(starts):
        if np.size(start) == 0:
            raise ValueError(f"{where}({i + 1}).start is empty: every word needs one onset time.")
        onsets[i] = mat.scalar(start, f"{where}({i + 1}).start")
    return words, onsets


def save(recording: Recording, path: str | os.PathLike, voxel_size: float = 3.0) -> Path:
    """Write a recording as a Harry Potter ``.mat`` file (the simulator's writer).

    Voxels must lie on a grid of ``voxel_size`` mm (the simulator's do);
    the grid's corner becomes voxel (1, 1, 1) of ``meta.matrix``. Regions
    are numbered in sorted order; ``"unlabelled"`` voxels (or a recording
    without regions) get number 0.
    """
    if recording.voxel_mni is None:
        raise ValueError("save needs voxel_mni (MNI coordinates) to write colToCoord and matrix.")
    mni = np.asarray(recording.voxel_mni, dtype=np.float64)
    origin = mni.min(axis=0) - voxel_size  # so that the lowest voxel gets index 1
    ijk = np.rint((mni - origin) / voxel_size).astype(np.int64)
    affine = np.diag([voxel_size, voxel_size, voxel_size, 1.0])
    affine[:3, 3] = origin
    if not np.allclose(np.c_[ijk, np.ones(len(ijk))] @ affine.T[:, :3], mni):
        raise ValueError(f"voxel_mni must lie on a regular grid of {voxel_size} mm to be written as voxel indices.")
    dims = ijk.max(axis=0)
    coord_to_col = np.zeros(dims, dtype=np.float64)
    coord_to_col[tuple((ijk - 1).T)] = np.arange(1, len(ijk) + 1)
    regions = np.asarray(recording.voxel_regions if recording.voxel_regions is not None else np.full(len(ijk), mat.UNLABELLED), dtype=str)
    names = np.unique(regions[regions != mat.UNLABELLED])
    numbers = np.where(regions == mat.UNLABELLED, 0, np.searchsorted(names, regions) + 1).astype(np.float64)
    coord_to_roi = np.zeros(dims, dtype=np.float64)
    coord_to_roi[tuple((ijk - 1).T)] = numbers
    words = np.zeros((1, len(recording.words)), dtype=[("text", object), ("start", object), ("length", object)])
    for i, (text, start) in enumerate(zip(recording.words, recording.onsets)):
        words[0, i] = (_cell([str(text)]), float(start), 0.5)  # text as a 1 x 1 cell, as in the real files
    meta = {
        "subject": recording.subject,
        "nTRs": float(recording.n_trs),
        "nvoxels": float(recording.n_voxels),
        "dimx": float(dims[0]),
        "dimy": float(dims[1]),
        "dimz": float(dims[2]),
        "colToCoord": ijk.astype(np.float64),
        "coordToCol": coord_to_col,
        "colToROInum": numbers[None, :],
        "coordToROInum": coord_to_roi,
        "ROInumToName": _cell(names),
        "voxel_size": np.full((1, 3), voxel_size),
        "matrix": affine,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    variables = {"data": recording.data, "time": np.c_[recording.tr_times, recording.runs].astype(np.float64),
                 "words": words, "meta": meta}
    return write_atomic(path, lambda f: scipy.io.savemat(f, variables, do_compression=True))


def _cell(strings: np.ndarray) -> np.ndarray:
    """A 1 x n MATLAB cell array of strings."""
    cell = np.empty((1, len(strings)), dtype=object)
    cell[0, :] = list(strings)
    return cell
