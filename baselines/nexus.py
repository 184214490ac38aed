"""NEXUS: a two-level hierarchy with forced perceptual dropout (Vasco, Yin, Melo & Paiva, 2022), as the MLD port
defines it (MLD code ``src/models/nexus.py``), with the port's mu/logvar swap in the unimodal KL fixed.

Level 1, per modality: a Gaussian VAE q(z_m | x_m) = N(mu_m, sigma_m^2) with the loss
    gamma_m rec(x_m | dec_m(z_m)) + a(e) beta KL(q(z_m | x_m) || N(0, I)).
Level 2: the detached z_m become messages h_m = Linear_m(z_m); their mean over a kept set S (forced dropout: with
probability ``dropout``, S is a uniformly random subset of size k ~ U{1..M-1}, else all M) enters the nexus node, an
MLP (BatchNorm + LeakyReLU) giving q(n | h_S) = N(mu_n, sigma_n^2); top decoders map n back to z^_m, and
    sum_m nu_m ||z^_m(n) - z_m||^2 + a(e) beta_n KL(q(n | h_S) || N(0, I)),
with the squared error summed over the latent dimensions. a(e) = min((e + 1) / ``anneal_epochs``, 1) anneals both
KL terms linearly over the first epochs (e counted from 0).

Generation given S: z_m ~ q(z_m | x_m) for m in S, n ~ q(n | mean of h_S), then x_d = dec_d(z^_d(n)) for d not in S
and x_d = dec_d(z_d) (the modality's own code) for d in S. Unconditional: n ~ N(0, I).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from baselines.fusion import reparameterize
from baselines.posteriors import gaussian_kl
from baselines.vae import MultimodalVAE, VAEConfig
from bench.errors import BenchError
from bench.fields import COUNT, NON_NEGATIVE, PROBABILITY, Bound
from bench.interface import DataSpec
from bench.registry import register_model


@dataclass(frozen=True)
class NexusConfig(VAEConfig):
    """Defaults: the MLD port's reference recipe (``experiments/mmnist``: z_m 160 each, messages 512, nexus node
    [512, 512], nexus latent 128, beta 1 at both levels, 20 annealing epochs); optimiser and epochs as the other
    baselines there."""

    latent_dim: int = 160  # z_m per modality
    beta: float = 1.0  # level 1
    nexus_dim: int = 128
    message_dim: int = 512
    hidden: tuple[int, ...] = (512, 512)  # nexus node; the top decoders mirror it
    nexus_beta: float = 1.0
    nexus_weights: tuple[float, ...] | None = None  # nu_m, the top level's weight per modality; None = 1 for each
    dropout: float = 0.5
    anneal_epochs: int = 20

    BOUNDS: ClassVar[dict[str, Bound]] = {"nexus_dim": COUNT, "message_dim": COUNT, "hidden": COUNT,
                                          "nexus_beta": NON_NEGATIVE, "nexus_weights": NON_NEGATIVE,
                                          "dropout": PROBABILITY, "anneal_epochs": COUNT}


def mlp(widths: tuple[int, ...]) -> nn.Sequential:
    """Linear layers between consecutive ``widths``, each followed by BatchNorm and LeakyReLU(0.2)."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def forced_dropout(batch: int, n: int, p: float, generator: torch.Generator | None, device) -> Tensor:
    """Kept messages, bool (B, M): with probability p a row keeps a uniform random subset of size k ~ U{1..M-1},
    otherwise all M."""
    gen_device = generator.device if generator is not None else device
    drop = torch.rand(batch, generator=generator, device=gen_device) < p
    k = torch.randint(1, n, (batch,), generator=generator, device=gen_device)
    rank = torch.rand(batch, n, generator=generator, device=gen_device).argsort(dim=1).argsort(dim=1)
    keep = ~drop.unsqueeze(1) | (rank < k.unsqueeze(1))
    return keep.to(device)


@register_model("nexus", scales=("paper",))
class Nexus(MultimodalVAE):
    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[NexusConfig]] = NexusConfig
    name: ClassVar[str] = "nexus"

    def __init__(self, spec: DataSpec, cfg: NexusConfig) -> None:
        super().__init__(spec, cfg)
        n = len(self.modalities)
        weights = cfg.nexus_weights if cfg.nexus_weights is not None else (1.0,) * n
        if len(weights) != n:
            raise BenchError(f"nexus: nexus_weights has {len(weights)} entries for {n} modalities", "give one per modality")
        self.nexus_weights = tuple(float(w) for w in weights)
        self.messages = nn.ModuleList(nn.Linear(cfg.latent_dim, cfg.message_dim) for _ in range(n))
        self.node = mlp((cfg.message_dim, *cfg.hidden))
        self.node_mu = nn.Linear(cfg.hidden[-1], cfg.nexus_dim)
        self.node_logvar = nn.Linear(cfg.hidden[-1], cfg.nexus_dim)
        self.top_decoders = nn.ModuleList(
            nn.Sequential(mlp((cfg.nexus_dim, *cfg.hidden[::-1])), nn.Linear(cfg.hidden[0], cfg.latent_dim))
            for _ in range(n)
        )
        self.anneal = 1.0  # a(e); ``fit`` sets it each epoch

    def begin_epoch(self, epoch: int) -> None:
        super().begin_epoch(epoch)
        self.anneal = min((epoch + 1) / self.cfg.anneal_epochs, 1.0)

    @property
    def settled_from(self) -> int:
        """The KL weights rise until epoch ``anneal_epochs``; the loss may rise with them until then."""
        return max(self.cfg.anneal_epochs, super().settled_from)

    def nexus_posterior(self, z: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
        """q(n | mean of the kept messages): z (B, M, D), keep bool (B, M) -> (mu, logvar), each (B, D_n)."""
        h = torch.stack([message(z[:, i]) for i, message in enumerate(self.messages)], dim=1)  # (B, M, D_h)
        weight = keep.to(h.dtype).unsqueeze(-1)
        hidden = self.node((h * weight).sum(dim=1) / weight.sum(dim=1))
        return self.node_mu(hidden), self.node_logvar(hidden)

    def top_decode(self, n: Tensor) -> Tensor:
        """z^_m(n) for every modality, (B, M, D)."""
        return torch.stack([decoder(n) for decoder in self.top_decoders], dim=1)

    def loss(self, x: dict[str, Tensor], *, generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """Both levels' negative ELBOs, averaged over the batch. Noise: z randn (B, M, D), then the dropout draws,
        then n randn (B, D_n). Parts: "rec", "kl" (level 1, summed over modalities), "top_rec", "top_kl"."""
        cfg = self.cfg
        mu, logvar = self.encode(x)  # (B, M, D)
        z = reparameterize(mu, logvar, generator)
        rec = self.reconstruction(x, self.decode_codes(z))
        kl = gaussian_kl(mu, logvar).mean(dim=0).sum()  # sum_m mean_b KL(q(z_m | x_m) || N(0, I))
        target = z.detach()
        keep = forced_dropout(z.shape[0], z.shape[1], cfg.dropout if self.training else 0.0, generator, z.device)
        n_mu, n_logvar = self.nexus_posterior(target, keep)
        z_hat = self.top_decode(reparameterize(n_mu, n_logvar, generator))
        nu = z_hat.new_tensor(self.nexus_weights)
        top_rec = ((z_hat - target).pow(2).sum(dim=-1) * nu).sum(dim=1).mean()
        top_kl = gaussian_kl(n_mu, n_logvar).mean()
        loss = rec + self.anneal * cfg.beta * kl + top_rec + self.anneal * cfg.nexus_beta * top_kl
        parts = {"rec": rec, "kl": kl, "top_rec": top_rec, "top_kl": top_kl}
        return loss, {k: v.detach() for k, v in parts.items()}

    def conditional_codes(self, experts: tuple[Tensor, Tensor], observed: Tensor, generator: torch.Generator | None) -> Tensor:
        """Row b: n ~ q(n | messages of observed[b]), z_d = z^_d(n) for unobserved d and z_d ~ q(z_d | x_d) for
        observed d. Noise: z randn (B, M, D), then n randn (B, D_n)."""
        z = reparameterize(*experts, generator)
        n_mu, n_logvar = self.nexus_posterior(z, observed)
        return torch.where(observed.unsqueeze(-1), z, self.top_decode(reparameterize(n_mu, n_logvar, generator)))

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """n ~ N(0, I) (n, D_n), then z^_m(n), decoded."""
        zeros = self.node_mu.weight.new_zeros(n, self.cfg.nexus_dim)
        z = self.top_decode(reparameterize(zeros, zeros, generator))
        return self._to_outputs(self.decode_codes(z))
