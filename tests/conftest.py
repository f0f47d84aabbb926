import os

import numpy as np
import pytest

from helpers.data.recording import Recording
from helpers.plots.style import STRICT

# Every figure drawn in the tests, and in the books they build (kernels inherit the environment), must fit the book's
# column with text of 9 pt or more: a figure that does not is an error naming it (helpers.plots.style.legible).
os.environ[STRICT] = "1"

# The smoke book (the session fixture ``site``, several minutes) is built by the first test that asks for it; with
# several workers (scripts/run_tests.sh runs pytest-xdist, a module to a worker) the others wait for it and read it.
# Its builder's module runs first and the modules that only read it run last, so a second worker spends the build
# on the modules that do not need it.
SMOKE_BOOK_BUILDER = "test_book"
SMOKE_BOOK_READERS = ("test_browser", "test_cells", "test_controls")


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (``scripts/run_tests.sh``): as many workers as the book runs chapters side by side, each with its
    share of the cores for BLAS and torch as a kernel of the book gets it (the workers start with this process's
    environment; a count it already sets is kept): threads beyond the cores wait on each other."""
    from helpers.run import book

    workers = book.default_jobs()
    share = book.kernel_environment(workers)
    os.environ.update({name: share[name] for name in book.THREAD_VARIABLES})
    return workers


def pytest_collection_modifyitems(config, items):
    """The smoke book's builder first, the modules that read it last; each module's tests in their own order."""
    def place(item) -> int:
        module = item.path.stem
        return 0 if module == SMOKE_BOOK_BUILDER else 2 if module in SMOKE_BOOK_READERS else 1

    items.sort(key=place)


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

    Built once per test session, by whichever worker asks first (the others
    wait for it), and shared by ``test_book.py``, ``test_browser.py``,
    ``test_cells.py`` and ``test_controls.py``. To check a book already built
    with ``python -m helpers.run.book --scenario smoke --out FOLDER`` instead
    of building one (several minutes), set ``SMOKE_BOOK=FOLDER``.
    """
    from pathlib import Path

    from filelock import FileLock

    from helpers.run import book

    if os.environ.get("SMOKE_BOOK"):
        built = Path(os.environ["SMOKE_BOOK"]).resolve() / "html"
        assert (built / "index.html").exists(), f"SMOKE_BOOK={os.environ['SMOKE_BOOK']} holds no built book (html/index.html)"
        return built
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker has its own folder; their parent is the session's
        shared = shared.parent
    out = shared / "smoke_book"
    with FileLock(shared / "smoke_book.lock"):
        if not (out / "html" / "index.html").exists():  # a build that failed left none: build again, and fail again
            return book.build("smoke", {"cache_dir": str(out / "cache")}, out).parent
    return out / "html"
