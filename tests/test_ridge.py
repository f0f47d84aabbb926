import subprocess
import sys

import numpy as np

from helpers.align.evaluation import retrieval_scores
import pytest
from sklearn.linear_model import Ridge as SklearnRidge
from sklearn.model_selection import KFold

from helpers.align.folds import type_folds
from helpers.align.folds import group_folds
from helpers.align.measures import CellInput
from helpers.align.measures import ridge as ridge_measure
from helpers.align.ridge import PUBLISHED_ALPHAS, PublishedRidge, Ridge, encoding_scores
from helpers.align.ridge_backends import get_backend
from helpers.align.ridge_cv import kfold_bounds

try:
    import torch
except ImportError:  # the torch backends' tests are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
needs_cuda = pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="no CUDA GPU")

ALPHAS = np.logspace(-2, 5, 8)


def r_squared(y, prediction):
    return 1 - ((y - prediction) ** 2).sum() / ((y - y.mean(axis=0)) ** 2).sum()


@pytest.mark.parametrize("n_samples, n_features", [(80, 12), (25, 60)], ids=["primal", "dual"])
def test_a_single_alpha_matches_sklearn(n_samples, n_features):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_samples, n_features)) + 2.0  # off-centre, so the intercept matters
    y = rng.standard_normal((n_samples, 3)) @ np.diag([1.0, 5.0, 0.1]) + 7.0
    x_new = rng.standard_normal((10, n_features))
    ours = Ridge(alphas=[3.0]).fit(x, y)
    theirs = SklearnRidge(alpha=3.0, fit_intercept=True).fit(x, y)
    assert ours.alpha_ == 3.0
    assert ours.coef_.shape == (n_features, 3)
    np.testing.assert_allclose(ours.coef_, theirs.coef_.T, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x_new), theirs.predict(x_new), atol=1e-6)


@pytest.mark.parametrize("n_features", [6, 60], ids=["primal", "dual"])
@pytest.mark.parametrize("per_target", [False, True])
def test_cv_errors_match_a_brute_force_grouped_cv(per_target, n_features):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, n_features)) + 1.0, rng.standard_normal((40, 2)) - 3.0
    groups = np.repeat(np.arange(10), 4)
    alphas = np.array([0.1, 10.0, 1000.0])
    model = Ridge(alphas, inner_folds=3, per_target=per_target, seed=5).fit(x, y, groups)
    fold = group_folds(groups, 3, seed=5)
    expected = np.zeros((3, 2))
    for f in range(3):
        for i, alpha in enumerate(alphas):
            fitted = SklearnRidge(alpha=alpha).fit(x[fold != f], y[fold != f])
            expected[i] += ((fitted.predict(x[fold == f]) - y[fold == f]) ** 2).mean(axis=0) / 3
    np.testing.assert_allclose(model.cv_errors_, expected if per_target else expected.sum(axis=1), rtol=1e-9)


def test_inner_cv_recovers_a_known_linear_map():
    rng = np.random.default_rng(2)
    b = rng.standard_normal((20, 5))
    x = rng.standard_normal((300, 20))
    y = x @ b + 0.1 * rng.standard_normal((300, 5))
    x_new = rng.standard_normal((200, 20))
    model = Ridge(ALPHAS).fit(x, y)
    assert model.alpha_ <= ALPHAS[2]
    assert r_squared(x_new @ b, model.predict(x_new)) > 0.95


def test_inner_cv_recovers_a_known_map_in_the_dual_form():
    # 400 features, 150 rows: brain-like data driven by 8 latent variables
    rng = np.random.default_rng(12)
    mixing, readout = rng.standard_normal((8, 400)), rng.standard_normal((8, 5))
    latent, latent_new = rng.standard_normal((150, 8)), rng.standard_normal((100, 8))
    x = latent @ mixing + 0.3 * rng.standard_normal((150, 400))
    x_new = latent_new @ mixing + 0.3 * rng.standard_normal((100, 400))
    y = latent @ readout + 0.1 * rng.standard_normal((150, 5))
    model = Ridge(ALPHAS).fit(x, y)
    assert model.coef_.shape == (400, 5)
    # the noise alone adds 0.3^2 * 400 = 36 to every kernel eigenvalue, so 100 is a mild penalty here
    assert model.alpha_ <= 100
    assert np.argmin(model.cv_errors_) < len(ALPHAS) - 3
    assert r_squared(latent_new @ readout, model.predict(x_new)) > 0.95


def test_pure_noise_gets_the_largest_alpha():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((200, 30)), rng.standard_normal((200, 20))
    model = Ridge(ALPHAS).fit(x, y)
    assert model.alpha_ == ALPHAS[-1]
    assert np.argmin(model.cv_errors_) == len(ALPHAS) - 1


def test_group_folds_never_split_a_group():
    rng = np.random.default_rng(4)
    groups = np.array([f"type{k}" for k in rng.integers(0, 37, 400)])
    fold = group_folds(groups, 4, seed=0)
    assert set(fold) == {0, 1, 2, 3}
    for g in np.unique(groups):
        assert len(set(fold[groups == g])) == 1
    # groups, not rows, are dealt evenly; the seed reshuffles them
    assert sorted(np.bincount([fold[groups == g][0] for g in np.unique(groups)])) == [9, 9, 9, 10]
    assert np.any(group_folds(groups, 4, seed=1) != fold)
    np.testing.assert_array_equal(group_folds(groups, 4, seed=0), fold)


def test_fit_uses_the_grouped_folds():
    # Each group is one repeated row with its own random target: a split group
    # lets a tiny alpha memorise the held-out copies, a grouped CV does not.
    rng = np.random.default_rng(5)
    base_x, base_y = rng.standard_normal((40, 50)), rng.standard_normal((40, 3))
    x, y = np.repeat(base_x, 5, axis=0), np.repeat(base_y, 5, axis=0)
    groups = np.repeat(np.arange(40), 5)
    ungrouped, grouped = Ridge(ALPHAS).fit(x, y), Ridge(ALPHAS).fit(x, y, groups)
    assert ungrouped.alpha_ == ALPHAS[0]
    assert ungrouped.cv_errors_.min() < 1e-3  # the held-out copies were seen in training
    assert grouped.alpha_ >= 100
    assert grouped.cv_errors_.min() > 2.0  # about the variance of three unit-variance targets


def test_per_target_gives_a_clean_target_a_smaller_alpha():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((200, 20))
    signal = x @ rng.standard_normal(20)
    y = np.column_stack([signal + 0.05 * rng.standard_normal(200), 0.2 * signal + 5 * rng.standard_normal(200)])
    model = Ridge(ALPHAS, per_target=True).fit(x, y)
    assert model.alpha_.shape == (2,) and model.cv_errors_.shape == (len(ALPHAS), 2)
    assert model.alpha_[0] < model.alpha_[1]
    assert model.alpha_[0] <= ALPHAS[1]
    np.testing.assert_array_equal(model.alpha_, ALPHAS[np.argmin(model.cv_errors_, axis=0)])
    # each column is the single-alpha fit with its own alpha
    for j in range(2):
        alone = Ridge([model.alpha_[j]]).fit(x, y[:, [j]])
        np.testing.assert_allclose(model.coef_[:, j], alone.coef_[:, 0], atol=1e-10)


def test_per_target_dual_matches_single_alpha_fits():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 90))
    y = np.column_stack([x[:, :5].sum(axis=1), rng.standard_normal(40)])
    model = Ridge(ALPHAS, per_target=True).fit(x, y)
    assert model.alpha_[0] < model.alpha_[1]
    for j in range(2):
        alone = SklearnRidge(alpha=model.alpha_[j]).fit(x, y[:, j])
        np.testing.assert_allclose(model.coef_[:, j], alone.coef_, atol=1e-8)


@pytest.mark.parametrize("n_features", [8, 90], ids=["primal", "dual"])
def test_large_float32_input_stays_float32_and_agrees_with_float64(monkeypatch, n_features):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((60, n_features))
    y = x[:, :3] @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((60, 4))
    exact = Ridge(ALPHAS, per_target=True).fit(x, y)
    monkeypatch.setattr("helpers.align.ridge.LARGE", 1)  # treat these small arrays as large
    single = Ridge(ALPHAS, per_target=True).fit(x.astype(np.float32), y.astype(np.float32))
    assert single.coef_.dtype == np.float32 and single.predict(x).dtype == np.float32
    np.testing.assert_array_equal(single.alpha_, exact.alpha_)
    np.testing.assert_allclose(single.cv_errors_, exact.cv_errors_, rtol=1e-3)
    np.testing.assert_allclose(single.predict(x), exact.predict(x), atol=1e-3)


def test_encoding_scores_find_the_linear_voxels():
    rng = np.random.default_rng(8)
    n_types, dims = 120, 16
    types = np.array([f"w{k}" for k in rng.integers(0, n_types, 480)])
    lm = rng.standard_normal((480, dims))
    linear = lm @ rng.standard_normal((dims, 30)) + 0.3 * rng.standard_normal((480, 30))
    brain = np.column_stack([linear, rng.standard_normal((480, 40))])
    splits = type_folds(types, 4, seed=0)
    scores = encoding_scores(lm, brain, splits, ALPHAS, inner_folds=3, groups=types)
    assert scores["r"].shape == scores["r2"].shape == (70,)
    assert scores["alpha"].shape == (4, 70)
    assert scores["r"][:30].min() > 0.9
    assert scores["r2"][:30].min() > 0.8
    assert abs(scores["r"][30:].mean()) < 0.2
    assert scores["r2"][30:].mean() < 0.05
    assert np.median(scores["alpha"][:, :30]) < np.median(scores["alpha"][:, 30:])


@pytest.mark.parametrize("grouped", [False, True])
def test_encoding_scores_equal_a_plain_loop_over_folds(grouped):
    rng = np.random.default_rng(14)
    types = np.array([f"w{k}" for k in rng.integers(0, 40, 150)])
    lm = rng.standard_normal((150, 5))
    brain = lm @ rng.standard_normal((5, 6)) + rng.standard_normal((150, 6))
    splits = type_folds(types, 3, seed=1)
    groups = types if grouped else None
    scores = encoding_scores(lm, brain, splits, ALPHAS, inner_folds=3, groups=groups, seed=2)
    prediction = np.empty_like(brain)
    for fold, (train, test) in enumerate(splits):
        model = Ridge(ALPHAS, inner_folds=3, per_target=True, seed=2)
        model.fit(lm[train], brain[train], None if groups is None else groups[train])
        prediction[test] = model.predict(lm[test])
        np.testing.assert_array_equal(scores["alpha"][fold], model.alpha_)
    expected = [np.corrcoef(prediction[:, j], brain[:, j])[0, 1] for j in range(6)]
    np.testing.assert_allclose(scores["r"], expected, atol=1e-10)
    sse, sst = ((brain - prediction) ** 2).sum(axis=0), ((brain - brain.mean(axis=0)) ** 2).sum(axis=0)
    np.testing.assert_allclose(scores["r2"], 1 - sse / sst, atol=1e-10)


def test_encoding_scores_ignore_rows_that_are_never_tested():
    rng = np.random.default_rng(9)
    lm = rng.standard_normal((100, 4))
    brain = lm @ rng.standard_normal((4, 3))
    test = np.arange(100) < 30
    train = np.arange(100) >= 50  # rows 30..49 are neither
    brain[30:50] = 1e6  # would ruin the scores if they counted
    scores = encoding_scores(lm, brain, [(train, test)], [0.01], inner_folds=2)
    assert scores["r"].min() > 0.999
    assert scores["alpha"].shape == (1, 3)


def test_validation_errors():
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    with pytest.raises(ValueError, match="x has 20 rows and y has 19"):
        Ridge().fit(x, y[:19])
    with pytest.raises(ValueError, match=r"y must be 2-D .* got shape \(20,\)"):
        Ridge().fit(x, y[:, 0])
    with pytest.raises(ValueError, match=r"x must be 2-D .* got shape \(20, 3, 1\)"):
        Ridge().fit(x[:, :, None], y)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinite"):
        Ridge().fit(bad, y)
    bad = y.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or infinite"):
        Ridge().fit(x, bad)
    with pytest.raises(ValueError, match=r"cannot split 3 groups \(word types\) into 4 folds; use a smaller inner_folds"):
        Ridge().fit(x, y, groups=np.arange(20) % 3)
    with pytest.raises(ValueError, match="groups must hold one label per row"):
        Ridge().fit(x, y, groups=np.arange(19))
    for alphas in ([1.0, 0.0], [-1.0], [np.nan]):
        with pytest.raises(ValueError, match="alphas must all be positive"):
            Ridge(alphas=alphas).fit(x, y)
    with pytest.raises(ValueError, match="inner_folds must be at least 2"):
        Ridge(inner_folds=1).fit(x, y)
    with pytest.raises(ValueError, match="not fitted yet"):
        Ridge().predict(x)
    with pytest.raises(ValueError, match="x has 4 features but the model was fitted on 3"):
        Ridge().fit(x, y).predict(rng.standard_normal((5, 4)))


def test_encoding_scores_validation_errors():
    rng = np.random.default_rng(11)
    lm, brain = rng.standard_normal((20, 3)), rng.standard_normal((20, 5))
    half = np.arange(20) < 10
    with pytest.raises(ValueError, match="lm has 20 rows and brain has 18"):
        encoding_scores(lm, brain[:18], [(half, ~half)])
    with pytest.raises(ValueError, match="one entry per row"):
        encoding_scores(lm, brain, [(half[:10], ~half[:10])])
    with pytest.raises(ValueError, match="both the training and the test mask"):
        encoding_scores(lm, brain, [(half | (np.arange(20) == 12), ~half)], inner_folds=2)
    with pytest.raises(ValueError, match="test masks must not overlap"):
        encoding_scores(lm, brain, [(half, ~half), (half & (np.arange(20) < 5), ~half)], inner_folds=2)
    with pytest.raises(ValueError, match="no row is in any test mask"):
        encoding_scores(lm, brain, [])


# --- the torch backends ---------------------------------------------------------


def backend_problem(form, precision, seed=20):
    """x, y, groups for the primal or dual form; float32 inputs for the float32 cases."""
    rng = np.random.default_rng(seed)
    n, p = (90, 12) if form == "primal" else (50, 140)
    x = rng.standard_normal((n, p)) + 1.5
    y = x[:, :4] @ rng.standard_normal((4, 5)) + rng.standard_normal((n, 5)) * np.array([0.1, 0.5, 1, 3, 10]) - 2
    groups = rng.integers(0, n // 3, n)
    dtype = np.float64 if precision == "float64" else np.float32
    return x.astype(dtype), y.astype(dtype), groups


def tolerance(precision):
    """Relative agreement between backends: float64 to ~1e-10, the float32 working precision to ~1e-4."""
    return 1e-10 if precision != "large float32" else 1e-4


def assert_ridge_backends_agree(backend, form, per_target, precision, grouped, monkeypatch):
    if precision == "large float32":
        monkeypatch.setattr("helpers.align.ridge.LARGE", 1)  # treat these small arrays as large
    x, y, groups = backend_problem(form, precision)
    groups = groups if grouped else None
    expected = Ridge(ALPHAS, inner_folds=3, per_target=per_target).fit(x, y, groups)
    model = Ridge(ALPHAS, inner_folds=3, per_target=per_target, backend=backend).fit(x, y, groups)
    tol = tolerance(precision)
    working = np.float32 if precision == "large float32" else np.float64
    for name in ("coef_", "intercept_", "cv_errors_", "x_mean_", "y_mean_"):
        value = getattr(model, name)
        assert type(value) is np.ndarray and value.dtype == getattr(expected, name).dtype, name
        scale = np.abs(getattr(expected, name)).max()
        np.testing.assert_allclose(value, getattr(expected, name), rtol=tol, atol=tol * scale, err_msg=name)
    np.testing.assert_array_equal(model.alpha_, expected.alpha_)
    assert model.coef_.dtype == working
    prediction = model.predict(x)
    assert type(prediction) is np.ndarray and prediction.dtype == working
    np.testing.assert_allclose(prediction, expected.predict(x), rtol=tol, atol=tol * np.abs(y).max())


def assert_encoding_backends_agree(backend, precision, grouped, monkeypatch):
    if precision == "large float32":
        monkeypatch.setattr("helpers.align.ridge.LARGE", 1)
    rng = np.random.default_rng(21)
    types = np.array([f"w{k}" for k in rng.integers(0, 40, 150)])
    lm = rng.standard_normal((150, 6))
    brain = lm @ rng.standard_normal((6, 9)) + rng.standard_normal((150, 9)) * np.linspace(0.2, 5, 9)
    dtype = np.float64 if precision == "float64" else np.float32
    lm, brain = lm.astype(dtype), brain.astype(dtype)
    splits = type_folds(types, 3, seed=1)
    groups = types if grouped else None
    expected = encoding_scores(lm, brain, splits, ALPHAS, inner_folds=3, groups=groups, seed=2)
    scores = encoding_scores(lm, brain, splits, ALPHAS, inner_folds=3, groups=groups, seed=2, backend=backend)
    tol = tolerance(precision)
    for name in ("r", "r2"):
        assert type(scores[name]) is np.ndarray and scores[name].dtype == np.float64
        np.testing.assert_allclose(scores[name], expected[name], rtol=tol, atol=tol, err_msg=name)
    np.testing.assert_array_equal(scores["alpha"], expected["alpha"])


FORMS = pytest.mark.parametrize("form", ["primal", "dual"])
PER_TARGET = pytest.mark.parametrize("per_target", [False, True], ids=["one alpha", "per target"])
PRECISIONS = pytest.mark.parametrize("precision", ["float64", "small float32", "large float32"])
GROUPED = pytest.mark.parametrize("grouped", [False, True], ids=["rows", "groups"])


@needs_torch
@FORMS
@PER_TARGET
@PRECISIONS
@GROUPED
def test_torch_backend_fits_and_predicts_as_numpy(form, per_target, precision, grouped, monkeypatch):
    assert_ridge_backends_agree("torch", form, per_target, precision, grouped, monkeypatch)


@needs_torch
@PRECISIONS
@GROUPED
def test_torch_backend_encoding_scores_equal_numpy(precision, grouped, monkeypatch):
    assert_encoding_backends_agree("torch", precision, grouped, monkeypatch)


@needs_cuda
@FORMS
@PER_TARGET
@pytest.mark.parametrize("precision", ["float64", "large float32"])
def test_torch_cuda_backend_fits_and_predicts_as_numpy(form, per_target, precision, monkeypatch):
    assert_ridge_backends_agree("torch_cuda", form, per_target, precision, True, monkeypatch)


@needs_cuda
@pytest.mark.parametrize("precision", ["float64", "large float32"])
def test_torch_cuda_backend_encoding_scores_equal_numpy(precision, monkeypatch):
    assert_encoding_backends_agree("torch_cuda", precision, True, monkeypatch)


@needs_torch
def test_auto_backend_is_numpy_without_a_gpu(monkeypatch):
    assert get_backend("auto").name == ("torch_cuda" if torch.cuda.is_available() else "numpy")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_backend("auto").name == "numpy"
    x, y, groups = backend_problem("dual", "float64")
    auto = Ridge(ALPHAS, backend="auto").fit(x, y, groups)
    plain = Ridge(ALPHAS).fit(x, y, groups)
    np.testing.assert_array_equal(auto.coef_, plain.coef_)  # the very same computation


def test_unknown_backend_names_the_choices():
    rng = np.random.default_rng(22)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    message = "unknown backend 'cuda'; choose one of 'numpy', 'torch', 'torch_cuda', 'auto'"
    with pytest.raises(ValueError, match=message):
        Ridge(backend="cuda").fit(x, y)
    with pytest.raises(ValueError, match=message):
        encoding_scores(x, y, [(np.arange(20) < 10, np.arange(20) >= 10)], backend="cuda")
    with pytest.raises(ValueError, match="unknown backend None"):
        get_backend(None)


@needs_torch
def test_torch_cuda_without_a_gpu_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rng = np.random.default_rng(23)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    with pytest.raises(RuntimeError, match="backend='torch_cuda' needs a CUDA GPU.*backend='auto'.*backend='torch'"):
        Ridge(backend="torch_cuda").fit(x, y)
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        encoding_scores(x, y, [(np.arange(20) < 10, np.arange(20) >= 10)], backend="torch_cuda")


def test_the_numpy_backend_does_not_import_torch():
    code = (
        "import sys, numpy as np; from helpers.align.ridge import Ridge, encoding_scores; "
        "x = np.random.default_rng(0).standard_normal((30, 4)); Ridge().fit(x, x[:, :2]).predict(x); "
        "encoding_scores(x, x, [(np.arange(30) < 20, np.arange(30) >= 20)], inner_folds=2); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- the published code's kernel ridge --------------------------------------------


def published_ridge_by_hand(x, y, alphas, n_inner=10):
    """Li et al.'s cross_val_ridge(method="kernel_ridge") step by step: (alpha_, coef_, cv_errors_)."""
    n = len(x)
    sizes = [n // n_inner + (f < n % n_inner) for f in range(n_inner)]  # contiguous blocks, the first ones longer
    errors = np.zeros((len(alphas), y.shape[1]))
    start = 0
    for size in sizes:
        val = np.arange(start, start + size)
        train = np.setdiff1d(np.arange(n), val)
        start += size
        for i, alpha in enumerate(alphas):
            w = x[train].T @ np.linalg.solve(x[train] @ x[train].T + alpha * np.eye(len(train)), y[train])
            prediction = x[val] @ w
            r2 = 1 - ((y[val] - prediction) ** 2).mean(axis=0) / y[val].var(axis=0, ddof=1)
            errors[i] += 1 - r2
    best = errors.argmin(axis=0)
    coef = np.column_stack([x.T @ np.linalg.solve(x @ x.T + alphas[b] * np.eye(n), y[:, j]) for j, b in enumerate(best)])
    return alphas[best], coef, errors


def published_problem(seed=30, n=150, p=300):
    """Min-max-like brain rows and outputs from noiseless to pure noise, so that they prefer different penalties."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, p))
    y = x @ rng.standard_normal((p, 6)) / np.sqrt(p) + rng.standard_normal((n, 6)) * np.array([1e-3, 1e-2, 0.1, 1, 10, 100])
    return x, y, rng.uniform(size=(40, p))


@pytest.mark.parametrize("n_features, rtol", [(300, 1e-8), (60, 1e-7)])  # 60 < 150 rows: a singular kernel
def test_published_ridge_equals_the_step_by_step_published_computation(n_features, rtol):
    """Every inner block refitted by hand (a solve per block and penalty) against the held-out residuals that
    PublishedRidge takes from one eigendecomposition; a singular kernel leaves the tiny penalties less precise."""
    x, y, x_new = published_problem(p=n_features)
    model = PublishedRidge().fit(x, y)
    alpha, coef, errors = published_ridge_by_hand(x, y, PUBLISHED_ALPHAS)
    assert len(set(alpha)) >= 4  # the outputs really choose different penalties
    np.testing.assert_array_equal(model.alpha_, alpha)
    np.testing.assert_allclose(model.cv_errors_, errors, rtol=rtol)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-8, atol=1e-8 * np.abs(coef).max())
    expected = x_new @ coef
    np.testing.assert_allclose(model.predict(x_new), expected, rtol=1e-8, atol=1e-8 * np.abs(expected).max())
    np.testing.assert_array_equal(model.intercept_, np.zeros(6))


def test_published_ridge_with_one_penalty_and_other_fold_counts():
    x, y, x_new = published_problem(seed=31, n=53, p=80)  # 53 rows: blocks of unequal length
    alphas = np.array([0.01, 1.0, 100.0])
    model = PublishedRidge(alphas, n_inner=4).fit(x, y)
    alpha, coef, errors = published_ridge_by_hand(x, y, alphas, n_inner=4)
    np.testing.assert_array_equal(model.alpha_, alpha)
    np.testing.assert_allclose(model.cv_errors_, errors, rtol=1e-8)
    np.testing.assert_allclose(model.predict(x_new), x_new @ coef, rtol=1e-8, atol=1e-8 * np.abs(x_new @ coef).max())
    single = PublishedRidge([3.0]).fit(x, y)  # every output the same penalty: the refit's Cholesky path
    expected = x.T @ np.linalg.solve(x @ x.T + 3.0 * np.eye(len(x)), y)
    np.testing.assert_allclose(single.coef_, expected, rtol=1e-8, atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("n_rows, n_folds", [(20, 10), (53, 10), (3800, 10), (17, 4)])
def test_inner_folds_are_sklearns_unshuffled_kfold(n_rows, n_folds):
    bounds = kfold_bounds(n_rows, n_folds)
    for (start, stop), (_, val) in zip(zip(bounds[:-1], bounds[1:]), KFold(n_folds).split(np.zeros(n_rows))):
        np.testing.assert_array_equal(np.arange(start, stop), val)


def test_published_inner_folds_follow_the_row_order_and_ignore_groups():
    # Every row twice in a row: unshuffled blocks of 12 rows keep both copies in one block, so a small penalty
    # cannot memorise held-out rows and the noise targets get large penalties; shuffled rows split the copies.
    rng = np.random.default_rng(32)
    base_x, base_y = rng.standard_normal((60, 100)), rng.standard_normal((60, 3))
    x, y = np.repeat(base_x, 2, axis=0), np.repeat(base_y, 2, axis=0)
    ordered = PublishedRidge().fit(x, y)
    order = rng.permutation(len(x))
    shuffled = PublishedRidge().fit(x[order], y[order])
    assert ordered.alpha_.min() >= 1e3
    assert shuffled.alpha_.max() <= 1e2
    grouped = PublishedRidge().fit(x, y, groups=np.repeat(np.arange(60), 2))
    np.testing.assert_array_equal(grouped.alpha_, ordered.alpha_)
    np.testing.assert_array_equal(grouped.coef_, ordered.coef_)


def test_published_ridge_validation_errors():
    rng = np.random.default_rng(33)
    x, y = rng.standard_normal((30, 5)), rng.standard_normal((30, 2))
    with pytest.raises(ValueError, match="x has 30 rows and y has 29"):
        PublishedRidge().fit(x, y[:29])
    with pytest.raises(ValueError, match=r"y must be 2-D .* got shape \(30,\)"):
        PublishedRidge().fit(x, y[:, 0])
    bad = x.copy()
    bad[2, 2] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinite"):
        PublishedRidge().fit(bad, y)
    with pytest.raises(ValueError, match="alphas must all be positive"):
        PublishedRidge(alphas=[1.0, 0.0]).fit(x, y)
    for n_inner in (1, 2.5, True):
        with pytest.raises(ValueError, match="n_inner must be a whole number of at least 2"):
            PublishedRidge(n_inner=n_inner).fit(x, y)
    with pytest.raises(ValueError, match="30 rows are too few for n_inner=20.*at least 40 rows or a smaller n_inner"):
        PublishedRidge(n_inner=20).fit(x, y)
    with pytest.raises(ValueError, match="this PublishedRidge is not fitted yet"):
        PublishedRidge().predict(x)
    with pytest.raises(ValueError, match="x has 4 features but the model was fitted on 5"):
        PublishedRidge().fit(x, y).predict(x[:, :4])
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        PublishedRidge(backend="cuda").fit(x, y)


@needs_torch
def test_published_ridge_torch_backend_agrees_with_numpy():
    x, y, x_new = published_problem(seed=34, n=80, p=120)
    x = x.astype(np.float32)  # computed in float64 all the same
    expected = PublishedRidge().fit(x, y)
    model = PublishedRidge(backend="torch").fit(x, y)
    np.testing.assert_array_equal(model.alpha_, expected.alpha_)
    np.testing.assert_allclose(model.cv_errors_, expected.cv_errors_, rtol=1e-10)
    assert type(model.coef_) is np.ndarray and model.coef_.dtype == expected.coef_.dtype == np.float64
    prediction = model.predict(x_new)
    np.testing.assert_allclose(prediction, expected.predict(x_new), rtol=1e-10, atol=1e-10 * np.abs(prediction).max())


def ridge_cell(protocol):
    rng = np.random.default_rng(35)
    names = np.array([f"w{k:02d}" for k in range(30)])
    types = names[np.repeat(np.arange(30), 4)]
    vectors = rng.standard_normal((30, 8))
    brain = np.repeat(vectors, 4, axis=0) @ rng.standard_normal((8, 40)) + 6.0 * rng.standard_normal((120, 40))
    settings = {"ks": (1, 5, 10), "csls_neighbours": 10, "candidates": "all", "scaling": "minmax",
                "csls_reference": "all", "seed": 0, "ridge_alphas": ALPHAS, "ridge_protocol": protocol}
    return CellInput(brain, types, names, {0: vectors}, settings, splits=type_folds(types, 3, seed=0), fold_numbers=[0, 1, 2])


def test_ridge_measure_protocol_chooses_the_map():
    assert "ridge_protocol" in ridge_measure.MEASURE.fields and "ridge_alphas" in ridge_measure.MEASURE.fields
    careful, published = ridge_cell("careful"), ridge_cell("published")
    made = ridge_measure.map_maker(careful.settings)()
    assert type(made) is Ridge and list(made.alphas) == list(ALPHAS)
    assert type(ridge_measure.map_maker(published.settings)()) is PublishedRidge
    rows = ridge_measure.MEASURE.score(published)
    assert {r["fold"] for r in rows} == {0, 1, 2}
    # each fold reports the mean of its per-output penalties, drawn from the published grid
    assert all(PUBLISHED_ALPHAS[0] <= r["alpha"] <= PUBLISHED_ALPHAS[-1] for r in rows)
    assert [r["value"] for r in rows] != [r["value"] for r in ridge_measure.MEASURE.score(careful)]
    # the published ridge scores against the pooled out-of-fold predictions, whatever csls_reference says
    pooled = retrieval_scores(published.brain, published.types, published.type_names, published.vectors, PublishedRidge,
                              published.splits, ks=(1, 5, 10), neighbours=10, scaling="minmax", csls_reference="pooled")
    assert [r["value"] for r in rows] == [r["value"] for r in pooled]
    assert ridge_measure.MEASURE.reads_voxels(published.settings) and not ridge_measure.MEASURE.reads_voxels(careful.settings)
    with pytest.raises(ValueError, match=r"ridge_protocol must be one of \('careful', 'published'\), got 'paper'"):
        ridge_measure.MEASURE.score(ridge_cell("paper"))



def test_fits_sharing_their_brain_side_reuse_its_decompositions_and_give_the_same_bits(monkeypatch):
    from helpers.align import ridge_backends
    from helpers.brain.reduction import Decompositions

    rng = np.random.default_rng(21)
    x, groups = rng.standard_normal((90, 8)), rng.integers(0, 30, 90)
    layers = [rng.standard_normal((90, 5)) for _ in range(2)]  # two "layers": other targets, the same brain rows
    monkeypatch.setattr(ridge_backends.NUMPY, "kept", Decompositions(ridge_backends.KEPT_BYTES))
    first = Ridge(alphas=ALPHAS).fit(x, layers[0], groups=groups)
    calls = []
    eigh = ridge_backends.linalg.eigh
    monkeypatch.setattr(ridge_backends.linalg, "eigh", lambda *a, **k: calls.append(1) or eigh(*a, **k))
    second = Ridge(alphas=ALPHAS).fit(x, layers[1], groups=groups)
    assert calls == []  # 4 inner folds and the refit: every decomposition was there
    monkeypatch.setattr(ridge_backends.NUMPY, "kept", Decompositions(ridge_backends.KEPT_BYTES))  # nothing kept
    fresh = Ridge(alphas=ALPHAS).fit(x, layers[1], groups=groups)
    assert len(calls) == 5
    for name in ("coef_", "intercept_", "cv_errors_"):
        assert np.array_equal(getattr(second, name), getattr(fresh, name))
    assert not np.array_equal(first.coef_, second.coef_)  # what depends on the targets is not reused
