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
import os
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pydantic
import yaml

from ..align import measures as MS
from ..align.evaluation import CANDIDATE_SETS
from ..align.folds import SPLITS
from ..align.ridge import DEFAULT_ALPHAS
from ..align.rsa import METRICS as RSA_METRICS
from ..brain.smoothing import KERNELS, PAPER_WINDOW
from ..data import datasets as D
from ..data.recording import BAD_VOXELS
from ..data.simulate import DESIGNS
from ..lm import models as M
from ..lm import trivial
from ..lm.passages import check_options
from .protocols import CHOICES, PROTOCOLS

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
ENGINES = ("local", "submitit", "dask")  # helpers.run.grid.ENGINES
PCA_FITS = ("all", "train")
LADDER_LAYERS = ("best", "last")


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
    extraction_threads: int = 1  # torch threads of an extraction on the CPU: the stored bits depend on their number
    # ladders: more models, scored only where chapter 7 asks whether size helps within a family (with models'
    # ladders), at each model's "best" layer (every layer scored) or its "last" (one layer: cheaper, and unselected)
    ladders: tuple[str, ...] = ("random:bert-tiny", "random:bert-mini", "random:bert-small", "random:bert-medium",
                                "random:pythia-14m", "random:pythia-31m", "random:pythia-70m", "random:pythia-160m")
    ladder_layers: str = "last"
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
        for name, value in _typed(self).items():  # the schema: types (lists as tuples, "2" as 2), or ScenarioError
            object.__setattr__(self, name, value)
        load_plugins(self.plugins)
        problems = list(_problems(self))
        if problems:
            raise ScenarioError(problems)

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


class ScenarioError(ValueError):
    """Everything wrong with a scenario's values, one problem per line, each naming the field, the value and
    what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        text = self.problems[0] if len(self.problems) == 1 else (
            f"{len(self.problems)} problems in the scenario:\n" + "\n".join(f"  - {p}" for p in self.problems))
        super().__init__(text)


# Lower bounds of numeric fields that no other check covers (checked after the types).
AT_LEAST = {"seed": 0, "n_subjects": 1, "n_voxels": 1, "n_runs": 1, "snr": 0, "lookback": 0, "lookforward": 0,
            "buffer_s": 0, "csls_neighbours": 1, "n_folds": 2, "n_permutations": 1, "cka_permutations": 1,
            "workers": 1, "extraction_threads": 1, "planted_layer": 0}
DISTINCT = ("plugins", "subjects", "models", "ladders", "ks", "ridge_alphas", "grid_methods")  # a value twice is a mistake


def _schema():
    """A pydantic model of the scenario's fields, typed as the dataclass declares them."""
    hints = typing.get_type_hints(Scenario)
    fields = {f.name: (hints[f.name], ...) for f in dataclasses.fields(Scenario)}
    return pydantic.create_model("ScenarioFields", __config__=pydantic.ConfigDict(strict=False), **fields)


def _typed(cfg: Scenario) -> dict:
    """The scenario's values converted to their declared types (a YAML list to a tuple, "2" to 2), or a
    :class:`ScenarioError` with one line per field of the wrong type."""
    values = {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    values["subjects"] = [str(s) for s in values["subjects"]] if isinstance(values["subjects"], (list, tuple)) else values["subjects"]
    try:
        return dict(_SCHEMA.model_validate(values))
    except pydantic.ValidationError as err:
        by_field: dict[str, list[str]] = {}
        for e in err.errors():
            by_field.setdefault(str(e["loc"][0]), []).append(e["msg"].lower())
        raise ScenarioError([f"{name} must be {_allowed(msgs)}, got {values[name]!r}." for name, msgs in by_field.items()]) from None


def _allowed(messages: list[str]) -> str:
    """pydantic's 'Input should be a valid integer' messages as 'a valid integer (or ...)'."""
    wanted = list(dict.fromkeys(m.removeprefix("input should be ").split(",")[0].replace("a valid tuple", "a list")
                                for m in messages))
    return " or ".join(wanted)


def _plain(value):
    """Folders given as paths, as text (in tuples too)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _problems(cfg: Scenario):
    """Every problem of a well-typed scenario's values, one message each (nothing is computed here)."""
    try:
        D.get(cfg.dataset)
    except ValueError as err:
        yield str(err)
    for check in (lambda: check_options(cfg.context, cfg.pooling),
                  *[lambda m=m: trivial.check(m, "models") for m in cfg.models],
                  lambda: trivial.check(cfg.planted_model, "planted_model")):
        try:
            check()
        except ValueError as err:
            yield str(err)
    if cfg.protocol not in PROTOCOLS:
        yield f"protocol must be one of {tuple(PROTOCOLS)}, got {cfg.protocol!r}."
        return  # the protocol's fields cannot be read
    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices + (None,):
            yield f"{name} must be one of {choices} (or empty: the protocol's), got {getattr(cfg, name)!r}."
    for name, choices in (("bad_voxels", BAD_VOXELS), ("candidates", CANDIDATE_SETS), ("design", DESIGNS),
                          ("kernel", KERNELS), ("split", SPLITS), ("pca_fit", PCA_FITS), ("engine", ENGINES),
                          ("rsa_metric", RSA_METRICS), ("ladder_layers", LADDER_LAYERS)):
        if getattr(cfg, name) not in choices:
            yield f"{name} must be one of {choices}, got {getattr(cfg, name)!r}."
    for name, least in AT_LEAST.items():
        value = cfg.value(name)
        if value is not None and value < least:
            yield f"{name} must be at least {least}, got {value!r}."
    for name in DISTINCT:
        twice = sorted({v for v in getattr(cfg, name) if getattr(cfg, name).count(v) > 1}, key=str)
        if twice:
            yield f"{name} must not repeat a value; {', '.join(map(str, twice))} appear(s) more than once in {list(getattr(cfg, name))}."
    if cfg.experiment not in (2, 3):
        yield f"experiment (Pereira et al.) must be 2 or 3, got {cfg.experiment!r}."
    if not cfg.tr > 0:
        yield f"tr must be a positive number of seconds, got {cfg.tr!r}."
    if cfg.design == "events" and cfg.value("smoothing") in ("paper", "published"):
        yield ("design: events gives each item one 10 s sample, and the paper's smoothing (and the published one) gives "
               "a window time the sample that starts at or after it, which is the next item's. Set smoothing: within_run "
               "(the sample the window falls in) or hrf with the event design.")
    if cfg.brain_dims not in ("model", "voxels") and not (isinstance(cfg.brain_dims, int) and cfg.brain_dims >= 1):
        yield f"brain_dims must be 'model', 'voxels' or a positive number of components, got {cfg.brain_dims!r}."
    unknown = sorted(set(cfg.grid_methods) - set(MS.names()))
    if unknown or not cfg.grid_methods:
        yield (f"grid_methods must name some of the registered measures {MS.names()}, got {list(cfg.grid_methods)}; "
               "a measure of your own registers in a file named in plugins.")
    on_ladders = [m for m in cfg.ladders if trivial.is_trivial(m)]
    if on_ladders:
        yield (f"ladders must name language models, got {on_ladders}: a trivial feature has no size; "
               "put it in models for the controls.")
    if not cfg.models:
        yield "models must name at least one language model."
    elif cfg.focus_model and cfg.focus_model not in cfg.models:
        yield f"focus_model must be one of models {list(cfg.models)}, got {cfg.focus_model!r}."
    elif cfg.focus_layer is not None:
        focus = M.lookup(cfg.value("focus_model").removeprefix(M.RANDOM_PREFIX))
        if not 0 <= cfg.focus_layer <= (focus.n_layers if focus else 10**6):
            yield (f"focus_layer must be between 0 (embeddings) and {focus.n_layers if focus else 'the last layer'} "
                   f"for {cfg.value('focus_model')}, got {cfg.focus_layer}.")
    if not cfg.ridge_alphas or min(cfg.ridge_alphas) <= 0:
        yield f"ridge_alphas must be positive penalties, got {list(cfg.ridge_alphas)}."
    if not cfg.ks or min(cfg.ks) < 1:
        yield f"ks must be positive integers, got {list(cfg.ks)}."
    if trivial.is_trivial(cfg.planted_model) and cfg.planted_layer != 0:
        yield f"planted_layer must be 0 for {cfg.planted_model}: a trivial feature has one layer, got {cfg.planted_layer}."
    info = M.lookup(cfg.planted_model)
    if info is not None and not 0 <= cfg.planted_layer <= info.n_layers:
        yield f"planted_layer must be between 0 (embeddings) and {info.n_layers} for {info.name}, got {cfg.planted_layer}."


# The scenario's fields by the stage they belong to, in reading order (every field exactly once).
GROUPS = {
    "data": ("name", "dataset", "seed", "data_dir", "subjects", "download", "experiment", "tr", "bad_voxels"),
    "simulated experiment": ("design", "n_subjects", "n_voxels", "n_runs", "snr", "planted_model", "planted_layer"),
    "TRs to words": ("smoothing", "kernel", "lookback", "lookforward", "delay", "brain_dims", "pca_fit", "pca_signs"),
    "language models": ("models", "context", "pooling", "type_case", "lm_reduction", "lm_dtype", "extraction_threads",
                        "ladders", "ladder_layers", "focus_model", "focus_layer"),
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


_SCHEMA = _schema()


def parse_set(items: list[str]) -> dict:
    """Overrides from the command line's ``--set key=value`` items (each value read as YAML: ``ks=[1,10]``)."""
    overrides = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--set takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    return overrides


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
        raise ScenarioError([f"{path}: a scenario file must be a mapping of parameter: value."])
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
            raise ScenarioError([f"{source}: unknown parameter(s) {', '.join(unknown)}; known parameters: {', '.join(known)}."])
    return Scenario(**{**values, **overrides})
