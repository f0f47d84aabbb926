"""The controls: the share of the ceiling by hand, and what the recovery sweep must show on the simulation.

The sweep reads the cache of the smoke book (the ``site`` fixture), whose
chapter 9 ran the same cells, so these tests add no computation to a run
that builds the book.
"""

import numpy as np
import pandas as pd
import pytest

from helpers.run import control_report, controls
from helpers.run import scenario as S


def rows(model, method, split, values, chance=0.1, **more):
    return [{"model": model, "method": method, "split": split, "subject": str(i), "fold": 0, "value": v, "chance": chance,
             "metric": "P@10" if method == "procrustes" else "linear CKA", "retrieval": "csls", "family": "f",
             "trained": True, **more} for i, v in enumerate(values)]


def test_share_of_the_ceiling_by_hand():
    table = pd.DataFrame(rows("m", "procrustes", "types", [0.3, 0.5], chance_permuted=0.2)
                         + rows("m", "cka", "none", [0.2, 0.2]))
    ceiling = pd.DataFrame(rows(controls.CEILING, "procrustes", "types", [0.7, 0.9], chance_permuted=0.2)
                           + rows(controls.CEILING, "cka", "none", [0.05, 0.05]))
    s = control_report.controls_summary(table, ceiling).set_index("measure")
    decoder = s.loc["Procrustes P@10 (CSLS)"]
    # the permutation null (0.2) is the chance level: (0.4 - 0.2) / (0.8 - 0.2)
    assert decoder["chance"] == pytest.approx(0.2) and decoder["share_of_ceiling"] == pytest.approx(1 / 3)
    assert np.isnan(s.loc["linear CKA", "share_of_ceiling"])  # a ceiling below chance gives no share
    assert control_report.controls_summary(table)["share_of_ceiling"].isna().all()


def test_recovery_bands_are_the_tables_t_intervals():
    from scipy import stats

    from helpers.plots import recovery

    values = {0: [0.1, 0.3, 0.2], 1: [0.5, 0.4, 0.9]}
    table = pd.DataFrame([{"design": "events", "measure": "P@10", "snr": 4.0, "layer": layer, "value": v, "chance": 0.05}
                          for layer, vs in values.items() for v in vs])
    fig = recovery(table, planted_layer=1)
    band = fig.axes[0].collections[0].get_paths()[0].vertices
    for layer, vs in values.items():
        half = stats.t.ppf(0.975, 2) * np.std(vs, ddof=1) / np.sqrt(3)  # by hand: t with 2 degrees of freedom
        at = band[np.isclose(band[:, 0], layer), 1]
        assert [at.min(), at.max()] == pytest.approx([np.mean(vs) - half, np.mean(vs) + half])
    star = [line for line in fig.axes[0].lines if line.get_marker() == "*"][0]
    assert star.get_xdata()[0] == 1 and star.get_ydata()[0] == pytest.approx(0.6)


def test_above_null_is_corrected_for_picking_the_best_layer():
    from scipy import stats

    values = np.array([0.20, 0.23, 0.26, 0.29])  # the best layer's four scores; the six others score 0
    sd, n_layers = values.std(ddof=1), 7
    plain, corrected = (stats.t.ppf(q, 3) * sd / 2 for q in (0.975, 1 - 0.025 / n_layers))
    for chance, passes in ((0.245 - (plain + corrected) / 2, False), (0.245 - corrected - 0.001, True)):
        assert 0.245 - chance > plain  # a plain 95 % interval would pass both
        table = pd.DataFrame([{"design": "events", "snr": 0.0, "method": "cka", "metric": "linear CKA", "retrieval": "",
                               "model": "m", "layer": layer, "subject": str(i), "chance": chance,
                               "value": values[i] if layer == 3 else 0.0} for layer in range(n_layers) for i in range(4)])
        summary = control_report.recovery_summary(table, planted_layer=3)
        assert summary["best_layer"].item() == 3 and summary["above_null"].item() is passes


@pytest.fixture(scope="module")
def sweep(site):
    cfg = S.load("smoke", {"cache_dir": str(site.parent / "cache")})
    table = control_report.measure_rows(controls.recovery_table(cfg, progress=False))
    return cfg, table, control_report.recovery_summary(table, cfg.planted_layer)


def test_every_method_recovers_the_planted_layer_without_temporal_overlap(sweep):
    cfg, _, summary = sweep
    clean = summary[(summary["design"] == "events") & (summary["snr"] == max(controls.SNRS))]
    assert set(clean["measure"]) == {"Procrustes P@10 (CSLS)", "RSA (rho)", "linear CKA"}  # the smoke grid's methods
    assert clean["recovered"].all() and clean["above_null"].all(), clean


def test_pure_noise_beats_no_null_under_the_blocked_split(sweep):
    _, table, summary = sweep
    assert set(table.loc[table["method"] == "procrustes", "split"]) == {"blocks"}
    noise = summary[summary["snr"] == 0.0]
    assert len(noise) == 2 * 3
    decoders = noise[noise["measure"] == "Procrustes P@10 (CSLS)"]
    assert len(decoders) == 2 and not decoders["above_null"].any(), decoders  # both designs
    # with no temporal overlap nothing beats its null; with the reading design's slow noise, RSA and CKA
    # (no split, a null that shuffles word labels) may: chapter 9 shows which
    assert not noise[noise["design"] == "events"]["above_null"].any(), noise


def test_blur_moves_the_best_layer_deeper(sweep):
    _, _, summary = sweep
    best = summary[summary["snr"] == max(controls.SNRS)].pivot_table(index="measure", columns="design", values="best_layer")
    shift = best["reading"] - best["events"]
    assert (shift >= 0).all() and shift.sum() > 0, best


def test_the_sweep_refuses_real_data_and_unknown_designs():
    with pytest.raises(ValueError, match="plants a layer in the simulation; the scenario reads 'harry_potter'"):
        controls.recovery_table(S.Scenario(dataset="harry_potter"))
    with pytest.raises(ValueError, match=r"unknown design\(s\) \['blocks'\]; choose from \('events', 'reading'\)"):
        controls.recovery_table(S.Scenario(), designs=("blocks",))


def test_verdicts_and_findings_by_hand():
    summary = pd.DataFrame([
        # measure, split, model, trained, mean, chance, ci95
        ("P", "blocks", "lm", True, 0.30, 0.10, 0.05),
        ("P", "blocks", "random:lm", False, 0.15, 0.10, 0.01),
        ("P", "blocks", "trivial:position", False, 0.20, 0.10, 0.01),
        ("P", "types", "lm", True, 0.30, 0.10, 0.05),
        ("P", "types", "random:lm", False, 0.12, 0.10, 0.01),
        ("P", "types", "trivial:position", False, 0.28, 0.10, 0.01),  # within the model's interval
    ], columns=["measure", "split", "model", "trained", "mean", "chance", "ci95"])
    v = control_report.verdicts(summary).set_index("split")
    assert v.loc["blocks", "model_survives"] and not v.loc["types", "model_survives"]  # 0.15 > 0.10; 0.15 < 0.18
    assert v.loc["types", "best trivial"] == "trivial:position"
    assert v.loc["types", "trivial above chance"] == pytest.approx(0.18)
    lines = control_report.findings(v.reset_index())
    assert lines[0] == "P, blocks: lm stands above chance, its untrained twins and the trivial features. Survives."
    assert lines[1].startswith("P, shuffled types: trivial:position reaches +0.180 above chance against +0.200 for lm")
