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

from ..align import rsa
from ..align.cka import linear_cka
from ..align.folds import SPLITS
from ..align.statistics import layer_rank, mean_and_ci, summarise
from ..lm import trivial
from ..lm.vectors import type_means
from . import grid, steps
from .pipeline import (ModelFeatures, brain_dims, brain_vectors, cache, focus, lm_features, occurrence_types,
                       recording_key, recordings, smoothing_options, word_runs)
from .scenario import Scenario
from .tables import (DECODERS, cka_table, decode, decoding_key, decoding_rows, decoding_table, rsa_table,
                     subject_brain, word_splits)

CEILING = "noise ceiling"
NO_SPLIT = "none"  # the split column of RSA and CKA, which fit no map
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
    """The scenario with :func:`sources` as its models (tables already cached for the models are reused)."""
    return dataclasses.replace(cfg, models=sources(cfg))


def chosen_layers(cfg: Scenario) -> dict[str, int]:
    """Every source's layer for the controls: its best by mean Procrustes P@10 (CSLS) under the scenario's protocol."""
    table = decoding_table(with_sources(cfg), "procrustes")
    rows = table[(table["metric"] == "P@10") & (table["retrieval"] == "csls")]
    means = rows.groupby(["model", "layer"])["value"].mean()
    return {model: int(means[model].idxmax()) for model in sources(cfg)}


def controls_table(cfg: Scenario, splits: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                   layers: dict[str, int] | None = None, progress: bool = True) -> pd.DataFrame:
    """Every source at one layer: the decoders (Procrustes, ridge) under each split, RSA and CKA (which fit nothing).

    ``splits`` defaults to :func:`possible_splits`, ``methods`` to the
    scenario's ``grid_methods``; ``layers`` maps
    each source to its layer (default :func:`chosen_layers`, whose Procrustes
    rows under the scenario's own split are reused here). Rows as in
    :func:`helpers.run.tables.decoding_table`; RSA and CKA rows as in their
    tables, with ``split`` :data:`NO_SPLIT`. Each (source, split, decoder) is
    cached on its own.
    """
    methods = cfg.grid_methods if methods is None else methods
    splits = possible_splits(cfg) if splits is None else splits
    cfg = with_sources(cfg)
    reuse = layers is None
    layers = chosen_layers(cfg) if layers is None else layers
    parts = []
    for split in tqdm(splits, desc="controls: splits", disable=not progress or None):
        variant = dataclasses.replace(cfg, split=split)
        for method in (m for m in DECODERS if m in methods):
            if reuse and split == cfg.split and method == "procrustes":
                table = decoding_table(cfg, method, progress=False)
                parts.append(table[table["layer"] == table["model"].map(layers)])
                continue
            for model in cfg.models:
                feats = lm_features(cfg, model)
                key = decoding_key("controls", variant, method, feats.key, layer=layers[model])
                parts.append(cache(cfg).table("controls", key, lambda: decoding_rows(
                    variant, feats, method, layers=[layers[model]], progress=False)))
    fitted_nothing = [make for name, make in (("rsa", rsa_table), ("cka", cka_table)) if name in methods]
    for make in fitted_nothing:
        table = make(cfg, progress=progress)
        parts.append(table[table["layer"] == table["model"].map(layers)].assign(split=NO_SPLIT))
    return pd.concat(parts, ignore_index=True)


def ceiling_table(cfg: Scenario, splits: tuple[str, ...] | None = None, methods: tuple[str, ...] | None = None,
                  progress: bool = True) -> pd.DataFrame:
    """The noise ceiling: every subject predicted from the others, by each measure and split (cached).

    The "model" of a subject is the other subjects' word-level brain vectors
    side by side (each reduced as for the focus model, so no voxel
    correspondence between subjects is assumed); Procrustes and ridge score
    it under each split, CKA compares it with the subject's type vectors,
    and RSA compares the subject's RDM with the mean of the others' RDMs
    (``methods``: default the scenario's ``grid_methods``). Rows as in the
    other tables, with ``model`` :data:`CEILING`.
    """
    methods = tuple(cfg.grid_methods if methods is None else methods)
    splits = possible_splits(cfg) if splits is None else splits
    recs = recordings(cfg)
    if len(recs) < 2:
        raise ValueError(f"the noise ceiling predicts each subject from the others; the scenario has {len(recs)} subject(s).")
    width = lm_features(cfg, focus(cfg)[0]).vectors.shape[2]
    key = steps.key("ceiling", cfg, recordings=[recording_key(cfg, r.subject) for r in recs], splits=list(splits),
                    smoothing=smoothing_options(cfg), width=width, methods=list(methods))
    return cache(cfg).table("ceiling", key, lambda: _ceiling_rows(cfg, recs, width, splits, methods, progress))


def _ceiling_rows(cfg: Scenario, recs, width: int, splits, methods, progress: bool) -> pd.DataFrame:
    types = occurrence_types(cfg)
    every = {r.subject: brain_vectors(cfg, r, brain_dims(cfg, r, width)) for r in recs}
    rdms = {s: rsa.rdm(type_means(v[None], types)[1][0], cfg.rsa_metric) for s, v in every.items()}
    rows = []
    for rec in tqdm(recs, desc="noise ceiling", disable=not progress or None):
        others = np.hstack([v for s, v in every.items() if s != rec.subject])
        feats = ModelFeatures(CEILING, "the other subjects' brain vectors", others[None].astype(np.float32), {}, {})
        names, type_vectors = type_means(feats.vectors, types)
        for split in splits:
            variant = dataclasses.replace(cfg, split=split)
            folds = word_splits(variant)
            brain = subject_brain(variant, rec, others.shape[1], folds, np.ones(len(types), dtype=bool))
            for method in (m for m in DECODERS if m in methods):
                rows += decode(variant, feats, rec, brain, 0, names, type_vectors[0], types, folds, method)
        own = type_means(every[rec.subject][None], types)[1][0]
        mean_rdm = np.mean([r for s, r in rdms.items() if s != rec.subject], axis=0)
        base = {"subject": rec.subject, "model": CEILING, "layer": 0, "split": NO_SPLIT, "chance": 0.0}
        if "rsa" in methods:
            rows.append({**base, "method": "rsa", "metric": f"rho ({cfg.rsa_metric})", "value": rsa.score(rdms[rec.subject], mean_rdm)})
        if "cka" in methods:
            rows.append({**base, "method": "cka", "metric": "linear CKA", "value": linear_cka(own, type_vectors[0])})
    return pd.DataFrame(rows).assign(model=CEILING, trained=False, family="")


def recovery_table(cfg: Scenario, designs: tuple[str, ...] = tuple(DESIGNS), snrs: tuple[float, ...] = SNRS,
                   split: str = "blocks", progress: bool = True) -> pd.DataFrame:
    """The planted model's every layer scored by each of ``grid_methods`` over a sweep of noise and blur, through the grid.

    One simulated experiment per design (:data:`DESIGNS`: no temporal
    overlap, then reading with the HRF) and SNR, the scenario's other fields
    kept; every cell is cached by the grid, so a rerun computes nothing.
    Adds the columns ``design`` and ``snr``.
    """
    if cfg.dataset != "simulated":
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
    """One score per row for each measure: P@10 with CSLS for the decoders, the RSA rho, linear CKA.

    Adds a ``measure`` column; ``chance`` becomes the permutation null's mean where the row has one.
    """
    decoders = table["method"].isin(DECODERS)
    keep = ~decoders | ((table["metric"] == "P@10") & (table["retrieval"] == "csls"))
    names = {"procrustes": "Procrustes P@10 (CSLS)", "ridge": "ridge P@10 (CSLS)", "rsa": "RSA (rho)", "cka": "linear CKA"}
    rows = table[keep].assign(measure=table["method"].map(names))
    if "chance_permuted" in rows:  # the permutation null where there is one
        rows["chance"] = rows["chance_permuted"].fillna(rows["chance"])
    return rows


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
