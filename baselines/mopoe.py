"""MoPoE-VAE: a mixture of products of experts (Sutter, Daunhawer & Vogt, "Generalized Multimodal ELBO", ICLR 2021).

The posterior is a uniform mixture over the 2^M - 1 non-empty subsets S of the modalities,
q(z|X) = 1/(2^M - 1) sum_S q_S, with q_S = PoE({q_m : m in S}) and the prior expert N(0, I) in the full set only.
Minimised per batch (MoPoE code ``joint_elbo``; MLD code ``src/models/mopoe_mvae.py``; "rec" and KL are
means over the batch):

    L = sum_d w_d (-ln p(x_d | z)) + beta / (2^M - 1) sum_S KL(q_S || N(0, I)),   z ~ q_{S(b)} for row b,

where the batch is stratified into one contiguous chunk per subset (``subset_assignment``) and p(x_d | z) is a
Laplace with location dec_d(z) and fixed scale 0.75. Conditioning on S samples z ~ q_S (prior expert iff S is full).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from baselines.fusion import poe, poe_subsets, reparameterize
from baselines.posteriors import gaussian_kl
from baselines.vae import MultimodalVAE, VAEConfig
from bench.interface import DataSpec
from bench.metrics.subsets import all_subsets
from bench.registry import register_model


@dataclass(frozen=True)
class MoPoEConfig(VAEConfig):
    """Field defaults are the paper values (MoPoE code ``job_polymnist``; Sutter et al. 2021)."""

    lr: float = 5e-4  # MoPoE's own value (MVTCAE and MLD use 1e-3)


def subset_assignment(batch_size: int, n_subsets: int, *, device: torch.device | str | None = None) -> Tensor:
    """Which subset each row of a batch samples from, long (B,): row b gets min(b // (B // K), K - 1).

    So chunks of B // K rows each and the last subset takes the remainder (MoPoE ``mixture_component_selection``).
    With B < K the rows take subsets 0..B-1, one each (round robin over a single pass).
    """
    chunk = max(batch_size // n_subsets, 1)
    return (torch.arange(batch_size, device=device) // chunk).clamp(max=n_subsets - 1)


@register_model("mopoe", scales=("quick", "default", "paper"))
class MoPoE(MultimodalVAE):
    """One encoder q_m = N(mu_m, sigma_m^2) and one decoder per modality (Laplace for an image, categorical for text;
    networks by kind, ``baselines.nets.networks``)."""

    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[MoPoEConfig]] = MoPoEConfig
    name: ClassVar[str] = "mopoe"

    def __init__(self, spec: DataSpec, cfg: MoPoEConfig) -> None:
        super().__init__(spec, cfg)
        self.register_buffer("subsets", all_subsets(len(self.modalities)), persistent=False)  # (K, M)

    def loss(
        self, x: dict[str, Tensor], *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The MoPoE objective L (module docstring) on one batch ``x: dict[m, (B, C, H, W)]``.

        All K = 2^M - 1 subset posteriors come from ``poe_subsets`` (two (K, M) x (B, M, D) products give
        (K, B, D)). Row b then samples z from q_{S(b)}, S(b) = ``subset_assignment``; the noise is randn (B, D) from
        ``generator``. Returns (L, {"rec": mean rec, "kl": mean-over-subsets KL}), parts detached.
        """
        mu, logvar = self.encode(x)  # (B, M, D)
        masks = self.subsets  # (K, M)
        n_subsets, batch = masks.shape[0], mu.shape[0]
        mu_s, logvar_s = poe_subsets(mu, logvar, masks, prior_expert=masks.all(dim=1))  # (K, B, D)
        kl = gaussian_kl(mu_s, logvar_s).mean(dim=1).mean()  # 1/K sum_S mean_b KL(q_S || p)
        which = subset_assignment(batch, n_subsets, device=mu.device)
        rows = torch.arange(batch, device=mu.device)
        z = reparameterize(mu_s[which, rows], logvar_s[which, rows], generator)
        rec = self.reconstruction(x, self.decode(z))
        total = rec + self.beta * kl
        return total, {"rec": rec.detach(), "kl": kl.detach()}

    def posterior(self, mu: Tensor, logvar: Tensor, observed: Tensor) -> tuple[Tensor, Tensor]:
        """q_S = PoE(experts in S, plus N(0, I) iff S is the full set)."""
        return poe(mu, logvar, observed, prior_expert=observed.all(dim=1))
