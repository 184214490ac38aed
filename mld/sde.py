"""The VP-SDE of MLD (MLD code ``src/components/mm_sde.py``; Song et al. 2021) with a linear beta schedule
on [0, T = 1].

    beta(t) = beta_min + t (beta_max - beta_min),     dz = -1/2 beta(t) z dt + sqrt(beta(t)) dW,
    log alpha(t) = -1/4 t^2 (beta_max - beta_min) - 1/2 t beta_min,   sigma(t) = sqrt(1 - alpha(t)^2),
    z_t = alpha(t) z_0 + sigma(t) eps,   eps ~ N(0, I).

Times may be a scalar, per row (B, 1) or per latent dimension (B, D): the formulas are elementwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class VPSDE:
    beta_min: float = 0.1
    beta_max: float = 20.0
    t_eps: float = 1e-6  # training times are U(t_eps, 1)

    def beta(self, t: Tensor) -> Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def log_alpha(self, t: Tensor) -> Tensor:
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def alpha(self, t: Tensor) -> Tensor:
        """The marginal mean factor alpha(t); exactly 1 at t = 0."""
        return self.log_alpha(t).exp()

    def sigma(self, t: Tensor) -> Tensor:
        """The marginal std sqrt(1 - alpha^2), as sqrt(-expm1(2 log alpha)) for accuracy near t = 0; exactly 0 at 0."""
        return torch.sqrt(-torch.expm1(2.0 * self.log_alpha(t)))

    def perturb(self, z0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """z_t = alpha(t) z_0 + sigma(t) noise."""
        return self.alpha(t) * z0 + self.sigma(t) * noise

    def drift(self, z: Tensor, t: Tensor) -> Tensor:
        """f(z, t) = -1/2 beta(t) z."""
        return -0.5 * self.beta(t) * z

    def diffusion(self, t: Tensor) -> Tensor:
        """g(t) = sqrt(beta(t))."""
        return self.beta(t).sqrt()

    def sample_time(self, n: int, *, generator: torch.Generator | None = None, device=None) -> Tensor:
        """t = (1 - t_eps) U + t_eps, U ~ U(0, 1): shape (n,)."""
        u = torch.rand(n, generator=generator, device=device)
        return (1.0 - self.t_eps) * u + self.t_eps
