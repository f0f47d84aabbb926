"""Summaries of score tables: means with intervals, chance levels, and where layers rank.

Every function takes a tidy table (one row per subject x model x layer x
fold x metric, with the columns ``value`` and ``chance``, and where there is
one ``chance_permuted``) and returns a small table or a dict for the book;
:func:`lag_similarity` and :func:`layer_similarity` summarise vectors
instead (mean cosines). The figures (:mod:`helpers.plots`) draw what these
functions return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# Per-row columns that some tables carry, and how a layer's rows are summarised in best_layers.
_WORST = ("p", "p_fwe")  # the largest p-value over subjects and folds
_MEANS = ("ci_low", "ci_high", "null_95")  # bootstrap interval of a fold; 95th percentile of a null


def mean_and_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of a t-based confidence interval."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(half)


def summarise(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, 95 % CI and chance levels of ``value`` per group, over subjects and folds.

    The interval treats the subject x fold scores as independent, which they
    are not quite (folds share training data): read it as a guide.
    """
    rows = []
    for key, group in table.groupby(by, sort=True):
        mean, half = mean_and_ci(group["value"].to_numpy())
        row = {**dict(zip(by, key if isinstance(key, tuple) else (key,))), "mean": mean, "ci95": half,
               "chance": group["chance"].mean(), "n": len(group)}
        if "chance_permuted" in group:
            row["chance_permuted"] = group["chance_permuted"].mean()
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else [*by, "mean", "ci95", "chance", "n"])


def layer_rank(table: pd.DataFrame, model: str, layer: int, **where) -> dict:
    """Where ``layer`` ranks among ``model``'s layers by mean score (1 = best), on the rows matching ``where``.

    ``within_best_ci`` says whether its mean reaches the lower end of the
    best layer's 95 % interval (:func:`summarise`), i.e. whether the data
    can tell it apart from the best.
    """
    rows = table[table["model"] == model]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    if layer not in set(rows["layer"]):
        raise ValueError(f"no rows for {model} layer {layer} with {where}; layers present: {sorted(set(rows['layer']))}.")
    s = summarise(rows, ["layer"]).sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    best, mine = s.iloc[0], s[s["layer"] == layer].iloc[0]
    return {
        "layer": layer,
        "rank": int(s.index[s["layer"] == layer][0]) + 1,
        "n_layers": len(s),
        "mean": float(mine["mean"]),
        "best_layer": int(best["layer"]),
        "best_mean": float(best["mean"]),
        "within_best_ci": bool(mine["mean"] >= best["mean"] - np.nan_to_num(best["ci95"])),
    }


def layer_summary(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """:func:`summarise` per group of ``by``, with the per-row columns the table carries, summarised.

    Where the table has them: the mean of each fold's bootstrap interval
    (``ci_low``, ``ci_high``) and of the null's 95th percentile
    (``null_95``), and the largest p-value over subjects and folds (``p``,
    ``p_fwe``). Groups in sorted order, as :func:`summarise`.
    """
    by = list(by)
    extra = [table.groupby(by)[[c for c in _MEANS if c in table]].mean(),
             table.groupby(by)[[c for c in _WORST if c in table]].max()]
    return summarise(table, by).merge(pd.concat(extra, axis=1).reset_index(), on=by)


def layer_curve(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`summarise` of ``table`` per layer, and the row of its best layer (highest mean; the first among ties).

    The best layer is the one :func:`layer_rank` ranks first.
    """
    s = summarise(table, ["layer"])
    return s, s.loc[s["mean"].idxmax()]


def best_layers(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The best layer of every group of ``by`` (e.g. ``["model", "metric"]``) by mean score.

    One row per group: :func:`layer_summary` of that layer: :func:`summarise`
    plus, where the table has them, the mean of each fold's bootstrap
    interval (``ci_low``, ``ci_high``) and of the null's 95th percentile
    (``null_95``), and the largest p-value over subjects (``p``, ``p_fwe``).
    """
    summary = layer_summary(table, list(by) + ["layer"])
    return summary.loc[summary.groupby(list(by))["mean"].idxmax()].reset_index(drop=True)


def layer_ranks(tables: dict[str, pd.DataFrame], model: str, layer: int, **where) -> pd.DataFrame:
    """:func:`layer_rank` of one layer under several conditions (``label -> table``), one row per condition."""
    return pd.DataFrame({label: layer_rank(table, model, layer, **where) for label, table in tables.items()}).T


def scored_layers(measures: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Several measures' tables (``label -> rows of one metric``) summarised per measure, model and layer.

    One row per measure x model x layer: :func:`summarise` over subjects and
    folds, with the model's family, size (``n_params_m``), whether it is
    trained, and the layer's relative depth (``layer / last layer``). The
    chance level drawn is the permutation null where the table has one.
    """
    rows = []
    for label, table in measures.items():
        s = summarise(table, ["model", "layer"])
        about = table.groupby("model")[["family", "n_params_m", "trained", "n_states"]].first()
        s = s.join(about, on="model").assign(measure=label)
        s["relative_depth"] = s["layer"] / (s["n_states"] - 1).clip(lower=1)
        if "chance_permuted" in s:
            s["chance"] = s["chance_permuted"].fillna(s["chance"])
        rows.append(s)
    return pd.concat(rows, ignore_index=True)


def model_scores(layers: pd.DataFrame, at: str = "best") -> pd.DataFrame:
    """Each measure's score per model at its ``"best"`` layer (highest mean) or its ``"last"`` layer.

    ``layers`` is :func:`scored_layers`; the result keeps its columns, one row
    per measure and model.
    """
    if at not in ("best", "last"):
        raise ValueError(f"at must be 'best' or 'last', got {at!r}.")
    pick = layers.groupby(["measure", "model"])["mean" if at == "best" else "layer"].idxmax()
    return layers.loc[pick].reset_index(drop=True).assign(at=at)


def _subject_means(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per model, its mean score per layer (rows) and subject (columns), over folds."""
    means = table.groupby(["model", "layer", "subject"])["value"].mean()
    return {model: m.droplevel("model").unstack("subject") for model, m in means.groupby(level="model")}


def _chosen(per_layer: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each resample of subjects (``draws``: rows of subject indices), the best layer's position and score,
    the layer chosen again inside the resample. ``per_layer``: layers x subjects."""
    resampled = np.nanmean(per_layer[:, draws], axis=2)  # layers x draws
    best = np.argmax(resampled, axis=0)
    return best, resampled[best, np.arange(draws.shape[0])]


def over_subjects(estimate, resampled: np.ndarray, n_subjects: int, level: float = 0.95):
    """The interval of a statistic of ``n_subjects`` subjects from its values over resamples of them (along the last
    axis of ``resampled``): the estimate plus or minus Student's t quantile (``n_subjects - 1`` degrees of freedom)
    times the resamples' standard deviation widened by sqrt(n / (n - 1)). For a mean this is the t interval. The
    middle 95 % of the resamples would be too narrow with few subjects: resampling n subjects spreads a mean by
    sqrt((n - 1) / n) of its standard error, and the normal quantile is below t's; with four subjects that interval
    is about half as wide as it should be and excludes a zero slope one time in five
    (``tests/test_statistics.py``). NaN with fewer than two subjects."""
    estimate = np.asarray(estimate, dtype=np.float64)
    if n_subjects < 2:
        return np.full_like(estimate, np.nan), np.full_like(estimate, np.nan)
    half = (stats.t.ppf(0.5 + level / 2, n_subjects - 1) * np.std(resampled, axis=-1, ddof=1)
            * np.sqrt(n_subjects / (n_subjects - 1)))
    return estimate - half, estimate + half


def chosen_layer_intervals(table: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each model's best layer with an interval that accounts for choosing it.

    The best layer is the one with the highest mean over subjects (and
    folds). Its interval resamples *subjects* with replacement ``n_boot``
    times and chooses the best layer again inside every resample, so that
    the luck of the choice is in the interval; ``same_choice`` is the share
    of resamples that choose the same layer. One row per model: ``layer``,
    ``mean`` (its score on all subjects), ``ci_low`` and ``ci_high`` (the
    mean plus or minus the re-chosen best score's spread, :func:`over_subjects`),
    ``same_choice``. With one subject the interval is NaN.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for model, per_layer in _subject_means(table).items():
        values = per_layer.to_numpy()
        n = values.shape[1]
        means = np.nanmean(values, axis=1)
        at = int(np.argmax(means))
        row = {"model": model, "layer": int(per_layer.index[at]), "mean": float(means[at]), "n_subjects": n}
        if n > 1:
            best, scores = _chosen(values, rng.integers(0, n, size=(n_boot, n)))
            low, high = over_subjects(means[at], scores, n)
            row.update(ci_low=float(low), ci_high=float(high), same_choice=float(np.mean(best == at)))
        else:
            row.update(ci_low=np.nan, ci_high=np.nan, same_choice=np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def scaling_slope(table: pd.DataFrame, at: str = "best", n_boot: int = 1000, seed: int = 0) -> dict:
    """Slope of a score against log10(parameters) across the trained models of one measure, with a bootstrap interval.

    The score of a model is its mean over subjects and folds at its best (or
    last) layer. The interval resamples subjects with replacement (n_boot
    times) and recomputes every model's mean and the least-squares slope; at
    the best layer, the layer is chosen again inside each resample, so the
    interval accounts for the choice; its width is :func:`over_subjects`'s.
    With fewer than two trained model sizes there is no slope (NaN); with one
    subject, no interval.
    """
    return _slope(table[table["trained"]], at, n_boot, seed)


def family_slopes(table: pd.DataFrame, at: str = "best", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """:func:`scaling_slope` within each family, its trained and its untrained models apart (a ladder).

    One row per family and ``trained`` with at least two sizes: ``family``,
    ``trained``, ``slope``, ``ci_low``, ``ci_high``, ``n_models``, and the
    sizes' range ``smallest_m`` and ``largest_m`` (millions of parameters).
    Sources without a size (trivial features) have no ladder. Empty (with
    these columns) when no family is scored at two sizes.
    """
    rows = []
    sized = table[table["n_params_m"].notna()]
    for (family, trained), ladder in sized.groupby(["family", "trained"], sort=True):
        sizes = ladder.groupby("model")["n_params_m"].first()
        if sizes.nunique() < 2:
            continue
        rows.append({"family": family, "trained": bool(trained), **_slope(ladder, at, n_boot, seed),
                     "smallest_m": float(sizes.min()), "largest_m": float(sizes.max())})
    return pd.DataFrame(rows, columns=["family", "trained", "slope", "ci_low", "ci_high", "n_models", "smallest_m", "largest_m"])


def _slope(table: pd.DataFrame, at: str, n_boot: int, seed: int) -> dict:
    """The least-squares slope of every model's score (best or last layer) against log10 of its size, and its
    interval over subjects resampled (the best layer chosen again in each resample)."""
    per_model = _subject_means(table)
    sizes = table.groupby("model")["n_params_m"].first()
    x = np.log10(sizes.loc[list(per_model)].to_numpy())
    if len(np.unique(x)) < 2:
        return {"slope": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_models": len(x)}
    subjects = sorted(set(table["subject"]))
    grids = [m.reindex(columns=subjects).to_numpy() for m in per_model.values()]
    if at == "last":
        grids = [g[-1:] for g in grids]
    elif at != "best":
        raise ValueError(f"at must be 'best' or 'last', got {at!r}.")
    slope = np.polyfit(x, [np.nanmean(g, axis=1).max() for g in grids], 1)[0]
    draws = np.random.default_rng(seed).integers(0, len(subjects), size=(n_boot, len(subjects)))
    scores = np.array([_chosen(g, draws)[1] for g in grids])  # models x draws
    fits = np.polyfit(x, scores, 1)[0]
    low, high = over_subjects(slope, fits, len(subjects))
    return {"slope": float(slope), "ci_low": float(low), "ci_high": float(high), "n_models": len(x)}


POWER = 0.8  # the share of experiments that should detect a planted slope for it to count as detectable


def slope_power(table: pd.DataFrame, planted: np.ndarray | None = None, n_sim: int = 1000, n_boot: int = 1000,
                seed: int = 0) -> pd.DataFrame:
    """How often :func:`scaling_slope`'s interval, at each model's last layer, excludes zero when a slope of known
    size is planted: a simulation at the level of the scores, with the table's models, sizes and subjects.

    Each simulated experiment scores model m for subject s as ``planted * log10(size_m) + e_ms``, the ``e_ms``
    drawn from a normal distribution with the table's own spread of model-by-subject residuals (each subject's
    last-layer mean minus its model's and its subject's means): a slope over the same subjects sees only that
    part, as a subject's own level shifts every model alike. Each experiment's interval resamples subjects as
    :func:`scaling_slope` does; at the last layer a resampled slope is the mean of the resampled subjects' own
    slopes, which is how it is computed here. ``planted``: slopes per tenfold parameters (default: 0 to 6
    standard errors of the slope). One row per planted slope: ``planted``, ``detected`` (the share of
    experiments whose interval excludes zero on the planted side; at 0, on either side: the rate of false
    positives), ``n_subjects``, ``spread`` (the residuals' standard deviation). Empty with fewer than two
    sizes or two subjects.
    """
    columns = ["planted", "detected", "n_subjects", "spread"]
    per_model = {m: g.iloc[-1] for m, g in _subject_means(table).items()}  # each model's last layer, per subject
    sizes = table.groupby("model")["n_params_m"].first()
    x = np.log10(sizes.loc[list(per_model)].to_numpy())
    subjects = sorted(set(table["subject"]))
    if len(np.unique(x)) < 2 or len(subjects) < 2:
        return pd.DataFrame(columns=columns)
    grid = np.array([per_model[m].reindex(subjects).to_numpy() for m in per_model])  # models x subjects
    residual = grid - grid.mean(axis=1, keepdims=True) - grid.mean(axis=0, keepdims=True) + grid.mean()
    spread = float(np.sqrt((residual**2).sum() / ((len(x) - 1) * (len(subjects) - 1))))
    weights = (x - x.mean()) / ((x - x.mean()) ** 2).sum()  # a least-squares slope is weights @ scores
    if planted is None:
        planted = np.linspace(0.0, 6.0, 13) * spread * np.sqrt((weights**2).sum() / len(subjects))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_sim, len(x), len(subjects))) * spread
    draws = rng.integers(0, len(subjects), size=(n_boot, len(subjects)))
    rows = []
    for slope in np.asarray(planted, dtype=np.float64):
        own = slope + np.einsum("m,nms->ns", weights, noise)  # each experiment's subjects' own slopes
        low, high = over_subjects(own.mean(axis=1), own[:, draws].mean(axis=2), len(subjects))
        hit = (low > 0) if slope > 0 else (high < 0) if slope < 0 else (low > 0) | (high < 0)
        rows.append({"planted": float(slope), "detected": float(hit.mean()), "n_subjects": len(subjects),
                     "spread": spread})
    return pd.DataFrame(rows, columns=columns)


def detectable_slope(power: pd.DataFrame, share: float = POWER) -> float:
    """The smallest planted slope that :func:`slope_power` detects in ``share`` of its experiments, interpolated
    between the planted slopes on either side; NaN where none is detected that often."""
    rows = power[power["planted"] > 0].sort_values("planted")
    above = np.flatnonzero(rows["detected"].to_numpy() >= share)
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(rows["planted"].iloc[0])
    (x0, x1), (y0, y1) = rows["planted"].iloc[i - 1:i + 1], rows["detected"].iloc[i - 1:i + 1]
    return float(x0 + (share - y0) * (x1 - x0) / (y1 - y0))


def twin_differences(table: pd.DataFrame) -> pd.DataFrame:
    """Per trained model and layer: its score minus its random-weight twin's (``random:<model>``), with a 95 % interval.

    Differences are paired by subject and fold (and retrieval and metric
    where the table has them); models without a twin in the table are left
    out, so a table without twins gives an empty frame.
    """
    keys = [c for c in ("subject", "fold", "retrieval", "metric", "layer") if c in table and table[c].notna().any()]
    trained = table[table["trained"]]
    twins = table[~table["trained"]].assign(model=lambda t: t["model"].str.removeprefix("random:"))
    paired = trained.merge(twins[["model", *keys, "value"]], on=["model", *keys], suffixes=("", "_random"))
    paired = paired.assign(value=paired["value"] - paired["value_random"], chance=0.0)
    if "chance_permuted" in paired:
        paired = paired.drop(columns="chance_permuted")
    s = summarise(paired, ["model", "layer"])
    last = (paired.groupby("model")["n_states"].first() - 1).clip(lower=1)
    return s.assign(relative_depth=s["layer"] / s["model"].map(last))


def _centred_unit(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` minus their mean, scaled to unit length (float64)."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def lag_similarity(vectors: np.ndarray, lags=range(1, 21)) -> pd.Series:
    """Mean cosine between the centred vectors (rows, in reading order) of words ``lag`` positions apart, per lag."""
    unit = _centred_unit(vectors)
    return pd.Series({lag: np.mean(np.sum(unit[:-lag] * unit[lag:], axis=1)) for lag in lags}, dtype=np.float64)


def layer_similarity(vectors: np.ndarray) -> np.ndarray:
    """Mean cosine, over word occurrences, between the centred states of every pair of layers: ``(layers, layers)``.

    ``vectors`` has shape ``(layers, occurrences, dimensions)``; each layer's
    rows are centred, then scaled to unit length.
    """
    unit = np.empty((len(vectors), vectors[0].size))  # (layers, occurrences x dims), filled a layer at a time
    for layer, v in enumerate(vectors):
        unit[layer] = _centred_unit(v).ravel()
    return unit @ unit.T / vectors.shape[1]


def encoding_map(encoding: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The map to draw from an encoding table (one row per subject and voxel): columns x, y, z and r, and what it shows.

    Where every subject has the same voxels (the same coordinates at every
    voxel index, as simulated subjects do), r is averaged over subjects voxel
    by voxel, indexed by ``voxel`` ("mean over subjects"). Otherwise voxel
    ``i`` of one subject is not voxel ``i`` of another, so nothing is
    averaged: every subject's voxels stay at their own coordinates, indexed
    by ``(subject, voxel)`` ("every subject's voxels at their own places").
    """
    xyz = ["x", "y", "z"]
    per_subject = encoding.set_index(["subject", "voxel"])[xyz + ["r"]].sort_index()
    first = per_subject.loc[per_subject.index.get_level_values("subject")[0], xyz]
    shared = all(len(rows) == len(first) and np.array_equal(rows.loc[subject, xyz].to_numpy(), first.to_numpy(), equal_nan=True)
                 for subject, rows in per_subject.groupby(level="subject"))
    if shared:
        return per_subject.groupby(level="voxel").mean(), "mean over subjects"
    return per_subject, "every subject's voxels at their own places"
