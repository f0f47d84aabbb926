"""The package's shape: stages import only downward, small modules, a scenario without torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "helpers"
STAGES = ["data", "brain", "lm", "align", "run"]
DRAWING = "plots"  # the figures: a package beside the stages, after all of them, that may read every stage


def stage_of(module: str) -> int:
    """Position of a ``helpers.<stage>...`` module in the pipeline; ``helpers.plots.*`` comes last."""
    parts = module.split(".")
    if parts[1] == DRAWING:
        return len(STAGES)
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
    assert sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()) == sorted(STAGES + [DRAWING])


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


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


def test_loading_a_scenario_does_not_import_torch():
    code = "import sys; from helpers.run import scenario; scenario.load('default'); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
