"""What a recording is: one subject's fMRI time series and the words they read.

Every dataset loader and the simulator return a :class:`Recording`; every
later step (smoothing, alignment) reads only this structure. Sentence-level
datasets, whose words are not time-locked, give a :class:`SentenceRecording`
instead. Validation happens once, here, so that a bad file fails with one
clear message at the boundary instead of a confusing error deep inside an
analysis.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import words as W


@dataclass(frozen=True)
class Recording:
    """One subject's fMRI recording during a word-by-word reading experiment.

    Attributes
    ----------
    dataset, subject : str
        Where the recording comes from (``"simulated"``, ``"harry_potter"``, ...)
        and the subject's label.
    words : array of str, shape (n_words,)
        Every item shown on screen, in order, non-words such as ``"+"``
        included (they are dropped after smoothing, see :mod:`helpers.data.words`).
    onsets : array of float, shape (n_words,)
        Onset of each item in seconds from the start of the experiment.
    tr_times : array of float, shape (n_trs,)
        Start time of each fMRI volume (TR) in seconds.
    runs : array of int, shape (n_trs,)
        Run number of each TR.
    data : array of float32, shape (n_trs, n_voxels)
        The BOLD signal.
    tr : float
        Repetition time in seconds.
    voxel_mni : array of float, shape (n_voxels, 3), optional
        MNI coordinates (mm) of each voxel, for brain plots.
    voxel_regions : array of str, shape (n_voxels,), optional
        Atlas label of each voxel.
    simulated : bool
        True for data made by :mod:`helpers.data.simulate`; the book labels such
        figures as simulated.
    info : dict
        Free-form provenance (what was planted, the file it came from, ...).
    """

    dataset: str
    subject: str
    words: np.ndarray
    onsets: np.ndarray
    tr_times: np.ndarray
    runs: np.ndarray
    data: np.ndarray
    tr: float
    voxel_mni: np.ndarray | None = None
    voxel_regions: np.ndarray | None = None
    simulated: bool = False
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"recording {self.dataset}/{self.subject}"
        words = np.asarray(self.words, dtype=str)
        onsets = np.asarray(self.onsets, dtype=np.float64)
        tr_times = np.asarray(self.tr_times, dtype=np.float64)
        runs = np.asarray(self.runs)
        data = np.asarray(self.data)
        if words.ndim != 1 or onsets.ndim != 1:
            raise ValueError(f"{where}: words and onsets must be 1-D, got shapes {words.shape} and {onsets.shape}.")
        if len(words) != len(onsets):
            raise ValueError(
                f"{where}: words and onsets have different lengths ({len(words)} vs {len(onsets)}); "
                "each word needs exactly one onset time."
            )
        if len(words) == 0:
            raise ValueError(f"{where}: no words; a recording needs the words that were shown.")
        if not np.all(np.isfinite(onsets)):
            raise ValueError(f"{where}: word onsets contain NaN or infinite values.")
        if np.any(np.diff(onsets) < 0):
            bad = int(np.flatnonzero(np.diff(onsets) < 0)[0]) + 1
            raise ValueError(f"{where}: word onsets must be in time order; word {bad} ({str(words[bad])!r}) starts before the word before it.")
        if data.ndim != 2:
            raise ValueError(f"{where}: data must be 2-D (n_trs, n_voxels), got shape {data.shape}.")
        if tr_times.shape != (data.shape[0],) or runs.shape != (data.shape[0],):
            raise ValueError(
                f"{where}: tr_times {tr_times.shape} and runs {runs.shape} must both have one entry per TR "
                f"(data has {data.shape[0]} TRs)."
            )
        if np.any(np.diff(tr_times) <= 0):
            raise ValueError(f"{where}: TR times must be strictly increasing.")
        if not np.isfinite(self.tr) or self.tr <= 0:
            raise ValueError(f"{where}: tr must be a positive number of seconds, got {self.tr!r}.")
        _check_voxels(where, data, self.voxel_mni, self.voxel_regions)
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "onsets", onsets)
        object.__setattr__(self, "tr_times", tr_times)
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "data", data.astype(np.float32, copy=False))

    @property
    def n_trs(self) -> int:
        return self.data.shape[0]

    @property
    def n_voxels(self) -> int:
        return self.data.shape[1]

    @property
    def stimulus(self) -> np.ndarray:
        """Every item shown, in order, non-words included (the interface shared with :class:`SentenceRecording`)."""
        return self.words

    def item_times(self) -> np.ndarray:
        """Onset (s) of every item of :attr:`stimulus`."""
        return self.onsets

    def item_runs(self) -> np.ndarray:
        """Run of every item of :attr:`stimulus` (:meth:`word_runs`)."""
        return self.word_runs()

    def word_runs(self) -> np.ndarray:
        """Run of each word: the run of the TR during which the word starts."""
        index = np.searchsorted(self.tr_times, self.onsets, side="right") - 1
        if np.any(index < 0) or np.any(self.onsets >= self.tr_times[-1] + self.tr):
            bad = int(np.flatnonzero((index < 0) | (self.onsets >= self.tr_times[-1] + self.tr))[0])
            raise ValueError(
                f"recording {self.dataset}/{self.subject}: word {bad} ({str(self.words[bad])!r}, onset {self.onsets[bad]:.2f} s) "
                "falls outside the scanned period."
            )
        return self.runs[index]

    def run_table(self):
        """Timing per run: TRs, the span they cover, the words shown and when the first and last start."""
        import pandas as pd

        word_runs = self.word_runs()
        rows = []
        for run in np.unique(self.runs):
            trs, onsets = self.tr_times[self.runs == run], self.onsets[word_runs == run]
            rows.append({
                "run": run, "n_trs": len(trs), "first_tr_s": trs[0], "end_s": trs[-1] + self.tr,
                "n_items": len(onsets),
                "first_item_s": onsets[0] if len(onsets) else np.nan, "last_item_s": onsets[-1] if len(onsets) else np.nan,
                "median_step_s": float(np.median(np.diff(onsets))) if len(onsets) > 1 else np.nan,
            })
        return pd.DataFrame(rows).set_index("run")

    def summary(self) -> dict:
        """A few numbers that describe the recording, for tables in the book."""
        return {
            "dataset": self.dataset,
            "subject": self.subject,
            "simulated": self.simulated,
            "n_words_shown": len(self.words),
            "n_trs": self.n_trs,
            "n_runs": len(np.unique(self.runs)),
            "n_voxels": self.n_voxels,
            "tr_s": self.tr,
            "duration_s": float(self.tr_times[-1] + self.tr - self.tr_times[0]),
        }


@dataclass(frozen=True)
class SentenceRecording:
    """One subject's responses to whole sentences (one brain image per sentence).

    In sentence-level designs such as Pereira et al. (2018) words are not
    time-locked: each sentence has one response, estimated over the time it
    was on screen. See :meth:`item_sentences` for the rule that gives words
    a brain vector.

    Attributes
    ----------
    dataset, subject : str
        Where the recording comes from and the subject's label.
    sentences : array of str, shape (n_sentences,)
        The sentences as shown, in the order of the rows of ``data``.
    data : array of float32, shape (n_sentences, n_voxels)
        The response of every voxel to every sentence.
    voxel_mni : array of float, shape (n_voxels, 3), optional
        MNI coordinates (mm) of each voxel.
    voxel_regions : array of str, shape (n_voxels,), optional
        Atlas label of each voxel.
    simulated : bool
        True for simulated data, which the book labels as such.
    info : dict
        Free-form provenance (the file it came from, voxels dropped, ...).
    """

    dataset: str
    subject: str
    sentences: np.ndarray
    data: np.ndarray
    voxel_mni: np.ndarray | None = None
    voxel_regions: np.ndarray | None = None
    simulated: bool = False
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"sentence recording {self.dataset}/{self.subject}"
        sentences = np.asarray(self.sentences, dtype=str)
        data = np.asarray(self.data)
        if sentences.ndim != 1 or len(sentences) == 0:
            raise ValueError(f"{where}: sentences must be a non-empty 1-D array of str, got shape {sentences.shape}.")
        if data.ndim != 2 or data.shape[0] != len(sentences):
            raise ValueError(
                f"{where}: data must have one row per sentence, shape ({len(sentences)}, n_voxels); got shape {data.shape}."
            )
        _check_voxels(where, data, self.voxel_mni, self.voxel_regions)
        object.__setattr__(self, "sentences", sentences)
        object.__setattr__(self, "data", data.astype(np.float32, copy=False))

    @property
    def n_voxels(self) -> int:
        return self.data.shape[1]

    @property
    def stimulus(self) -> np.ndarray:
        """Every word of the sentences, in order (sentences split on white space, non-words dropped)."""
        return self._items()[0]

    def item_sentences(self) -> np.ndarray:
        """Row of ``data`` (index into ``sentences``) of every item of :attr:`stimulus`.

        The rule for brain vectors of words in a sentence-level design: a word
        occurrence's brain vector is its sentence's response,
        ``data[item_sentences()]``; a word type's vector is then the mean over
        the sentences it occurs in (a sentence counts once per occurrence of
        the word in it).
        """
        return self._items()[1]

    def item_times(self) -> np.ndarray:
        """The sentence number of every item: sentences have no word timing, so a blocked split counts sentences."""
        return self.item_sentences().astype(np.float64)

    def item_runs(self) -> np.ndarray:
        """All items in one run."""
        return np.zeros(len(self.stimulus), dtype=np.int64)

    def _items(self) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(item, s) for s, text in enumerate(self.sentences) for item in text.split() if W.is_word(item)]
        return np.array([item for item, _ in pairs], dtype=str), np.array([s for _, s in pairs], dtype=np.int64)

    def summary(self) -> dict:
        """A few numbers that describe the recording, for tables in the book."""
        return {
            "dataset": self.dataset,
            "subject": self.subject,
            "simulated": self.simulated,
            "n_sentences": len(self.sentences),
            "n_voxels": self.n_voxels,
        }


def _check_voxels(where: str, data: np.ndarray, voxel_mni, voxel_regions) -> None:
    """Finite data, and voxel coordinates and labels of the right shapes."""
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{where}: data contain NaN or infinite values; remove those voxels before building a Recording.")
    n_voxels = data.shape[1]
    if voxel_mni is not None and np.shape(voxel_mni) != (n_voxels, 3):
        raise ValueError(f"{where}: voxel_mni must have shape ({n_voxels}, 3), got {np.shape(voxel_mni)}.")
    if voxel_regions is not None and np.shape(voxel_regions) != (n_voxels,):
        raise ValueError(f"{where}: voxel_regions must have shape ({n_voxels},), got {np.shape(voxel_regions)}.")


BAD_VOXELS = ("drop", "error")


def screen_voxels(data: np.ndarray, policy: str, where: str) -> tuple[np.ndarray, dict]:
    """Find voxels (columns) with NaN or infinite values, or the same value in every row.

    Such voxels carry no signal and break correlations and z-scoring, so
    loaders deal with them before building a recording.

    Parameters
    ----------
    data : array, shape (n_samples, n_voxels)
    policy : {"drop", "error"}
        ``"drop"``: return the mask of voxels to keep (and warn if any go);
        ``"error"``: raise if there is any bad voxel.
    where : str
        The file or recording, for messages.

    Returns
    -------
    keep : array of bool, shape (n_voxels,)
    note : dict
        For the recording's ``info``: counts and 0-based column indices of
        the voxels dropped (empty if none).
    """
    if policy not in BAD_VOXELS:
        raise ValueError(f"bad_voxels must be one of {BAD_VOXELS}, got {policy!r}.")
    not_finite = ~np.isfinite(data).all(axis=0)
    with np.errstate(invalid="ignore"):  # inf - inf in columns already counted as not finite
        constant = ~not_finite & (np.ptp(data, axis=0) == 0)
    if not (not_finite.any() or constant.any()):
        return np.ones(data.shape[1], dtype=bool), {}
    counts = f"{int(not_finite.sum())} voxels with NaN or infinite values and {int(constant.sum())} constant voxels"
    if policy == "error":
        raise ValueError(f"{where}: {counts} (of {data.shape[1]}). Load with bad_voxels='drop' to leave them out.")
    warnings.warn(f"{where}: dropped {counts} (of {data.shape[1]}); see the recording's info['dropped_voxels'].", stacklevel=3)
    note = {
        "dropped_voxels": {
            "n_not_finite": int(not_finite.sum()),
            "n_constant": int(constant.sum()),
            "not_finite_columns": np.flatnonzero(not_finite).tolist(),
            "constant_columns": np.flatnonzero(constant).tolist(),
        }
    }
    return ~(not_finite | constant), note


def save(rec: Recording | SentenceRecording, path) -> None:
    """Write a recording to one ``.npz`` file at ``path``: its arrays as arrays, every other field (the
    dataset, the subject, ``tr``, ``simulated``, ``info``) as JSON, nothing pickled. :func:`load` reads it."""
    arrays, plain = {}, {"kind": type(rec).__name__}
    for f in dataclasses.fields(rec):
        value = getattr(rec, f.name)
        if isinstance(value, np.ndarray):
            arrays[f.name] = value
        elif value is not None:
            plain[f.name] = value
    with open(path, "wb") as out:
        np.savez(out, plain=np.array(json.dumps(plain)), **arrays)


def load(path) -> Recording | SentenceRecording:
    """The recording :func:`save` wrote to ``path``, validated as a new one would be."""
    with np.load(path, allow_pickle=False) as stored:
        plain = json.loads(str(stored["plain"]))
        arrays = {name: stored[name] for name in stored.files if name != "plain"}
    kind = {cls.__name__: cls for cls in (Recording, SentenceRecording)}[plain.pop("kind")]
    return kind(**plain, **arrays)
