"""The KL terms of the Gaussian-posterior VAEs, per sample (the likelihoods are in ``bench.likelihoods``).

    KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - ln sigma_j^2)
    KL(N(m1, v1) || N(m2, v2))    = 1/2 sum_j (ln v2_j - ln v1_j + (v1_j + (m1_j - m2_j)^2) / v2_j - 1)
"""

from __future__ import annotations

from torch import Tensor


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the last dim: (..., D) -> (...)."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def gaussian_kl_between(mu1: Tensor, logvar1: Tensor, mu2: Tensor, logvar2: Tensor) -> Tensor:
    """KL(N(mu1, exp(logvar1)) || N(mu2, exp(logvar2))) summed over the last dim; inputs broadcast."""
    ratio = (logvar1 - logvar2).exp() + (mu1 - mu2).square() * (-logvar2).exp()
    return 0.5 * (logvar2 - logvar1 + ratio - 1.0).sum(dim=-1)

