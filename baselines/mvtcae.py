"""MVTCAE: multi-view total correlation auto-encoder (Hwang et al., NeurIPS 2021), the ``modality_ivw`` objective.

With q(z|X) = PoE of all unimodal experts (no prior expert in the original; ``prior_expert=True`` is the MLD
port), minimised per batch (Hwang et al. 2021; MVTCAE code ``run_epochs.py``, MLD code ``src/models/MVTCAE.py``):

    L = (M - alpha)/M sum_d w_d rec_d(z) + beta [ alpha/M sum_m KL(q(z|X) || q_m) + (1 - alpha) KL(q(z|X) || p) ],
    z ~ q(z|X),

with rec = -ln Laplace(x | dec(z), 0.75) averaged over the batch, alpha = 5/6, beta = 2.5. Conditioning on S samples
from the PoE of the experts in S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from baselines.fusion import poe, reparameterize
from baselines.posteriors import gaussian_kl, gaussian_kl_between
from baselines.vae import MultimodalVAE, VAEConfig
from bench.fields import PROBABILITY, Bound
from bench.registry import register_model


@dataclass(frozen=True)
class MVTCAEConfig(VAEConfig):
    """Field defaults are the paper values (MVTCAE code ``main_mmnist.py``)."""

    alpha: float = 5 / 6  # tc_ratio
    prior_expert: bool = False  # True: the MLD port's PoE with N(0, I) as an extra expert

    BOUNDS: ClassVar[dict[str, Bound]] = {"alpha": PROBABILITY}


@register_model("mvtcae", scales=("default", "paper"))
class MVTCAE(MultimodalVAE):
    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[MVTCAEConfig]] = MVTCAEConfig
    name: ClassVar[str] = "mvtcae"

    def loss(self, x: dict[str, Tensor], *, generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """L of the module docstring; noise randn (B, D) from ``generator``."""
        cfg = self.cfg
        mu, logvar = self.encode(x)  # (B, M, D)
        n = len(self.modalities)
        everything = torch.ones(mu.shape[:2], dtype=torch.bool, device=mu.device)
        q_mu, q_logvar = poe(mu, logvar, everything, prior_expert=cfg.prior_expert)
        z = reparameterize(q_mu, q_logvar, generator)
        rec = self.reconstruction(x, self.decode(z))
        kl_views = gaussian_kl_between(q_mu.unsqueeze(1), q_logvar.unsqueeze(1), mu, logvar).sum(dim=1).mean()
        kl_prior = gaussian_kl(q_mu, q_logvar).mean()
        total = (n - cfg.alpha) / n * rec + self.beta * (cfg.alpha / n * kl_views + (1.0 - cfg.alpha) * kl_prior)
        return total, {"rec": rec.detach(), "kl_views": kl_views.detach(), "kl_prior": kl_prior.detach()}

    def posterior(self, mu: Tensor, logvar: Tensor, observed: Tensor) -> tuple[Tensor, Tensor]:
        """PoE of the experts in S (plus N(0, I) with ``prior_expert``)."""
        return poe(mu, logvar, observed, prior_expert=self.cfg.prior_expert)
