"""Story listening (Natural Stories fMRI, Zhang et al. 2020): a loader for a stated layout.

Subjects listened to spoken stories in the scanner; each word's onset comes
from a forced alignment of the audio to the transcript, so words arrive at
the speaker's rate, not at a fixed 0.5 s. One story is one scanner run.

What could and could not be established
---------------------------------------
The book's sources point to Zhang, Han, Worth & Liu (2020) and OSF project
``eq2ba``. We could not read the OSF project's file listing. The public
description we found of the Zhang et al. data (their Nature Communications
2020 paper "Connecting concepts in the brain by mapping cortical
representations of semantic relations" and its University of Michigan Deep
Blue deposit) says: 19 subjects, stories from The Moth Radio Hour, each
heard twice, TR = 0.72 s, data preprocessed with the HCP pipeline onto a
cortical surface template. It does not give the file layout. So this module
does not guess a download: it defines the layout below, plainly, and the
real files must be converted into it once (a few lines of code with
nibabel/h5py, depending on what the release holds).

Expected layout
---------------
::

    <data_dir>/
        stories/<story>.tsv       tab-separated, one row per word, with a header;
                                  columns "word" (as spoken/transcribed) and
                                  "onset" (s from the start of the story's audio);
                                  other columns (e.g. "offset") are ignored
        <subject>/<story>.npy     float array (n_trs, n_voxels): the run in which
                                  <subject> heard <story>; row t was acquired at
                                  t * tr seconds after the run started
        <subject>/voxels.tsv      optional, one row per voxel (column of the .npy
                                  files): "x", "y", "z" (MNI, mm) and optionally
                                  "region"

The ``.npy`` files are read with ``allow_pickle=False``. Every run of a
subject must have the same voxels. The audio starts ``audio_onset_s``
seconds after the first volume of each run (0 by default). Runs are
concatenated on one clock, each starting where the previous one ended, so
that onsets and TR times are comparable across runs (as in the Harry Potter
files). Voxels with NaN or infinite values or constant over time are
dropped with a warning, or refused (``bad_voxels``).

Word cleaning follows :mod:`helpers.words` after smoothing, as for the other
datasets: an item is a word if it contains a letter or digit; its type is
its core (without surrounding punctuation) in lower case.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .recording import Recording, screen_voxels

DATASET = "natural_stories"
LAYOUT = "<data_dir>/stories/<story>.tsv (word, onset) and <data_dir>/<subject>/<story>.npy (TRs x voxels); see helpers.natural_stories"


def load(
    data_dir: str | os.PathLike,
    subject: str,
    tr: float,
    stories: Sequence[str] | None = None,
    audio_onset_s: float = 0.0,
    bad_voxels: str = "drop",
) -> Recording:
    """One listener's recording over the stories they heard, one run per story.

    Parameters
    ----------
    data_dir : path
        The folder laid out as in the module's notes.
    subject : str
        The listener's folder name.
    tr : float
        Repetition time in seconds (0.72 s in Zhang et al. 2020).
    stories : sequence of str, optional
        Which stories, in run order; by default every ``<story>.npy`` of the
        subject, sorted by name.
    audio_onset_s : float
        Time from the first volume of a run to the start of its audio.
    bad_voxels : {"drop", "error"}
        What to do with voxels that hold NaN or infinite values or never change.
    """
    if not np.isfinite(tr) or tr <= 0:
        raise ValueError(f"tr must be a positive number of seconds, got {tr!r}.")
    root = Path(data_dir)
    folder = root / subject
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder} for subject {subject!r}. Expected layout: {LAYOUT}.")
    if stories is None:
        stories = sorted(p.stem for p in folder.glob("*.npy"))
        if not stories:
            raise FileNotFoundError(f"no <story>.npy file in {folder}. Expected layout: {LAYOUT}.")
    runs_data, words, onsets, tr_times, runs = [], [], [], [], []
    clock = 0.0
    for run, story in enumerate(stories):
        data = _bold(folder / f"{story}.npy")
        if runs_data and data.shape[1] != runs_data[0].shape[1]:
            raise ValueError(
                f"{folder / f'{story}.npy'} has {data.shape[1]} voxels but {folder / f'{stories[0]}.npy'} has "
                f"{runs_data[0].shape[1]}; every run of a subject must have the same voxels."
            )
        story_words, story_onsets = _timings(root / "stories" / f"{story}.tsv")
        end = data.shape[0] * tr
        late = story_onsets + audio_onset_s >= end
        if late.any():
            i = int(np.flatnonzero(late)[0])
            raise ValueError(
                f"story {story!r}: word {i} ({str(story_words[i])!r}) starts at {story_onsets[i] + audio_onset_s:.2f} s, after the "
                f"end of its run ({data.shape[0]} TRs of {tr} s = {end:.2f} s); check tr, audio_onset_s and the files."
            )
        runs_data.append(data)
        words.append(story_words)
        onsets.append(clock + audio_onset_s + story_onsets)
        tr_times.append(clock + tr * np.arange(data.shape[0]))
        runs.append(np.full(data.shape[0], run))
        clock += end
    data = np.concatenate(runs_data)
    keep, note = screen_voxels(data, bad_voxels, str(folder))
    mni, regions = _voxel_table(folder / "voxels.tsv", data.shape[1])
    return Recording(
        dataset=DATASET,
        subject=subject,
        words=np.concatenate(words),
        onsets=np.concatenate(onsets),
        tr_times=np.concatenate(tr_times),
        runs=np.concatenate(runs),
        data=data[:, keep],
        tr=float(tr),
        voxel_mni=None if mni is None else mni[keep],
        voxel_regions=None if regions is None else regions[keep],
        info={"folder": str(folder), "stories": list(stories), "audio_onset_s": audio_onset_s, **note},
    )


def _bold(path: Path) -> np.ndarray:
    """A run's (TRs x voxels) array."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist. Expected layout: {LAYOUT}.")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as err:  # truncated, corrupt, or an object array
        raise ValueError(f"{path} could not be read as a numeric .npy array ({type(err).__name__}: {err}); it may be truncated or corrupt.") from err
    if data.ndim != 2 or data.dtype.kind not in "biuf" or data.shape[0] < 1:
        raise ValueError(f"{path} must hold a 2-D numeric array (TRs x voxels), got {data.dtype} of shape {data.shape}.")
    return data.astype(np.float32, copy=False)


def _table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A tab-separated table with the given columns (read as text, nothing turned into NaN)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist. Expected layout: {LAYOUT}.")
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} could not be read as a tab-separated table ({err}).") from err
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise ValueError(f"{path} has no column {', '.join(map(repr, absent))} (it has: {', '.join(table.columns)}).")
    return table


def _numbers(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}: row {i + 1} has {column} {table[column].iloc[i]!r}, not a number; every row needs one.")
    return values


def _timings(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Words and onsets of a story's forced alignment."""
    table = _table(path, ("word", "onset"))
    if table.empty:
        raise ValueError(f"{path} lists no words.")
    return table["word"].to_numpy(dtype=str), _numbers(table, "onset", path)


def _voxel_table(path: Path, n_voxels: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """MNI coordinates and regions from the optional ``voxels.tsv``."""
    if not path.exists():
        return None, None
    table = _table(path, ("x", "y", "z"))
    if len(table) != n_voxels:
        raise ValueError(f"{path} describes {len(table)} voxels but the runs have {n_voxels}.")
    mni = np.stack([_numbers(table, c, path) for c in ("x", "y", "z")], axis=1)
    regions = table["region"].to_numpy(dtype=str) if "region" in table.columns else None
    return mni, regions
