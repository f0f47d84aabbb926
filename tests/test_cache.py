import json

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from helpers.run.cache import Cache, digest


def test_arrays_are_computed_once_then_read_back(tmp_path):
    cache, calls = Cache(tmp_path), []

    def make():
        calls.append(1)
        return {"a": np.arange(3.0), "words": np.array(["x", "y"])}

    first = cache.arrays("k", {"p": 1}, make)
    second = cache.arrays("k", {"p": 1}, make)
    assert len(calls) == 1
    np.testing.assert_array_equal(second["a"], [0, 1, 2])
    assert second["words"].tolist() == ["x", "y"]
    cache.arrays("k", {"p": 2}, make)  # another key computes again
    assert len(calls) == 2
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})


def test_an_interrupted_write_leaves_nothing_behind(tmp_path):
    cache = Cache(tmp_path)

    def broken():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.arrays("k", {"p": 1}, broken)
    assert not cache.has("k", {"p": 1})
    # only the entry's lock file stays (removing lock files races with other workers)
    assert [p.name for p in (tmp_path / "k").iterdir()] == [f".{cache.entry('k', {'p': 1}).name}.lock"]


def test_a_stale_entry_is_never_reused(tmp_path, caplog):
    cache = Cache(tmp_path)
    cache.table("t", {"p": 1}, lambda: pd.DataFrame({"v": [1]}))
    key_file = cache.entry("t", {"p": 1}) / "key.json"
    key_file.write_text(json.dumps({"p": 999}))
    assert cache.table("t", {"p": 1}, lambda: pd.DataFrame({"v": [2]}))["v"].tolist() == [2]
    assert "holds other parameters" in caplog.text


def test_a_resumable_entry_keeps_its_work_after_an_interruption(tmp_path):
    cache, seen = Cache(tmp_path), []

    def make(work):
        seen.append(sorted(p.name for p in work.iterdir()))
        if not (work / "first.npy").exists():
            np.save(work / "first.npy", np.zeros(2))
            raise KeyboardInterrupt  # interrupted after the first piece of work
        np.save(work / "second.npy", np.ones(2))

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_make("k", {"p": 1}, make, resume=True)
    assert not cache.has("k", {"p": 1})
    folder = cache.get_or_make("k", {"p": 1}, make, resume=True)
    assert seen == [[], ["first.npy"]]  # the second call found the first piece done
    assert sorted(p.name for p in folder.iterdir()) == ["first.npy", "key.json", "manifest.json", "second.npy"]
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == sorted([folder.name, f".{folder.name}.lock"])  # the work folder became the entry
    cache.get_or_make("k", {"p": 1}, make, resume=True)
    assert len(seen) == 2


def test_tables_another_process_is_making_are_left_for_last_then_read(tmp_path):
    cache, made = Cache(tmp_path), []
    keys = {name: {"table": name} for name in "abc"}
    folder = cache.entry("k", keys["a"])
    folder.parent.mkdir(parents=True)
    elsewhere = FileLock(folder.parent / f".{folder.name}.lock")  # another process is making "a"
    elsewhere.acquire()

    def maker(name):
        def make():
            made.append(name)
            if name == "c":  # meanwhile, the other process finishes "a"
                elsewhere.release()
                Cache(tmp_path).table("k", keys["a"], lambda: pd.DataFrame({"by": ["the other process"]}))
            return pd.DataFrame({"by": [f"this process, {name}"]})
        return make

    tables = cache.tables("k", [(keys[name], maker(name)) for name in "abc"])
    assert made == ["b", "c"]  # "a" was not waited for, and then not made twice
    assert [t["by"].item() for t in tables] == ["the other process", "this process, b", "this process, c"]

    # when the other process fails to make it, this one makes it, last
    fresh = {name: {"table": name, "run": 2} for name in "abc"}
    folder = cache.entry("k", fresh["a"])
    elsewhere = FileLock(folder.parent / f".{folder.name}.lock")
    elsewhere.acquire()
    made.clear()

    def release_then(name):
        def make():
            made.append(name)
            if name == "c":
                elsewhere.release()
            return pd.DataFrame({"by": [name]})
        return make

    tables = cache.tables("k", [(fresh[name], release_then(name)) for name in "abc"])
    assert made == ["b", "c", "a"]
    assert [t["by"].item() for t in tables] == ["a", "b", "c"]


def _one_digit_changed(path):
    text = path.read_text()
    at = next(i for i, c in enumerate(text) if c.isdigit())
    path.write_text(text[:at] + str((int(text[at]) + 1) % 10) + text[at + 1:])


@pytest.mark.parametrize("damage, reason", [
    (_one_digit_changed, "table.csv does not hold what was written"),
    (lambda p: p.write_text(p.read_text()[:5]), "table.csv has 5 bytes"),
    (lambda p: p.write_text(""), "table.csv has 0 bytes"),
    (lambda p: p.unlink(), "table.csv is missing"),
    (lambda p: (p.parent / "key.json").write_text('{"p": '), "its key.json is unreadable"),
    (lambda p: (p.parent / "manifest.json").unlink(), "it has no manifest.json"),
    (lambda p: (p.parent / "extra.txt").write_text("x"), "extra.txt is not in its manifest"),
])
def test_a_damaged_entry_is_named_set_aside_and_made_again(tmp_path, caplog, damage, reason):
    cache, made = Cache(tmp_path), []

    def make():
        made.append(1)
        return pd.DataFrame({"v": [0.0826, 1.5]})

    first = cache.table("t", {"p": 1}, make)
    folder = cache.entry("t", {"p": 1})
    damage(folder / "table.csv")
    again = cache.table("t", {"p": 1}, make)
    assert len(made) == 2  # made again, and read back the same
    pd.testing.assert_frame_equal(again, first)
    assert f"cache entry t/{folder.name}" in caplog.text and f"is damaged ({reason}" in caplog.text
    aside = list((tmp_path / ".damaged" / "t").iterdir())  # nothing is lost: the damaged entry is kept aside
    assert len(aside) == 1 and reason in (aside[0] / "reason.txt").read_text()
    assert cache.table("t", {"p": 1}, make) is not None and len(made) == 2  # the remade entry is sound


def test_verify_reports_damage_and_clean_removes_what_killed_runs_left(tmp_path, capsys):
    from helpers.run import cache as module

    cache = Cache(tmp_path)
    for p in range(3):
        cache.table("t", {"p": p}, lambda: pd.DataFrame({"v": [p]}))
    _one_digit_changed(cache.entry("t", {"p": 1}) / "table.csv")
    dead = tmp_path / "t" / f".{cache.entry('t', {'p': 5}).name}-abc123"  # a writer killed mid-entry
    dead.mkdir()
    with pytest.raises(SystemExit) as exit_:
        module.main(["verify", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "t: 3 entries, 2 sound, 1 damaged" in out
    assert f"damaged: t/{cache.entry('t', {'p': 1}).name} (p=1): table.csv does not hold" in out
    assert "1 work folders of killed runs" in out
    module.main(["verify", "--root", str(tmp_path), "--move"])
    assert not cache.entry("t", {"p": 1}).exists() and len(list((tmp_path / ".damaged" / "t").iterdir())) == 1
    module.main(["clean", "--root", str(tmp_path)])
    assert not dead.exists() and not list((tmp_path / "t").glob(".*"))
    module.main(["verify", "--root", str(tmp_path)])
    assert "t: 2 entries, 2 sound, 0 damaged" in capsys.readouterr().out


def test_a_writer_removes_what_killed_writers_of_its_entry_left(tmp_path):
    cache = Cache(tmp_path)
    folder = cache.entry("t", {"p": 1})
    folder.parent.mkdir(parents=True)
    dead = folder.parent / f".{folder.name}-killed"  # the work folder of a writer killed with kill -9
    dead.mkdir()
    (dead / "table.csv").write_text("half")
    cache.table("t", {"p": 1}, lambda: pd.DataFrame({"v": [1]}))
    assert not dead.exists()
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([folder.name, f".{folder.name}.lock"])
