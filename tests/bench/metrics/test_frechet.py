"""Fréchet distance against pytorch-fid's numpy/scipy implementation, a 50-digit mpmath reference, and closed forms."""

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from bench.metrics.frechet import FeatureStats, frechet_distance


def pytorch_fid(a: FeatureStats, b: FeatureStats) -> float:
    return float(calculate_frechet_distance(a.mean.numpy(), a.cov.numpy(), b.mean.numpy(), b.cov.numpy()))


def random_features(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """Correlated float32 features: N(shift, A A^T / 64) for a random A."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) / 8 + shift


def spread_stats(d: int, seed: int) -> FeatureStats:
    """A covariance with a random eigenbasis and eigenvalues log-spaced over 1e-10..1e2, and a random mean."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (q * np.logspace(-10, 2, d)) @ q.T
    return FeatureStats(torch.from_numpy(rng.standard_normal(d)), torch.from_numpy((cov + cov.T) / 2), n=1000)


def test_feature_stats_match_numpy():
    features = random_features(200, 16, seed=0, shift=0.5)
    stats = FeatureStats.from_features(features)
    x = features.numpy().astype(np.float64)
    assert stats.mean.dtype == stats.cov.dtype == torch.float64 and stats.n == 200
    np.testing.assert_allclose(stats.mean.numpy(), x.mean(axis=0), rtol=0, atol=1e-13)
    np.testing.assert_allclose(stats.cov.numpy(), np.cov(x, rowvar=False), rtol=0, atol=1e-13)


def test_feature_stats_need_two_rows_of_a_matrix():
    with pytest.raises(ValueError, match="at least 2"):
        FeatureStats.from_features(torch.randn(1, 4))
    with pytest.raises(ValueError, match="N, d"):
        FeatureStats.from_features(torch.randn(5))


def test_state_round_trip(tmp_path):
    stats = FeatureStats.from_features(random_features(50, 8, seed=1))
    torch.save(stats.state(), tmp_path / "stats.pt")
    loaded = FeatureStats.from_state(torch.load(tmp_path / "stats.pt", weights_only=True))
    assert loaded.n == 50 and isinstance(loaded.n, int)
    assert torch.equal(loaded.mean, stats.mean) and torch.equal(loaded.cov, stats.cov)
    other = FeatureStats.from_features(random_features(60, 8, seed=2))
    assert frechet_distance(loaded, other) == frechet_distance(stats, other)


def test_matches_pytorch_fid_on_random_features():
    a = FeatureStats.from_features(random_features(500, 64, seed=0, shift=0.3))
    b = FeatureStats.from_features(random_features(400, 64, seed=1))
    expected = pytorch_fid(a, b)
    assert expected > 1
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_matches_pytorch_fid_on_singular_covariances():
    """N < d: both covariances are singular (rank 39 and 29 of 64), scipy's sqrtm still agrees to ~1e-8."""
    g = torch.Generator().manual_seed(3)
    a = FeatureStats.from_features(torch.randn(40, 64, generator=g))
    b = FeatureStats.from_features(torch.randn(30, 64, generator=g) + 0.5)
    assert torch.linalg.matrix_rank(a.cov) == 39
    assert frechet_distance(a, b) == pytest.approx(pytorch_fid(a, b), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_pytorch_fid_on_eigenvalues_from_1e_minus_10_to_1e2(seed):
    a, b = spread_stats(32, seed), spread_stats(32, seed + 10)
    assert frechet_distance(a, b) == pytest.approx(pytorch_fid(a, b), rel=1e-6)


def test_matches_50_digit_reference_on_ill_conditioned_covariances():
    """On eigenvalues spanning 1e-10..1e2, pytorch-fid is off by ~6e-9 relative; this implementation by ~1e-15."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    a, b = spread_stats(12, 5), spread_stats(12, 6)

    def sqrt_psd(m):
        w, v = mpmath.eigsy(m)
        return v * mpmath.diag([mpmath.sqrt(max(x, 0)) for x in w]) * v.T

    cov_a, cov_b = mpmath.matrix(a.cov.tolist()), mpmath.matrix(b.cov.tolist())
    root_a = sqrt_psd(cov_a)
    middle = root_a * cov_b * root_a
    tr_covmean = sum(mpmath.sqrt(max(x, 0)) for x in mpmath.eigsy((middle + middle.T) / 2)[0])
    diff = mpmath.matrix((a.mean - b.mean).tolist())
    trace = sum(cov_a[i, i] + cov_b[i, i] for i in range(12))
    expected = float((diff.T * diff)[0] + trace - 2 * tr_covmean)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "stats",
    [
        FeatureStats.from_features(random_features(300, 32, seed=4)),
        FeatureStats.from_features(torch.randn(20, 64, generator=torch.Generator().manual_seed(5))),  # singular
        spread_stats(32, 6),
    ],
    ids=["random", "singular", "spread"],
)
def test_distance_to_itself_is_zero_and_distance_is_symmetric(stats):
    scale = float(torch.trace(stats.cov))
    assert abs(frechet_distance(stats, stats)) < 1e-8 * scale
    other = FeatureStats.from_features(random_features(100, stats.mean.shape[0], seed=7, shift=0.2))
    assert frechet_distance(stats, other) == pytest.approx(frechet_distance(other, stats), rel=1e-10)


def test_isotropic_gaussians_closed_form():
    """N(mu_1, s1^2 I) vs N(mu_2, s2^2 I): FD = ||mu_1 - mu_2||^2 + d (s1 - s2)^2."""
    d, s1, s2 = 10, 0.7, 2.3
    mu_1, mu_2 = torch.linspace(-1, 1, d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
    eye = torch.eye(d, dtype=torch.float64)
    a, b = FeatureStats(mu_1, s1**2 * eye, n=100), FeatureStats(mu_2, s2**2 * eye, n=100)
    expected = float((mu_1 - mu_2).square().sum()) + d * (s1 - s2) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-12)


def test_float32_features_are_promoted_before_the_statistics():
    """A large offset cancels in float64 centring but not in float32: the statistics must be computed in float64."""
    features = random_features(100, 8, seed=8) + 1e4
    assert torch.allclose(
        FeatureStats.from_features(features).cov,
        torch.from_numpy(np.cov(features.numpy().astype(np.float64), rowvar=False)),
        rtol=1e-12,
        atol=0,
    )


def test_dimension_mismatch_is_an_error():
    a = FeatureStats.from_features(random_features(20, 4, seed=0))
    b = FeatureStats.from_features(random_features(20, 5, seed=1))
    with pytest.raises(ValueError, match="dimensions"):
        frechet_distance(a, b)
