"""Build the whole book on the small scenario and look at what a reader gets."""

import re

import pytest

from helpers.data import harry_potter
from helpers.run import book, pipeline
from helpers.run import scenario as S

CHAPTERS = ["01_data_loading", "02_smoothing", "03_extraction", "04_procrustes", "05_ridge", "06_rsa"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    index = book.build("smoke", {"cache_dir": str(out / "cache")}, out)
    return index.parent


def test_the_book_has_an_index_and_every_chapter(site):
    assert (site / "index.html").exists()
    assert (site / "book" / "intro.html").exists()
    for page in ("rerun", "methods", "provenance", "references"):
        assert (site / "book" / f"{page}.html").exists()
    for chapter in CHAPTERS:
        assert (site / "notebooks" / f"{chapter}.html").exists()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_shows_figures_and_its_parameters_and_no_error(site, chapter):
    html = (site / "notebooks" / f"{chapter}.html").read_text()
    assert len(re.findall(r"<img[^>]+src=", html)) >= 1
    assert "planted_layer" in html and "smoke" in html  # the parameter table of the run
    assert "output traceback" not in html and "Traceback (most recent call last)" not in html


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
    """The whole book on Harry-Potter-layout files (text in cells) that the simulator writes, read by the real loader."""
    out = tmp_path_factory.mktemp("hp_book")
    cache = str(site.parent / "cache")  # the smoke book's: the same text, so the same language-model features
    for n, rec in enumerate(pipeline.recordings(S.load("smoke", {"cache_dir": cache})), start=1):
        harry_potter.save(rec, harry_potter.file_path(out / "data", n))
    overrides = {"data_dir": str(out / "data"), "download": False, "subjects": ["1", "2"],
                 "models": ["all-MiniLM-L6-v2"], "cache_dir": cache}
    return book.build("harry_potter", overrides, out).parent


def test_every_chapter_runs_on_real_dataset_files(harry_potter_site):
    executed = sorted((harry_potter_site.parent / "stage" / "notebooks").glob("*.ipynb"))
    assert [p.stem for p in executed] == CHAPTERS
    assert all(book.error_cells(p) == [] for p in executed)
    for chapter in CHAPTERS:
        html = (harry_potter_site / "notebooks" / f"{chapter}.html").read_text()
        assert "harry_potter" in html and "Traceback (most recent call last)" not in html
        assert "(simulated data)" not in html  # the loader's recordings are not labelled simulated
