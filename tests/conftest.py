import os

import numpy as np
import pytest

from helpers.data.recording import Recording
from helpers.plots.style import STRICT

# Every figure drawn in the tests, and in the books they build (kernels inherit the environment), must fit the book's
# column with text of 9 pt or more: a figure that does not is an error naming it (helpers.plots.style.legible).
os.environ[STRICT] = "1"

# The modules whose tests read the smoke book (the session fixture ``site``), which one worker builds.
SMOKE_BOOK_MODULES = {"test_book", "test_browser", "test_cells", "test_controls"}


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (``scripts/run_tests.sh``): as many workers as the book runs chapters side by side."""
    from helpers.run.book import default_jobs

    return default_jobs()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """With ``--dist loadgroup``, each module's tests run on one worker, so a module's fixtures are made once; the
    modules that read the smoke book form one group, so it is built once."""
    for item in items:
        module = item.path.stem
        item.add_marker(pytest.mark.xdist_group("smoke_book" if module in SMOKE_BOOK_MODULES else module))


def make_recording(onsets, tr_times=None, runs=None, n_voxels=5, seed=0, words=None, tr=2.0):
    """A small valid recording with random data."""
    onsets = np.asarray(onsets, dtype=float)
    if tr_times is None:
        tr_times = np.arange(0, onsets.max() + 20, tr)
    tr_times = np.asarray(tr_times, dtype=float)
    if runs is None:
        runs = np.zeros(len(tr_times), dtype=int)
    if words is None:
        words = [f"w{i}" for i in range(len(onsets))]
    data = np.random.default_rng(seed).standard_normal((len(tr_times), n_voxels)).astype(np.float32)
    return Recording("test", "s1", words, onsets, tr_times, runs, data, tr)


@pytest.fixture
def recording_factory():
    return make_recording


def changed(variables: dict, change: dict) -> dict:
    """A copy of a file's variables with ``change`` applied: a value replaces, ``None`` deletes."""
    out = dict(variables)
    for key, value in change.items():
        if value is None:
            del out[key]
        else:
            out[key] = value
    return out


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The whole book built on the small ``smoke`` scenario; the folder of its HTML pages.

    Built once per test session and shared by ``test_book.py`` and
    ``test_browser.py``. To check a book already built with
    ``python -m helpers.run.book --scenario smoke --out FOLDER`` instead of
    building one (several minutes), set ``SMOKE_BOOK=FOLDER``.
    """
    import os
    from pathlib import Path

    from helpers.run import book

    if os.environ.get("SMOKE_BOOK"):
        built = Path(os.environ["SMOKE_BOOK"]).resolve() / "html"
        assert (built / "index.html").exists(), f"SMOKE_BOOK={os.environ['SMOKE_BOOK']} holds no built book (html/index.html)"
        return built
    out = tmp_path_factory.mktemp("book")
    return book.build("smoke", {"cache_dir": str(out / "cache")}, out).parent
