"""The controls: what a brain score means, measured beside it.

* **Trivial features** (:mod:`helpers.lm.trivial`: length, frequency,
  position, position identity) and the **untrained twins** go through the
  same tables as the language models (:func:`controls_table`).
* **Splits**: every source is scored under shuffled types (the paper), blocks
  with a buffer, and leave-one-run-out (:mod:`helpers.align.folds`).
* **Noise ceiling** (:func:`ceiling_table`): each subject predicted from the
  other subjects with the same measure and split, so a score can be read as
  a share of what the data allow.
* **Recovery** (:func:`recovery_table`): on the simulation, the planted layer
  swept over noise and temporal blur, through the grid.

Each source is scored at one layer: its best under the scenario's own
protocol by Procrustes P@10 (CSLS), the layer a paper would report
(:func:`chosen_layers`); trivial features have one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..align import measures as MS
from ..align.folds import SPLITS
from ..lm import trivial
from ..lm.vectors import type_means
from . import cells, grid, steps
from .cells import NO_SPLIT
from .pipeline import (ModelFeatures, brain_dims, brain_vectors, cache, focus, lm_features, occurrence_types, planted,
                       recording_key, recordings, smoothing_options, word_runs)
from .scenario import Scenario
from .tables import decoder

CEILING = "noise ceiling"
# The recovery sweep: no temporal overlap (one sample per word), then reading with the HRF and a 2 s TR.
DESIGNS = {"events": {"design": "events", "smoothing": "within_run"}, "reading": {"design": "reading"}}
SNRS = (0.0, 0.5, 4.0)


def sources(cfg: Scenario) -> tuple[str, ...]:
    """The scenario's models, then every trivial feature not among them."""
    return tuple(dict.fromkeys(cfg.models + trivial.NAMES))


def possible_splits(cfg: Scenario) -> tuple[str, ...]:
    """Every split kind the dataset allows: leave-one-run-out needs at least two runs (sentence datasets have one)."""
    return tuple(s for s in SPLITS if s != "runs" or len(np.unique(word_runs(cfg))) > 1)


def with_sources(cfg: Scenario) -> Scenario:
    """The scenario with :func:`sources` as its models (cells already cached for the models are reused)."""
    return dataclasses.replace(cfg, models=sources(cfg))


def chosen_layers(cfg: Scenario) -> dict[str, int]:
    """Every source's layer for the controls: its best by the mean headline score of :func:`~helpers.run.tables.decoder`
    (Procrustes P@10 by CSLS by default) under the scenario's protocol."""
    measure = MS.get(decoder(cfg))
    table = cells.table(with_sources(cfg), measure.name, progress=False)
    means = table[measure.headline(table)].groupby(["model", "layer"])["value"].mean()
    return {model: int(means[model].idxmax()) for model in sources(cfg)}


def controls_table(cfg: Scenario, splits: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                   layers: dict[str, int] | None = None, progress: bool = True) -> pd.DataFrame:
    """Every source at one layer, scored by every measure: those that fit a map under each split, the others once.

    ``splits`` defaults to :func:`possible_splits`, ``methods`` to the
    scenario's ``grid_methods``; ``layers`` maps each source to its layer
    (default :func:`chosen_layers`). The rows are those of the cells
    (:mod:`helpers.run.cells`), so a cell a chapter or the grid made is read,
    not made again; a measure that fits no map has ``split``
    :data:`~helpers.run.cells.NO_SPLIT`.
    """
    methods = cfg.grid_methods if methods is None else methods
    splits = possible_splits(cfg) if splits is None else splits
    cfg = with_sources(cfg)
    layers = chosen_layers(cfg) if layers is None else layers
    wanted = {model: [layers[model]] for model in cfg.models}
    parts = []
    for name in tqdm(methods, desc="controls: measures", disable=not progress or None):
        for split in (splits if MS.get(name).fits_map else splits[:1]):
            parts.append(cells.table(dataclasses.replace(cfg, split=split), name, layers=wanted, progress=False))
    return pd.concat(parts, ignore_index=True)


def ceiling_table(cfg: Scenario, splits: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                  progress: bool = True) -> pd.DataFrame:
    """The noise ceiling: every subject predicted from the others, by each measure and split (cached).

    The "model" of a subject is the other subjects' word-level brain vectors
    side by side (each reduced as for the focus model, so no voxel
    correspondence between subjects is assumed), scored as one model layer
    by each measure (``methods``: default the scenario's ``grid_methods``),
    under each split for a measure that fits a map; a measure with a
    ``ceiling`` of its own uses it (RSA compares the subject's RDM with the
    mean of the others' RDMs). Rows as in the other tables, with ``model``
    :data:`CEILING`.
    """
    methods = tuple(cfg.grid_methods if methods is None else methods)
    splits = possible_splits(cfg) if splits is None else splits
    recs = recordings(cfg)
    if len(recs) < 2:
        raise ValueError(f"the noise ceiling predicts each subject from the others; the scenario has {len(recs)} subject(s).")
    width = lm_features(cfg, focus(cfg)[0]).vectors.shape[2]
    used = {name: [MS.get(name).version, cfg.fields(*MS.get(name).fields)] for name in methods}
    key = steps.key("ceiling", cfg, recordings=[recording_key(cfg, r.subject) for r in recs], splits=list(splits),
                    smoothing=smoothing_options(cfg), width=width, measures=used)
    return cache(cfg).table("ceiling", key, lambda: _ceiling_rows(cfg, recs, width, splits, methods, progress))


def _ceiling_rows(cfg: Scenario, recs, width: int, splits, methods, progress: bool) -> pd.DataFrame:
    types = occurrence_types(cfg)
    every = {r.subject: brain_vectors(cfg, r, brain_dims(cfg, r, width)) for r in recs}
    rows = []
    for rec in tqdm(recs, desc="noise ceiling", disable=not progress or None):
        others = [v for s, v in every.items() if s != rec.subject]
        feats = ModelFeatures(CEILING, "the other subjects' brain vectors", np.hstack(others)[None].astype(np.float32), {}, {})
        for name in methods:
            measure = MS.get(name)
            if measure.ceiling is not None:
                own, *theirs = (type_means(v[None], types)[1][0] for v in [every[rec.subject], *others])
                rows += [{"subject": rec.subject, "layer": 0, "method": name, "split": NO_SPLIT, **row}
                         for row in measure.ceiling(own, theirs, cfg.fields(*measure.fields))]
                continue
            for split in (splits if measure.fits_map else (cfg.split,)):
                rows += cells.score(dataclasses.replace(cfg, split=split), measure, feats, rec, [0])
    return pd.DataFrame(rows).assign(model=CEILING, trained=False, family="")


def recovery_table(cfg: Scenario, designs: tuple[str, ...] = tuple(DESIGNS), snrs: tuple[float, ...] = SNRS,
                   split: str = "blocks", progress: bool = True) -> pd.DataFrame:
    """The planted model's every layer scored by each of ``grid_methods`` over a sweep of noise and blur, through the grid.

    One simulated experiment per design (:data:`DESIGNS`: no temporal
    overlap, then reading with the HRF) and SNR, the scenario's other fields
    kept; every cell is cached by the grid, so a rerun computes nothing.
    Adds the columns ``design`` and ``snr``.
    """
    if not planted(cfg):
        raise ValueError(f"the recovery sweep plants a layer in the simulation; the scenario reads {cfg.dataset!r}.")
    unknown = sorted(set(designs) - set(DESIGNS))
    if unknown:
        raise ValueError(f"unknown design(s) {unknown}; choose from {tuple(DESIGNS)}.")
    points = [(d, s) for d in designs for s in snrs]
    tables = []
    for design, snr in tqdm(points, desc="recovery sweep", disable=not progress or None):
        variant = dataclasses.replace(cfg, **DESIGNS[design], snr=float(snr), split=split, models=(cfg.planted_model,),
                                      focus_model="", focus_layer=None)
        tables.append(grid.run(variant, engine="local", progress=False).table.assign(design=design, snr=float(snr)))
    return pd.concat(tables, ignore_index=True)


def recovery_summary(table: pd.DataFrame, planted_layer: int) -> pd.DataFrame:
    """Per design, SNR and measure: the best layer, where the planted layer ranks, and whether it beats chance.

    ``recovered``: the planted layer is the best or within the best's 95 %
    interval (:func:`helpers.align.statistics.layer_rank`). ``above_null``:
    the best layer's mean is above the permutation null's mean by more than
    its interval (:func:`helpers.align.statistics.mean_and_ci`) at the 95 %
    level corrected for picking the best of the model's ``n`` layers
    (Bonferroni: ``1 - 0.05 / n``); with a plain 95 % interval the best of
    seven independent layers of pure noise would pass about one time in six.
    """
    rows = []
    for (design, snr, measure), part in measure_rows(table).groupby(["design", "snr", "measure"], sort=False):
        rank = layer_rank(part, part["model"].iloc[0], planted_layer)
        best = part[part["layer"] == rank["best_layer"]]
        _, half = mean_and_ci(best["value"].to_numpy(), level=1 - 0.05 / part["layer"].nunique())
        rows.append({"design": design, "snr": snr, "measure": measure, "best_layer": rank["best_layer"],
                     "planted_rank": rank["rank"], "recovered": rank["rank"] == 1 or rank["within_best_ci"],
                     "above_null": bool(best["value"].mean() - best["chance"].mean() > np.nan_to_num(half))})
    return pd.DataFrame(rows)


def measure_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One score per row for each measure: its headline rows (:func:`helpers.align.measures.headline_rows`)."""
    return MS.headline_rows(table)


def controls_summary(table: pd.DataFrame, ceiling: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per measure, source and split: mean over subjects and folds, 95 % interval, chance, and share of the ceiling.

    ``share_of_ceiling`` is ``(mean - chance) / (ceiling - chance)``: the
    part of what the other subjects predict that the source reaches above
    chance (NaN without a ceiling, or where the ceiling is not above chance).
    """
    rows = measure_rows(table)
    s = summarise(rows, ["measure", "model", "split"])
    s = s.join(rows.groupby("model")[["family", "trained"]].first(), on="model")
    if ceiling is None:
        return s.assign(ceiling=np.nan, share_of_ceiling=np.nan)
    top = measure_rows(ceiling).groupby(["measure", "split"])["value"].mean().rename("ceiling")
    s = s.join(top, on=["measure", "split"])
    room = s["ceiling"] - s["chance"]
    return s.assign(share_of_ceiling=((s["mean"] - s["chance"]) / room).where(room > 0))


def verdicts(summary: pd.DataFrame) -> pd.DataFrame:
    """Per measure and split: the best trained model, the best untrained twin and the best trivial feature, above chance.

    ``model_survives``: the trained model's 95 % interval lies above chance
    and above the best twin's and the best trivial feature's means (all as
    score minus chance). ``summary`` is :func:`controls_summary`.
    """
    s = summary.assign(above=summary["mean"] - summary["chance"])
    kinds = {"trained": s["trained"].astype(bool), "twin": s["model"].str.startswith("random:"),
             "trivial": s["model"].map(trivial.is_trivial)}
    out = []
    for (measure, split), part in s.groupby(["measure", "split"], sort=False):
        row = {"measure": measure, "split": split}
        for kind, mask in kinds.items():
            candidates = part[mask.loc[part.index]]
            best = candidates.loc[candidates["above"].idxmax()] if len(candidates) else None
            row[f"best {kind}"] = best["model"] if best is not None else ""
            row[f"{kind} above chance"] = best["above"] if best is not None else np.nan
            if kind == "trained":
                row["trained ci95"] = best["ci95"] if best is not None else np.nan
        low = row["trained above chance"] - np.nan_to_num(row["trained ci95"])
        row["model_survives"] = bool(low > 0 and low > np.nan_to_num(row["twin above chance"], nan=-np.inf)
                                     and low > np.nan_to_num(row["trivial above chance"], nan=-np.inf))
        out.append(row)
    return pd.DataFrame(out)


def findings(verdict: pd.DataFrame, recovered: pd.DataFrame | None = None) -> list[str]:
    """The chapter's conclusions in plain sentences, from :func:`verdicts` and, on the simulation, :func:`recovery_summary`."""
    names = {"types": "shuffled types", "blocks": "blocks", "runs": "leave-one-run-out", NO_SPLIT: "no split"}
    out = []
    for _, r in verdict.iterrows():
        where = f"{r['measure']}, {names.get(r['split'], r['split'])}"
        model, above = r["best trained"], r["trained above chance"]
        if r["model_survives"]:
            out.append(f"{where}: {model} stands above chance, its untrained twins and the trivial features. Survives.")
            continue
        rivals = [(r[f"best {kind}"], r[f"{kind} above chance"]) for kind in ("twin", "trivial") if r[f"best {kind}"]]
        rival, value = max(rivals, key=lambda t: t[1]) if rivals else ("chance", 0.0)
        out.append(f"{where}: {rival} reaches {value:+.3f} above chance against {above:+.3f} for {model}; "
                   "the score cannot be told from a control. Artefact here.")
    if recovered is not None:
        clean = recovered[recovered["snr"] == recovered["snr"].max()]
        shift = clean.pivot_table(index="measure", columns="design", values="best_layer")
        if {"events", "reading"} <= set(shift.columns):
            for measure, row in shift.iterrows():
                moved = row["reading"] - row["events"]
                out.append(f"{measure}: at SNR {clean['snr'].iloc[0]:g} the best layer is {row['events']:.0f} without temporal overlap "
                           f"and {row['reading']:.0f} in the reading design ({moved:+.0f} layers from blur).")
    return out
