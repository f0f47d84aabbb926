"""The exercises' answer checks: verdicts, comparisons, and checks against hand-made tables.

That every check passes on its chapter's solution and fails on the empty
answer, on the small scenario, is tested on the built book
(``test_book.py``: ``test_every_exercise_checks_its_answer``).
"""

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers import exercises
from helpers.exercises import chapter4
from helpers.exercises.verdict import choice, mapping, number, numbers_close
from helpers.run import scenario as S

ROOT = Path(__file__).resolve().parents[1]


def test_a_number_within_its_tolerance_is_right_and_one_outside_says_which_side_without_the_value():
    assert number(1.015, 1.0, "the ratio", "look again")
    assert number(0.0004, 0.0, "a difference", "look again")  # within atol of zero
    high = number(1.1, 1.0, "the ratio", "Divide by the null.")
    assert not high and high.status == "not yet"
    assert "too high" in high.why and "Divide by the null." in high.why and "1.0 " not in high.why
    assert "too low" in number(0.9, 1.0, "the ratio", "").why
    assert not number(7, 6, "the best layer", "", rtol=0, atol=0)


@pytest.mark.parametrize("answer", ["3", True, float("nan"), [1.0], None])
def test_a_number_of_the_wrong_form_is_named(answer):
    verdict = number(answer, 1.0, "the ratio", "")
    assert not verdict and "expected one number (the ratio)" in verdict.why


def test_a_choice_must_be_one_of_the_options_and_ignores_case():
    options = ("follows", "stays deep")
    assert choice(" Follows ", "follows", options, "the best layer", "")
    wrong = choice("stays deep", "follows", options, "the best layer", "Look at the blocked split.")
    assert not wrong and "Look at the blocked split." in wrong.why
    assert "answer with one of 'follows', 'stays deep'" in choice("deep", "follows", options, "x", "").why
    with pytest.raises(ValueError, match="not one of the options"):
        choice("a", "b", ("a",), "x", "")


def test_a_mapping_names_missing_extra_and_wrong_keys_but_not_the_values():
    expected = {"shuffled": 3, "blocked": 1}
    assert mapping({"shuffled": 3, "blocked": 1}, expected, "the ranks", "")
    keys = mapping({"shuffled": 3, "other": 1}, expected, "the ranks", "")
    assert not keys and "missing 'blocked'" in keys.why and "not asked for 'other'" in keys.why
    wrong = mapping({"shuffled": 2, "blocked": 1}, expected, "the ranks", "Rank by the mean.")
    assert not wrong and "1 of 2 entries" in wrong.why and "'shuffled'" in wrong.why and "3" not in wrong.why
    assert "expected a dict" in mapping([3, 1], expected, "the ranks", "").why
    close = numbers_close()
    assert mapping({"r": 0.5005}, {"r": 0.5}, "r", "", close) and not mapping({"r": 0.6}, {"r": 0.5}, "r", "", close)
    assert not mapping({"r": "0.5"}, {"r": 0.5}, "r", "", close)
    assert close(4.0, 4) and not close(4.01, 4) and not close(True, 1)  # a whole number (a layer) exactly
    assert close(float("nan"), float("nan")) and not close(0.0, float("nan")) and not close(float("nan"), 0.0)


def test_check_refuses_an_unknown_exercise_and_never_accepts_none(tmp_path):
    cfg = S.load("smoke", {"cache_dir": str(tmp_path)})
    with pytest.raises(KeyError, match=r"no exercise '4\.9'.*4\.1, 4\.2"):
        exercises.check("4.9", 1, cfg)
    empty = exercises.check("4.4", None, cfg)
    assert not empty and empty.exercise == "4.4" and "answer_4_4 is still None" in empty.why
    assert repr(empty).startswith("Exercise 4.4: ✗ not yet: ")
    assert not list(tmp_path.iterdir())  # nothing was computed for an empty answer


def test_an_exercise_that_needs_the_simulation_says_so_on_real_data(tmp_path):
    cfg = S.load("smoke", {"cache_dir": str(tmp_path), "dataset": "harry_potter"})
    verdict = exercises.check("4.4", 6, cfg)
    assert verdict.status == "does not apply" and "not simulated" in verdict.why
    assert repr(verdict).startswith("Exercise 4.4: · nothing to check: ")


def _scores(means: dict[int, float], null: float = 0.02) -> pd.DataFrame:
    """A decoding table of the planted model: two subjects, one fold, CSLS at P@10, ``layer -> mean``."""
    rows = [{"subject": s, "model": "m", "layer": layer, "fold": 0, "retrieval": "csls", "metric": "P@10",
             "value": mean + d, "chance": 0.01, "chance_permuted": null}
            for layer, mean in means.items() for s, d in (("a", -0.01), ("b", 0.01))]
    return pd.DataFrame(rows)


def test_the_planted_layer_checks_read_the_scores_they_are_given(tmp_path, monkeypatch):
    cfg = S.load("smoke", {"cache_dir": str(tmp_path), "planted_model": "m", "planted_layer": 2, "models": ["m"],
                           "focus_model": "m"})
    made = {"types": _scores({0: 0.05, 1: 0.20, 2: 0.10}), "blocks": _scores({0: 0.05, 1: 0.08, 2: 0.12})}
    monkeypatch.setattr(chapter4.tables, "scores", lambda variant, measure: made[variant.split])
    monkeypatch.setattr(chapter4.pipeline, "focus", lambda variant: ("m", 1))
    assert exercises.check("4.3", {"shuffled": 2, "blocked": 1}, cfg)
    assert not exercises.check("4.3", {"shuffled": 1, "blocked": 1}, cfg)
    assert exercises.check("4.4", 1, cfg)  # layer 1 is planted instead; the best layer of the shuffled table
    assert not exercises.check("4.4", 2, cfg)
    # 4.1: k/n and the best layer's mean over the permutation null: layer 1, 0.20 / 0.02
    assert exercises.check("4.1", {"k/n": 0.01, "times the null": 10.0}, cfg)
    assert not exercises.check("4.1", {"k/n": 0.01, "times the null": 20.0}, cfg)  # divided by k/n


def test_every_exercise_in_the_chapters_has_a_check_an_answer_cell_and_a_checked_solution():
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            heading = re.match(r"### Exercise (\d+\.\d+) ", cell.source) if cell.cell_type == "markdown" else None
            if not heading:
                continue
            number_ = heading.group(1)
            found.append(number_)
            name = exercises.variable(number_)
            assert re.search(r"^\*About \d+ minutes\.\*$", cell.source, re.M), f"{number_}: no time estimate"
            assert f"**Your answer**: `{name}`" in cell.source, f"{number_}: the answer's form is not said"
            answer, solution = cells[i + 1], cells[i + 2]
            call = f'exercises.check("{number_}", {name}, cfg'
            assert "answer" in answer.metadata.get("tags", []) and answer.source.startswith(f"{name} = None  # ")
            assert call in answer.source
            assert "solution" in solution.metadata.get("tags", []) and f"{name} = " in solution.source
            assert solution.source.rstrip().splitlines()[-1].startswith(call), f"{number_}: the check closes it"
    assert sorted(found) == sorted(exercises.CHECKS) and len(found) == 32
