"""Execute every notebook with papermill on one scenario, then build the book.

    python -m helpers.run.book                       # the default scenario
    python -m helpers.run.book --scenario smoke      # a scenario file in scenarios/
    python -m helpers.run.book --set snr=2 --set seed=1

Source notebooks are never modified: executed copies go to
``<out>/stage/notebooks`` beside copies of the book's markdown and
configuration, Jupyter Book renders that folder, and the static site lands in
``<out>/html`` (open ``<out>/html/index.html``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from tqdm import tqdm

from . import scenario as S

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "brain-lm-alignment"


def notebooks() -> list[Path]:
    """The notebook chapters, in the order of ``_toc.yml``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("notebooks/")]
    return [ROOT / f"{f}.ipynb" for f in files]


def not_applicable(source: Path, cfg: S.Scenario) -> str | None:
    """Why a chapter does not apply to the scenario's data, or None when it does."""
    if source.stem.endswith("smoothing") and cfg.dataset == "pereira":
        return (
            "Pereira et al. (2018) recorded one response per sentence: there is no word timing to smooth. "
            "Each word takes the response to its sentence (chapter 1, `helpers.data.pereira.word_table`)."
        )
    return None


def placeholder(source: Path, target: Path, reason: str) -> None:
    """Write, in place of an executed chapter, its title and why it was not run."""
    import nbformat

    title = nbformat.read(source, as_version=4).cells[0].source.splitlines()[0]
    note = nbformat.v4.new_markdown_cell(f"```{{note}}\nThis chapter was not run on this scenario. {reason}\n```")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(title), note]), target)


def error_cells(path: Path) -> list[str]:
    """Tracebacks found in an executed notebook (empty when it ran cleanly)."""
    nb = json.loads(path.read_text())
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for cell in nb["cells"]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


# For the kernels that run the chapters: progress bars and advisory messages stay off the published pages
# (the build's own progress, per chapter and cell, shows on the command line).
QUIET = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
         "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore::FutureWarning,ignore::DeprecationWarning"}


def for_readers(path: Path, scenario: str) -> None:
    """Hide the machinery of an executed chapter: its parameter cells give way to one line naming the scenario."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    at = next((i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata["tags"]), 1)
    note = nbformat.v4.new_markdown_cell(f"*This page was computed on the scenario `{scenario}`; its parameters follow.*")
    nb.cells.insert(at + 1, note)
    nbformat.write(nb, path)


def build(scenario: str = "default", overrides: dict | None = None, out: str | Path = "_build") -> Path:
    """Run all notebooks on ``scenario`` and build the HTML book; returns the index page.

    Prints the seconds each chapter took and writes them to
    ``<out>/chapter_seconds.csv``.
    """
    import papermill as pm

    start = time.perf_counter()
    cfg = S.load(scenario, overrides)  # fail early on a bad scenario or override
    scenario_path = str(S.path_of(scenario).resolve())
    out = Path(out).resolve()
    stage = out / "stage"
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "notebooks").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, stage / name)
    shutil.copytree(ROOT / "book", stage / "book")

    seconds = {}
    saved = {name: os.environ.get(name) for name in QUIET}
    os.environ.update(QUIET)
    try:
        for source in tqdm(notebooks(), desc="notebooks", unit="nb"):
            target = stage / "notebooks" / source.name
            reason = not_applicable(source, cfg)
            began = time.perf_counter()
            if reason:
                placeholder(source, target, reason)
            else:
                pm.execute_notebook(
                    str(source), str(target),
                    parameters={"scenario": scenario_path, "overrides": dict(overrides or {})},
                    kernel_name=KERNEL, cwd=str(ROOT / "notebooks"), progress_bar={"desc": source.stem, "leave": False},
                )
                errors = error_cells(target)
                if errors:
                    raise RuntimeError(f"{source.name} produced error cells: {errors}")
                for_readers(target, cfg.name)
            seconds[source.stem] = round(time.perf_counter() - began, 1)
            tqdm.write(f"{source.stem}: {seconds[source.stem]:.0f} s")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(stage), "--builder", "html", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(stage / "_build" / "html"), html)
    (out / "chapter_seconds.csv").write_text("chapter,seconds\n" + "".join(f"{k},{v}\n" for k, v in seconds.items()))
    minutes = (time.perf_counter() - start) / 60
    print(f"built the book on scenario {cfg.name!r} in {minutes:.1f} min: {html / 'index.html'}")
    return html / "index.html"


def _parse_set(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--set takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    return overrides


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="default", help="a scenario name in scenarios/ or a path to a .yml file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one scenario field (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "_build"), help="output folder (default: _build)")
    args = parser.parse_args(argv)
    build(args.scenario, _parse_set(args.set), args.out)


if __name__ == "__main__":
    main()
