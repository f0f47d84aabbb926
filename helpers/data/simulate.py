"""The simulated reading experiment: a recording with a known ground truth.

Real fMRI data cannot be bundled with the book, so its default figures come
from a simulation of the Harry Potter protocol (Wehbe et al. 2014):

* the project's own story (``data/story.txt``, CC0) is shown one word every
  0.5 s, split into runs that start with 20 s and end with about 10 s of rest,
  with a fixation mark ``+`` between paragraphs; TR = 2 s;
* each word occurrence drives the voxels through a *planted* feature vector,
  the hidden state of a chosen layer of a chosen language model for that
  occurrence (centred, one global scale), plus a response to every item shown
  (the visual onset of a word or a fixation mark);
* per-subject voxel weights share a component across subjects; about half of
  the voxels respond to language at all, those nearest to (mostly left)
  language areas, the rest are pure noise;
* responses are convolved with the canonical (Glover) HRF at the 0.5 s word
  rate within each run, averaged over each TR, scaled to unit variance per
  voxel and mixed with AR(1) noise plus a slow drift at a chosen signal-to-
  noise ratio (a ratio of variances; 0 gives pure noise);
* voxels sit at grey-matter positions of the MNI152 template (3 mm), so brain
  plots work.

Everything is determined by the seed. :func:`simulate_events` gives the same
items and driver with one response per item and no temporal overlap, the
control design in which nothing mixes neighbouring words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.signal import lfilter

from .recording import Recording
from .words import word_mask

WORD_S = 0.5
TR_S = 2.0
REST_START_S = 20.0
REST_END_S = 10.0
FIXATION = "+"
DESIGNS = ("reading", "events")  # words every 0.5 s with the HRF, or one sample per item
EVENT_S = 10.0  # the event design: one sample of this length per item
SIMULATOR_VERSION = 1  # bump when a change alters the simulated recordings


@dataclass(frozen=True)
class Story:
    title: str
    license: str
    paragraphs: list[list[str]]

    @property
    def n_words(self) -> int:
        return sum(len(p) for p in self.paragraphs)


def load_story() -> Story:
    """The project's story: a title, its licence and its paragraphs as lists of words."""
    text = resources.files("helpers.data").joinpath("story.txt").read_text(encoding="utf-8")
    header = dict(line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# "))
    body = [line for line in text.splitlines() if not line.startswith("#")]
    paragraphs = [line.split() for line in body if line.strip()]
    return Story(header["title"], header["license"], paragraphs)


@dataclass(frozen=True)
class Schedule:
    """What was shown when: items (words and fixation marks), onsets, TRs and runs."""

    items: np.ndarray
    onsets: np.ndarray
    tr_times: np.ndarray
    runs: np.ndarray
    tr: float = TR_S


def reading_schedule(paragraphs: list[list[str]], n_runs: int = 4) -> Schedule:
    """Lay the paragraphs out in time, RSVP at 0.5 s a word, over ``n_runs`` runs.

    Paragraphs stay whole; runs get about equal numbers of words. The clock
    runs on across runs (as in the Harry Potter files).
    """
    if not 1 <= n_runs <= len(paragraphs):
        raise ValueError(f"n_runs must be between 1 and the number of paragraphs ({len(paragraphs)}), got {n_runs}.")
    sizes = np.array([len(p) for p in paragraphs])
    boundaries = np.searchsorted(np.cumsum(sizes), np.arange(1, n_runs) * sizes.sum() / n_runs)
    boundaries = np.unique(np.clip(boundaries + 1, 1, len(paragraphs) - 1))
    groups = np.split(np.arange(len(paragraphs)), boundaries)
    items, onsets, tr_times, runs = [], [], [], []
    clock = 0.0
    for run, group in enumerate(groups):
        run_start = clock
        t = run_start + REST_START_S
        for position, p in enumerate(group):
            if position > 0:
                items.append(FIXATION)
                onsets.append(t)
                t += WORD_S
            for word in paragraphs[p]:
                items.append(word)
                onsets.append(t)
                t += WORD_S
        n_trs = int(np.ceil((t + REST_END_S - run_start) / TR_S))
        tr_times.extend(run_start + TR_S * np.arange(n_trs))
        runs.extend([run] * n_trs)
        clock = run_start + n_trs * TR_S
    return Schedule(np.array(items), np.array(onsets), np.array(tr_times), np.array(runs))


def voxel_positions(n_voxels: int, rng: np.random.Generator) -> np.ndarray:
    """MNI coordinates (mm) of ``n_voxels`` distinct grey-matter voxels of the 3 mm template."""
    ijk, affine = _grey_matter()
    if n_voxels > len(ijk):
        raise ValueError(f"n_voxels must be at most {len(ijk)} (grey-matter voxels at 3 mm), got {n_voxels}.")
    chosen = np.sort(rng.choice(len(ijk), size=n_voxels, replace=False))
    xyz1 = np.c_[ijk[chosen], np.ones(n_voxels)] @ affine.T
    return xyz1[:, :3]


@lru_cache(maxsize=1)
def _grey_matter() -> tuple[np.ndarray, np.ndarray]:
    """The grey-matter voxels of the 3 mm MNI template (their indices) and its affine, read once per process:
    nilearn resamples the template on every call, most of the time of simulating one recording."""
    from nilearn.datasets import load_mni152_gm_mask

    mask = load_mni152_gm_mask(resolution=3)
    ijk, affine = np.argwhere(mask.get_fdata() > 0), np.asarray(mask.affine)
    ijk.flags.writeable = affine.flags.writeable = False
    return ijk, affine


# Rough MNI centres (mm) of the language network: temporal, inferior frontal and
# angular gyrus, left then right; right-hemisphere centres count as 15 mm farther.
LANGUAGE_CENTRES = np.array([[-56, -20, 0], [-48, 22, 10], [-45, -62, 28], [56, -20, 0], [48, 22, 10], [45, -62, 28]])
REGION_NAMES = ("left temporal", "left inferior frontal", "left angular", "right temporal", "right inferior frontal", "right angular")
REGION_RADIUS_MM = 20.0
_RIGHT_PENALTY_MM = 15.0


def voxel_regions(positions: np.ndarray) -> np.ndarray:
    """The simulation's own region labels: the nearest language centre within ``REGION_RADIUS_MM``, else "elsewhere".

    Real recordings carry atlas (AAL) labels; these coarse labels only let the
    same plots run on simulated voxels.
    """
    distance = np.linalg.norm(positions[:, None, :] - LANGUAGE_CENTRES[None], axis=2)
    nearest = distance.argmin(axis=1)
    return np.where(distance.min(axis=1) <= REGION_RADIUS_MM, np.array(REGION_NAMES)[nearest], "elsewhere")


def responsive_voxels(positions: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Mask of the voxels that respond to language: the ``fraction`` closest to the language areas (with jitter)."""
    distance = np.linalg.norm(positions[:, None, :] - LANGUAGE_CENTRES[None], axis=2)
    distance[:, 3:] += _RIGHT_PENALTY_MM
    score = distance.min(axis=1) + rng.normal(0, 10.0, len(positions))
    return score <= np.quantile(score, fraction) if fraction > 0 else np.zeros(len(positions), dtype=bool)


def _hrf_by_run(signal_grid: np.ndarray, grid_runs: np.ndarray) -> np.ndarray:
    from nilearn.glm.first_level import glover_hrf

    hrf = glover_hrf(t_r=WORD_S, oversampling=1, time_length=32.0)
    out = np.empty_like(signal_grid)
    for run in np.unique(grid_runs):
        rows = grid_runs == run
        out[rows] = lfilter(hrf, [1.0], signal_grid[rows], axis=0)
    return out


def _noise(n_trs: int, n_voxels: int, runs: np.ndarray, rng: np.random.Generator, ar: float, drift_share: float) -> np.ndarray:
    """Unit-variance noise: AR(1) plus a slow drift (random low-frequency cosines per run)."""
    white = rng.standard_normal((n_trs, n_voxels))
    noise = lfilter([np.sqrt(1 - ar**2)], [1.0, -ar], white, axis=0)
    drift = np.zeros_like(noise)
    for run in np.unique(runs):
        rows = np.flatnonzero(runs == run)
        t = np.linspace(0, 1, len(rows))
        basis = np.stack([np.cos(np.pi * f * t) for f in (1, 2, 3)], axis=1)
        drift[rows] = basis @ rng.standard_normal((3, n_voxels)) / np.sqrt(1.5)
    return np.sqrt(1 - drift_share) * noise + np.sqrt(drift_share) * drift


def simulate_reading(
    schedule: Schedule,
    driver: np.ndarray,
    n_subjects: int = 4,
    n_voxels: int = 2000,
    snr: float = 1.0,
    seed: int = 0,
    shared_fraction: float = 0.5,
    responsive_fraction: float = 0.5,
    onset_weight: float = 0.3,
    ar: float = 0.3,
    drift_share: float = 0.2,
    info: dict | None = None,
) -> list[Recording]:
    """Simulated recordings of ``n_subjects`` reading the schedule.

    Parameters
    ----------
    schedule : Schedule
        From :func:`reading_schedule`.
    driver : array, shape (n_words, n_features)
        The planted feature vector of every word (fixation marks excluded),
        in order of the schedule.
    snr : float
        Variance of the signal over variance of the noise in responsive
        voxels; 0 gives pure noise.
    shared_fraction : float
        Share of the voxel-weight variance common to all subjects.
    responsive_fraction : float
        Share of voxels that respond to the words at all.
    onset_weight : float
        Relative size of the response to every item shown, beside the
        planted features.
    ar, drift_share : float
        AR(1) coefficient of the noise, and the share of its variance in a
        slow drift.
    info : dict, optional
        Provenance stored in every recording (what was planted).
    """
    features, is_word = _standardised(schedule, driver)
    n_features = features.shape[1]
    # All items on the 0.5 s grid, then the HRF, then TR averages.
    t0 = schedule.tr_times[0]
    per_tr = int(round(schedule.tr / WORD_S))
    n_grid = len(schedule.tr_times) * per_tr
    grid_runs = np.repeat(schedule.runs, per_tr)
    slot = np.rint((schedule.onsets - t0) / WORD_S).astype(int)
    grid = np.zeros((n_grid, n_features + 1))
    grid[slot[is_word], :n_features] = features
    grid[slot, n_features] = 1.0
    bold = _hrf_by_run(grid, grid_runs).reshape(len(schedule.tr_times), per_tr, -1).mean(axis=1)
    return _subjects(
        bold, schedule.items, schedule.onsets, schedule.tr_times, schedule.runs, schedule.tr,
        n_subjects, n_voxels, snr, seed, shared_fraction, responsive_fraction, onset_weight, ar, drift_share,
        {**(info or {}), "design": "reading"},
    )


def event_times(schedule: Schedule, event_s: float = EVENT_S) -> np.ndarray:
    """Onset of every item in the event design: one sample of ``event_s`` seconds each, back to back."""
    if not event_s > 0:
        raise ValueError(f"event_s must be a positive number of seconds, got {event_s!r}.")
    return event_s * np.arange(len(schedule.items))


def simulate_events(
    schedule: Schedule,
    driver: np.ndarray,
    event_s: float = EVENT_S,
    n_subjects: int = 4,
    n_voxels: int = 2000,
    snr: float = 1.0,
    seed: int = 0,
    shared_fraction: float = 0.5,
    responsive_fraction: float = 0.5,
    onset_weight: float = 0.3,
    info: dict | None = None,
) -> list[Recording]:
    """The same items and planted driver, but one response per item and no temporal overlap.

    As in a sentence-level design where each event is modelled on its own
    (Pereira et al. 2018), every item shown gets its own sample (a "TR" of
    ``event_s`` seconds starting at its onset) that holds the response to
    that item alone, plus white noise. There is no haemodynamic blur between
    words, so the word vector of an item is its own sample when smoothed with
    the ``within_run`` rule and a window that stays inside ``event_s`` (the
    default 4-8.5 s window does; the ``paper`` rule would take the next
    item's sample, see :mod:`helpers.brain.smoothing`). The other parameters are those of
    :func:`simulate_reading`; runs are kept.
    """
    times = event_times(schedule, event_s)
    features, is_word = _standardised(schedule, driver)
    n_features = features.shape[1]
    bold = np.zeros((len(schedule.items), n_features + 1))
    bold[is_word, :n_features] = features
    bold[:, n_features] = 1.0 + 0.1 * np.random.default_rng([seed, 7]).standard_normal(len(schedule.items))
    item_runs = schedule.runs[np.searchsorted(schedule.tr_times, schedule.onsets, side="right") - 1]
    return _subjects(
        bold, schedule.items, times, times, item_runs, event_s,
        n_subjects, n_voxels, snr, seed, shared_fraction, responsive_fraction, onset_weight, 0.0, 0.0,
        {**(info or {}), "design": "events"},
    )


def _standardised(schedule: Schedule, driver: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The planted features, centred with one global scale, and the word mask of the items."""
    is_word = word_mask(schedule.items)
    driver = np.asarray(driver, dtype=np.float64)
    if driver.ndim != 2 or driver.shape[0] != int(is_word.sum()):
        raise ValueError(f"driver must have shape (n_words={int(is_word.sum())}, n_features), got {driver.shape}.")
    features = driver - driver.mean(axis=0)
    return features / (features.std() or 1.0), is_word


def subject_name(index: int) -> str:
    """The name of the simulated subject ``index`` (0-based): sim-01, sim-02, ..."""
    return f"sim-{index + 1:02d}"


def _subjects(
    bold, items, onsets, tr_times, runs, tr,
    n_subjects, n_voxels, snr, seed, shared_fraction, responsive_fraction, onset_weight, ar, drift_share, info,
) -> list[Recording]:
    """Voxel weights, noise and the recordings, from the noise-free responses ``bold`` (samples x (features + onset))."""
    if not np.isfinite(snr) or snr < 0:
        raise ValueError(f"snr must be a finite number >= 0, got {snr!r}.")
    for name, value in (("shared_fraction", shared_fraction), ("responsive_fraction", responsive_fraction)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}.")
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be at least 1, got {n_subjects}.")
    n_features = bold.shape[1] - 1
    bold = bold.copy()
    bold[:, n_features] *= onset_weight * np.sqrt(n_features) / (bold[:, n_features].std() or 1.0)
    shared_rng = np.random.default_rng([seed, 1_000_003])
    positions = voxel_positions(n_voxels, shared_rng)
    regions = voxel_regions(positions)
    shared = shared_rng.standard_normal((n_features + 1, n_voxels))
    responsive = responsive_voxels(positions, responsive_fraction, shared_rng)
    recordings = []
    for s in range(n_subjects):
        rng = np.random.default_rng([seed, s])
        weights = np.sqrt(shared_fraction) * shared + np.sqrt(1 - shared_fraction) * rng.standard_normal(shared.shape)
        signal = bold @ weights
        signal = (signal - signal.mean(axis=0)) / signal.std(axis=0)
        noise = _noise(len(tr_times), n_voxels, runs, rng, ar, drift_share)
        data = np.sqrt(snr / (1 + snr)) * signal + np.sqrt(1 / (1 + snr)) * noise
        data[:, ~responsive] = noise[:, ~responsive]
        recordings.append(
            Recording(
                dataset="simulated",
                subject=subject_name(s),
                words=items,
                onsets=onsets,
                tr_times=tr_times,
                runs=runs,
                data=data.astype(np.float32),
                tr=tr,
                voxel_mni=positions,
                voxel_regions=regions,
                simulated=True,
                info={**info, "snr": snr, "seed": seed, "responsive_voxels": int(responsive.sum())},
            )
        )
    return recordings
