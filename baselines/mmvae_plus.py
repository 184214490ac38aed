"""MMVAE+: a mixture of experts over a shared latent plus modality-private latents (Palumbo, Daunhawer & Vogt,
ICLR 2023; MMVAE+ code github.com/epalu/mmvaeplus; MLD code ``src/models/mmvaplus_mvae.py``).

Each encoder emits u_m = (z_m, w_m): z (``latent_dim``) is shared across modalities, w (``private_dim``) is private.
Experts, prior and auxiliary priors are Laplace with scales softmax(.) D + 1e-6, the softmax taken over the z block and
the w block separately:

    q(u | x_m) = Laplace(loc_m, scale_m),   p(u) = Laplace(0, 1) (fixed),
    r_d(w) = Laplace(0, softmax(theta_d) D_w + 1e-6) with theta_d learned (the auxiliary prior of modality d).

With (z_rk, w_rk) ~ q(. | x_r), K samples per expert r, and w^_d = w_rk for d = r and w^_d ~ r_d for d != r,

    log w_rk = sum_d lambda_d ln p(x_d | z_rk, w^_d) + beta [ln p(u_rk) - ln (1/M) sum_m q(z_rk | x_m) - ln q(w_rk | x_r)]
    L = (1/M) sum_r log (1/K) sum_k w_rk          (the stratified "looser" bound; K = 1 is the ELBO)

``objective="iwae"`` maximises L directly (the MLD paper's run: K = 1). ``objective="dreg"`` uses the DReG estimator
(the MMVAE+ paper's K = 10 run): the experts are detached inside log w, the decoders and priors get sum_k w~ d log w,
and the encoders sum_k w~^2 d log w / du du/dphi, w~ the weights self-normalised over k.

Generation: z from one expert drawn uniformly among the observed ones; w_d ~ q(w | x_d) for an observed d and
w_d ~ Laplace(0, 1) otherwise (the paper's test-time choice). Unconditional: one u ~ Laplace(0, 1), decoded by every
decoder. Latent layout: u = [z, w] (the shared block first, as in MultiVae).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Collection

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from baselines.mmvae import choose_experts, dreg_surrogate, iwae_bound, laplace_log_prob, laplace_sample
from baselines.vae import MultimodalVAE, VAEConfig
from bench.fields import COUNT, Bound
from bench.interface import DataSpec
from bench.registry import register_model

OBJECTIVES = ("iwae", "dreg")


@dataclass(frozen=True)
class MMVAEPlusConfig(VAEConfig):
    """Defaults: the MLD paper's PolyMNIST run (32 + 32 latents, beta 2.5, batch 64, K = 1, 300 epochs, Adam 1e-3 with
    amsgrad). The MMVAE+ paper's alternatives: batch 32 and 150 epochs with K = 1, or ``objective="dreg"``, K = 10 and
    50 epochs."""

    latent_dim: int = 32  # shared z
    private_dim: int = 32  # w, per modality
    beta: float = 2.5
    batch_size: int = 64
    amsgrad: bool = True
    objective: str = "iwae"
    K: int = 1

    BOUNDS: ClassVar[dict[str, Bound]] = {"private_dim": COUNT, "K": COUNT}
    CHOICES: ClassVar[dict[str, Collection[str]]] = {"objective": OBJECTIVES}


@register_model("mmvae_plus", scales=("default", "paper"))
class MMVAEPlus(MultimodalVAE):
    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[MMVAEPlusConfig]] = MMVAEPlusConfig
    name: ClassVar[str] = "mmvae_plus"

    def __init__(self, spec: DataSpec, cfg: MMVAEPlusConfig) -> None:
        super().__init__(spec, cfg)
        self.aux_logits = nn.Parameter(torch.zeros(len(self.modalities), cfg.private_dim))  # theta_d, (M, D_w)

    @property
    def code_dim(self) -> int:
        return self.cfg.latent_dim + self.cfg.private_dim

    def reset_parameters(self) -> None:
        """Called by ``reinitialize``: every auxiliary prior starts at scale 1."""
        nn.init.zeros_(self.aux_logits)

    def experts(self, loc: Tensor, raw: Tensor) -> tuple[Tensor, Tensor]:
        """Laplace (loc, scale): scale = softmax(raw) D + 1e-6 over the z block and the w block separately."""
        z_raw, w_raw = raw.split([self.cfg.latent_dim, self.cfg.private_dim], dim=-1)
        scale = torch.cat([F.softmax(r, dim=-1) * r.shape[-1] for r in (z_raw, w_raw)], dim=-1) + 1e-6
        return loc, scale

    def aux_scale(self) -> Tensor:
        """Scales of the auxiliary priors r_d, (M, D_w)."""
        return F.softmax(self.aux_logits, dim=-1) * self.cfg.private_dim + 1e-6

    def decode_each(self, z: Tensor, w: Tensor) -> dict[str, Tensor]:
        """x_d's Laplace location from (z, w[..., d, :]): z (..., D_z), w (..., M, D_w)."""
        out = {}
        for d, (m, decoder) in enumerate(zip(self.modalities, self.decoders)):
            u = torch.cat([z, w[..., d, :]], dim=-1)
            out[m] = decoder(u.reshape(-1, u.shape[-1])).view(*u.shape[:-1], *self.spec.shapes[m])
        return out

    def log_weights(self, x: dict[str, Tensor], generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
        """(log w (K, M, B), u (K, M, B, D_z + D_w), w_aux (K, M, M, B, D_w)). u[:, r] ~ q(. | x_r); w_aux[:, r, d]
        ~ r_d is the private latent decoder d gets from expert r (unused on the diagonal). The experts are detached
        inside log w for ``dreg``."""
        cfg = self.cfg
        loc, scale = self.experts(*self.encode(x))  # (B, M, D)
        batch, n, dim = loc.shape
        shape = (cfg.K, n, batch, dim)
        u = laplace_sample(loc.transpose(0, 1).expand(shape), scale.transpose(0, 1).expand(shape), generator)
        aux_shape = (cfg.K, n, n, batch, cfg.private_dim)
        aux_scale = self.aux_scale()[None, None, :, None, :].expand(aux_shape)
        w_aux = laplace_sample(torch.zeros_like(aux_scale), aux_scale, generator)
        if cfg.objective == "dreg":
            loc, scale = loc.detach(), scale.detach()
        loc_m, scale_m = loc.transpose(0, 1), scale.transpose(0, 1)  # (M, B, D)
        split = [cfg.latent_dim, cfg.private_dim]
        (z_loc, w_loc), (z_scale, w_scale) = loc_m.split(split, dim=-1), scale_m.split(split, dim=-1)
        eye = torch.eye(n, dtype=torch.bool, device=u.device)
        log_w = []
        # one expert's K x B samples at a time: decoding all experts' samples in one call per decoder was measured
        # 15% slower on CPU (larger allocations), and this keeps the intermediates small
        for r in range(n):
            z, w = u[:, r].split(split, dim=-1)  # (K, B, D_z), (K, B, D_w)
            log_q_z = torch.logsumexp(laplace_log_prob(z.unsqueeze(1), z_loc, z_scale), dim=1) - math.log(n)
            log_q_w = laplace_log_prob(w, w_loc[r], w_scale[r])
            log_prior = laplace_log_prob(u[:, r], torch.zeros_like(u[:, r]), torch.ones_like(u[:, r]))
            w_in = torch.where(eye[r][:, None], w.unsqueeze(2), w_aux[:, r].transpose(1, 2))  # (K, B, M, D_w)
            loc_x = self.decode_each(z, w_in)
            log_lik = -sum(
                weight * self.nll(x[m], loc_x[m], m)
                for m, weight in zip(self.modalities, self.rec_weights)
            )
            log_w.append(log_lik + self.beta * (log_prior - log_q_z - log_q_w))
        return torch.stack(log_w, dim=1), u, w_aux

    def loss(self, x: dict[str, Tensor], *, generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """-mean_b L (``iwae``) or the DReG surrogate -mean_b (1/M) sum_r sum_k w~_rk log w_rk (``dreg``). Parts:
        "iwae", the bound per sample (higher is better)."""
        log_w, u, _ = self.log_weights(x, generator)
        if self.cfg.objective == "dreg":
            return dreg_surrogate(log_w, u)
        bound = iwae_bound(log_w)
        return -bound.mean(), {"iwae": bound.detach().mean()}

    def conditional_codes(self, experts: tuple[Tensor, Tensor], observed: Tensor, generator: torch.Generator | None) -> Tensor:
        """Row b: z ~ q(z | x_m), m ~ U(observed[b]); w_d ~ q(w | x_d) where d is observed, else Laplace(0, 1);
        decoder d reads [z, w_d]."""
        loc, scale = self.experts(*experts)  # (B, M, D)
        choice = choose_experts(observed, generator)
        rows = torch.arange(len(choice), device=choice.device)
        u = laplace_sample(loc, scale, generator)
        z, w_post = u[rows, choice, : self.cfg.latent_dim], u[..., self.cfg.latent_dim :]
        w_prior = laplace_sample(torch.zeros_like(w_post), torch.ones_like(w_post), generator)
        w = torch.where(observed.unsqueeze(-1), w_post, w_prior)
        return torch.cat([z.unsqueeze(1).expand(-1, len(self.modalities), -1), w], dim=-1)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """u = (z, w) ~ Laplace(0, 1), the same u for every decoder."""
        zeros = self.aux_logits.new_zeros(n, self.code_dim)
        u = laplace_sample(zeros, torch.ones_like(zeros), generator)
        z, w = u.split([self.cfg.latent_dim, self.cfg.private_dim], dim=-1)
        return self._to_outputs(self.decode_each(z, w.unsqueeze(1).expand(-1, len(self.modalities), -1)))
