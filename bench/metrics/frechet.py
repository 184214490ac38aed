"""Fréchet distance between Gaussians fitted to two feature sets, in float64 on the features' device.

FD(a, b) = ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}),
which equals pytorch-fid's tr(sqrtm(S_a S_b)) form (S_a S_b is similar to S_a^{1/2} S_b S_a^{1/2}) but only takes
square roots of symmetric PSD matrices, so it stays stable for singular or ill-conditioned covariances.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.metrics.names import UNCOND, direction, given, metric_key
from bench.metrics.registry import FeatureMetric, register_metric
from bench.tables import Column


@dataclass(frozen=True)
class FeatureStats:
    """Mean ``(d,)`` and unbiased covariance ``(d, d)`` of ``n`` feature vectors, both float64."""

    mean: Tensor
    cov: Tensor
    n: int

    @classmethod
    def from_features(cls, features: Tensor) -> FeatureStats:
        """mean = (1/N) sum_i f_i and cov = (1/(N-1)) sum_i (f_i - mean)(f_i - mean)^T of ``features (N, d)``
        (as ``numpy.cov(rowvar=False)``), computed in float64 on the features' device."""
        if features.dim() != 2:
            raise ValueError(f"features must be (N, d), got shape {tuple(features.shape)}")
        n = features.shape[0]
        if n < 2:
            raise ValueError(f"a covariance needs at least 2 feature vectors, got {n}")
        x = features.detach().to(torch.float64)
        mean = x.mean(dim=0)
        centred = x - mean
        return cls(mean=mean, cov=centred.mT @ centred / (n - 1), n=n)

    def state(self) -> dict[str, Tensor]:
        """Tensors only, so ``torch.load(..., weights_only=True)`` can read what ``torch.save`` wrote."""
        return {"mean": self.mean, "cov": self.cov, "n": torch.tensor(self.n)}

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> FeatureStats:
        """Inverse of ``state``."""
        return cls(mean=state["mean"].to(torch.float64), cov=state["cov"].to(torch.float64), n=int(state["n"]))


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Symmetric square root V diag(sqrt(max(w, 0))) V^T of a symmetric PSD matrix with eigenpairs (w, V)."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp_min(0).sqrt()) @ eigenvectors.mT


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    """FD(a, b) = ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}) in float64 on the
    device of ``a``.

    With X = S_a^{1/2} S_b^{1/2}, X X^T = S_a^{1/2} S_b S_a^{1/2}, so the last trace is the sum of the singular
    values of X. Taking them directly, rather than square roots of the eigenvalues of X X^T, keeps the digits
    that squaring loses: FD(a, a) is ~1e-15 tr(S_a) instead of ~1e-8 tr(S_a) when S_a is singular."""
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"feature dimensions differ: {tuple(a.mean.shape)} and {tuple(b.mean.shape)}")
    device = a.mean.device
    mu_a, cov_a = a.mean.to(device, torch.float64), a.cov.to(device, torch.float64)
    mu_b, cov_b = b.mean.to(device, torch.float64), b.cov.to(device, torch.float64)
    tr_covmean = torch.linalg.svdvals(_sqrt_psd(cov_a) @ _sqrt_psd(cov_b)).sum()
    diff = mu_a - mu_b
    return float(diff @ diff + torch.trace(cov_a) + torch.trace(cov_b) - 2 * tr_covmean)


def _fd(generated: Tensor, real) -> dict[str, float]:
    return {"fd": frechet_distance(FeatureStats.from_features(generated), real.stats)}


LABELS = {"clf": "FD-clf", "inception": "FID"}  # how the Fréchet distance in a feature space is called


def fd_label(space: str) -> str:
    """"FD-clf", "FID", or "FD-<space>" for another feature space."""
    return LABELS.get(space, f"FD-{space}")


def fd_columns(space: str, modalities: tuple[str, ...], n_modalities: int) -> list[Column]:
    """Its table: FD of the unconditional samples per modality and their mean, then conditional FD per subset size
    k (1 .. ``n_modalities`` - 1; a suite with text scores its images only)."""
    label = fd_label(space)
    return (
        [Column(metric_key("fd", m, space), f"{label} {m}", False, group="Unconditional") for m in modalities]
        + [Column(metric_key("fd", UNCOND, space), f"{label} mean", False, group="Unconditional")]
        + [Column(metric_key("fd", given(k), space), f"{label} k={k}", False, group="Conditional")
           for k in range(1, n_modalities)]
    )


def fd_by_size_columns(space: str, n_modalities: int) -> list[Column]:
    """For a summary table: FD of the unconditional samples (mean over modalities), then per number of given
    modalities."""
    label = fd_label(space)
    return ([Column(metric_key("fd", UNCOND, space), f"{label} uncond", False, group=label)]
            + [Column(metric_key("fd", given(k), space), f"{label} k={k}", False, group=label)
               for k in range(1, n_modalities)])


def fd_joint_columns(space: str, modalities: tuple[str, ...], short: dict[str, str]) -> list[Column]:
    """For a summary table: FD of each modality's unconditional samples (``short`` abbreviates the names)."""
    label = fd_label(space)
    return [Column(metric_key("fd", m, space), f"{label} joint ({short.get(m, m)})", False, group=label)
            for m in modalities]


def fd_direction_columns(space: str, modalities: tuple[str, str], short: dict[str, str]) -> list[Column]:
    """For a bimodal summary table: FD of B given A and of A given B."""
    a, b = modalities
    label, sa, sb = fd_label(space), short.get(a, a), short.get(b, b)
    return [Column(metric_key("fd", direction(a, b), space), f"{label} {sa}→{sb}", False, group=label),
            Column(metric_key("fd", direction(b, a), space), f"{label} {sb}→{sa}", False, group=label)]


register_metric(FeatureMetric(
    name="fd", measures={"fd": False}, compute=_fd, pairs=("fd",), table="quality", columns=fd_columns,
    caption="{title} {label}: Fréchet distance in {features} features ({data}; {samples}; {seeds}). Per modality: "
    "unconditional samples; k=K: conditional, averaged over subsets of size K and targets not in them.",
    plot=("fd", "{label}", "{label} of conditional generations"),
))
