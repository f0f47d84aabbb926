"""Story listening (Natural Stories fMRI): a loader for the layout the paper's code reads.

Subjects listened to spoken stories in the scanner; each word's onset comes
from a forced alignment of the audio to the transcript, so words arrive at
the speaker's rate, not at a fixed 0.5 s.

What we know, and where it comes from
-------------------------------------
The book's sources point to Zhang, Han, Worth & Liu (2020) and OSF project
``eq2ba``. We could not read the OSF project's file listing. The public
description we found of the Zhang et al. data (their Nature Communications
2020 paper "Connecting concepts in the brain by mapping cortical
representations of semantic relations" and its University of Michigan Deep
Blue deposit) says: 19 subjects, stories from The Moth Radio Hour, each
heard twice, TR = 0.72 s, data preprocessed with the HCP pipeline onto a
cortical surface template. It does not give a file layout, and we have not
seen a released file.

What we know of the layout comes only from the public code of the paper
this book follows (Li et al. 2023, repository ``coastalcph/brain2llm``):
it reads one MATLAB ``.mat`` file per subject with ``scipy.io.loadmat``
(default options) and takes

* ``data``, the BOLD signal, TRs x voxels;
* ``time[0]``, the TR times;
* from the ``n x 1`` struct array ``words``, the text of word ``i`` as
  ``words[i][0][0][0][0]`` and its onset in seconds as
  ``words[i][0][1][0][0][0]``.

We checked with scipy which MATLAB values make those expressions work.
With the first field of ``words`` a 1 x 1 cell holding the string and the
second a 1 x 1 cell holding a 1 x 1 number, they return one-element arrays
holding the text (``array(['The'])``) and the onset (``array([1.1])``). With
plain values they do not: on a plain string the first expression gives only
its first letter, and on a plain number the second raises ``IndexError``.
So the paper's files hold the cell forms. No MATLAB value makes the
expressions return a bare string or number.

What remains uncertain: the field names (the code reads fields by
position; ``text`` and ``start`` as in the Harry Potter files is our
guess), whether ``time`` has more rows and what they hold, whether onsets
and TR times share one clock (assumed, as in the Harry Potter files; a word
outside the scanned period is refused, which catches a gross mismatch), the
file names, and whether the columns of ``data`` are voxels or surface
vertices. No voxel coordinates are known, so ``voxel_mni`` and
``voxel_regions`` are None and brain maps cannot be drawn for this dataset.

Expected layout
---------------
::

    <data_dir>/<subject>.mat     one MATLAB (v5) file per subject; the file
                                 name without ".mat" is the subject's label

Each file holds:

* ``data``: numeric (nTRs, n_voxels);
* ``time``: numeric (k, nTRs), k >= 1. Row 1 (``time[0]``) holds the start
  time (s) of each TR; the times must increase. If a second row exists and
  its values are whole numbers that never decrease, it gives the run of each
  TR; otherwise (or with one row) the whole recording is one run. Further
  rows are ignored;
* ``words``: a struct vector (``n x 1``, or ``1 x n``), one element per word
  in order. The first field, whatever its name, is read as the word's text;
  the second, whatever its name, as its onset (s, on the clock of ``time``).
  Each may be a 1 x 1 cell holding the value (the paper's files) or the
  plain value (a string; a number), as files converted by hand may hold.
  Other fields are ignored.

When no subjects are chosen, every ``*.mat`` file of ``data_dir`` is a
subject (sorted by name; names starting with ``.`` are skipped). The
repetition time is the median step of the TR times. Voxels with NaN or
infinite values or constant over time are dropped with a warning, or
refused (``bad_voxels``).

Word cleaning follows :mod:`helpers.data.words` after smoothing, as for the other
datasets: an item is a word if it contains a letter or digit; its type is
its core (without surrounding punctuation) in lower case.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import matlab as mat
from .recording import Recording, screen_voxels

LOADER_VERSION = 2  # bump when a change alters what load() returns; cache keys include it
DATASET = "natural_stories"
LAYOUT = (
    "<data_dir>/<subject>.mat, one MATLAB file per subject holding data (TRs x voxels), time (row 1: TR times in s; "
    "optional row 2: run numbers) and words (struct vector; field 1: text, field 2: onset in s); "
    "see helpers.data.natural_stories"
)
TR_TOLERANCE = 1e-6  # seconds: how far a stated tr may be from the files' median TR step


def file_path(data_dir: str | os.PathLike, subject: str) -> Path:
    """Where ``subject``'s file lives in ``data_dir``."""
    return Path(data_dir) / f"{subject}.mat"


def subjects(data_dir: str | os.PathLike) -> tuple[str, ...]:
    """Every subject of ``data_dir``: the names of its ``*.mat`` files without the extension, sorted."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder {root} for the Natural Stories files. Expected layout: {LAYOUT}.")
    found = sorted(p.stem for p in root.glob("*.mat") if p.is_file() and not p.name.startswith("."))
    if not found:
        raise FileNotFoundError(f"no <subject>.mat file in {root}. Expected layout: {LAYOUT}.")
    return tuple(found)


def files(data_dir: str | os.PathLike, chosen: Sequence[str] = ()) -> dict[str, Path]:
    """Subject -> file, for the chosen subjects (all of :func:`subjects` if none); every file must exist."""
    names = [str(s) for s in chosen] or list(subjects(data_dir))
    paths = {s: file_path(data_dir, s) for s in names}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Natural Stories file(s) missing: {', '.join(missing)}. Expected layout: {LAYOUT}.")
    return paths


def load(
    data_dir: str | os.PathLike,
    subject: str,
    tr: float | None = None,
    bad_voxels: str = "drop",
) -> Recording:
    """One listener's recording, from ``<data_dir>/<subject>.mat``.

    Parameters
    ----------
    data_dir : path
        The folder of subject files (see the module's notes).
    subject : str
        The subject's label: the file's name without ``.mat``.
    tr : float, optional
        The repetition time (s) the caller expects. The recording's ``tr``
        is always the median step of the file's TR times (``time[0]``); if
        ``tr`` is given it must agree with that to within 1e-6 s.
    bad_voxels : {"drop", "error"}
        What to do with voxels that hold NaN or infinite values or never
        change: leave them out (with a warning, listed in ``info``) or refuse
        the file.

    Notes
    -----
    ``words`` is read by position: its first field is the text, its second
    the onset, each either a 1 x 1 cell holding the value or the plain value.
    The run of each TR is ``time[1]`` if that row exists and holds whole
    numbers that never decrease; otherwise every TR is in run 0.
    """
    path = file_path(data_dir, subject)
    where = str(path)
    how = f"Expected layout: {LAYOUT}."
    variables = mat.read(path, "Natural Stories subject file", how)
    data = mat.matrix(mat.field(variables, "data", where), f"{where}: data").astype(np.float32, copy=False)
    time = mat.matrix(mat.field(variables, "time", where), f"{where}: time")
    if time.shape[1] != data.shape[0]:
        hint = " It looks stored one row per TR; transpose it." if time.shape[0] == data.shape[0] else ""
        raise ValueError(
            f"{where}: time has {time.shape[1]} columns but data has {data.shape[0]} rows (TRs); time must be "
            f"(k, nTRs), one column per TR, with the TR times in its first row.{hint}"
        )
    if data.shape[0] < 2:
        raise ValueError(f"{where}: need at least 2 TRs to know the repetition time, got {data.shape[0]}.")
    tr_times = time[0].astype(np.float64)
    if not np.all(np.isfinite(tr_times)):
        raise ValueError(f"{where}: the TR times in time(1, :) contain NaN or infinite values.")
    steps = np.diff(tr_times)
    if np.any(steps <= 0):
        t = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise ValueError(
            f"{where}: the TR times in time(1, :) must increase, on one clock across runs; TR {t + 1} starts at "
            f"{tr_times[t]:g} s, not after TR {t} at {tr_times[t - 1]:g} s."
        )
    step = float(np.median(steps))
    if tr is not None and not abs(float(tr) - step) <= TR_TOLERANCE:
        raise ValueError(
            f"{where}: tr is {float(tr):.9g} s but the median step of the file's TR times (time(1, :)) is "
            f"{step:.9g} s; set tr (the scenario's tr) to the files' repetition time."
        )
    runs, runs_from = _runs(time)
    words, onsets = _words(mat.field(variables, "words", where), f"{where}: words")
    end = tr_times[-1] + step
    outside = (onsets < tr_times[0]) | (onsets >= end)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{where}: word {i + 1} ({str(words[i])!r}) starts at {onsets[i]:g} s, outside the scanned period "
            f"{tr_times[0]:g}-{end:g} s (first TR to the end of the last); the onsets and time(1, :) must be "
            "seconds on one clock."
        )
    keep, note = screen_voxels(data, bad_voxels, where)
    return Recording(
        dataset=DATASET,
        subject=str(subject),
        words=words,
        onsets=onsets,
        tr_times=tr_times,
        runs=runs,
        data=data[:, keep],
        tr=step,
        voxel_mni=None,
        voxel_regions=None,
        info={"file": where, "runs_from": runs_from, **note},
    )


def _runs(time: np.ndarray) -> tuple[np.ndarray, str]:
    """Run of each TR: the second row of ``time`` if it holds whole, non-decreasing numbers, else one run."""
    n_trs = time.shape[1]
    if time.shape[0] >= 2:
        row = time[1].astype(np.float64)
        if np.all(np.isfinite(row)) and np.all(row == np.round(row)) and np.all(np.diff(row) >= 0):
            return row.astype(np.int64), "time(2, :)"
        return np.zeros(n_trs, dtype=np.int64), "one run (time(2, :) is not whole non-decreasing numbers)"
    return np.zeros(n_trs, dtype=np.int64), "one run (time has one row)"


def _words(value: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Texts (first field) and onsets (second field) of the ``words`` struct vector."""
    names = value.dtype.names if isinstance(value, np.ndarray) else None
    if names is not None and len(names) < 2:
        raise ValueError(
            f"{where} has {len(names)} field ({', '.join(names)}); it needs two, read by position: the text, then the onset."
        )
    # checks that words is a struct vector (or says what it is instead)
    texts = mat.struct_array_field(value, names[0] if names else "text", where)
    starts = mat.struct_array_field(value, names[1], where)
    if len(texts) == 0:
        raise ValueError(f"{where} is empty; the file lists no words.")
    words, onsets = [], np.empty(len(starts))
    for i, (text, start) in enumerate(zip(texts, starts)):
        at_text = f"{where}({i + 1}).{names[0]} (field 1, read as the text)"
        at_onset = f"{where}({i + 1}).{names[1]} (field 2, read as the onset)"
        words.append(mat.string(_content(text, at_text), at_text))
        if not words[-1].strip():
            raise ValueError(f"{at_text} is empty: every word needs its text.")
        start = _content(start, at_onset)
        if start.size == 0:
            raise ValueError(f"{at_onset} is empty: every word needs one onset time.")
        onsets[i] = mat.scalar(start, at_onset)
        if not np.isfinite(onsets[i]):
            raise ValueError(f"{at_onset} is {onsets[i]}: every word needs a finite onset time.")
    return np.array(words, dtype=str), onsets


def _content(value: Any, where: str) -> np.ndarray:
    """The value of a struct field: what a 1 x 1 cell holds, or the plain value itself."""
    value = np.asarray(value)
    if value.dtype == object:
        if value.size != 1:
            raise ValueError(f"{where} should be a 1 x 1 cell or a plain value, got a cell array of shape {value.shape}.")
        value = np.asarray(value.reshape(-1)[0])
        if value.dtype == object:
            raise ValueError(f"{where} should hold a string or a number, got a cell inside the cell.")
    return value
