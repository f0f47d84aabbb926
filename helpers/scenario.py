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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from . import models as M
from .folds import SPLITS
from .rsa import METRICS as RSA_METRICS
from .smoothing import KERNELS, METHODS

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
DATASETS = ("simulated", "harry_potter", "pereira", "natural_stories")
BAD_VOXELS = ("drop", "error")
DESIGNS = ("reading", "events")
CANDIDATE_SETS = ("all", "test")


@dataclass(frozen=True)
class Scenario:
    """All parameters of one run; the defaults are those of ``scenarios/default.yml``."""

    name: str = "default"
    dataset: str = "simulated"
    seed: int = 0
    # a real dataset (see helpers.datasets): where its files are, whom to read
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
    smoothing: str = "paper"
    kernel: str = "gaussian"
    lookback: float = 2.0
    lookforward: float = 2.0
    delay: float = 6.0
    brain_dims: str | int = "model"
    # language models
    models: tuple[str, ...] = ("all-MiniLM-L6-v2", "SmolLM2-135M")
    context: str = "sentence"
    pooling: str = "mean"
    # alignment
    n_folds: int = 4
    split: str = "types"
    buffer_s: float = 20.0
    csls_neighbours: int = 10
    candidates: str = "all"
    ks: tuple[int, ...] = (1, 5, 10)
    ridge_alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6)
    rsa_metric: str = "spearman"
    n_permutations: int = 200
    # where intermediate results go
    cache_dir: str = ".cache"

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "subjects", tuple(str(s) for s in self.subjects))
        object.__setattr__(self, "ks", tuple(int(k) for k in self.ks))
        object.__setattr__(self, "ridge_alphas", tuple(float(a) for a in self.ridge_alphas))
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {DATASETS}.")
        from .features import check_options  # imports torch: only when a scenario is built

        check_options(self.context, self.pooling)
        if self.bad_voxels not in BAD_VOXELS:
            raise ValueError(f"bad_voxels must be one of {BAD_VOXELS}, got {self.bad_voxels!r}.")
        if self.experiment not in (2, 3):
            raise ValueError(f"experiment (Pereira et al.) must be 2 or 3, got {self.experiment!r}.")
        if not self.tr > 0:
            raise ValueError(f"tr must be a positive number of seconds, got {self.tr!r}.")
        if self.candidates not in CANDIDATE_SETS:
            raise ValueError(f"candidates must be one of {CANDIDATE_SETS}, got {self.candidates!r}.")
        positive = ("n_subjects", "n_voxels", "n_runs", "csls_neighbours")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}.")
        if self.design not in DESIGNS:
            raise ValueError(f"design must be one of {DESIGNS}, got {self.design!r}.")
        if self.smoothing not in METHODS:
            raise ValueError(f"smoothing must be one of {METHODS}, got {self.smoothing!r}.")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}.")
        if self.brain_dims not in ("model", "voxels") and not (isinstance(self.brain_dims, int) and self.brain_dims >= 1):
            raise ValueError(f"brain_dims must be 'model', 'voxels' or a positive number of components, got {self.brain_dims!r}.")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}.")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}.")
        if not self.models:
            raise ValueError("models must name at least one language model.")
        if not self.ridge_alphas or min(self.ridge_alphas) <= 0:
            raise ValueError(f"ridge_alphas must be positive penalties, got {self.ridge_alphas}.")
        if self.rsa_metric not in RSA_METRICS:
            raise ValueError(f"rsa_metric must be one of {RSA_METRICS}, got {self.rsa_metric!r}.")
        if self.n_permutations < 1:
            raise ValueError(f"n_permutations must be at least 1, got {self.n_permutations}.")
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be positive integers, got {self.ks}.")
        info = M.lookup(self.planted_model)
        if info is not None and not 0 <= self.planted_layer <= info.n_layers:
            raise ValueError(
                f"planted_layer must be between 0 (embeddings) and {info.n_layers} for {info.name}, got {self.planted_layer}."
            )

    def fields(self, *names: str) -> dict:
        """The named fields as a dict (for cache keys)."""
        return {name: getattr(self, name) for name in names}

    def table(self) -> pd.DataFrame:
        """The parameters as a two-column table, for the top of every chapter."""
        rows = [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]
        return pd.DataFrame(rows, columns=["parameter", "value"]).set_index("parameter")


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
    known = field_names()
    for source, given in ((str(path), values), ("overrides", overrides)):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(f"{source}: unknown parameter(s) {', '.join(unknown)}; known parameters: {', '.join(known)}.")
    return Scenario(**{**values, **overrides})
