"""Scenarios: every parameter of a run of the book, read from one YAML file.

A scenario file under ``scenarios/`` names a dataset, the models, the
smoothing window, the alignment protocol and the cache folder. Every
notebook takes two papermill parameters, ``scenario`` (a name in
``scenarios/`` or a path) and ``overrides`` (a dict of fields to change),
and calls :func:`load`. Unknown fields are an error, so a typo never runs
silently with a default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..align import measures as MS
from ..align.evaluation import CANDIDATE_SETS, CSLS_REFERENCES, SCALINGS
from ..align.folds import FOLD_RULES, SPLITS
from ..align.ridge import DEFAULT_ALPHAS, RIDGE_PROTOCOLS
from ..align.rsa import METRICS as RSA_METRICS, RSA_SCALINGS, RSA_UNITS
from ..brain.reduction import SIGNS as PCA_SIGNS
from ..brain.smoothing import KERNELS, METHODS, PAPER_WINDOW
from ..data import datasets as D
from ..data.recording import BAD_VOXELS
from ..data.simulate import DESIGNS
from ..lm import models as M
from ..lm import trivial
from ..lm.passages import check_options

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
LM_DTYPES = ("auto", "published", "float32", "bfloat16", "float16")  # published: float16 for OPT, float32 otherwise
ENGINES = ("local", "submitit", "dask")  # helpers.run.grid.ENGINES
PCA_FITS = ("all", "train")
LM_REDUCTIONS = ("types", "occurrences")  # a model wider than the brain side: PCA of its type, or occurrence, vectors
TYPE_CASES = ("lower", "model")  # word types lower-cased for every model, or keeping their case for a cased model
# What each protocol sets, for every field of the scenario left empty (None). "published": the computation of the
# paper's published code, point by point; "paper": the same with each word's smoothing window at its own onset, as the
# paper describes the method; "careful": the protocol this book argues for. Each point is its own field, so that one
# can be changed at a time (helpers.run.tables.LADDER walks from "published" to "careful").
PROTOCOLS = {
    "published": {"smoothing": "published", "pca_signs": "scores", "type_case": "model", "lm_reduction": "occurrences",
                  "lm_dtype": "published", "fold_rule": "published", "csls_neighbours": 100,
                  "csls_reference": "all", "scaling": "minmax",
                  "ridge_protocol": "published", "rsa_units": "occurrences", "rsa_scaling": "minmax"},
    "careful": {"smoothing": "paper", "pca_signs": "loadings", "type_case": "lower", "lm_reduction": "types",
                "lm_dtype": "auto", "fold_rule": "shuffled", "csls_neighbours": 10,
                "csls_reference": "test", "scaling": "centre",
                "ridge_protocol": "careful", "rsa_units": "types", "rsa_scaling": "none"},
}
PROTOCOLS["paper"] = {**PROTOCOLS["published"], "smoothing": "paper"}
# The values of the protocol's fields that have a fixed set of choices (None, the protocol's, is always allowed).
CHOICES = {
    "smoothing": METHODS,
    "pca_signs": PCA_SIGNS,
    "type_case": TYPE_CASES,
    "lm_reduction": LM_REDUCTIONS,
    "lm_dtype": LM_DTYPES,
    "fold_rule": FOLD_RULES,
    "csls_reference": CSLS_REFERENCES,
    "scaling": SCALINGS,
    "ridge_protocol": RIDGE_PROTOCOLS,
    "rsa_units": RSA_UNITS,
    "rsa_scaling": RSA_SCALINGS,
}


@dataclass(frozen=True)
class Scenario:
    """All parameters of one run; the defaults are those of ``scenarios/default.yml``."""

    name: str = "default"
    dataset: str = D.DEFAULT
    plugins: tuple[str, ...] = ()  # Python files that register measures or datasets of one's own, loaded first
    seed: int = 0
    # a real dataset (see helpers.data.datasets): where its files are, whom to read
    data_dir: str = "data"
    subjects: tuple[str, ...] = ()
    download: bool = False
    experiment: int = 2
    tr: float = 2.0
    bad_voxels: str = "drop"
    # the simulated experiment
    design: str = "reading"
    n_subjects: int = 4
    n_voxels: int = 2000
    n_runs: int = 4
    snr: float = 0.5
    planted_model: str = "all-MiniLM-L6-v2"
    planted_layer: int = 4
    # TRs to words
    smoothing: str | None = None  # None: the protocol's ("paper" under careful, "published" under published)
    kernel: str = "gaussian"
    lookback: float = PAPER_WINDOW["lookback"]
    lookforward: float = PAPER_WINDOW["lookforward"]
    delay: float = PAPER_WINDOW["delay"]
    brain_dims: str | int = "model"
    pca_signs: str | None = None  # each PCA component's sign: its largest "loadings" or (scikit-learn 1.4) "scores" positive
    # language models
    models: tuple[str, ...] = ("all-MiniLM-L6-v2", "SmolLM2-135M", "gemma-3-270m",
                               "random:all-MiniLM-L6-v2", "random:SmolLM2-135M", "random:gemma-3-270m")
    context: str = "sentence"
    pooling: str = "mean"
    type_case: str | None = None  # "lower" for every model, or "model": "The" and "the" two types for a cased model
    lm_reduction: str | None = None  # a model wider than brain_dims: "types" reduced in the measure, or "occurrences" first
    lm_dtype: str | None = None  # auto: bfloat16 on a CUDA GPU, float32 on the CPU (helpers.lm.models.choose_device)
    # the model and layer a chapter looks at closely ("": the first of models; None: its middle layer)
    focus_model: str = ""
    focus_layer: int | None = None
    # alignment
    protocol: str = "careful"  # "careful", "published" (the paper's code) or "paper" (PROTOCOLS); None below: its value
    scaling: str | None = None  # "centre" on training rows, or "minmax" per dimension over all rows
    csls_reference: str | None = None  # CSLS's candidate-side neighbourhood over the "test", "all" or "pooled" mapped rows
    fold_rule: str | None = None  # split types: "shuffled" by seed and dealt round-robin, or "published" (random.sample(42))
    pca_fit: str = "all"  # the brain side's PCA fitted on "all" TRs (the paper) or on the training words' TRs of each fold
    n_folds: int = 4
    split: str = "types"
    buffer_s: float = 20.0
    csls_neighbours: int | None = None
    candidates: str = "all"
    ks: tuple[int, ...] = (1, 5, 10, 30, 50, 100)  # precision@k for these k (the published evaluation's)
    ridge_alphas: tuple[float, ...] = DEFAULT_ALPHAS
    ridge_protocol: str | None = None  # "careful" (Ridge) or "published" (the paper's kernel ridge)
    rsa_metric: str = "spearman"
    rsa_units: str | None = None  # RSA over word "types" or every word's "occurrences"
    rsa_scaling: str | None = None  # "none", or "minmax" both sides per dimension before the RDMs
    n_permutations: int = 200
    cka_permutations: int = 20  # CKA's null (its mean is the chance level drawn)
    # the grid of every model, layer, method, subject and fold (helpers.run.grid)
    grid_methods: tuple[str, ...] = MS.DEFAULT  # measures, by their names in helpers.align.measures
    engine: str = "local"  # or "submitit" (SLURM job arrays) or "dask"
    workers: int = 2
    # where intermediate results go
    cache_dir: str = ".cache"

    def __post_init__(self) -> None:
        object.__setattr__(self, "plugins", tuple(str(p) for p in self.plugins))
        load_plugins(self.plugins)
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "subjects", tuple(str(s) for s in self.subjects))
        object.__setattr__(self, "ks", tuple(int(k) for k in self.ks))
        object.__setattr__(self, "grid_methods", tuple(self.grid_methods))
        object.__setattr__(self, "ridge_alphas", tuple(float(a) for a in self.ridge_alphas))
        D.get(self.dataset)
        check_options(self.context, self.pooling)
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {tuple(PROTOCOLS)}, got {self.protocol!r}.")
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices + (None,):
                raise ValueError(f"{name} must be one of {choices} (or empty: the protocol's), got {getattr(self, name)!r}.")
        if self.bad_voxels not in BAD_VOXELS:
            raise ValueError(f"bad_voxels must be one of {BAD_VOXELS}, got {self.bad_voxels!r}.")
        if self.experiment not in (2, 3):
            raise ValueError(f"experiment (Pereira et al.) must be 2 or 3, got {self.experiment!r}.")
        if not self.tr > 0:
            raise ValueError(f"tr must be a positive number of seconds, got {self.tr!r}.")
        if self.candidates not in CANDIDATE_SETS:
            raise ValueError(f"candidates must be one of {CANDIDATE_SETS}, got {self.candidates!r}.")
        positive = ("n_subjects", "n_voxels", "n_runs", "csls_neighbours", "workers", "cka_permutations")
        for name in positive:
            if int(self.value(name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}.")
        if self.design not in DESIGNS:
            raise ValueError(f"design must be one of {DESIGNS}, got {self.design!r}.")
        if self.design == "events" and self.value("smoothing") in ("paper", "published"):
            raise ValueError(
                "design: events gives each item one 10 s sample, and the paper's smoothing (and the published one) gives a window time the "
                "sample that starts at or after it, which is the next item's. Set smoothing: within_run (the sample "
                "the window falls in) or hrf with the event design."
            )
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}.")
        if self.brain_dims not in ("model", "voxels") and not (isinstance(self.brain_dims, int) and self.brain_dims >= 1):
            raise ValueError(f"brain_dims must be 'model', 'voxels' or a positive number of components, got {self.brain_dims!r}.")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}.")
        if self.pca_fit not in PCA_FITS:
            raise ValueError(f"pca_fit must be one of {PCA_FITS}, got {self.pca_fit!r}.")
        unknown = sorted(set(self.grid_methods) - set(MS.names()))
        if unknown or not self.grid_methods:
            raise ValueError(f"grid_methods must name some of the registered measures {MS.names()}, got "
                             f"{list(self.grid_methods)}; a measure of your own registers in a file named in plugins.")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}.")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}.")
        if not self.models:
            raise ValueError("models must name at least one language model.")
        for model in self.models:
            trivial.check(model, "models")
        trivial.check(self.planted_model, "planted_model")
        if self.focus_model and self.focus_model not in self.models:
            raise ValueError(f"focus_model must be one of models {list(self.models)}, got {self.focus_model!r}.")
        focus = M.lookup(self.value("focus_model").removeprefix(M.RANDOM_PREFIX))
        if self.focus_layer is not None and not 0 <= self.focus_layer <= (focus.n_layers if focus else 10**6):
            raise ValueError(
                f"focus_layer must be between 0 (embeddings) and {focus.n_layers if focus else 'the last layer'} "
                f"for {self.value('focus_model')}, got {self.focus_layer}."
            )
        if not self.ridge_alphas or min(self.ridge_alphas) <= 0:
            raise ValueError(f"ridge_alphas must be positive penalties, got {self.ridge_alphas}.")
        if self.rsa_metric not in RSA_METRICS:
            raise ValueError(f"rsa_metric must be one of {RSA_METRICS}, got {self.rsa_metric!r}.")
        if self.n_permutations < 1:
            raise ValueError(f"n_permutations must be at least 1, got {self.n_permutations}.")
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be positive integers, got {self.ks}.")
        if trivial.is_trivial(self.planted_model) and self.planted_layer != 0:
            raise ValueError(f"planted_layer must be 0 for {self.planted_model}: a trivial feature has one layer, got {self.planted_layer}.")
        info = M.lookup(self.planted_model)
        if info is not None and not 0 <= self.planted_layer <= info.n_layers:
            raise ValueError(
                f"planted_layer must be between 0 (embeddings) and {info.n_layers} for {info.name}, got {self.planted_layer}."
            )

    def value(self, name: str):
        """A field's value in effect: a protocol field left empty (None) takes the protocol's
        (:data:`PROTOCOLS`), an empty ``focus_model`` is the first of ``models``.

        (Resolved here rather than stored, so that a variant made with
        ``dataclasses.replace(cfg, protocol="paper")`` or ``models=[...]``
        follows its new protocol or models.)
        """
        value = getattr(self, name)
        if value is None and name in PROTOCOLS[self.protocol]:
            return PROTOCOLS[self.protocol][name]
        if name == "focus_model" and not value:
            return self.models[0]
        return value

    def fields(self, *names: str) -> dict:
        """The named fields' values in effect (:meth:`value`) as a dict, for cache keys."""
        return {name: self.value(name) for name in names}

    def table(self) -> pd.DataFrame:
        """The parameters as a two-column table grouped by stage, for the top of every chapter.

        The simulation's group is left out for a real dataset; folders are
        shown relative to the repository (never as a path of this machine).
        """
        rows = []
        for group, names in GROUPS.items():
            if group == "simulated experiment" and not D.get(self.dataset).planted:
                continue
            rows += [(group, name, _shown(self.value(name), empty="(none)" if name == "plugins" else "(all)"))
                     for name in names]
        return pd.DataFrame(rows, columns=["stage", "parameter", "value"]).set_index(["stage", "parameter"])


# The scenario's fields by the stage they belong to, in reading order (every field exactly once).
GROUPS = {
    "data": ("name", "dataset", "seed", "data_dir", "subjects", "download", "experiment", "tr", "bad_voxels"),
    "simulated experiment": ("design", "n_subjects", "n_voxels", "n_runs", "snr", "planted_model", "planted_layer"),
    "TRs to words": ("smoothing", "kernel", "lookback", "lookforward", "delay", "brain_dims", "pca_fit", "pca_signs"),
    "language models": ("models", "context", "pooling", "type_case", "lm_reduction", "lm_dtype", "focus_model", "focus_layer"),
    "alignment": ("protocol", "scaling", "csls_reference", "n_folds", "split", "fold_rule", "buffer_s", "csls_neighbours",
                  "candidates", "ks", "ridge_protocol", "ridge_alphas", "rsa_metric", "rsa_units", "rsa_scaling",
                  "n_permutations", "cka_permutations"),
    "grid": ("grid_methods", "engine", "workers"),
    "output": ("cache_dir",),
    "plugins": ("plugins",),
}


def _shown(value, empty: str = "(all)"):
    """A value for the parameter table: tuples as lists, absolute folders relative to the repository."""
    if isinstance(value, tuple):
        return ", ".join(str(_shown(v)) for v in value) if value else empty
    if isinstance(value, str) and Path(value).is_absolute():
        path = Path(value)
        root = SCENARIO_DIR.parent
        return str(path.relative_to(root)) if path.is_relative_to(root) else f".../{path.name}"
    return value


def load_plugins(paths) -> None:
    """Import each Python file of ``paths`` once, so that the measures and datasets it registers exist.

    A plugin registers with :func:`helpers.align.measures.register` or
    :func:`helpers.data.datasets.register` when imported; a file imported
    before (by its path) is not imported again.
    """
    for path in paths:
        file = Path(path).resolve()
        if not file.is_file() or file.suffix != ".py":
            raise FileNotFoundError(f"plugins: {path} is not a Python file; name .py files that register measures "
                                    "or datasets (relative to the scenario file, or absolute).")
        name = f"helpers_plugin_{hashlib.sha256(str(file).encode()).hexdigest()[:12]}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Scenario)]


def path_of(scenario: str | Path) -> Path:
    """The YAML file of a scenario given by name (in ``scenarios/``) or by path."""
    path = Path(scenario)
    if path.suffix in (".yml", ".yaml") or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"scenario file {path} does not exist.")
        return path
    named = SCENARIO_DIR / f"{scenario}.yml"
    if not named.exists():
        names = sorted(p.stem for p in SCENARIO_DIR.glob("*.yml"))
        raise FileNotFoundError(f"no scenario named {scenario!r}; available: {', '.join(names)} (or give a path to a .yml file).")
    return named


def load(scenario: str | Path = "default", overrides: dict | None = None) -> Scenario:
    """Read a scenario file and apply ``overrides``.

    A relative ``cache_dir`` or ``data_dir`` in the file is taken relative to
    the file's folder; one given in ``overrides`` relative to the working
    directory.
    """
    path = path_of(scenario)
    with open(path) as f:
        values = yaml.safe_load(f) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a scenario file must be a mapping of parameter: value.")
    values.setdefault("name", path.stem)
    overrides = dict(overrides or {})
    for folder in ("cache_dir", "data_dir"):
        if folder in values:
            values[folder] = str((path.parent / values[folder]).resolve())
        if folder in overrides:
            overrides[folder] = str(Path(overrides[folder]).resolve())
    if isinstance(values.get("plugins"), list):
        values["plugins"] = [str((path.parent / p).resolve()) for p in values["plugins"]]
    known = field_names()
    for source, given in ((str(path), values), ("overrides", overrides)):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(f"{source}: unknown parameter(s) {', '.join(unknown)}; known parameters: {', '.join(known)}.")
    return Scenario(**{**values, **overrides})
