"""The real datasets a scenario can read, behind one interface.

A scenario names its ``dataset``; for the real ones this module finds (or
downloads) the subjects' files in ``data_dir``, loads them with the dataset's
own loader, and checks that every subject saw the same words, since the
language-model features are computed once for the whole stimulus:

* ``harry_potter`` (:mod:`helpers.harry_potter`): ``subject_{1..8}.mat``,
  downloaded when ``download`` is true; subjects ``"1"`` .. ``"8"``.
* ``pereira`` (:mod:`helpers.pereira`): ``<subject>/data_384sentences.mat``
  (experiment 2) or ``data_243sentences.mat`` (experiment 3), placed by hand.
* ``natural_stories`` (:mod:`helpers.natural_stories`): the stated layout of
  that module, with ``tr`` from the scenario.

Cache entries derived from real files are keyed by the files' SHA-256, so a
replaced file is never matched with results computed from the old one.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import harry_potter, natural_stories, pereira
from .fetch import file_sha256
from .recording import Recording, SentenceRecording

REAL = ("harry_potter", "pereira", "natural_stories")


def subjects(dataset: str, data_dir: str | Path, chosen: tuple[str, ...] = (), experiment: int = 2) -> tuple[str, ...]:
    """The subjects to read: ``chosen``, or every subject the dataset has (natural_stories: every folder found)."""
    if chosen:
        return tuple(str(s) for s in chosen)
    if dataset == "harry_potter":
        return tuple(str(n) for n in harry_potter.SUBJECTS)
    if dataset == "pereira":
        return tuple(pereira.SUBJECTS[experiment])
    if dataset == "natural_stories":
        found = sorted(p.name for p in Path(data_dir).glob("*") if p.is_dir() and p.name != "stories")
        if not found:
            raise FileNotFoundError(f"no subject folders in {data_dir}; expected the layout {natural_stories.LAYOUT}.")
        return tuple(found)
    raise ValueError(f"unknown real dataset {dataset!r}; choose one of {REAL}.")


def files(dataset: str, data_dir: str | Path, chosen: tuple[str, ...] = (), experiment: int = 2,
          download: bool = False, progress: bool = True) -> list[Path]:
    """The files the subjects are read from, downloaded first if ``download`` (Harry Potter only)."""
    names = subjects(dataset, data_dir, chosen, experiment)
    if dataset == "harry_potter":
        numbers = [_subject_number(s) for s in names]
        if download:
            return harry_potter.fetch(data_dir, numbers, progress=progress)
        paths = [harry_potter.file_path(data_dir, n) for n in numbers]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"Harry Potter file(s) missing: {', '.join(missing)}. Set download: true in the scenario "
                f"(or overrides={{'download': True}}) to fetch them from {harry_potter.URL.format(n='N')}."
            )
        return paths
    if dataset == "pereira":
        return pereira.fetch(data_dir, experiment, names)
    return [Path(data_dir) / s for s in names]  # natural_stories: one folder per subject


@lru_cache(maxsize=64)
def fingerprint(path: Path) -> str:
    """SHA-256 of a file, or of the names and SHA-256 of every file under a folder."""
    if path.is_file():
        return file_sha256(path)
    inside = sorted(p for p in path.rglob("*") if p.is_file())
    listing = "\n".join(f"{p.relative_to(path)} {file_sha256(p)}" for p in inside)
    return hashlib.sha256(listing.encode()).hexdigest()


def load(dataset: str, paths: list[Path], bad_voxels: str = "drop", tr: float = 2.0,
         data_dir: str | Path | None = None) -> tuple[Recording | SentenceRecording, ...]:
    """Every subject's recording, checked to share one stimulus."""
    if dataset == "harry_potter":
        recs = tuple(harry_potter.load(p, bad_voxels) for p in paths)
    elif dataset == "pereira":
        recs = tuple(pereira.load(p, bad_voxels) for p in paths)
    elif dataset == "natural_stories":
        recs = tuple(natural_stories.load(data_dir, p.name, tr, bad_voxels=bad_voxels) for p in paths)
    else:
        raise ValueError(f"unknown real dataset {dataset!r}; choose one of {REAL}.")
    first = stimulus(recs[0])
    for rec in recs[1:]:
        if not np.array_equal(stimulus(rec), first):
            raise ValueError(
                f"{dataset}: subject {rec.subject} saw other words than subject {recs[0].subject}; the book computes "
                "one set of language-model features per scenario, so run such subjects as separate scenarios "
                "(subjects: [...])."
            )
    return recs


def stimulus(rec: Recording | SentenceRecording) -> np.ndarray:
    """Every item shown (time-locked recordings) or every word of the sentences in order (sentence recordings)."""
    return pereira.word_table(rec)[0] if isinstance(rec, SentenceRecording) else rec.words


def _subject_number(subject: str) -> int:
    try:
        return int(subject)
    except ValueError:
        raise ValueError(f"Harry Potter subjects are numbers 1-8, got {subject!r}.") from None
