import json
from pathlib import Path

import papermill as pm
import pytest
import yaml

from helpers import scenario as S

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_default_file_matches_the_dataclass_defaults():
    cfg = S.load("default")
    defaults = S.Scenario()
    for name in S.field_names():
        if name != "cache_dir":
            assert getattr(cfg, name) == getattr(defaults, name), name
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
    with pytest.raises(ValueError, match="unknown parameter\\(s\\) snrr; known parameters: name, dataset"):
        S.load("default", {"snrr": 1})
    with pytest.raises(FileNotFoundError, match="no scenario named 'nope'; available: default, harry_potter, natural_stories, pereira, smoke"):
        S.load("nope")
    with pytest.raises(ValueError, match="split must be one of"):
        S.load("default", {"split": "random"})
    with pytest.raises(ValueError, match="planted_layer must be between 0 \\(embeddings\\) and 6"):
        S.load("default", {"planted_layer": 7})
    with pytest.raises(ValueError, match="unknown dataset 'wehbe'"):
        S.load("default", {"dataset": "wehbe"})
    with pytest.raises(ValueError, match="bad_voxels must be one of \\('drop', 'error'\\), got 'keep'"):
        S.load("harry_potter", {"bad_voxels": "keep"})
    with pytest.raises(ValueError, match="experiment \\(Pereira et al.\\) must be 2 or 3, got 4"):
        S.load("pereira", {"experiment": 4})
    with pytest.raises(ValueError, match="tr must be a positive number of seconds"):
        S.load("natural_stories", {"tr": 0})
    with pytest.raises(ValueError, match="smoothing must be one of \\('paper', 'hrf'\\)"):
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


def test_notebooks_match_the_table_of_contents():
    from helpers.book import notebooks

    assert [p.name for p in notebooks()] == [p.name for p in NOTEBOOKS]


def test_context_and_pooling_are_checked_when_the_scenario_loads():
    with pytest.raises(ValueError, match="unknown context 'previous:x'; choose 'sentence', 'run'"):
        S.load("default", {"context": "previous:x"})
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        S.load("default", {"pooling": "max"})
    assert S.load("default", {"context": "previous:5"}).context == "previous:5"
