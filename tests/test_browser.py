"""Open every page of the smoke book in a real browser (headless Chromium) and look at what a reader gets.

For each page of ``_toc.yml``: Chromium loads it from disk with no network,
runs its JavaScript (MathJax typesets the formulas) in a 1280 px window and,
after ``--virtual-time-budget`` of simulated time, prints the DOM
(``--dump-dom``) and saves a screenshot under ``<build>/screenshots/`` to
look at, in one run. The tests check the title, the figures, that no
traceback, progress bar or path of the build machine shows, that every
formula was typeset, that every local link and resource (with its
``#anchor``) exists, and that each chapter fits the window with its figures
shown at their own size.

Chromium comes from Debian (``apt-get install chromium``; ``scripts/run_tests.sh``
installs it when run as root). Without it the test is skipped, saying so.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PROGRESS = re.compile(r"it/s\]|s/it\]|TqdmWarning|\d+%\|[█▏▎▍▌▋▊▉ ]*\|")
MACHINE_PATHS = re.compile(r"(?<![\w.])/(?:work|tmp|root|home)/")
WARNINGS = re.compile(r"\b[A-Z]\w*Warning\b|\bWARNING\b")  # a Python warning's class, or a logger's level
MATH_CLASSES = {"math"}  # sphinx.ext.mathjax wraps every formula in an element of class "math"


def browser() -> str:
    for name in BROWSERS:
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no headless browser: chromium is not on PATH (scripts/run_tests.sh installs it with apt-get "
                "when run as root; otherwise `apt-get install chromium`)")


def toc_pages() -> list[str]:
    """Every page of the book, as its path without suffix (``book/intro``, ``notebooks/01_data_loading``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def source_of(page: str) -> Path:
    return next(p for p in (ROOT / f"{page}.md", ROOT / f"{page}.ipynb") if p.exists())


def source_title(page: str) -> str:
    """The page's heading as written in its source: the first line of a markdown file or of a notebook's first cell."""
    path = source_of(page)
    text = json.loads(path.read_text())["cells"][0]["source"] if path.suffix == ".ipynb" else path.read_text()
    text = "".join(text) if isinstance(text, list) else text
    return next(line for line in text.splitlines() if line.startswith("# ")).removeprefix("# ").strip()


def source_has_math(page: str) -> bool:
    """Whether the page's source holds a formula (``$...$``, ``$$``, or the math directive/role)."""
    path = source_of(page)
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)  # code is not math
    return bool(re.search(r"\$[^$\n]+\$|\{math\}", text))


def executed_has_figures(site: Path, page: str) -> bool:
    executed = site.parent / "stage" / f"{page}.ipynb"
    if not executed.exists():
        return False
    nb = json.loads(executed.read_text())
    return any("image/png" in out.get("data", {}) for c in nb["cells"] for out in c.get("outputs", []))


MEASURE = """<script>
window.addEventListener("load", function () {
  var article = document.querySelector("article") || document.querySelector("main");
  var images = Array.from(article.querySelectorAll("img")).filter(function (i) { return i.naturalWidth > 0; });
  var found = {window: window.innerWidth, page: document.documentElement.scrollWidth,
               column: article.clientWidth, column_scroll: article.scrollWidth,
               images: images.map(function (i) { return {src: i.getAttribute("src"), natural: i.naturalWidth, shown: i.clientWidth}; })};
  var out = document.createElement("pre"); out.id = "layout-measured"; out.textContent = JSON.stringify(found);
  out.style.display = "none";  // in the DOM for the test to read, not in the screenshot
  document.body.appendChild(out);
});
</script>"""
LEGIBLE_SCALE = 0.96  # figures are drawn at 100 dpi with text of 9 pt or more: shown at this scale or more, 9 pt on a 96 dpi page


class Page(HTMLParser):
    """What the checks need from a DOM: title, headings, text, links, images and formulas."""

    VOID = {"img", "link", "meta", "br", "hr", "input", "source", "col", "area", "base", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title, self.h1, self.text = "", [], []
        self.links, self.images = [], []
        self.math = 0  # formulas (elements of class "math" that sphinx.ext.mathjax writes)
        self.layout: dict = {}  # how the page is laid out in the browser's window (the fixture ``rendered`` measures it)
        self.typeset = set()  # the formulas MathJax replaced by its output (an mjx-container inside)
        self._stack: list[tuple[str, int | None]] = []  # open elements, with the formula they are in
        self._in = {"title": 0, "h1": 0, "script": 0, "style": 0}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self._in and not (tag == "title" and self.title):  # the page's title, not an icon's
            self._in[tag] += 1
            if tag == "h1":
                self.h1.append("")
        if tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script" and attrs.get("src"):
            self.links.append(attrs["src"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        formula = self._stack[-1][1] if self._stack else None
        if formula is None and "math" in (attrs.get("class") or "").split():
            self.math += 1
            formula = self.math
        if formula is not None and tag == "mjx-container":
            self.typeset.add(formula)
        if tag not in self.VOID:
            self._stack.append((tag, formula))

    def handle_endtag(self, tag):
        if tag in self._in:
            self._in[tag] = max(self._in[tag] - 1, 0)
        if any(open_tag == tag for open_tag, _ in self._stack):
            while self._stack.pop()[0] != tag:  # pop to the matching element
                pass

    def handle_data(self, data):
        if self._in["script"] or self._in["style"]:
            return
        if self._in["title"]:
            self.title += data
        if self._in["h1"] and self.h1:
            self.h1[-1] += data
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.text = " ".join(page.text)
    return page


def run_browser(exe: str, url: str, *args: str, timeout: int = 120) -> str:
    with tempfile.TemporaryDirectory() as profile:
        command = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                   "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args, url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{Path(exe).name} failed on {url}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def rendered(site):
    """Every page as the browser shows it in a 1280 px window: its DOM after its scripts ran, how it is laid out
    (``Page.layout``, measured by a script added to a copy of the page, beside it, and taken out of the DOM again),
    and a screenshot on disk; one browser run per page."""
    exe = browser()
    shots = site.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    pages = {}
    for page in toc_pages():
        path = site / f"{page}.html"
        assert path.exists(), f"{page} was not built"
        probe = path.with_name(f".probe-{path.name}")
        probe.write_text(path.read_text().replace("</body>", MEASURE + "</body>"))
        shot = shots / f"{page.replace('/', '_')}.png"
        try:
            dom = run_browser(exe, probe.as_uri(), "--dump-dom", f"--screenshot={shot}", "--window-size=1280,2000")
        finally:
            probe.unlink()
        measured = re.search(r'<pre id="layout-measured"[^>]*>(.*?)</pre>', dom, re.S)
        assert measured, f"{page}: the layout could not be measured"
        pages[page] = parse(dom[:measured.start()] + dom[measured.end():])
        pages[page].layout = json.loads(measured.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return pages


@functools.lru_cache(maxsize=None)
def ids_of(path: Path) -> frozenset[str]:
    """The element ids of a built page (targets of ``page.html#id`` links)."""
    return frozenset(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))


@pytest.mark.parametrize("page", toc_pages())
def test_each_page_renders_for_a_reader(site, rendered, page):
    dom = rendered[page]
    title = source_title(page)
    assert dom.h1 and dom.h1[0].replace("#", "").strip() == title, f"{page}: heading {dom.h1[:1]}, expected {title!r}"
    assert title in dom.title
    assert "Traceback (most recent call last)" not in dom.text
    assert not PROGRESS.search(dom.text), f"{page} shows a progress bar: {PROGRESS.search(dom.text).group()!r}"
    warning = WARNINGS.search(dom.text)
    assert not warning, f"{page} shows a warning: ...{dom.text[max(warning.start() - 80, 0):warning.end() + 80]}..."
    leak = MACHINE_PATHS.search(dom.text)
    assert not leak, f"{page} shows a path of the build machine: ...{dom.text[max(leak.start() - 80, 0):leak.end() + 80]}..."
    if executed_has_figures(site, page):
        figures = [src for src in dom.images if not src.startswith(("data:", "http"))]
        assert figures, f"{page} has figures in its notebook but none on the page"


@pytest.mark.parametrize("page", [p for p in toc_pages() if source_has_math(p)])
def test_formulas_are_typeset_by_the_local_mathjax(site, rendered, page):
    dom = rendered[page]
    mathjax = [link for link in dom.links if "mathjax" in link.lower() and link.endswith(".js")]
    assert mathjax and not any(urlsplit(m).scheme for m in mathjax), f"{page} loads MathJax from {mathjax}"
    assert all((site / page).parent.joinpath(m).resolve().is_file() for m in mathjax)
    assert dom.math > 0, f"{page} has formulas in its source but none on the page"
    assert len(dom.typeset) == dom.math, f"{page}: MathJax typeset {len(dom.typeset)} of {dom.math} formulas"
    assert "\\(" not in dom.text and "\\[" not in dom.text


@pytest.mark.parametrize("page", toc_pages())
def test_every_local_link_and_resource_exists(site, rendered, page):
    here = site / f"{page}.html"
    missing = []
    for link in rendered[page].links + rendered[page].images:
        parts = urlsplit(link)
        if parts.scheme or link.startswith(("//", "mailto:", "javascript:")) or not (parts.path or parts.fragment):
            continue
        target = (here.parent / unquote(parts.path)).resolve() if parts.path else here
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            missing.append(link)
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
            missing.append(link)
    assert not missing, f"{page} links to what is not in the build: {missing}"


def test_every_page_has_a_screenshot(site, rendered):
    shots = {p.stem for p in (site.parent / "screenshots").glob("*.png") if p.stat().st_size > 10_000}
    assert shots >= {page.replace("/", "_") for page in toc_pages()}


@pytest.mark.parametrize("page", [p for p in toc_pages() if p.startswith("notebooks/")])
def test_each_chapter_fits_a_1280_px_window_and_its_figures_are_not_shrunk(rendered, page):
    layout = rendered[page].layout
    assert layout["page"] <= layout["window"], f"{page} scrolls sideways: {layout['page']} px in a {layout['window']} px window"
    assert layout["column_scroll"] <= layout["column"] + 1, f"{page}: the main column overflows ({layout})"
    shrunk = [(i["src"], round(i["shown"] / i["natural"], 2)) for i in layout["images"] if i["shown"] < LEGIBLE_SCALE * i["natural"]]
    assert not shrunk, f"{page}: figures shown below {LEGIBLE_SCALE:.0%} of their size, their text under 9 pt: {shrunk}"
