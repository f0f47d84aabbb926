"""A cache one can trust: damaged entries are named, set aside and made again, and the bits of a result do not
depend on how many threads computed it."""

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.run import grid, pipeline
from helpers.run.scenario import Scenario
from tests.test_features import tiny_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def undamaged(tmp_path_factory):
    """A grid of a tiny model (3 layers, 1 subject; Procrustes and CKA) on a cache of its own, and its table as CSV."""
    folder = tiny_folder(tmp_path_factory.mktemp("tiny_bert"), "bert")
    cfg = Scenario(n_subjects=1, n_voxels=120, snr=2.0, models=(folder,), planted_model="all-MiniLM-L6-v2",
                   grid_methods=("procrustes", "cka"), cache_dir=str(tmp_path_factory.mktemp("cache")))
    return cfg, grid.run(cfg, progress=False).table.to_csv(index=False)


def _entries(cache: Path, kind: str, **wanted) -> list[Path]:
    import json

    return [p for p in sorted((cache / kind).iterdir()) if not p.name.startswith(".")
            and all(_field(json.loads((p / "key.json").read_text()), k, v) for k, v in wanted.items())]


def _field(key: dict, name: str, wanted) -> bool:
    """Whether ``key[name]`` is ``wanted``; a pair ``(inner, value)`` asks for ``key[name][inner] == value``."""
    if isinstance(wanted, tuple):
        inner, value = wanted
        return isinstance(key.get(name), dict) and key[name].get(inner) == value
    return key.get(name) == wanted


def _one_digit(path: Path) -> None:
    text = path.read_text()
    at = text.index("\n") + 1 + next(i for i, c in enumerate(text[text.index("\n") + 1:]) if c.isdigit())
    path.write_text(text[:at] + str((int(text[at]) + 1) % 10) + text[at + 1:])


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {  # what is damaged: (the kind of entry, the file, how)
    "one digit of a cell's table": ("cell", "table.csv", _one_digit),
    "a truncated key file": ("cell", "key.json", _truncate),
    "a truncated layer file": ("features", "layer_001.npy", _truncate),
    "a deleted layer file": ("features", "layer_002.npy", Path.unlink),
}


@pytest.mark.parametrize("what", DAMAGE)
def test_a_damaged_entry_is_named_made_again_and_the_table_is_unchanged(undamaged, tmp_path, caplog, what):
    cfg, table = undamaged
    cache = tmp_path / "cache"
    shutil.copytree(cfg.cache_dir, cache)
    kind, name, damage = DAMAGE[what]
    # a cell of layer 1, or the scored model's features (not the planted model's: the cached recordings need them no more)
    entry = _entries(cache, kind, **({"layer": 1} if kind == "cell" else {"model": ("name", cfg.models[0])}))[0]
    damage(entry / name)
    pipeline.MEMORY.clear()  # what this process holds in memory would hide the damage on disk
    pipeline.KEYS.clear()  # (a model's layer count, too, is read from its features entry, which is checked then)
    again = grid.run(dataclasses.replace(cfg, cache_dir=str(cache)), progress=False)
    assert f"cache entry {kind}/{entry.name}" in caplog.text and "is damaged" in caplog.text
    assert caplog.text.count("is damaged") == 1
    assert again.computed == (1 if kind == "cell" else 0) and not again.failed
    assert again.table.to_csv(index=False) == table  # byte for byte
    assert len(list((cache / ".damaged" / kind).iterdir())) == 1  # kept aside, not deleted


def test_the_same_cells_with_one_and_with_two_threads_are_the_same_bytes(tmp_path):
    """The smoke scenario cut to one subject and one model, MiniLM (whose vectors and CKA grams change in their last
    bits with the number of threads unless it is fixed), by the grid command, on two caches."""
    tables = []
    for threads in ("1", "2"):
        env = {**os.environ, **{v: threads for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
        out = tmp_path / f"grid_{threads}.csv"
        subprocess.run([sys.executable, "-m", "helpers.run.grid", "--scenario", "smoke", "--set", f"cache_dir={tmp_path / threads}",
                        "--set", "n_subjects=1", "--set", "models=[all-MiniLM-L6-v2]", "--set", "grid_methods=[procrustes, cka]",
                        "--out", str(out)], cwd=ROOT, env=env, check=True, capture_output=True)
        tables.append(out.read_bytes())
    assert tables[0] == tables[1]
