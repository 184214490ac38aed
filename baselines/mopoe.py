"""MoPoE-VAE: a mixture of products of experts (Sutter, Daunhawer & Vogt, "Generalized Multimodal ELBO", ICLR 2021).

The posterior is a uniform mixture over the 2^M - 1 non-empty subsets S of the modalities,
q(z|X) = 1/(2^M - 1) sum_S q_S, with q_S = PoE({q_m : m in S}) and the prior expert N(0, I) in the full set only.
Minimised per batch (protocols.md 6.3; "rec" and KL are means over the batch):

    L = sum_d w_d (-ln p(x_d | z)) + beta / (2^M - 1) sum_S KL(q_S || N(0, I)),   z ~ q_{S(b)} for row b,

where the batch is stratified into one contiguous chunk per subset (``subset_assignment``) and p(x_d | z) is a
Laplace with location dec_d(z) and fixed scale 0.75. Conditioning on S samples z ~ q_S (prior expert iff S is full).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from baselines.fusion import poe, reparameterize
from baselines.nets import NETS
from baselines.posteriors import gaussian_kl, laplace_nll
from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.interface import DataSpec, ModelConfig, StageCache, TrainRecord, check_observed, check_training_data
from bench.metrics.subsets import all_subsets
from bench.registry import MODELS
from bench.seeding import reinitialize


@dataclass(frozen=True)
class MoPoEConfig(ModelConfig):
    """Field defaults are the PolyMNIST paper values (MoPoE ``job_polymnist``; protocols.md 6.3 and 6.7).

    Scale deviations, to fit a 2-core CPU: ``quick`` and ``default`` shrink D and the epochs, use batch 64 (4x the
    optimiser steps per epoch for about 1.2x the time), and lr 1e-3 (the MVTCAE/MLD value for these networks).
    ``default`` takes about 8-9 s per epoch on the 4,000 embedded tuples (2 cores), so 12 epochs take about 1.7 min,
    leaving the 10-minute default budget room for MLD. At this budget (and at 25 or 60 epochs, measured) the model
    reconstructs backgrounds but not yet digits: its coherence is at chance.
    """

    latent_dim: int = 512  # D
    beta: float = 2.5  # weight of the mixture KL
    lr: float = 5e-4
    adam_betas: tuple[float, float] = (0.9, 0.999)
    batch_size: int = 256
    epochs: int = 300
    laplace_scale: float = 0.75  # fixed scale of every Laplace likelihood
    rec_weights: tuple[float, ...] | None = None  # w_d in the order of spec.modalities; None = 1 for each

    PRESETS: ClassVar[dict[str, dict]] = {
        "quick": {"latent_dim": 16, "epochs": 2, "batch_size": 64, "lr": 1e-3},
        "default": {"latent_dim": 64, "epochs": 12, "batch_size": 64, "lr": 1e-3},
        "paper": {},
    }


def subset_assignment(batch_size: int, n_subsets: int, *, device: torch.device | str | None = None) -> Tensor:
    """Which subset each row of a batch samples from, long (B,): row b gets min(b // (B // K), K - 1).

    So chunks of B // K rows each and the last subset takes the remainder (MoPoE ``mixture_component_selection``).
    With B < K the rows take subsets 0..B-1, one each (round robin over a single pass).
    """
    chunk = max(batch_size // n_subsets, 1)
    return (torch.arange(batch_size, device=device) // chunk).clamp(max=n_subsets - 1)


@MODELS.register("mopoe")
class MoPoE(nn.Module):
    """One encoder q_m = N(mu_m, sigma_m^2) and one Laplace decoder per modality; networks from ``NETS[spec.name]``."""

    Config: ClassVar[type[MoPoEConfig]] = MoPoEConfig

    def __init__(self, spec: DataSpec, cfg: MoPoEConfig) -> None:
        super().__init__()
        self.spec = spec
        self.cfg = cfg
        self.modalities = tuple(spec.modalities)
        n = len(self.modalities)
        weights = cfg.rec_weights if cfg.rec_weights is not None else (1.0,) * n
        if len(weights) != n:
            raise BenchError(
                f"mopoe: rec_weights has {len(weights)} entries for {n} modalities",
                f"give one weight per modality ({', '.join(self.modalities)}) or leave rec_weights unset",
            )
        self.rec_weights = tuple(float(w) for w in weights)
        make = NETS.get(spec.name)
        pairs = [make(tuple(spec.shapes[m]), cfg.latent_dim) for m in self.modalities]
        self.encoders = nn.ModuleList(encoder for encoder, _ in pairs)
        self.decoders = nn.ModuleList(decoder for _, decoder in pairs)
        self.register_buffer("subsets", all_subsets(n), persistent=False)  # (K, M)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, x: dict[str, Tensor], active: Sequence[bool] | None = None) -> tuple[Tensor, Tensor]:
        """Expert parameters (mu, logvar), each (B, M, D). Modalities with ``active[i]`` False are not encoded
        (zeros stand in; a mask must exclude them)."""
        param = next(self.parameters())
        active = [True] * len(self.modalities) if active is None else active
        batch = next(x[m].shape[0] for m, a in zip(self.modalities, active) if a)
        mus, logvars = [], []
        for m, encoder, use in zip(self.modalities, self.encoders, active):
            if use:
                mu, logvar = encoder(x[m].to(device=param.device, dtype=param.dtype))
            else:
                mu = logvar = param.new_zeros(batch, self.cfg.latent_dim)
            mus.append(mu)
            logvars.append(logvar)
        return torch.stack(mus, dim=1), torch.stack(logvars, dim=1)

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        """Laplace locations dict[m, (B, C, H, W)] from z (B, D); unbounded."""
        return {m: decoder(z) for m, decoder in zip(self.modalities, self.decoders)}

    def loss(
        self, x: dict[str, Tensor], *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The MoPoE objective L (module docstring) on one batch ``x: dict[m, (B, C, H, W)]``.

        All K = 2^M - 1 subset posteriors come from one broadcast ``poe``: experts (1, B, M, D) with masks
        (K, 1, M) give (K, B, D). Row b then samples z from q_{S(b)}, S(b) = ``subset_assignment``; the noise is
        randn (B, D) from ``generator``. Returns (L, {"rec": mean rec, "kl": mean-over-subsets KL}), parts detached.
        """
        mu, logvar = self.encode(x)  # (B, M, D)
        masks = self.subsets  # (K, M)
        n_subsets, batch = masks.shape[0], mu.shape[0]
        mu_s, logvar_s = poe(
            mu.unsqueeze(0), logvar.unsqueeze(0), masks.unsqueeze(1), prior_expert=masks.all(dim=1).unsqueeze(1)
        )  # (K, B, D)
        kl = gaussian_kl(mu_s, logvar_s).mean(dim=1).mean()  # 1/K sum_S mean_b KL(q_S || p)
        which = subset_assignment(batch, n_subsets, device=mu.device)
        rows = torch.arange(batch, device=mu.device)
        z = reparameterize(mu_s[which, rows], logvar_s[which, rows], generator)
        loc = self.decode(z)
        rec = sum(
            w * laplace_nll(x[m].to(z.device), loc[m], self.cfg.laplace_scale).mean()
            for m, w in zip(self.modalities, self.rec_weights)
        )
        total = rec + self.cfg.beta * kl
        return total, {"rec": rec.detach(), "kl": kl.detach()}

    def fit(
        self,
        train: MultimodalDataset,
        *,
        seed: int,
        device: torch.device | str = "cpu",
        progress: bool = False,
        cache: StageCache | None = None,
    ) -> TrainRecord:
        """Adam on L for ``cfg.epochs`` epochs from a seeded init. Shuffling uses a CPU generator and the
        reparameterisation noise a generator on ``device``, both seeded with ``seed``, so two fits with one seed
        on one device give identical weights. Leaves the model on ``device`` in eval mode. MoPoE has no reusable
        stage, so ``cache`` is not used."""
        cfg = self.cfg
        check_training_data("mopoe", self.modalities, train)
        device = torch.device(device)
        reinitialize(self, seed)
        self.to(device).train()
        shuffle_generator = torch.Generator().manual_seed(seed)
        noise_generator = torch.Generator(device=device).manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=cfg.lr, betas=cfg.adam_betas)
        record = TrainRecord(extra={"rec": [], "kl": []})
        start = time.perf_counter()
        bar = tqdm(range(cfg.epochs), desc="mopoe", disable=not progress, leave=False)
        for epoch in bar:
            sums, count = {"loss": 0.0, "rec": 0.0, "kl": 0.0}, 0
            for x, _ in train.batches(cfg.batch_size, shuffle=True, generator=shuffle_generator, device=device):
                loss, parts = self.loss(x, generator=noise_generator)
                value = loss.item()
                if not math.isfinite(value):
                    problem = f"mopoe seed {seed} epoch {epoch} step {record.steps}: loss is NaN"
                    raise BenchError(problem, "lower lr or check the data")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                record.steps += 1
                batch = next(iter(x.values())).shape[0]
                count += batch
                sums["loss"] += value * batch
                sums["rec"] += parts["rec"].item() * batch
                sums["kl"] += parts["kl"].item() * batch
            record.losses.append(sums["loss"] / count)
            record.extra["rec"].append(sums["rec"] / count)
            record.extra["kl"].append(sums["kl"] / count)
            bar.set_postfix(loss=f"{record.losses[-1]:.1f}")
        record.seconds = time.perf_counter() - start
        self.eval()
        return record

    @torch.no_grad()
    def generate(
        self, x: dict[str, Tensor], observed: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Row b: z ~ q_{S_b} = PoE(experts with ``observed[b]``, plus N(0, I) iff all are observed), then decode
        every modality. ``observed``: bool (B, M); noise randn (B, D) from ``generator``.
        Returns dict[m, float32 (B, C, H, W)] clamped to [0, 1]. A row with nothing observed is a ValueError."""
        observed = check_observed(self.modalities, x, observed, self.device)
        active = observed.any(dim=0).tolist()
        mu, logvar = self.encode(x, active=active)  # (B, M, D)
        q_mu, q_logvar = poe(mu, logvar, observed, prior_expert=observed.all(dim=1))
        z = reparameterize(q_mu, q_logvar, generator)
        return self._to_images(self.decode(z))

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """z ~ N(0, I) (n, D) from ``generator``, decoded: dict[m, float32 (n, C, H, W)] clamped to [0, 1]."""
        zeros = next(self.parameters()).new_zeros(n, self.cfg.latent_dim)
        return self._to_images(self.decode(reparameterize(zeros, zeros, generator)))

    @staticmethod
    def _to_images(loc: dict[str, Tensor]) -> dict[str, Tensor]:
        return {m: v.float().clamp(0.0, 1.0) for m, v in loc.items()}
