"""Build the whole book on the small scenario and look at what a reader gets."""

import re

import pytest

from helpers import book

CHAPTERS = ["01_data_loading", "02_smoothing", "03_extraction", "04_procrustes", "05_ridge", "06_rsa"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    index = book.build("smoke", {"cache_dir": str(out / "cache")}, out)
    return index.parent


def test_the_book_has_an_index_and_every_chapter(site):
    assert (site / "index.html").exists()
    assert (site / "book" / "intro.html").exists()
    for page in ("rerun", "provenance", "references"):
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

    from helpers import scenario as S

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
