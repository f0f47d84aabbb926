import numpy as np
import pytest
from scipy.stats import ortho_group

from helpers.align.cka import linear_cka, permuted_cka


def hsic_cka(x, y):
    """CKA straight from its HSIC definition, with the centering matrix H = I - 11^T / n."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T
    return np.trace(k @ h @ l @ h) / np.sqrt(np.trace(k @ h @ k @ h) * np.trace(l @ h @ l @ h))


def related(n, p, q, seed):
    """Two spaces sharing a few latent dimensions, off-centre so that the centring matters."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 4))
    x = latent @ rng.standard_normal((4, p)) + rng.standard_normal((n, p)) + 3.0
    y = latent @ rng.standard_normal((4, q)) + 2.0 * rng.standard_normal((n, q)) - 1.0
    return x, y


@pytest.mark.parametrize(
    "n, p, q",
    [(60, 5, 8), (30, 200, 150), (40, 3, 300), (12, 1, 1)],
    ids=["tall (feature space)", "wide (sample space)", "mixed", "one column each"],
)
def test_matches_the_hsic_definition(n, p, q):
    x, y = related(n, p, q, seed=n + p + q)
    assert linear_cka(x, y) == pytest.approx(hsic_cka(x, y), abs=1e-10)


def test_invariant_to_orthogonal_transforms_and_isotropic_scaling():
    x, y = related(50, 7, 9, seed=1)
    value = linear_cka(x, y)
    rotate_x, rotate_y = ortho_group.rvs(7, random_state=2), ortho_group.rvs(9, random_state=3)
    assert linear_cka(x @ rotate_x, y) == pytest.approx(value, abs=1e-12)
    assert linear_cka(x, y @ rotate_y) == pytest.approx(value, abs=1e-12)
    assert linear_cka(x @ rotate_x, y @ rotate_y) == pytest.approx(value, abs=1e-12)
    assert linear_cka(3.7 * x, y) == pytest.approx(value, abs=1e-12)
    assert linear_cka(x, 1e-3 * y) == pytest.approx(value, abs=1e-12)


def test_not_invariant_to_a_non_isotropic_scaling():
    x, y = related(50, 7, 9, seed=1)
    stretched = x * np.array([10.0, 1, 1, 1, 1, 1, 0.1])
    assert abs(linear_cka(stretched, y) - linear_cka(x, y)) > 1e-2


def test_one_for_identical_inputs_and_symmetric():
    x, y = related(40, 6, 11, seed=4)
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(y, y) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x), abs=1e-14)
    assert 0.0 < linear_cka(x, y) < 1.0


@pytest.mark.parametrize("n, p, q", [(4000, 100, 100), (3000, 50, 200)])
def test_near_zero_for_independent_data(n, p, q):
    # For independent Gaussian spaces CKA is about sqrt(p q) / n (its bias), not exactly 0.
    rng = np.random.default_rng(5)
    value = linear_cka(rng.standard_normal((n, p)), rng.standard_normal((n, q)))
    expected = np.sqrt(p * q) / n
    assert 0.0 < value < 2 * expected
    assert value < 0.05
    x, y = related(n, p, q, seed=6)
    assert linear_cka(x, y) > 5 * value  # a shared signal stands out


def test_accepts_lists_and_float32_and_returns_a_float():
    x, y = related(20, 3, 4, seed=7)
    value = linear_cka(x.astype(np.float32).tolist(), y.astype(np.float32))
    assert isinstance(value, float)
    assert value == pytest.approx(linear_cka(x.astype(np.float32).astype(np.float64), y), abs=1e-7)


def test_validation_errors():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 4))
    with pytest.raises(ValueError, match=r"x must be 2-D .* got shape \(10,\)"):
        linear_cka(x[:, 0], y)
    with pytest.raises(ValueError, match=r"y must be 2-D .* got shape \(10, 4, 1\)"):
        linear_cka(x, y[:, :, None])
    with pytest.raises(ValueError, match="x has 10 rows and y has 9"):
        linear_cka(x, y[:9])
    with pytest.raises(ValueError, match="at least 2 rows"):
        linear_cka(x[:1], y[:1])
    with pytest.raises(ValueError, match="y has no columns"):
        linear_cka(x, y[:, :0])
    with pytest.raises(ValueError, match="must hold real numbers"):
        linear_cka(x.astype(str), y)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinite"):
        linear_cka(bad, y)
    bad = y.copy()
    bad[0, 0] = -np.inf
    with pytest.raises(ValueError, match="y contains NaN or infinite"):
        linear_cka(x, bad)
    with pytest.raises(ValueError, match="y is constant over the rows"):
        linear_cka(x, np.full((10, 4), 0.1))
    with pytest.raises(ValueError, match="x is constant over the rows"):
        linear_cka(np.tile([1.0, 2.0, 3.0], (10, 1)), y)


def test_permutation_null_equals_cka_of_the_shuffled_rows():
    x, y = related(50, 30, 12, seed=3)
    value, null = permuted_cka(x, y, 25, seed=[7, 2])
    assert value == pytest.approx(linear_cka(x, y), abs=1e-12)
    rng = np.random.default_rng([7, 2])
    by_hand = [linear_cka(x[rng.permutation(50)], y) for _ in range(25)]
    np.testing.assert_allclose(null, by_hand, atol=1e-12)
    assert value > null.max()  # the shared latent dimensions stand out from every shuffle
    with pytest.raises(ValueError, match="n_permutations must be a positive integer"):
        permuted_cka(x, y, 0, seed=0)
    with pytest.raises(ValueError, match="x has 50 rows and y has 49"):
        permuted_cka(x, y[:49], 5, seed=0)
