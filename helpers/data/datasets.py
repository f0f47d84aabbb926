"""Every dataset behind one interface: what was shown, in which runs, and the recordings.

A :class:`Dataset` answers four questions, whatever the data are:

* :meth:`~Dataset.stimulus`: every item shown, in order (the same for every
  subject, since language-model features are computed once per scenario);
* :meth:`~Dataset.item_runs` and :meth:`~Dataset.item_times`: the run and
  the time of every item (sentence datasets: one run, and the sentence's
  number as its "time", so a blocked split keeps sentences together);
* :meth:`~Dataset.recordings`: every subject's recording;
* :meth:`~Dataset.key` and :meth:`~Dataset.subject_key`: what identifies
  the recordings, for cache keys.

Two kinds implement it:

:class:`RealDataset`
    files on disk, read by the dataset's own loader:
    ``harry_potter`` (:mod:`helpers.data.harry_potter`, ``subject_{1..8}.mat``,
    downloaded when ``download`` is true), ``pereira``
    (:mod:`helpers.data.pereira`, placed by hand) and ``natural_stories``
    (:mod:`helpers.data.natural_stories`, one ``<subject>.mat`` per subject).
    Results derived from them are keyed by the files' SHA-256 and the
    loader's version, so neither a replaced file nor a loader fix ever
    meets results computed before it.
:class:`SimulatedDataset`
    the simulated reading experiment (:mod:`helpers.data.simulate`); what
    drives its voxels (a language model's hidden states) is handed in by
    the caller, so this stage needs no language model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import harry_potter, natural_stories, pereira
from . import simulate as S
from .files import tree_sha256
from .recording import Recording, SentenceRecording

REAL = ("harry_potter", "pereira", "natural_stories")
DATASETS = ("simulated",) + REAL
LOADERS = {"harry_potter": harry_potter, "pereira": pereira, "natural_stories": natural_stories}


class Dataset:
    """The interface every dataset offers (see the module docstring)."""

    name: str

    def recordings(self) -> tuple[Recording | SentenceRecording, ...]:
        """Every subject's recording, read (or simulated) once per dataset object."""
        return self._recordings

    @cached_property
    def _recordings(self) -> tuple[Recording | SentenceRecording, ...]:
        return same_stimulus(self.name, self.load())

    def load(self) -> tuple[Recording | SentenceRecording, ...]:
        raise NotImplementedError

    def key(self) -> dict:
        raise NotImplementedError

    def subject_key(self, subject: str) -> dict:
        raise NotImplementedError

    def stimulus(self) -> np.ndarray:
        return self.recordings()[0].stimulus

    def item_runs(self) -> np.ndarray:
        return self.recordings()[0].item_runs()

    def item_times(self) -> np.ndarray:
        return self.recordings()[0].item_times()


@dataclass(frozen=True)
class RealDataset(Dataset):
    """One of the real datasets, read from ``data_dir``.

    ``subjects`` empty means every subject the dataset has (natural_stories:
    every ``<subject>.mat`` found); ``experiment`` is Pereira et al.'s (2 or
    3); ``tr`` the repetition time of the Natural Stories files.
    """

    name: str
    data_dir: str
    subjects: tuple[str, ...] = ()
    experiment: int = 2
    download: bool = False
    bad_voxels: str = "drop"
    tr: float = 2.0

    def __post_init__(self) -> None:
        if self.name not in REAL:
            raise ValueError(f"unknown real dataset {self.name!r}; choose one of {REAL}.")

    def subject_names(self) -> tuple[str, ...]:
        """The subjects to read: those chosen, or every subject the dataset has."""
        if self.subjects:
            return tuple(str(s) for s in self.subjects)
        if self.name == "harry_potter":
            return tuple(str(n) for n in harry_potter.SUBJECTS)
        if self.name == "pereira":
            return tuple(pereira.SUBJECTS[self.experiment])
        return natural_stories.subjects(self.data_dir)

    @cached_property
    def files(self) -> dict[str, Path]:
        """Subject -> the file it is read from; downloaded first if ``download``."""
        names = self.subject_names()
        if self.name == "harry_potter":
            numbers = [_subject_number(s) for s in names]
            if self.download:
                return dict(zip(names, harry_potter.fetch(self.data_dir, numbers)))
            paths = [harry_potter.file_path(self.data_dir, n) for n in numbers]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise FileNotFoundError(
                    f"Harry Potter file(s) missing: {', '.join(missing)}. Set download: true in the scenario "
                    f"(or overrides={{'download': True}}) to fetch them from {harry_potter.URL.format(n='N')}."
                )
            return dict(zip(names, paths))
        if self.name == "pereira":
            return dict(zip(names, pereira.fetch(self.data_dir, self.experiment, names)))
        return natural_stories.files(self.data_dir, names)

    @cached_property
    def _checksums(self) -> dict[str, str]:
        return {subject: tree_sha256(path) for subject, path in self.files.items()}

    def key(self) -> dict:
        return {
            "dataset": self.name,
            "loader": LOADERS[self.name].LOADER_VERSION,
            "files": self._checksums,
            "bad_voxels": self.bad_voxels,
            **({"tr": self.tr} if self.name == "natural_stories" else {}),
        }

    def subject_key(self, subject: str) -> dict:
        """``subject`` is a recording's label (a file may label its subject otherwise than the scenario does)."""
        labels = [rec.subject for rec in self.recordings()]  # read in the order of the files
        if subject not in labels:
            raise ValueError(f"no recording of subject {subject!r} in {self.name}; its recordings are of {labels}.")
        file = list(self._checksums.values())[labels.index(subject)]
        return {**self.key(), "files": None, "subject": subject, "file": file}

    def load(self) -> tuple[Recording | SentenceRecording, ...]:
        if self.name == "natural_stories":
            return tuple(natural_stories.load(self.data_dir, s, self.tr, bad_voxels=self.bad_voxels) for s in self.files)
        return tuple(LOADERS[self.name].load(path, self.bad_voxels) for path in self.files.values())


@dataclass(frozen=True)
class SimulatedDataset(Dataset):
    """The simulated reading experiment (:mod:`helpers.data.simulate`).

    ``driver()`` returns the planted feature vector of every word
    occurrence (fixation marks excluded) and a dict of provenance for the
    recordings' ``info``; ``driver_key()`` identifies it for cache keys
    (both are called only when needed: the stimulus needs neither).
    """

    design: str = "reading"
    seed: int = 0
    n_subjects: int = 4
    n_voxels: int = 2000
    n_runs: int = 4
    snr: float = 0.5
    driver: Callable[[], tuple[np.ndarray, dict]] | None = None
    driver_key: Callable[[], dict] | None = None
    name: str = "simulated"

    @cached_property
    def schedule(self) -> S.Schedule:
        return S.reading_schedule(S.load_story().paragraphs, self.n_runs)

    def stimulus(self) -> np.ndarray:
        return self.schedule.items

    def item_runs(self) -> np.ndarray:
        sched = self.schedule
        return sched.runs[np.searchsorted(sched.tr_times, sched.onsets, side="right") - 1]

    def item_times(self) -> np.ndarray:
        return S.event_times(self.schedule) if self.design == "events" else self.schedule.onsets

    def key(self) -> dict:
        return {
            "dataset": self.name,
            "simulator": S.SIMULATOR_VERSION,
            "planted": self.driver_key() if self.driver_key is not None else None,
            "design": self.design, "seed": self.seed, "n_voxels": self.n_voxels, "n_runs": self.n_runs, "snr": self.snr,
        }

    def subject_key(self, subject: str) -> dict:
        return {**self.key(), "subject": subject}

    def load(self) -> tuple[Recording, ...]:
        if self.driver is None:
            raise ValueError("a SimulatedDataset needs a driver (the planted features) to simulate recordings.")
        driver, info = self.driver()
        simulate = S.simulate_reading if self.design == "reading" else S.simulate_events
        return tuple(simulate(self.schedule, driver, n_subjects=self.n_subjects, n_voxels=self.n_voxels,
                              snr=self.snr, seed=self.seed, info={**info, "story": S.load_story().title}))


def same_stimulus(name: str, recs: tuple) -> tuple:
    """The recordings, after checking that every subject saw the same items."""
    first = recs[0].stimulus
    for rec in recs[1:]:
        if not np.array_equal(rec.stimulus, first):
            raise ValueError(
                f"{name}: subject {rec.subject} saw other words than subject {recs[0].subject}; the book computes "
                "one set of language-model features per scenario, so run such subjects as separate scenarios "
                "(subjects: [...])."
            )
    return recs


def _subject_number(subject: str) -> int:
    try:
        return int(subject)
    except ValueError:
        raise ValueError(f"Harry Potter subjects are numbers 1-8, got {subject!r}.") from None
