"""Precision/recall/density/coverage against a plain numpy reference (full distance matrices) and limiting cases."""

import numpy as np
import pytest
import torch

from bench.metrics.prdc import prdc, real_radii


def reference(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict[str, float]:
    """The formulas term by term, with full N x N, M x M and M x N distance matrices."""

    def distances(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))

    def kth_other(d, k):  # d[i, i] = 0 is the sample itself, so the k-th other is the (k + 1)-th smallest
        return np.sort(d, axis=1)[:, k]

    real_real, fake_fake, fake_real = distances(real, real), distances(fake, fake), distances(fake, real)
    r_pr, r_dc, f_pr = kth_other(real_real, k_pr), kth_other(real_real, k_dc), kth_other(fake_fake, k_pr)
    return {
        "precision": float((fake_real <= r_pr[None, :]).any(axis=1).mean()),
        "recall": float((fake_real <= f_pr[:, None]).any(axis=0).mean()),
        "density": float((fake_real <= r_dc[None, :]).sum() / (k_dc * len(fake))),
        "coverage": float((fake_real.min(axis=0) <= r_dc).mean()),
    }


def overlapping_sets(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """300 real and 250 fake 16-d points whose distributions overlap partly, so no metric is 0 or 1."""
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(300, 16, generator=g)
    fake = torch.randn(250, 16, generator=g) + 0.5
    return real, fake


@pytest.mark.parametrize("block", [4096, 300, 37, 1])
def test_matches_numpy_reference_exactly(block):
    real, fake = overlapping_sets()
    expected = reference(real.double().numpy(), fake.double().numpy(), k_pr=3, k_dc=5)
    assert all(0.05 < v < 0.95 for k, v in expected.items() if k != "density")
    assert prdc(real, fake, block=block) == expected


@pytest.mark.parametrize(("k_pr", "k_dc"), [(1, 1), (5, 2), (10, 7)])
def test_matches_numpy_reference_for_other_k(k_pr, k_dc):
    real, fake = overlapping_sets(seed=1)
    expected = reference(real.double().numpy(), fake.double().numpy(), k_pr=k_pr, k_dc=k_dc)
    assert prdc(real, fake, k_pr=k_pr, k_dc=k_dc, block=64) == expected


def test_matches_prdc_package():
    """The package uses strict < where the papers use <=; on continuous random data there are no ties."""
    package = pytest.importorskip("prdc")
    real, fake = overlapping_sets(seed=2)
    expected = package.compute_prdc(real.double().numpy(), fake.double().numpy(), nearest_k=4)
    ours = prdc(real, fake, k_pr=4, k_dc=4, block=50)
    assert ours == pytest.approx({k: float(v) for k, v in expected.items()}, abs=1e-12)


def test_a_distance_equal_to_the_radius_counts():
    """1-d integers, k = 1: every radius is exactly 1 and the fake 10 lies exactly 1 from the real 9 (<=, not <)."""
    real = torch.arange(10, dtype=torch.float64)[:, None]
    fake = torch.tensor([[10.0], [11.0], [30.0], [31.0]], dtype=torch.float64)
    scores = prdc(real, fake, k_pr=1, k_dc=1, block=3)
    assert scores == {"precision": 0.25, "recall": 0.1, "density": 0.25, "coverage": 0.1}


def test_identical_sets():
    real, _ = overlapping_sets()
    scores = prdc(real, real.clone(), block=64)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    assert scores["density"] >= 1 / 5  # every fake lies at least in the ball of the real point it equals


def test_disjoint_far_apart_sets():
    real, fake = overlapping_sets()
    scores = prdc(real, fake + 100.0, block=64)
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_mode_collapse_onto_one_real_point():
    """Fakes jittered tightly around one real point: all inside its ball (precision 1), but they cover and recall
    only a handful of real points."""
    real, _ = overlapping_sets()
    g = torch.Generator().manual_seed(3)
    fake = real[7] + 1e-3 * torch.randn(100, 16, generator=g)
    scores = prdc(real, fake, block=64)
    assert scores["precision"] == 1.0
    assert scores["recall"] <= 0.01 and scores["coverage"] <= 0.01


def test_float32_and_float64_inputs_agree():
    real, fake = overlapping_sets()
    assert prdc(real, fake) == prdc(real.double(), fake.double())


def test_invalid_inputs():
    real, fake = overlapping_sets()
    with pytest.raises(ValueError, match="real and fake"):
        prdc(real, fake[:, :8])
    with pytest.raises(ValueError, match="more than 5 real"):
        prdc(real[:5], fake)
    with pytest.raises(ValueError, match="more than 3 fake"):
        prdc(real, fake[:3])
    with pytest.raises(ValueError, match="positive"):
        prdc(real, fake, block=0)


def test_precomputed_real_radii_give_the_same_scores():
    real, fake = overlapping_sets(seed=4)
    radii = real_radii(real, k_pr=2, k_dc=6, block=50)
    assert prdc(real, fake, k_pr=2, k_dc=6, radii=radii) == prdc(real, fake, k_pr=2, k_dc=6)
    with pytest.raises(ValueError, match="radii"):
        prdc(real, fake, radii=(radii[0][:-1], radii[1]))
