"""The inputs of every analysis, each cached by what determines it.

``scenario -> dataset (stimulus, runs, recordings) -> language-model
features -> word-level brain vectors``. Each step reads its inputs through
the steps before it, so a notebook can run on its own: whatever is missing
from the cache is computed, and nothing else. Every dataset answers the same
questions (:class:`helpers.data.datasets.Dataset`), so nothing here depends
on which dataset a scenario reads. On disk, results live in the scenario's
cache folder (:class:`~helpers.run.cache.Cache`); in memory, one copy of
each is kept per cache key (:data:`MEMORY`), however many scenario
variants ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..brain.reduction import pca
from ..brain.vectors import rows_used, word_vectors
from ..data import words as W
from ..data import datasets as D
from ..data import recording as R
from ..data.recording import Recording, SentenceRecording
from ..lm import models as M
from ..lm import storage, trivial
from ..lm.extraction import STORED
from ..lm.passages import check_options
from . import steps
from .cache import BLAS_THREADS, Cache, Memo, text_digest
from .scenario import Scenario

MEMORY = Memo()
KEYS = Memo(size=512)  # small values asked for by every cell: features' keys, the word types of a stimulus


def cache(cfg: Scenario) -> Cache:
    return Cache(cfg.cache_dir)


def dataset(cfg: Scenario) -> D.Dataset:
    """The scenario's dataset (:mod:`helpers.data.datasets`), built from the fields it reads; a simulated one
    (``planted``) is driven by the planted model layer."""
    cls = D.get(cfg.dataset)
    fields = cfg.fields(*cls.options)
    if not cls.planted:
        return MEMORY.get("dataset", _dataset_slot(cfg), lambda: cls(**fields))
    return MEMORY.get("dataset", _dataset_slot(cfg), lambda: cls(
        **fields, driver=lambda: _planted_driver(cfg),
        driver_key=lambda: {**features_key(cfg, cfg.planted_model)[0], "planted_layer": cfg.planted_layer}))


def _dataset_slot(cfg: Scenario) -> dict:
    """What identifies the scenario's dataset object in this process: its class, the fields it reads, and for a
    simulated one what drives it."""
    cls = D.get(cfg.dataset)
    planted = cfg.fields("planted_model", "planted_layer", "context", "pooling", "lm_dtype") if cls.planted else {}
    return {"name": cfg.dataset, **cfg.fields(*cls.options), **planted}


def planted(cfg: Scenario) -> bool:
    """Whether the scenario's recordings are simulated with a planted answer (``planted_model``, ``planted_layer``)."""
    return D.get(cfg.dataset).planted


def planted_answer(cfg: Scenario) -> tuple[str, int] | None:
    """The planted model and layer of a simulated scenario (what the chapters mark on their figures), else None."""
    return (cfg.planted_model, cfg.planted_layer) if planted(cfg) else None


def _planted_driver(cfg: Scenario) -> tuple[np.ndarray, dict]:
    planted = lm_features(cfg, cfg.planted_model)
    info = {"planted_model": planted.model, "planted_layer": cfg.planted_layer, "planted_source": planted.source}
    return planted.vectors[cfg.planted_layer], info


def missing_inputs(cfg: Scenario) -> list[str]:
    """Every model and data file the scenario needs that is not on this machine, each with where to get it.

    Nothing is loaded or downloaded: models are looked up, files checked
    for existence (files that the scenario downloads itself are not
    missing).
    """
    problems = []
    for model in dict.fromkeys(cfg.models + cfg.ladders + ((cfg.planted_model,) if planted(cfg) else ())):
        try:
            trivial.check(model) if trivial.is_trivial(model) else M.resolve(model)
        except (FileNotFoundError, ValueError) as err:
            problems.append(f"model {model}: {err}")
    cls = D.get(cfg.dataset)
    if not cls.planted:
        try:
            cls(**cfg.fields(*cls.options)).check_available()
        except (FileNotFoundError, ValueError) as err:
            problems.append(f"data: {err}")
    return problems


def require_inputs(cfg: Scenario) -> None:
    """One error listing everything :func:`missing_inputs` finds, before any work starts."""
    problems = missing_inputs(cfg)
    if problems:
        raise FileNotFoundError(
            f"scenario {cfg.name!r} needs {len(problems)} thing(s) that are not on this machine:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def stimulus_items(cfg: Scenario) -> np.ndarray:
    """Every item shown, fixation marks included (sentence datasets: every word of the sentences)."""
    return dataset(cfg).stimulus()


def stimulus_runs(cfg: Scenario) -> np.ndarray:
    """The run of every item of :func:`stimulus_items` (sentence datasets: all in one run)."""
    return dataset(cfg).item_runs()


def word_onsets(cfg: Scenario) -> np.ndarray:
    """Onset (s) of every word occurrence; sentence datasets: the sentence's number (``buffer_s`` then counts sentences)."""
    return dataset(cfg).item_times()[_word_mask(cfg)]


def word_runs(cfg: Scenario) -> np.ndarray:
    """The run of every word occurrence (sentence datasets: all in one)."""
    return stimulus_runs(cfg)[_word_mask(cfg)]


def cased_types(cfg: Scenario, model: str | None) -> bool:
    """Whether ``model``'s word types keep their case: under ``type_case: model``, for a cased model."""
    return cfg.value("type_case") == "model" and model is not None and M.keeps_case(model)


def occurrence_types(cfg: Scenario, model: str | None = None) -> np.ndarray:
    """The type of every word occurrence of the stimulus: its core, lower-cased, or as shown where ``model``'s
    types keep their case (:func:`cased_types`)."""
    cased = cased_types(cfg, model)
    return KEYS.get("types", {**_dataset_slot(cfg), "cased": cased}, lambda: np.array(
        [W.word_type(item, keep_case=cased) for item in stimulus_items(cfg) if W.is_word(item)]))


def _word_mask(cfg: Scenario) -> np.ndarray:
    """Which items of the stimulus are words (computed once per dataset in this process)."""
    return KEYS.get("word mask", _dataset_slot(cfg), lambda: W.word_mask(stimulus_items(cfg)))


def recordings(cfg: Scenario) -> tuple[Recording | SentenceRecording, ...]:
    """Every subject's recording (:mod:`helpers.data.datasets`), simulated (or read) with the cache's fixed
    number of BLAS threads, so that its bits do not depend on the machine.

    Simulated ones (a dataset that ``kept`` its recordings) are simulated
    once and kept in the cache under their subjects' keys (one ``.npz`` file
    each, :func:`helpers.data.recording.save`): every later process reads
    them back, to the bit, instead of simulating them again.
    """
    data = dataset(cfg)
    if not data.kept:
        with threadpool_limits(BLAS_THREADS, user_api="blas"):
            return data.recordings()
    key = steps.key("recordings", cfg, subjects=[recording_key(cfg, subject) for subject in subjects(cfg)])
    made = []

    def write(folder: Path) -> None:  # run with the cache's number of BLAS threads
        made.extend(data.recordings())
        for number, rec in enumerate(made):
            R.save(rec, folder / f"subject_{number:03d}.npz")

    def read() -> tuple[Recording | SentenceRecording, ...]:
        folder = cache(cfg).get_or_make("recordings", key, write)
        return tuple(made) or tuple(R.load(path) for path in sorted(folder.glob("subject_*.npz")))

    return MEMORY.get("recordings", key, read)


def subjects(cfg: Scenario) -> tuple[str, ...]:
    """The subjects' names, in the order of :func:`recordings`, without simulating where the dataset knows them."""
    return dataset(cfg).recorded_subjects()


def recording_key(cfg: Scenario, subject: str) -> dict:
    """What identifies one subject's recording: its file's SHA-256 and the loader, or the simulation's parameters."""
    return dataset(cfg).subject_key(subject)


@dataclass(frozen=True)
class ModelFeatures:
    """Hidden states of one model for every word occurrence of the stimulus.

    ``extraction`` records how the cached entry was computed: device, dtype,
    tokens, seconds, tokens per second, peak memory.
    """

    model: str
    source: str
    vectors: np.ndarray  # (n_states, n_words, width) float32
    key: dict
    extraction: dict

    @property
    def n_states(self) -> int:
        return self.vectors.shape[0]


def lm_dtype(cfg: Scenario, model: str) -> str:
    """The dtype ``model`` runs in: the scenario's ``lm_dtype``; for ``auto`` the device's default; for
    ``published`` the paper's code's (float16 for OPT, float32 for every other model)."""
    wanted = cfg.value("lm_dtype")
    if wanted == "published":
        info = M.lookup(model.removeprefix(M.RANDOM_PREFIX))
        wanted = "float16" if info is not None and info.family == "OPT" else "float32"
    return M.dtype_name(dtype=None if wanted == "auto" else wanted)


def features_key(cfg: Scenario, model: str) -> tuple[dict, M.Resolved | None]:
    """Cache key of a model's features: its files and revision, how words are read, the dtype, the text and its runs.

    The device is not part of it: the same weights in the same dtype give
    the same features on any machine, up to that dtype's precision. A
    trivial feature (:mod:`helpers.lm.trivial`) has no files: its key is
    its definition, the text and the runs, and it resolves to ``None``.
    """
    slot = {"dataset": _dataset_slot(cfg), "model": model, **cfg.fields(*steps.STEPS["features"].fields, "lm_dtype")}
    return KEYS.get("features", slot, lambda: _features_key(cfg, model))


def _features_key(cfg: Scenario, model: str) -> tuple[dict, M.Resolved | None]:
    runs = stimulus_runs(cfg)
    text = {"text": text_digest(stimulus_items(cfg)), "run_starts": (np.flatnonzero(np.diff(runs)) + 1).tolist()}
    if trivial.is_trivial(model):
        return steps.key("trivial_features", cfg, feature=trivial.key(model), **text), None
    check_options(cfg.context, cfg.pooling)
    resolved = M.resolve(model)
    key = steps.key("features", cfg, model=resolved.fingerprint(), dtype=lm_dtype(cfg, model), stored=STORED, **text)
    return key, resolved


def lm_features(cfg: Scenario, model: str) -> ModelFeatures:
    """Every hidden state of ``model`` for every word of the stimulus (cached; an interrupted extraction resumes).

    Runs on the device of :func:`helpers.lm.models.choose_device` (set
    ``HELPERS_DEVICE`` to override); memory: the returned float32 array,
    n_states x n_words x width x 4 bytes (OPT-30B over 5,000 words: 7 GB).
    A trivial feature is computed in a moment, in memory, as one "layer".
    """
    key, resolved = features_key(cfg, model)
    if resolved is None:
        return MEMORY.get("features", key, lambda: ModelFeatures(
            model, trivial.describe(model), trivial.trivial_vectors(model, stimulus_items(cfg), stimulus_runs(cfg)), key, {}))
    return MEMORY.get("features", key, lambda: _read_or_extract(cfg, model, key, resolved))


def _read_or_extract(cfg: Scenario, model: str, key: dict, resolved: M.Resolved) -> ModelFeatures:
    items = stimulus_items(cfg)
    runs = np.searchsorted(key["run_starts"], np.arange(len(items)), side="right")

    def make(folder) -> None:
        tokenizer, net, _ = M.load(model, dtype=key["dtype"])
        storage.write_features(folder, tokenizer, net, items, context=cfg.context, pooling=cfg.pooling, runs=runs,
                               threads=cfg.extraction_threads)

    folder = cache(cfg).get_or_make("features", key, make, resume=True, blas_threads=None)  # torch: extraction_threads
    return ModelFeatures(resolved.name, resolved.source, storage.read_features(folder), key, storage.read_record(folder))


def n_states(cfg: Scenario, model: str) -> int:
    """How many hidden states ``model`` has (its embeddings and every block; a trivial feature has one)."""
    return features_shape(cfg, model)[0]


def lm_width(cfg: Scenario, model: str) -> int:
    """The width of ``model``'s vectors (its hidden size; a trivial feature's number of columns)."""
    return features_shape(cfg, model)[2]


def features_shape(cfg: Scenario, model: str) -> tuple[int, int, int]:
    """The shape of ``model``'s features, ``(n_states, n_words, width)``.

    Read from the cached entry's record and first layer's header when the
    features are not in memory, so a chapter that only counts layers or
    compares widths (its cells cached) reads no hidden states; features in
    neither place are extracted now.
    """
    key, resolved = features_key(cfg, model)
    if resolved is None or MEMORY.has("features", key):
        return lm_features(cfg, model).vectors.shape

    def read() -> tuple[int, int, int]:
        if cache(cfg).has("features", key):  # checked, as a read of the features would be
            return storage.read_shape(cache(cfg).entry("features", key))
        return lm_features(cfg, model).vectors.shape

    return KEYS.get("features shape", key, read)


def focus(cfg: Scenario) -> tuple[str, int]:
    """The model and layer a chapter looks at closely: ``focus_model`` and ``focus_layer`` (default: its middle layer)."""
    model = cfg.value("focus_model")
    if cfg.focus_layer is not None:
        return model, cfg.focus_layer
    return model, (n_states(cfg, model) - 1) // 2


def smoothing_options(cfg: Scenario) -> dict:
    """The scenario's arguments for :func:`helpers.brain.smoothing.word_weights`."""
    method = cfg.value("smoothing")
    if method == "hrf":
        return {"method": "hrf"}
    return {"method": method, **cfg.fields("lookback", "lookforward", "delay", "kernel")}


def brain_dims(cfg: Scenario, recording: Recording | SentenceRecording, width: int) -> int | None:
    """Number of TR-level PCA components for a model of this width (``None``: all voxels)."""
    if cfg.brain_dims == "voxels":
        return None
    limit = min(recording.data.shape)
    return min(limit, width) if cfg.brain_dims == "model" else min(limit, int(cfg.brain_dims))


def brain_vectors(cfg: Scenario, recording: Recording | SentenceRecording, n_components: int | None,
                  outside: str = "error") -> np.ndarray:
    """Word-level brain vectors of one recording, shape ``(n_words, k)`` (cached).

    As in the paper, the TR x voxel matrix is first reduced by PCA to
    ``n_components`` (``None`` keeps all voxels), then each word occurrence
    gets its vector (:func:`helpers.brain.vectors.word_vectors`: smoothing,
    or a sentence's response). With ``outside="ignore"``, words whose window
    leaves their run get zeros (:func:`smoothing_variants
    <helpers.run.tables.smoothing_variants>` scores only the others).
    """
    options = smoothing_options(cfg)
    signs = cfg.value("pca_signs")
    key = steps.key("brain", cfg, recording=recording_key(cfg, recording.subject), smoothing=options,
                    outside=outside, n_components=n_components, pca_signs=signs)

    def make() -> dict[str, np.ndarray]:
        data = recording.data if n_components is None else pca(recording.data, n_components, signs=signs)
        return {"vectors": word_vectors(recording, data, options, outside)}

    return cache(cfg).arrays("brain", key, make)["vectors"]


def training_brain_vectors(cfg: Scenario, recording: Recording | SentenceRecording, n_components: int,
                           train_words: np.ndarray, outside: str = "error") -> np.ndarray:
    """Word-level brain vectors with the PCA fitted inside one training fold (``pca_fit: train``).

    The PCA is fitted on the rows (TRs, or sentences) that the training word
    occurrences ``train_words`` (a boolean mask over all word occurrences)
    draw on, and every row is projected on it, so the test words' own TRs
    shape the reduction only where training words share them. Not cached on
    its own: the score tables that use it are.
    """
    options = smoothing_options(cfg)
    rows = rows_used(recording, options, train_words, outside)
    return word_vectors(recording, pca(recording.data, n_components, fit_rows=rows, signs=cfg.value("pca_signs")),
                        options, outside)
