"""The package's shape: stages import only downward, small modules, a scenario without torch."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "helpers"
STAGES = ["data", "brain", "lm", "align", "run"]
# packages beside the stages, after all of them, that may read every stage: the figures and the exercises' checks
AFTER = ["plots", "exercises"]


def stage_of(module: str) -> int:
    """Position of a ``helpers.<stage>...`` module in the pipeline; ``helpers.plots.*`` and ``helpers.exercises.*``
    come last."""
    parts = module.split(".")
    return STAGES.index(parts[1]) if parts[1] in STAGES else len(STAGES)


def imports(path: Path) -> list[str]:
    """The helpers modules a file imports, relative imports resolved."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target.startswith("helpers."):
                found += [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("helpers.")]
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.name != "__init__.py")


def test_the_five_stages_exist():
    assert sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()) == sorted(STAGES + AFTER)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_up_a_stage(path):
    here = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    upward = [m for m in imports(path) if stage_of(m) > stage_of(here)]
    assert not upward, f"{here} imports from a later stage: {upward}"


def test_the_import_checker_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "helpers" / "brain"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from ..run import tables\nfrom . import smoothing\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "helpers")
    assert imports(fake / "bad.py") == ["helpers.run", "helpers.brain.smoothing"]
    assert stage_of("helpers.run") > stage_of("helpers.brain.bad")
    assert stage_of("helpers.plots.scores") > stage_of("helpers.run.tables") and stage_of("helpers.plots") == len(STAGES)
    assert stage_of("helpers.exercises.chapter4") == len(STAGES)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


def test_loading_a_scenario_and_the_modules_that_read_results_does_not_import_torch():
    # a chapter rebuilt from the cache reads features and cells: torch is imported only to extract or fit on it
    # (a features key names the dtype, which on a machine without a GPU is the CPU's, known without torch). The first
    # run may import it: on an empty model cache it assembles the GGUF files and builds the random models' fingerprints,
    # which later runs read back
    code = ("import sys; from helpers.run import scenario, cells, tables, controls, findings, pipeline; from helpers import plots; "
            "cfg = scenario.load('default'); [pipeline.features_key(cfg, m) for m in cfg.models]; print('torch' in sys.modules)")
    from helpers.lm import device

    env = {k: v for k, v in os.environ.items() if k != device.DEVICE_VARIABLE}

    def imports_torch(wanted: str) -> bool:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={**env, device.DEVICE_VARIABLE: wanted})
        return result.stdout.strip() == "True"

    imports_torch("cpu")
    for wanted in (["auto"] if device.without_accelerator() else []) + ["cpu"]:
        assert not imports_torch(wanted), wanted


def _named_literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module that are not a dict key, a column index or an attribute name for getattr."""
    tree = ast.parse(path.read_text())
    exempt = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            exempt.update(id(k) for k in node.keys if k is not None)
        elif isinstance(node, ast.Subscript):
            exempt.add(id(node.slice))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr") and len(node.args) > 1:
            exempt.add(id(node.args[1]))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in exempt]


def test_measure_and_dataset_names_are_spelled_only_where_they_are_registered():
    """Nothing after a registry branches on a name: measure names live in helpers/align/measures, dataset names in
    helpers/data (and the scenario files). The exercises' checks are the chapters' content, as the notebooks are:
    they ask for a measure by name, as the exercise does."""
    from helpers.align import measures
    from helpers.data import datasets

    allowed = {"measure": PACKAGE / "align" / "measures", "dataset": PACKAGE / "data"}
    names = {**{n: "measure" for n in measures.names()}, **{n: "dataset" for n in datasets.DATASETS}}
    found = [f"{path.relative_to(PACKAGE)}:{line}: {kind} name {value!r}"
             for path in modules() for line, value in _named_literals(path)
             for kind in [names.get(value)]
             if kind and not path.is_relative_to(allowed[kind]) and not path.is_relative_to(PACKAGE / "exercises")]
    assert found == []


def test_the_name_checker_sees_a_branch_on_a_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('if cfg.dataset == "pereira" or method in ("rsa",):\n    row = {"simulated": 1}[x["cka"]]\n')
    assert _named_literals(bad) == [(1, "pereira"), (1, "rsa")]
