"""Execute every notebook with papermill on one scenario, then build the book.

    python -m helpers.run.book                       # the default scenario
    python -m helpers.run.book --scenario smoke      # a scenario file in scenarios/
    python -m helpers.run.book --set snr=2 --set seed=1

Source notebooks are never modified: executed copies go to
``<out>/stage/notebooks`` beside copies of the book's markdown and
configuration, Jupyter Book renders that folder, and the static site lands in
``<out>/html`` (open ``<out>/html/index.html``). The pages show results, not
machinery: what the chapters write to stderr (progress bars, warnings) goes to
``<out>/kernel_stderr.txt`` instead, with the kernels' own log (which the
command line does not show either), no page names a folder of the build
machine, and Jupyter Book's own messages are in ``<out>/jupyter-book.log``.

Chapters run side by side, ``--jobs`` at a time (default: two, or one on a
one-core machine), each kernel with its share of the cores for BLAS and
torch. They share the cache: a chapter that needs a result another one is
computing waits for it (the cache's lock per entry), then reads it.
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

from ..data import datasets as D
from . import scenario as S

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "brain-lm-alignment"


def notebooks() -> list[Path]:
    """The notebook chapters, in the order of ``_toc.yml``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("notebooks/")]
    return [ROOT / f"{f}.ipynb" for f in files]


# The longest chapters after the Procrustes chapter, longest first (measured on the default book).
LONG_CHAPTERS = ("scaling", "controls")


def start_order(chapters: list[Path]) -> list[Path]:
    """The order chapters start in when they run side by side: reading order, but the longest chapters
    (:data:`LONG_CHAPTERS`: the scaling chapter, then the controls) right after the Procrustes chapter. They
    need its tables first, so they make those tables together (:meth:`helpers.run.cache.Cache.tables`), and no
    long chapter is left to run alone at the end."""
    long = [c for suffix in LONG_CHAPTERS for c in chapters if c.stem.endswith(suffix)]
    rest = [c for c in chapters if c not in long]
    after = next((i + 1 for i, c in enumerate(rest) if c.stem.startswith("04_")), len(rest))  # the Procrustes chapter
    return rest[:after] + long + rest[after:]


def not_applicable(source: Path, cfg: S.Scenario) -> str | None:
    """Why a chapter does not apply to the scenario's data, or None when it does."""
    if source.stem.endswith("smoothing") and not D.get(cfg.dataset).word_timing:
        return (
            f"The {cfg.dataset} recordings hold one response per sentence: there is no word timing to smooth. "
            "Each word takes the response to its sentence (chapter 1)."
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
# (the build's own progress, per chapter and cell, shows on the command line). tqdm's "IProgress not found"
# comes from tqdm.auto in a kernel without ipywidgets. A bar created with an explicit ``disable=False``
# ignores TQDM_DISABLE, so for_readers also takes whatever reached stderr off the pages.
QUIET = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
         "TOKENIZERS_PARALLELISM": "false",
         "PYTHONWARNINGS": "ignore::FutureWarning,ignore::DeprecationWarning,ignore:IProgress not found"}

# Text outputs that for_readers rewrites so that no path of the build machine shows (images are left alone).
TEXT_OUTPUTS = ("text/plain", "text/html", "text/markdown", "text/latex")


def machine_prefixes(*more: str | Path) -> list[tuple[str, str]]:
    """Absolute folders of this machine and how a page shows them, longest first.

    The repository becomes a relative path, the home folder ``~``, and any
    other folder (the Python environment, temporary and output folders,
    ``more``) an ellipsis.
    """
    import tempfile

    shown = {str(Path.home()): "~"}
    folders = (sys.prefix, Path(sys.prefix).parent, sys.base_prefix, tempfile.gettempdir(), *more)  # the environment's
    shown.update({str(Path(folder).resolve()): "…" for folder in folders  # folder too: a table may cut a path short
                  if not Path(folder).resolve().is_relative_to(ROOT)})  # inside the repository: a relative path
    shown[str(ROOT)] = ""
    return sorted(((folder.rstrip("/") + "/", (label + "/") if label else "") for folder, label in shown.items()
                   if folder not in ("", "/")), key=lambda pair: -len(pair[0]))


def without_machine_paths(text: str, prefixes: list[tuple[str, str]]) -> str:
    """``text`` with every folder of :func:`machine_prefixes` replaced by how a page shows it."""
    for folder, label in prefixes:
        text = text.replace(folder, label)
    return text


def last_state(stream: str) -> str:
    """What a terminal would show of a stream with carriage returns: the last state of each line (of a progress bar)."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in stream.split("\n"))


def for_readers(path: Path, scenario: str, *private: str | Path, cost: tuple[float, float] | None = None) -> list[str]:
    """Show the reader results, not machinery; returns what was taken off the page.

    The chapter's parameter cells give way to one line naming the scenario
    (and, given ``cost`` = seconds and peak memory in bytes, what the chapter
    took to compute);
    what its cells wrote to stderr (progress bars, warnings, logs) leaves the
    page and is returned, as "cell N: text", for the build's log; and no text
    output, injected parameter or notebook metadata (papermill's paths) names a
    folder of this machine (:func:`machine_prefixes`, with the folders
    ``private`` too), since the executed notebook is offered for download.
    """
    import json

    import nbformat

    nb = nbformat.read(path, as_version=4)
    prefixes = machine_prefixes(*private)
    nb.metadata = nbformat.from_dict(json.loads(without_machine_paths(json.dumps(nb.metadata), prefixes)))
    removed = []
    for number, cell in enumerate(nb.cells):
        tags = cell.metadata.setdefault("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in tags:
            cell.source = without_machine_paths(cell.source, prefixes)
        stderr = "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stderr")
        if stderr.strip():
            removed.append(f"cell {number}: {last_state(stderr).strip()}")
        cell.outputs = [out for out in cell.outputs if not (out.output_type == "stream" and out.name == "stderr")]
        for out in cell.outputs:
            if out.output_type == "stream":
                out.text = without_machine_paths(out.text, prefixes)
            for mime in TEXT_OUTPUTS:
                if mime in out.get("data", {}):
                    value = out.data[mime]
                    value = "".join(value) if isinstance(value, list) else value
                    out.data[mime] = without_machine_paths(value, prefixes)
    at = next((i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata["tags"]), 1)
    took = "" if cost is None else (f" in {_duration(cost[0])}, with at most {cost[1] / 2**30:.1f} GiB of memory, on "
                                    "the machine that built it (a rerun that finds its results in the cache is faster)")
    note = nbformat.v4.new_markdown_cell(f"*This page was computed on the scenario `{scenario}`{took}; the table below "
                                         "holds every parameter of the run.*")
    nb.cells.insert(at + 1, note)
    nbformat.write(nb, path)
    return removed


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def default_jobs() -> int:
    """How many chapters run side by side by default: two, or one on a one-core machine."""
    return min(2, os.cpu_count() or 1)


# The variables BLAS libraries and torch read for their thread count.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# glibc's allocator, told to keep freed memory for the next array rather than hand it back to the system and
# fault fresh pages in again: a kernel's arrays (a fold's brain rows, a cosine matrix) are made and freed
# thousands of times. Less system time, the same bits (benchmarks/allocator.py); other C libraries ignore them.
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def kernel_environment(jobs: int) -> dict[str, str]:
    """What the chapters' kernels get in their environment: :data:`QUIET`, :data:`ALLOCATOR`, and each its
    share of the cores.

    With ``jobs`` kernels side by side, each gets ``cores // jobs`` threads
    for BLAS and torch. A value the environment already sets is kept.
    """
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    wanted = {**ALLOCATOR, **{name: threads for name in THREAD_VARIABLES}}
    return {**QUIET, **{name: os.environ.get(name, value) for name, value in wanted.items()}}


def execute(source: Path, target: Path, parameters: dict, progress: bool) -> tuple[float, float, str]:
    """Run one chapter with papermill into ``target`` (in a worker process); returns the seconds it took, the
    peak memory (bytes) of its kernel, sampled every half second, and what the kernel process itself wrote to
    stderr (the kernel's own log, e.g. its note on the transport and on the interrupt that precedes its
    shutdown): kept off the command line, where only the progress shows."""
    import tempfile
    import threading

    import papermill as pm
    import psutil

    peak, done = [0], threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not done.wait(0.5):
            try:
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in me.children(recursive=True)))
            except psutil.Error:  # a process ended while being read
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.perf_counter()
    terminal = os.fdopen(os.dup(2), "w")  # the progress bar's; the kernel started below inherits descriptor 2
    with tempfile.TemporaryFile("w+") as log:
        sys.stderr.flush()
        os.dup2(log.fileno(), 2)
        try:
            pm.execute_notebook(str(source), str(target), parameters=parameters, kernel_name=KERNEL, cwd=str(ROOT / "notebooks"),
                                progress_bar={"desc": source.stem, "leave": False, "file": terminal} if progress else False)
        finally:
            done.set()
            sampler.join()
            sys.stderr.flush()
            os.dup2(terminal.fileno(), 2)
            terminal.close()
        log.seek(0)
        return time.perf_counter() - began, float(peak[0]), log.read()


def run_chapters(sources: list[Path], folder: Path, cfg: S.Scenario, parameters: dict, jobs: int,
                 *private: str | Path) -> tuple[dict[str, float], list[str]]:
    """Execute the chapters ``sources`` into ``folder``, ``jobs`` side by side (started in
    :func:`start_order`), and ready them for readers.

    A chapter that does not apply to the scenario becomes a note
    (:func:`placeholder`); each executed one goes through :func:`for_readers`
    (``private``: more folders no page may name). Returns the seconds each
    chapter took and its kernel's peak memory (GiB), in the order of
    ``sources``, and what the chapters and their kernels wrote to stderr. The first chapter that fails stops the
    build, with its name.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing import get_context

    seconds, peaks, stderr = {}, {}, []
    environment = kernel_environment(jobs)
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)  # the workers, and the kernels they start, inherit it
    bar = tqdm(total=len(sources), desc="notebooks", unit="nb")
    try:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            running = {}
            for source in start_order(sources):
                reason = not_applicable(source, cfg)
                if reason:
                    placeholder(source, folder / source.name, reason)
                    seconds[source.stem], peaks[source.stem] = 0.0, 0.0
                    bar.update()
                else:
                    running[pool.submit(execute, source, folder / source.name, parameters, jobs == 1)] = source
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    source = running.pop(future)
                    target = folder / source.name
                    failure = future.exception()
                    errors = [f"{type(failure).__name__}: {failure}"] if failure else error_cells(target)
                    if errors:
                        pool.shutdown(cancel_futures=True)
                        if running:
                            tqdm.write(f"{source.name} failed; the build stops once the chapters still running end")
                        raise RuntimeError(f"{source.name} failed (the executed notebook: {target}): {errors}")
                    took, memory, kernel_log = future.result()
                    stderr += [f"## {source.stem}, {line}" for line in for_readers(target, cfg.name, *private, cost=(took, memory))]
                    stderr += [f"## {source.stem}, its kernel: {kernel_log.strip()}"] if kernel_log.strip() else []
                    seconds[source.stem] = round(took, 1)
                    peaks[source.stem] = round(memory / 2**30, 2)
                    tqdm.write(f"{source.stem}: {seconds[source.stem]:.0f} s, {peaks[source.stem]:.1f} GiB")
                    bar.update()
    finally:
        bar.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return {source.stem: (seconds[source.stem], peaks[source.stem]) for source in sources}, stderr


def build(scenario: str = "default", overrides: dict | None = None, out: str | Path = "_build",
          jobs: int | None = None) -> Path:
    """Run all notebooks on ``scenario`` and build the HTML book; returns the index page.

    ``jobs`` chapters run side by side (default :func:`default_jobs`).
    Prints the seconds each chapter took and writes them to
    ``<out>/chapter_seconds.csv`` (side by side, a chapter's time includes
    waiting for a result another chapter was computing).
    """
    start = time.perf_counter()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs is how many chapters run side by side, at least 1; got {jobs}.")
    cfg = S.load(scenario, overrides)  # fail early on a bad scenario or override
    from .cells import check_ks
    from .pipeline import require_inputs

    require_inputs(cfg)  # every missing model or file, listed before any work starts
    check_ks(cfg)
    # a scenario of the repository by its name, which loads from any folder (a downloaded notebook's too)
    path = S.path_of(scenario).resolve()
    named = path.parent == S.SCENARIO_DIR.resolve() and path.suffix == ".yml"
    parameters = {"scenario": path.stem if named else str(path), "overrides": dict(overrides or {})}
    out = Path(out).resolve()
    stage = out / "stage"
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "notebooks").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, stage / name)
    shutil.copytree(ROOT / "book", stage / "book")

    seconds, stderr = run_chapters(notebooks(), stage / "notebooks", cfg, parameters, jobs, out, cfg.cache_dir, cfg.data_dir)

    (out / "kernel_stderr.txt").write_text("".join(f"{line}\n\n" for line in stderr))
    if stderr:
        tqdm.write(f"what the chapters wrote to stderr (progress bars, warnings) is kept off the pages: {out / 'kernel_stderr.txt'}")

    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(stage), "--builder", "html", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    (out / "jupyter-book.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(stage / "_build" / "html"), html)
    (out / "chapter_seconds.csv").write_text("chapter,seconds,peak_memory_gib\n"
                                             + "".join(f"{k},{v[0]},{v[1]}\n" for k, v in seconds.items()))
    minutes = (time.perf_counter() - start) / 60
    print(f"built the book on scenario {cfg.name!r} in {minutes:.1f} min: {html / 'index.html'}")
    return html / "index.html"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="default", help="a scenario name in scenarios/ or a path to a .yml file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one scenario field (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "_build"), help="output folder (default: _build)")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help=f"chapters run side by side (default: {default_jobs()} on this machine)")
    parser.add_argument("--debug", action="store_true", help="show errors in the scenario with their tracebacks")
    args = parser.parse_args(argv)
    try:
        build(args.scenario, S.parse_set(args.set), args.out, args.jobs)
    except (S.ScenarioError, FileNotFoundError) as err:  # a user's error: its message alone, unless --debug
        if args.debug:
            raise
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
