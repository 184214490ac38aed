"""MMVAE: a mixture of experts (Shi, Siddharth, Paige & Torr, NeurIPS 2019), in two named forms
(MMVAE code ``src/objectives.py``; MLD code ``src/models/moe_mvae.py``).

``objective="dreg"`` (faithful, the paper's ``--obj dreg --looser --learn-prior``): Laplace posteriors
q_m = Laplace(mu_m, softmax(l_m) D + 1e-6), a Laplace prior p = Laplace(0, softmax(theta) D) with theta learned, and
the stratified ("looser") importance-weighted bound with K samples per expert,

    L = (1/M) sum_r log (1/K) sum_k w_rk,   w_rk = p(z_rk) prod_d p(x_d | z_rk)^{lambda_d} / ((1/M) sum_m q_m(z_rk)),
    z_rk ~ q_r,

optimised with the DReG estimator: the experts' parameters are detached inside log w, the decoder and prior get the
importance-weighted gradient sum_k w~_k d log w_k, and the encoders the doubly reparameterised sum_k w~_k^2 d log w_k
/ dz dz/dphi (w~ the self-normalised weights over k). lambda_d are the reconstruction weights.

``objective="elbo"`` (the MoPoE/MLD re-implementation, the MLD paper's baseline): Gaussian posteriors and prior, a
stratified mixture sample (chunk m of the batch uses q_m) and

    L = sum_d w_d rec_d(z) + beta (1/M) sum_m KL(q_m || N(0, I)).

Conditioning on S draws one expert uniformly from S per row (a sample of the mixture over S), then z from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Collection

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from baselines.fusion import reparameterize
from baselines.mopoe import subset_assignment
from baselines.posteriors import gaussian_kl
from baselines.vae import MultimodalVAE, VAEConfig
from bench.fields import COUNT, Bound
from bench.interface import DataSpec
from bench.registry import register_model

OBJECTIVES = ("dreg", "elbo")


@dataclass(frozen=True)
class MMVAEConfig(VAEConfig):
    """Defaults: the faithful DReG objective with K = 10 (MultiVae's PolyMNIST setting; the paper's MNIST-SVHN run
    used K = 30), a learned prior and Adam with amsgrad (the paper), on the PolyMNIST sizes (D 512, batch 256).
    ``beta`` weights the KL of the ``elbo`` form only."""

    objective: str = "dreg"
    K: int = 10
    learn_prior: bool = True
    amsgrad: bool = True

    BOUNDS: ClassVar[dict[str, Bound]] = {"K": COUNT}
    CHOICES: ClassVar[dict[str, Collection[str]]] = {"objective": OBJECTIVES}


def laplace_log_prob(z: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """ln Laplace(z | loc, scale) summed over the last dim (ln 2 scale is summed before broadcasting)."""
    return -((z - loc).abs() / scale).sum(dim=-1) - torch.log(2.0 * scale).sum(dim=-1)


def laplace_sample(loc: Tensor, scale: Tensor, generator: torch.Generator | None) -> Tensor:
    """loc - scale sign(u) ln(1 - 2|u|), u ~ U(-1/2, 1/2) of shape ``loc.shape`` from ``generator``."""
    device = generator.device if generator is not None else loc.device
    u = torch.rand(loc.shape, generator=generator, device=device, dtype=loc.dtype).to(loc.device) - 0.5
    u = u.clamp(-0.5 + 1e-7, 0.5 - 1e-7)  # keep ln(1 - 2|u|) finite
    return loc - scale * torch.sign(u) * torch.log1p(-2.0 * u.abs())


def choose_experts(observed: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One observed expert per row, uniformly: long (B,) with observed[b, choice[b]] True."""
    device = generator.device if generator is not None else observed.device
    u = torch.rand(observed.shape, generator=generator, device=device).to(observed.device)
    return torch.where(observed, u, -1.0).argmax(dim=1)


def iwae_bound(log_w: Tensor) -> Tensor:
    """Per sample (B,): (1/M) sum_r log (1/K) sum_k w_rk from log w (K, M, B)."""
    return (torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])).mean(dim=0)


def dreg_surrogate(log_w: Tensor, samples: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """The DReG surrogate -mean_b (1/M) sum_r sum_k w~_rk log w_rk (w~ self-normalised over the K samples of
    log w (K, M, B)), with the gradient reaching ``samples`` (K, M, B, D) multiplied by w~, so the encoders get w~^2.
    The experts must be detached inside log w. Parts: "iwae", the bound per sample (higher is better)."""
    weights = torch.softmax(log_w.detach(), dim=0)
    if samples.requires_grad:
        samples.register_hook(lambda grad: weights.unsqueeze(-1) * grad)
    surrogate = (weights * log_w).sum(dim=0).mean(dim=0)  # (B,)
    return -surrogate.mean(), {"iwae": iwae_bound(log_w.detach()).mean()}


@register_model("mmvae", scales=("paper",))
class MMVAE(MultimodalVAE):
    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[MMVAEConfig]] = MMVAEConfig
    name: ClassVar[str] = "mmvae"

    def __init__(self, spec: DataSpec, cfg: MMVAEConfig) -> None:
        super().__init__(spec, cfg)
        # theta of the Laplace prior's scale softmax(theta) D (dreg only); zeros give scale 1 per dimension
        self.prior_logits = nn.Parameter(torch.zeros(cfg.latent_dim), requires_grad=cfg.learn_prior)

    def reset_parameters(self) -> None:
        """Called by ``reinitialize``: the prior starts at scale 1 in every dimension."""
        nn.init.zeros_(self.prior_logits)

    def experts(self, mu: Tensor, raw: Tensor) -> tuple[Tensor, Tensor]:
        """Laplace experts (loc, scale) from the encoder heads: scale = softmax(raw) D + 1e-6."""
        return mu, F.softmax(raw, dim=-1) * raw.shape[-1] + 1e-6

    def prior_scale(self) -> Tensor:
        return F.softmax(self.prior_logits, dim=-1) * self.prior_logits.shape[-1]

    def loss(self, x: dict[str, Tensor], *, generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        return self.dreg_loss(x, generator) if self.cfg.objective == "dreg" else self.elbo_loss(x, generator)

    def elbo_loss(self, x: dict[str, Tensor], generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]:
        """The ``elbo`` form; row b samples from q_{m(b)}, m(b) = ``subset_assignment(B, M)``; noise randn (B, D)."""
        mu, logvar = self.encode(x)  # (B, M, D)
        batch, n = mu.shape[:2]
        which = subset_assignment(batch, n, device=mu.device)
        rows = torch.arange(batch, device=mu.device)
        z = reparameterize(mu[rows, which], logvar[rows, which], generator)
        rec = self.reconstruction(x, self.decode(z))
        kl = gaussian_kl(mu, logvar).mean(dim=0).mean()  # 1/M sum_m mean_b KL(q_m || p)
        return rec + self.beta * kl, {"rec": rec.detach(), "kl": kl.detach()}

    def log_weights(self, x: dict[str, Tensor], generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """(log w (K, M, B), z (K, M, B, D)) of the ``dreg`` form: z_rk ~ q_r by one Laplace draw (K, M, B, D);
        the experts' parameters are detached inside log w."""
        cfg = self.cfg
        mu, raw = self.encode(x)
        loc, scale = self.experts(mu, raw)  # (B, M, D)
        batch, n, dim = loc.shape
        shape = (cfg.K, n, batch, dim)
        z = laplace_sample(loc.transpose(0, 1).expand(shape), scale.transpose(0, 1).expand(shape), generator)
        loc_m, scale_m = loc.detach().transpose(0, 1), scale.detach().transpose(0, 1)  # (M, B, D), detached
        prior_scale = self.prior_scale()
        log_w = []
        for r in range(n):  # one expert's K x B samples at a time keeps the intermediates small
            z_r = z[:, r]  # (K, B, D)
            # ln (1/M) sum_m q_m(z_rk): (K, M, B) -> (K, B)
            log_q = torch.logsumexp(laplace_log_prob(z_r.unsqueeze(1), loc_m, scale_m), dim=1) - math.log(n)
            log_prior = laplace_log_prob(z_r, torch.zeros_like(z_r), prior_scale)
            flat = z_r.reshape(-1, dim)
            log_lik = 0.0
            for m, decoder, weight in zip(self.modalities, self.decoders, self.rec_weights):
                target = x[m].to(z.device)
                loc_x = decoder(flat).view(cfg.K, batch, *target.shape[1:])
                log_lik = log_lik - weight * self.nll(target, loc_x, m)  # (K, B)
            log_w.append(log_prior + log_lik - log_q)
        return torch.stack(log_w, dim=1), z

    def dreg_loss(self, x: dict[str, Tensor], generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]:
        """``dreg_surrogate`` of this model's log-weights. Parts: "iwae", the bound itself per sample."""
        log_w, z = self.log_weights(x, generator)
        return dreg_surrogate(log_w, z)

    def conditional_codes(self, experts: tuple[Tensor, Tensor], observed: Tensor, generator: torch.Generator | None) -> Tensor:
        """Row b: one expert m ~ U(observed[b]) (``choose_experts``), z ~ q_m, shared by every decoder."""
        mu, second = experts
        choice = choose_experts(observed, generator)
        rows = torch.arange(len(choice), device=choice.device)
        if self.cfg.objective == "dreg":
            loc, scale = self.experts(mu, second)
            z = laplace_sample(loc[rows, choice], scale[rows, choice], generator)
        else:
            z = reparameterize(mu[rows, choice], second[rows, choice], generator)
        return z.unsqueeze(1).expand(-1, len(self.modalities), -1)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """z from the prior (Laplace(0, softmax(theta) D) for ``dreg``, N(0, I) for ``elbo``), decoded."""
        zeros = self.prior_logits.new_zeros(n, self.cfg.latent_dim)
        if self.cfg.objective == "dreg":
            z = laplace_sample(zeros, self.prior_scale().expand(n, -1), generator)
        else:
            z = reparameterize(zeros, zeros, generator)
        return self._to_outputs(self.decode(z))
