"""Every dataset behind one interface, each one class in one registry.

A :class:`Dataset` answers four questions, whatever the data are:

* :meth:`~Dataset.stimulus`: every item shown, in order (the same for every
  subject, since language-model features are computed once per scenario);
* :meth:`~Dataset.item_runs` and :meth:`~Dataset.item_times`: the run and
  the time of every item (sentence datasets: one run, and the sentence's
  number as its "time", so a blocked split keeps sentences together);
* :meth:`~Dataset.recordings`: every subject's recording;
* :meth:`~Dataset.key` and :meth:`~Dataset.subject_key`: what identifies
  the recordings, for cache keys.

A dataset class also says what it is: ``name`` (what a scenario's
``dataset`` field says), ``options`` (the scenario fields it reads: it is
built as ``cls(**those fields)``), ``word_timing`` (each word has an onset;
False: one response per sentence) and ``planted`` (its recordings are
simulated from a language model's hidden states, which the run stage hands
in as ``driver``). :func:`register` adds a class to :data:`DATASETS`; the
later stages look a dataset up there and never ask its name.

The real datasets (:class:`FileDataset`) are read from files by their own
loaders: :class:`HarryPotter` (:mod:`helpers.data.harry_potter`,
``subject_{1..8}.mat``, downloaded when ``download`` is true),
:class:`Pereira` (:mod:`helpers.data.pereira`, placed by hand) and
:class:`NaturalStories` (:mod:`helpers.data.natural_stories`, one
``<subject>.mat`` per subject). Results derived from them are keyed by the
files' SHA-256 and the loader's version, so neither a replaced file nor a
loader fix ever meets results computed before it. :class:`Simulated` is the
simulated reading experiment (:mod:`helpers.data.simulate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np

from . import harry_potter, natural_stories, pereira
from . import simulate as S
from .files import tree_sha256
from .recording import Recording, SentenceRecording

DATASETS: dict[str, type[Dataset]] = {}
DEFAULT = "simulated"  # the dataset of a scenario that names none


def register(cls: type[Dataset]) -> type[Dataset]:
    """Add a dataset class to :data:`DATASETS` under its ``name`` (usable as a class decorator)."""
    if not getattr(cls, "name", None):
        raise ValueError(f"dataset class {cls.__name__} needs a name (a class attribute).")
    if cls.name in DATASETS and DATASETS[cls.name].__qualname__ != cls.__qualname__:
        raise ValueError(f"a dataset named {cls.name!r} is registered already ({DATASETS[cls.name].__name__}).")
    DATASETS[cls.name] = cls
    return cls


def get(name: str) -> type[Dataset]:
    """The dataset class registered as ``name``; an unknown name is an error that lists the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {tuple(DATASETS)} (a dataset of your own "
                         "registers with helpers.data.datasets.register, in a file named in the scenario's plugins).") from None


class Dataset:
    """The interface every dataset offers (see the module docstring)."""

    name: ClassVar[str] = ""
    options: ClassVar[tuple[str, ...]] = ()
    word_timing: ClassVar[bool] = True
    planted: ClassVar[bool] = False
    # Recordings that are computed, not read (a simulation): the run stage keeps them in its cache, so that each
    # process reads them back instead of computing them again. Read ones are read again from their files.
    kept: ClassVar[bool] = False

    def recordings(self) -> tuple[Recording | SentenceRecording, ...]:
        """Every subject's recording, read (or simulated) once per dataset object."""
        return self._recordings

    def recorded_subjects(self) -> tuple[str, ...]:
        """The subjects' names as their recordings carry them, in the order of :meth:`recordings` (here: read
        from them; a dataset that knows them without reading says so more cheaply)."""
        return tuple(rec.subject for rec in self.recordings())

    @cached_property
    def _recordings(self) -> tuple[Recording | SentenceRecording, ...]:
        return same_stimulus(self.name, self.load())

    def load(self) -> tuple[Recording | SentenceRecording, ...]:
        raise NotImplementedError

    def key(self) -> dict:
        raise NotImplementedError

    def subject_key(self, subject: str) -> dict:
        raise NotImplementedError

    def check_available(self) -> None:
        """Raise FileNotFoundError, saying where to get them, if the files to read are not on this machine
        (nothing is loaded or downloaded; files the dataset downloads itself are not missing)."""

    def stimulus(self) -> np.ndarray:
        return self.recordings()[0].stimulus

    def item_runs(self) -> np.ndarray:
        return self.recordings()[0].item_runs()

    def item_times(self) -> np.ndarray:
        return self.recordings()[0].item_times()


@dataclass(frozen=True)
class FileDataset(Dataset):
    """A dataset read from files in ``data_dir`` by its loader module (its ``LOADER_VERSION`` and ``load(path, bad_voxels)``).

    ``subjects`` empty means every subject the dataset has. A subclass says
    how subjects and files are found (:meth:`subject_names`, :meth:`find_files`)
    and may add loader arguments (:meth:`load_file`) and key fields
    (:meth:`more_key`).
    """

    loader: ClassVar = None
    options: ClassVar[tuple[str, ...]] = ("data_dir", "subjects", "download", "bad_voxels")

    data_dir: str = "data"
    subjects: tuple[str, ...] = ()
    download: bool = False
    bad_voxels: str = "drop"

    def subject_names(self) -> tuple[str, ...]:
        """The subjects to read: those chosen, or every subject the dataset has."""
        return tuple(str(s) for s in self.subjects) or self.every_subject()

    def every_subject(self) -> tuple[str, ...]:
        raise NotImplementedError

    def find_files(self, names: tuple[str, ...]) -> dict[str, Path]:
        raise NotImplementedError

    def load_file(self, subject: str, path: Path) -> Recording | SentenceRecording:
        return self.loader.load(path, self.bad_voxels)

    def more_key(self) -> dict:
        return {}

    @property
    def loader_version(self) -> int:
        """Bumped when a change of the loader alters what it returns; part of every key."""
        return self.loader.LOADER_VERSION

    @cached_property
    def files(self) -> dict[str, Path]:
        """Subject -> the file it is read from; downloaded first if ``download``."""
        return self.find_files(self.subject_names())

    def check_available(self) -> None:
        if not self.download:
            self.files

    @cached_property
    def _checksums(self) -> dict[str, str]:
        return {subject: tree_sha256(path) for subject, path in self.files.items()}

    def key(self) -> dict:
        return {"dataset": self.name, "loader": self.loader_version, "files": self._checksums,
                "bad_voxels": self.bad_voxels, **self.more_key()}

    def subject_key(self, subject: str) -> dict:
        """``subject`` is a recording's label (a file may label its subject otherwise than the scenario does)."""
        labels = [rec.subject for rec in self.recordings()]  # read in the order of the files
        if subject not in labels:
            raise ValueError(f"no recording of subject {subject!r} in {self.name}; its recordings are of {labels}.")
        file = list(self._checksums.values())[labels.index(subject)]
        return {**self.key(), "files": None, "subject": subject, "file": file}

    def load(self) -> tuple[Recording | SentenceRecording, ...]:
        return tuple(self.load_file(subject, path) for subject, path in self.files.items())


@register
@dataclass(frozen=True)
class HarryPotter(FileDataset):
    """Wehbe et al. (2014): eight subjects reading a chapter of Harry Potter word by word, ``subject_{1..8}.mat``."""

    name: ClassVar[str] = "harry_potter"
    loader: ClassVar = harry_potter

    def every_subject(self) -> tuple[str, ...]:
        return tuple(str(n) for n in harry_potter.SUBJECTS)

    def find_files(self, names: tuple[str, ...]) -> dict[str, Path]:
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


@register
@dataclass(frozen=True)
class Pereira(FileDataset):
    """Pereira et al. (2018): one response per sentence, experiment 2 or 3, placed by hand."""

    name: ClassVar[str] = "pereira"
    loader: ClassVar = pereira
    options: ClassVar[tuple[str, ...]] = FileDataset.options + ("experiment",)
    word_timing: ClassVar[bool] = False

    experiment: int = 2

    def every_subject(self) -> tuple[str, ...]:
        return tuple(pereira.SUBJECTS[self.experiment])

    def find_files(self, names: tuple[str, ...]) -> dict[str, Path]:
        return dict(zip(names, pereira.fetch(self.data_dir, self.experiment, names)))


@register
@dataclass(frozen=True)
class NaturalStories(FileDataset):
    """Natural Stories fMRI: one ``<subject>.mat`` per subject in ``data_dir``, TR ``tr`` seconds."""

    name: ClassVar[str] = "natural_stories"
    loader: ClassVar = natural_stories
    options: ClassVar[tuple[str, ...]] = FileDataset.options + ("tr",)

    tr: float = 2.0

    def every_subject(self) -> tuple[str, ...]:
        return natural_stories.subjects(self.data_dir)

    def find_files(self, names: tuple[str, ...]) -> dict[str, Path]:
        return natural_stories.files(self.data_dir, names)

    def load_file(self, subject: str, path: Path) -> Recording:
        return natural_stories.load(self.data_dir, subject, self.tr, bad_voxels=self.bad_voxels)

    def more_key(self) -> dict:
        return {"tr": self.tr}


@register
@dataclass(frozen=True)
class Simulated(Dataset):
    """The simulated reading experiment (:mod:`helpers.data.simulate`).

    ``driver()`` returns the planted feature vector of every word
    occurrence (fixation marks excluded) and a dict of provenance for the
    recordings' ``info``; ``driver_key()`` identifies it for cache keys
    (both are called only when needed: the stimulus needs neither).
    """

    name: ClassVar[str] = "simulated"
    options: ClassVar[tuple[str, ...]] = ("design", "seed", "n_subjects", "n_voxels", "n_runs", "snr")
    planted: ClassVar[bool] = True
    kept: ClassVar[bool] = True

    design: str = "reading"
    seed: int = 0
    n_subjects: int = 4
    n_voxels: int = 2000
    n_runs: int = 4
    snr: float = 0.5
    driver: Callable[[], tuple[np.ndarray, dict]] | None = None
    driver_key: Callable[[], dict] | None = None

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

    def recorded_subjects(self) -> tuple[str, ...]:
        return tuple(S.subject_name(s) for s in range(self.n_subjects))  # known without simulating

    def load(self) -> tuple[Recording, ...]:
        if self.driver is None:
            raise ValueError("a Simulated dataset needs a driver (the planted features) to simulate recordings.")
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
