"""KID against a direct numpy computation of the unbiased MMD^2 estimator (Bińkowski et al. 2018, Eq. 3)."""

import numpy as np
import pytest
import torch

from bench.metrics.kid import kid


def numpy_kid(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimator written out with explicit off-diagonal masks, in float64."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    n, m = len(x), len(y)
    off_x = ~np.eye(n, dtype=bool)
    off_y = ~np.eye(m, dtype=bool)
    return k_xx[off_x].sum() / (n * (n - 1)) + k_yy[off_y].sum() / (m * (m - 1)) - 2 * k_xy.mean()


@pytest.mark.parametrize("n, m, d, shift", [(50, 40, 8, 0.0), (64, 70, 16, 0.5), (31, 17, 3, 2.0)])
def test_matches_numpy_unbiased_estimator(n, m, d, shift):
    rng = np.random.default_rng(n + m)
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(m, d)) + shift
    expected = numpy_kid(x, y)
    assert kid(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    for block in (1, 7, 1000):  # blockwise sums are the same sums
        assert kid(torch.from_numpy(x), torch.from_numpy(y), block=block) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_near_zero_for_one_distribution_and_growing_with_the_shift():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(400, 10)))
    same = kid(x, torch.from_numpy(rng.normal(size=(400, 10))))
    shifted = [kid(x, torch.from_numpy(rng.normal(size=(400, 10)) + s)) for s in (0.25, 0.5, 1.0)]
    assert abs(same) < 0.02 and shifted[0] < shifted[1] < shifted[2] and shifted[0] > 5 * abs(same)


def test_float32_features_are_scored_in_float64():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(20, 5)) + 1
    assert kid(torch.from_numpy(x).float(), torch.from_numpy(y).float()) == pytest.approx(
        numpy_kid(x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64)), rel=1e-10)


def test_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="must be"):
        kid(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="at least 2"):
        kid(torch.zeros(5, 3), torch.zeros(1, 3))
