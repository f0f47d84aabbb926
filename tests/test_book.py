"""Build the whole book on the small scenario and look at what a reader gets."""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.data import harry_potter
from helpers.run import book, pipeline
from helpers.run import scenario as S

CHAPTERS = ["01_data_loading", "02_smoothing", "03_extraction", "04_procrustes", "05_ridge", "06_rsa", "07_scaling", "08_layers", "09_controls"]
ROOT = Path(__file__).resolve().parents[1]
# What a reader must never see on a page: a progress bar, tqdm's warning, a folder of the build machine.
MACHINERY = re.compile(r"it/s\]|s/it\]|TqdmWarning|(?<![\w.])/(?:work|tmp|root|home)/")
TERM = re.compile(r"\{term\}`([^`]+)`")
GLOSSARY_NEEDS = [
    "fMRI", "BOLD", "voxel", "TR", "run", "HRF", "haemodynamic response function", "MNI space", "AAL atlas", "PCA",
    "word type", "word occurrence", "hidden state", "layer", "decontextualised vector", "Procrustes", "ridge regression",
    "RSA", "RDM", "CSLS", "precision@k", "chance level", "permutation null", "Mantel test", "cross-validation fold",
    "temporal leakage", "massive activations", "bootstrap interval",
]


def source_notebook(chapter: str):
    return nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)


def solutions(nb) -> list[int]:
    """Indices of the cells tagged ``solution`` (an exercise's answer)."""
    return [i for i, cell in enumerate(nb.cells) if "solution" in cell.metadata.get("tags", [])]


def glossary_terms() -> set[str]:
    """The terms the glossary defines (its unindented lines), in lower case as Sphinx matches them."""
    text = (ROOT / "book" / "glossary.md").read_text()
    block = text[text.index("```{glossary}") + len("```{glossary}"):]
    block = block[: block.index("```")]
    return {line.strip().lower() for line in block.splitlines()
            if line.strip() and not line.startswith((" ", "\t", ":"))}  # ":sorted:" is an option


def term_targets(text: str) -> list[str]:
    """The glossary terms that ``{term}`` roles in a text point to (``{term}`shown <target>``` points to target)."""
    return [(m.split("<")[-1].rstrip(">") if m.endswith(">") else m).strip() for m in TERM.findall(text)]


def book_pages(site) -> list[Path]:
    """The HTML page of every entry of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [site / f"{page}.html" for page in [toc["root"]] + [c["file"] for p in toc["parts"] for c in p["chapters"]]]


def test_the_book_has_an_index_and_every_chapter(site):
    assert (site / "index.html").exists()
    assert (site / "book" / "intro.html").exists()
    for page in ("rerun", "methods", "provenance", "glossary", "references"):
        assert (site / "book" / f"{page}.html").exists()
    for chapter in CHAPTERS:
        assert (site / "notebooks" / f"{chapter}.html").exists()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_shows_figures_and_its_parameters_and_no_error(site, chapter):
    html = (site / "notebooks" / f"{chapter}.html").read_text()
    assert len(re.findall(r"<img[^>]+src=", html)) >= 1
    assert "planted_layer" in html and "smoke" in html  # the parameter table of the run
    assert "output traceback" not in html and "Traceback (most recent call last)" not in html


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_ends_with_what_it_found(site, chapter):
    """The findings box, written from the chapter's tables, before the exercises."""
    html = (site / "notebooks" / f"{chapter}.html").read_text()
    box = re.search(r'<div class="admonition tip findings"><p class="admonition-title">What this chapter found</p>'
                    r"<ul>(.*?)</ul></div>", html, re.S)
    assert box is not None
    items = re.findall(r"<li>(.*?)</li>", box.group(1), re.S)
    assert items and "Nothing to report" not in items[0]
    assert box.start() < html.index('<section id="exercises"')


def test_the_controls_chapter_shows_every_source_with_intervals(site):
    from helpers.lm.trivial import NAMES

    html = (site / "notebooks" / "09_controls.html").read_text()
    for source in NAMES + ("all-MiniLM-L6-v2", "random:all-MiniLM-L6-v2"):
        assert source in html
    assert html.count(" ± ") >= 3 * 6  # the decoders' table: every source under every split, with its interval
    assert "model_survives" in html


def test_the_reader_is_told_the_data_are_simulated(site):
    assert "Simulated data" in (site / "notebooks" / "01_data_loading.html").read_text()
    assert "simulated" in (site / "book" / "intro.html").read_text()


def test_executed_notebooks_have_no_error_cells(site):
    executed = sorted((site.parent / "stage" / "notebooks").glob("*.ipynb"))
    assert [p.stem for p in executed] == CHAPTERS
    assert all(book.error_cells(p) == [] for p in executed)


def test_a_chapter_that_does_not_apply_is_replaced_by_a_note(tmp_path):
    import nbformat

    from helpers.run import scenario as S

    chapters = {p.stem: p for p in book.notebooks()}
    pereira = S.Scenario(dataset="pereira")
    reason = book.not_applicable(chapters["02_smoothing"], pereira)
    assert "no word timing to smooth" in reason
    assert book.not_applicable(chapters["02_smoothing"], S.Scenario()) is None
    assert all(book.not_applicable(p, pereira) is None for stem, p in chapters.items() if stem != "02_smoothing")
    target = tmp_path / "02_smoothing.ipynb"
    book.placeholder(chapters["02_smoothing"], target, reason)
    cells = nbformat.read(target, as_version=4).cells
    assert cells[0].source.startswith("# 2.") and reason in cells[1].source and book.error_cells(target) == []


@pytest.fixture(scope="module")
def harry_potter_site(site, tmp_path_factory):
    """The whole book on the paper's scenario (``protocol: published``, Procrustes, ridge and RSA in the grid), built
    as a reader does with ``bash scripts/build_book.sh --scenario paper --set ...``, on Harry-Potter-layout files
    (text in cells) that the simulator writes, read by the real loader. Two outer folds instead of four: the
    published kernel ridge eigendecomposes the kernel of every training row ten times per fold, so half the rows
    in half the folds build this book in 2.7 minutes instead of 8."""
    out = tmp_path_factory.mktemp("hp_book")
    cache = str(site.parent / "cache")  # the smoke book's: the same text, so the same language-model features
    for n, rec in enumerate(pipeline.recordings(S.load("smoke", {"cache_dir": cache})), start=1):
        harry_potter.save(rec, harry_potter.file_path(out / "data", n))
    book.main(["--scenario", "paper", "--out", str(out), "--set", f"data_dir={out / 'data'}", "--set", "download=false",
               "--set", "subjects=[1, 2]", "--set", "models=[all-MiniLM-L6-v2]", "--set", "focus_model=all-MiniLM-L6-v2",
               "--set", "n_permutations=20", "--set", "n_folds=2", "--set", "ladders=[]", "--set", f"cache_dir={cache}"])
    return out / "html"


def test_every_chapter_runs_on_real_dataset_files(harry_potter_site):
    executed = sorted((harry_potter_site.parent / "stage" / "notebooks").glob("*.ipynb"))
    assert [p.stem for p in executed] == CHAPTERS
    assert all(book.error_cells(p) == [] for p in executed)
    for chapter in CHAPTERS:
        html = (harry_potter_site / "notebooks" / f"{chapter}.html").read_text()
        assert "harry_potter" in html and "Traceback (most recent call last)" not in html
        assert "<td>published</td>" in html  # the parameter table: protocol published
        assert "(simulated data)" not in html  # the loader's recordings are not labelled simulated


# ---------------------------------------------------------------------------------------- pages for readers


def test_no_page_shows_progress_bars_warnings_or_machine_paths(site):
    for page in book_pages(site):
        html = page.read_text()
        found = MACHINERY.search(html)
        assert not found, f"{page.name}: ...{html[max(found.start() - 100, 0):found.end() + 100]}..."
    downloads = sorted((site / "_sources" / "notebooks").glob("*.ipynb"))  # the notebooks a reader can download
    assert [p.stem for p in downloads] == CHAPTERS
    for notebook in downloads:
        text = notebook.read_text()
        found = MACHINERY.search(text) or re.search(r"site-packages", text)
        assert not found, f"{notebook.name}: ...{text[max(found.start() - 100, 0):found.end() + 100]}..."
        injected = [c for c in nbformat.reads(text, as_version=4).cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert 'scenario = "smoke"' in injected[0].source  # a repository scenario by its name: it loads from anywhere


def test_what_the_chapters_wrote_to_stderr_is_in_the_build_log_not_on_the_pages(site):
    log = site.parent / "kernel_stderr.txt"
    assert log.exists()
    for chapter in CHAPTERS:
        executed = nbformat.read(site.parent / "stage" / "notebooks" / f"{chapter}.ipynb", as_version=4)
        assert not [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                    if o.output_type == "stream" and o.name == "stderr"]


def test_the_readers_page_names_no_folder_of_the_build_machine(tmp_path):
    cell = nbformat.v4.new_code_cell("cfg.info", execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="\rbar:  50%|#  | 1/2 [00:01<00:01,  1.0s/it]"),
        nbformat.v4.new_output("stream", name="stdout", text=f"read {book.ROOT}/data/x.mat and {tmp_path}/cache/y\n"),
        nbformat.v4.new_output("execute_result", execution_count=1, data={"text/plain": f"'{Path.home()}/.cache/z'"}),
    ])
    injected = nbformat.v4.new_code_cell(f'overrides = {{"data_dir": "{tmp_path}/data"}}', metadata={"tags": ["injected-parameters"]})
    path = tmp_path / "chapter.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 9. A chapter"), cell, injected])
    notebook.metadata["papermill"] = {"input_path": f"{book.ROOT}/notebooks/09.ipynb", "output_path": f"{tmp_path}/out.ipynb"}
    nbformat.write(notebook, path)
    removed = book.for_readers(path, "smoke", tmp_path)
    read = nbformat.read(path, as_version=4)
    assert read.metadata["papermill"] == {"input_path": "notebooks/09.ipynb", "output_path": "…/out.ipynb"}
    assert read.cells[2].source == 'overrides = {"data_dir": "…/data"}' and "remove-cell" in read.cells[2].metadata.tags
    assert removed == ["cell 1: bar:  50%|#  | 1/2 [00:01<00:01,  1.0s/it]"]
    outputs = nbformat.read(path, as_version=4).cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "execute_result"]
    assert outputs[0].text == "read data/x.mat and …/cache/y\n"
    assert outputs[1].data["text/plain"] == "'~/.cache/z'"


def test_formulas_use_the_mathjax_served_with_the_book(site):
    served = site / "_static" / "mathjax" / "tex-chtml.js"
    assert served.is_file()
    pages_with_math = 0
    for page in book_pages(site):
        html = page.read_text()
        assert "cdn.jsdelivr.net" not in html and "mathjax@3" not in html
        if 'class="math' in html:
            pages_with_math += 1
            scripts = re.findall(r'<script[^>]+src="([^"]*tex-chtml\.js)"', html)
            assert scripts and all((page.parent / s).resolve() == served.resolve() for s in scripts), page.name
    assert pages_with_math >= 4


def test_chapters_have_launch_buttons_to_the_repository(site):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    html = (site / "notebooks" / "01_data_loading.html").read_text()
    assert f"mybinder.org/v2/gh/{repo}/{config['repository']['branch']}" in html
    assert f"colab.research.google.com/github/{repo}/blob/{config['repository']['branch']}/notebooks/01_data_loading.ipynb" in html


# ------------------------------------------------------------------------------- glossary, objectives, exercises


def test_the_glossary_defines_the_field_s_words():
    terms = glossary_terms()
    assert not [t for t in GLOSSARY_NEEDS if t.lower() not in terms]
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    about = next(p for p in toc["parts"] if p["caption"] == "About")
    assert "book/glossary" in [c["file"] for c in about["chapters"]]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_links_the_glossary_and_every_link_has_a_target(chapter):
    text = "\n".join(c.source for c in source_notebook(chapter).cells if c.cell_type == "markdown")
    targets = term_targets(text)
    assert len(set(targets)) >= 3
    assert not [t for t in targets if t.lower() not in glossary_terms()]


def test_the_introduction_maps_every_chapter_and_links_the_glossary():
    intro = (ROOT / "book" / "intro.md").read_text()
    for chapter in CHAPTERS:
        assert f"../notebooks/{chapter}.ipynb" in intro
    assert "glossary.md" in intro
    assert not [t for t in term_targets(intro) if t.lower() not in glossary_terms()]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_opens_with_objectives_and_ends_with_exercises(chapter):
    nb = source_notebook(chapter)
    assert "In this chapter you will" in nb.cells[0].source
    found = solutions(nb)
    assert len(found) >= 3
    assert found[-1] == len(nb.cells) - 1  # the exercises close the chapter
    levels = []
    for i in found:
        question, answer, solution = nb.cells[i - 2], nb.cells[i - 1], nb.cells[i]
        assert question.cell_type == "markdown" and question.source.startswith("### Exercise")
        assert re.search(r"\{dropdown\} Hint|:class: dropdown", question.source), "every exercise has a folded hint"
        assert answer.cell_type == "code" and answer.metadata["tags"] == ["answer"]  # the student's cell, open
        assert solution.cell_type == "code" and {"hide-cell", "hide-input"} & set(solution.metadata["tags"])
        for cell in (answer, solution):
            assert cell.outputs == [] and cell.execution_count is None  # committed without outputs
        levels.append(question.source.split("·")[1].split(":")[0].strip())
    assert levels[0] == "warm-up" and levels[-1] == "challenge"
    assert all(cell.get("id") for cell in nb.cells)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_solution_ran_in_the_book_and_is_folded(site, chapter):
    """Every solution is executed with its chapter when the book is built, so none can go stale."""
    executed = nbformat.read(site.parent / "stage" / "notebooks" / f"{chapter}.ipynb", as_version=4)
    found = solutions(executed)
    assert len(found) >= 3
    for i in found:
        cell = executed.cells[i]
        assert cell.execution_count is not None, f"{chapter}: solution in cell {i} did not run"
        assert not [o for o in cell.outputs if o.output_type == "error"]
    html = (site / "notebooks" / f"{chapter}.html").read_text()
    folded = re.findall(r'<div class="cell [^"]*\btag_solution\b[^"]*"[^>]*>\s*<details class="[^"]*\bhide\b[^"]*">', html)
    assert len(folded) == len(found), "each solution sits behind a toggle"
    assert html.count("Show the solution") >= len(found)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_checks_its_answer(site, chapter):
    """In the built book each exercise's check says "not yet" on the answer cell's empty answer and "right" on the
    folded solution's: every check runs against its solution on every build."""
    executed = nbformat.read(site.parent / "stage" / "notebooks" / f"{chapter}.ipynb", as_version=4)

    def said(cell) -> str:
        return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)

    found = solutions(executed)
    for i in found:
        number = re.match(r"### Exercise (\d+\.\d+) ", executed.cells[i - 2].source).group(1)
        empty, solved = said(executed.cells[i - 1]), said(executed.cells[i])
        assert f"Exercise {number}: ✗ not yet: answer_{number.replace('.', '_')} is still None" in empty
        assert f"Exercise {number}: ✓ right: " in solved, f"{chapter}: the solution of {number} says {solved[-300:]!r}"
    html = (site / "notebooks" / f"{chapter}.html").read_text()
    assert html.count("✓ right") == len(found) and html.count("✗ not yet") == len(found)
    assert len(re.findall(r"<em>About \d+ minutes\.</em>", html)) == len(found)


def test_a_variant_with_another_planted_layer_gets_its_own_results(tmp_path):
    """Exercises 4.4 and 6.4 plant another layer: their recordings, and so every cached table, must differ."""
    import dataclasses

    cfg = S.load("smoke", {"cache_dir": str(tmp_path)})
    moved = dataclasses.replace(cfg, planted_layer=1)
    assert pipeline.recording_key(cfg, "sim-01") != pipeline.recording_key(moved, "sim-01")



def _chapter(path: Path, code: str) -> Path:
    """A one-cell chapter with the parameters cell and the kernel of the book's chapters."""
    parameters = nbformat.v4.new_code_cell('scenario = "default"\noverrides = {}', metadata={"tags": ["parameters"]})
    cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), parameters, nbformat.v4.new_code_cell(code)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=source_notebook(CHAPTERS[0]).metadata), path)
    return path


def test_chapters_run_side_by_side_and_the_one_that_fails_is_named(tmp_path, capfd):
    cfg = S.load("smoke", {"cache_dir": str(tmp_path / "cache")})
    parameters = {"scenario": str(S.path_of("smoke")), "overrides": {}}
    meeting, out = tmp_path / "meeting", tmp_path / "out"
    meeting.mkdir(), out.mkdir()
    # Each chapter arrives, then waits for the other: both finish only if they run at the same time.
    # Each holds 400 MiB for a second and a half: the build measures its kernel's peak memory.
    wait = (f"import pathlib, time\nheld = bytearray(400 * 2**20)\ntime.sleep(1.5)\n"
            f"here = pathlib.Path({str(meeting)!r})\n(here / {{name!r}}).touch()\n"
            "for _ in range(600):\n    if len(list(here.iterdir())) == 2:\n        break\n    time.sleep(0.1)\n"
            "else:\n    raise TimeoutError('the other chapter never ran')\nprint('met')")
    sources = [_chapter(tmp_path / f"{name}.ipynb", wait.format(name=name)) for name in ("first", "second")]
    costs, stderr = book.run_chapters(sources, out, cfg, parameters, 2)
    assert list(costs) == ["first", "second"]
    shown = "".join(capfd.readouterr())  # the command line: the chapters' progress, not the kernels' own log
    assert "first: " in shown and "IPKernelApp" not in shown
    assert any(line.startswith("## first, its kernel: ") and "IPKernelApp" in line for line in stderr)
    for source in sources:
        cells = nbformat.read(out / source.name, 4).cells
        assert "met" in "".join(o.get("text", "") for o in cells[-1].outputs)
        seconds, gib = costs[source.stem]
        assert 1.5 < seconds < 120 and 0.4 < gib < 4  # the kernel held 400 MiB (0.39 GiB) beside itself
        note = next(c.source for c in cells if c.source.startswith("*This page was computed"))
        assert re.search(r"in \d+ s, with at most 0\.[4-9] GiB of memory, on the machine that built it", note), note

    failing = [_chapter(tmp_path / "fine.ipynb", "print(1)"), _chapter(tmp_path / "broken.ipynb", "raise ValueError('planted')")]
    with pytest.raises(RuntimeError, match=r"broken\.ipynb failed.*planted"):
        book.run_chapters(failing, out, cfg, parameters, 2)


def test_the_long_chapters_start_right_after_procrustes_whose_tables_they_share():
    order = [c.stem for c in book.start_order(book.notebooks())]
    assert order == CHAPTERS[:4] + ["07_scaling", "09_controls"] + CHAPTERS[4:6] + ["08_layers"]
    assert book.start_order([Path("a.ipynb"), Path("b.ipynb")]) == [Path("a.ipynb"), Path("b.ipynb")]


def test_each_kernel_gets_its_share_of_the_cores_and_the_allocator_settings(monkeypatch):
    monkeypatch.setattr(book.os, "cpu_count", lambda: 8)
    for name in book.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert {book.kernel_environment(2)[name] for name in book.THREAD_VARIABLES} == {"4"}
    assert book.kernel_environment(16)["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # set by the user: kept
    assert book.kernel_environment(2)["MKL_NUM_THREADS"] == "3"
    for name in book.ALLOCATOR:
        monkeypatch.delenv(name, raising=False)
    assert book.kernel_environment(2)["MALLOC_TRIM_THRESHOLD_"] == str(2**30)
    assert book.kernel_environment(2)["MALLOC_MMAP_THRESHOLD_"] == str(2**28)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert book.kernel_environment(2)["MALLOC_MMAP_THRESHOLD_"] == "131072"
    with pytest.raises(ValueError, match="at least 1"):
        book.build("smoke", out=Path("unused"), jobs=0)
    exported = re.search(r"^export (MALLOC_.*)$", (ROOT / "scripts" / "run_tests.sh").read_text(), re.M).group(1)
    assert dict(item.split("=") for item in exported.split()) == book.ALLOCATOR  # the tests' process runs as the kernels
