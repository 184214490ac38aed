"""MVAE: a product of experts with the "joint + unimodal" ELBOs (Wu & Goodman 2018, as MoPoE and MLD run it).

With q_S = PoE({q_m : m in S} and the prior expert N(0, I)), minimised per batch
(MoPoE code ``run_epochs.py``, MLD code ``src/models/poe_mvae.py``):

    L = [sum_d w_d rec_d(z) + beta KL(q_all || p)] + sum_m [rec_m(z_m) + beta KL(q_{m} || p)],
    z ~ q_all,  z_m ~ q_{m},

where rec is -ln Laplace(x | dec(z), 0.75) averaged over the batch and the unimodal terms have weight 1
(MoPoE ``calc_elbo``). No random k-subsets as in the original paper. Conditioning on S samples z ~ q_S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from baselines.fusion import poe, poe_subsets, reparameterize
from baselines.posteriors import gaussian_kl
from baselines.vae import MultimodalVAE, VAEConfig
from bench.registry import register_model


@dataclass(frozen=True)
class MVAEConfig(VAEConfig):
    """Field defaults: the reference values with lr 1e-3, the MLD authors' setting for every baseline (MLD code
    ``experiments/mmnist/mmnist_baselines.py``)."""


@register_model("mvae", scales=("paper",))
class MVAE(MultimodalVAE):
    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[MVAEConfig]] = MVAEConfig
    name: ClassVar[str] = "mvae"

    def loss(self, x: dict[str, Tensor], *, generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """L of the module docstring. The M + 1 posteriors (joint first, then each modality alone) come from one
        ``poe_subsets``; their noise is one randn (M + 1, B, D) from ``generator``."""
        mu, logvar = self.encode(x)  # (B, M, D)
        n = len(self.modalities)
        masks = torch.cat([torch.ones(1, n, dtype=torch.bool), torch.eye(n, dtype=torch.bool)]).to(mu.device)
        q_mu, q_logvar = poe_subsets(mu, logvar, masks, prior_expert=masks.any(dim=1))  # (M + 1, B, D), prior in all
        z = reparameterize(q_mu, q_logvar, generator)
        kl = gaussian_kl(q_mu, q_logvar).mean(dim=1)  # (M + 1,)
        rec_joint = self.reconstruction(x, self.decode(z[0]))
        rec_uni = sum(
            self.nll(x[m], decoder(z[1 + i]), m).mean()
            for i, (m, decoder) in enumerate(zip(self.modalities, self.decoders))
        )
        rec = rec_joint + rec_uni
        total = rec + self.beta * kl.sum()
        return total, {"rec": rec.detach(), "kl": kl.sum().detach()}

    def posterior(self, mu: Tensor, logvar: Tensor, observed: Tensor) -> tuple[Tensor, Tensor]:
        """q_S = PoE(experts in S and the prior expert)."""
        return poe(mu, logvar, observed, prior_expert=True)
