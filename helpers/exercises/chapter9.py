"""Checks of the exercises of chapter 9 (Controls: what do the scores mean?)."""

from __future__ import annotations

import dataclasses

from ..align import measures as MS
from ..lm import trivial
from ..run import control_report, controls, pipeline, tables
from .chapter4 import simulated
from .registry import exercise
from .verdict import mapping, numbers_close

SPLITS = {"shuffled": "types", "blocked": "blocks"}  # the answers' keys and the splits they name
PROCRUSTES = MS.get("procrustes").summary


def with_runs(cfg) -> str | None:
    """Why an exercise that needs leave-one-run-out does not apply to ``cfg``, or None."""
    if "runs" in controls.possible_splits(cfg):
        return None
    return f"this exercise compares with leave-one-run-out, and this scenario's data ({cfg.dataset}) have one run"


def procrustes_summary(cfg, ceiling: bool = False):
    """The chapter's ``summary`` rows of Procrustes P@10 (CSLS): every source under every split (with the ceiling)."""
    summary = control_report.controls_summary(controls.controls_table(cfg, progress=False),
                                              controls.ceiling_table(cfg, progress=False) if ceiling else None)
    return summary[summary["measure"] == PROCRUSTES]


def _same_feature(answer, expected: str) -> bool:
    """Whether ``answer`` names the trivial feature ``expected``, with or without its ``trivial:`` prefix."""
    return isinstance(answer, str) and trivial.PREFIX + answer.strip().lower().removeprefix(trivial.PREFIX) == expected


def position_planted(cfg, split: str):
    """Exercise 9.3's simulation: position identity planted, two subjects, the focus model alone, under ``split``."""
    model = pipeline.focus(cfg)[0]
    return dataclasses.replace(cfg, planted_model="trivial:position_identity", planted_layer=0, n_subjects=2,
                               models=(model,), focus_model="", focus_layer=None, split=split)


@exercise("9.1")
def strongest_trivial_feature(answer, cfg):
    rows = procrustes_summary(cfg)
    rows = rows[rows["model"].map(trivial.is_trivial)]
    above = (rows["mean"] - rows["chance"]).groupby(rows["split"]).idxmax()
    expected = {name: rows.loc[above[split], "model"] for name, split in SPLITS.items()}
    return mapping(answer, expected, f"the strongest trivial features by {PROCRUSTES}",
                   f"Keep the `summary` rows of {PROCRUSTES} whose source is a trivial feature and, per split, take "
                   "the one of highest `mean - chance`.", _same_feature)


@exercise("9.2", applies=with_runs)
def share_of_ceiling_by_split(answer, cfg):
    model = pipeline.focus(cfg)[0]
    rows = procrustes_summary(cfg, ceiling=True)
    rows = rows[rows["model"] == model].set_index("split")
    expected = {"share, shuffled": rows.loc["types", "share_of_ceiling"],
                "share, leave-one-run-out": rows.loc["runs", "share_of_ceiling"],
                "ceiling ratio": rows.loc["runs", "ceiling"] / rows.loc["types", "ceiling"]}
    return mapping(answer, expected, f"{model}'s shares of the ceiling and the ceilings' ratio ({PROCRUSTES})",
                   f"Read the rows of {model} and {PROCRUSTES} in `summary`: `share_of_ceiling` under split 'types' "
                   "and 'runs' (a share, not a percentage), and the `ceiling` under 'runs' divided by that under "
                   "'types'.", numbers_close())


@exercise("9.3", applies=simulated)
def planted_position(answer, cfg):
    model, layer = pipeline.focus(cfg)
    expected = {}
    for name, split in SPLITS.items():
        rows = control_report.measure_rows(tables.at_layer(position_planted(cfg, split), model, layer, "procrustes"))
        expected[name] = rows["value"].mean() - rows["chance"].mean()
    return mapping(answer, expected, f"{model} layer {layer}'s P@10 (CSLS) above chance with position planted",
                   "Per split, plant 'trivial:position_identity' (layer 0) with two subjects, score the focus layer "
                   "with Procrustes and subtract the mean chance of the headline rows (the permutation null) from "
                   "their mean P@10.", numbers_close())
