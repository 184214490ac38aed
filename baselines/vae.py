"""What the Gaussian-posterior, Laplace-likelihood multimodal VAEs share (protocols.md 6): per-modality encoders
q_m = N(mu_m, sigma_m^2) and decoders from ``NETS[spec.name]``, the weighted reconstruction term, the training loop,
and mask-based generation. A model adds its objective (``loss``) and its subset posterior (``posterior``).

    rec(x, z) = sum_d w_d (-ln Laplace(x_d | dec_d(z), s)),  averaged over the batch,  s = 0.75.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from baselines.fusion import reparameterize
from baselines.nets import NETS
from baselines.posteriors import laplace_nll
from bench.data.dataset import MultimodalDataset
from bench.devices import device_of
from bench.errors import BenchError
from bench.interface import DataSpec, ModelConfig, StageCache, TrainRecord, check_observed, check_training_data
from bench.seeding import reinitialize


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """Common fields; defaults are the PolyMNIST values of protocols.md 6.7 (a model overrides what differs)."""

    latent_dim: int = 512  # D
    beta: float = 2.5  # weight of the KL / regulariser
    lr: float = 1e-3
    adam_betas: tuple[float, float] = (0.9, 0.999)
    amsgrad: bool = False
    batch_size: int = 256
    epochs: int = 300
    laplace_scale: float = 0.75  # fixed scale of every Laplace likelihood
    rec_weights: tuple[float, ...] | None = None  # w_d in the order of spec.modalities; None = 1 for each

    # MNIST-SVHN (protocols.md 6.7): D = 20; MNIST's likelihood weighted 3072 / 784 = 3.92; MoPoE/MLD 150-200 epochs
    DATASETS: ClassVar[dict[str, dict]] = {"mnist_svhn": {"latent_dim": 20, "rec_weights": (3.92, 1.0), "epochs": 150}}


class MultimodalVAE(nn.Module):
    """Base class: subclasses set ``name`` and ``Config`` and implement ``loss`` and ``posterior``."""

    Config: ClassVar[type[VAEConfig]] = VAEConfig
    name: ClassVar[str] = "vae"

    def __init__(self, spec: DataSpec, cfg: VAEConfig) -> None:
        super().__init__()
        self.spec = spec
        self.cfg = cfg
        self.modalities = tuple(spec.modalities)
        n = len(self.modalities)
        weights = cfg.rec_weights if cfg.rec_weights is not None else (1.0,) * n
        if len(weights) != n:
            raise BenchError(
                f"{self.name}: rec_weights has {len(weights)} entries for {n} modalities",
                f"give one weight per modality ({', '.join(self.modalities)}) or leave rec_weights unset",
            )
        self.rec_weights = tuple(float(w) for w in weights)
        make = NETS.get(spec.name)
        pairs = [make(tuple(spec.shapes[m]), self.code_dim) for m in self.modalities]
        self.encoders = nn.ModuleList(encoder for encoder, _ in pairs)
        self.decoders = nn.ModuleList(decoder for _, decoder in pairs)

    @property
    def device(self) -> torch.device:
        return device_of([self])

    @property
    def code_dim(self) -> int:
        """Width of what each encoder emits and each decoder reads (``latent_dim`` unless a model splits it)."""
        return self.cfg.latent_dim

    # -- the model-specific parts --------------------------------------------------------------------------------

    def loss(self, x: dict[str, Tensor], *, generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """The objective on one batch and its named parts (detached), e.g. {"rec": ..., "kl": ...}."""
        raise NotImplementedError

    def posterior(self, mu: Tensor, logvar: Tensor, observed: Tensor) -> tuple[Tensor, Tensor]:
        """The inference distribution given the ``observed`` (B, M) experts (B, M, D): (mu, logvar), each (B, D)."""
        raise NotImplementedError

    def begin_epoch(self, epoch: int) -> None:
        """Called by ``fit`` before epoch ``epoch`` (0-based); for schedules such as KL annealing."""

    # -- shared machinery ----------------------------------------------------------------------------------------

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
                mu = logvar = param.new_zeros(batch, self.code_dim)
            mus.append(mu)
            logvars.append(logvar)
        return torch.stack(mus, dim=1), torch.stack(logvars, dim=1)

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        """Laplace locations dict[m, (B, C, H, W)] from z (B, D); unbounded."""
        return {m: decoder(z) for m, decoder in zip(self.modalities, self.decoders)}

    def reconstruction(self, x: dict[str, Tensor], loc: dict[str, Tensor], which: Sequence[str] | None = None) -> Tensor:
        """sum over modalities ``which`` (default all) of w_d * mean_b -ln Laplace(x_d | loc_d, s)."""
        which = self.modalities if which is None else which
        weight = dict(zip(self.modalities, self.rec_weights))
        return sum(
            weight[m] * laplace_nll(x[m].to(loc[m].device), loc[m], self.cfg.laplace_scale).mean() for m in which
        )

    def fit(
        self,
        train: MultimodalDataset,
        *,
        seed: int,
        device: torch.device | str = "cpu",
        progress: bool = False,
        cache: StageCache | None = None,
    ) -> TrainRecord:
        """Adam on ``loss`` for ``cfg.epochs`` epochs from a seeded init. Shuffling uses a CPU generator and the
        reparameterisation noise a generator on ``device``, both seeded with ``seed``, so two fits with one seed
        on one device give identical weights. Records the mean loss and each named part per epoch. Leaves the model
        on ``device`` in eval mode. These models have no reusable stage, so ``cache`` is not used."""
        cfg = self.cfg
        check_training_data(self.name, self.modalities, train)
        device = torch.device(device)
        reinitialize(self, seed)
        self.to(device).train()
        shuffle_generator = torch.Generator().manual_seed(seed)
        noise_generator = torch.Generator(device=device).manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=cfg.lr, betas=cfg.adam_betas, amsgrad=cfg.amsgrad)
        record = TrainRecord(extra={})
        start = time.perf_counter()
        bar = tqdm(range(cfg.epochs), desc=self.name, disable=not progress, leave=False)
        for epoch in bar:
            self.begin_epoch(epoch)
            sums: dict[str, float] = {}
            count = 0
            for x, _ in train.batches(cfg.batch_size, shuffle=True, generator=shuffle_generator, device=device):
                loss, parts = self.loss(x, generator=noise_generator)
                value = loss.item()
                if not math.isfinite(value):
                    problem = f"{self.name} seed {seed} epoch {epoch} step {record.steps}: loss is NaN"
                    raise BenchError(problem, "lower lr or check the data")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                record.steps += 1
                batch = next(iter(x.values())).shape[0]
                count += batch
                for key, part in {"loss": loss.detach(), **parts}.items():
                    sums[key] = sums.get(key, 0.0) + part.item() * batch
            record.losses.append(sums.pop("loss") / count)
            for key, total in sums.items():
                record.extra.setdefault(key, []).append(total / count)
            bar.set_postfix(loss=f"{record.losses[-1]:.1f}")
        record.seconds = time.perf_counter() - start
        self.eval()
        return record

    @torch.no_grad()
    def generate(
        self, x: dict[str, Tensor], observed: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Row b: z ~ ``posterior`` of the experts in ``observed[b]``, then decode every modality. ``observed``: bool
        (B, M); noise randn (B, D) from ``generator``. Returns dict[m, float32 (B, C, H, W)] clamped to [0, 1]."""
        observed = check_observed(self.modalities, x, observed, self.device)
        mu, logvar = self.encode(x, active=observed.any(dim=0).tolist())  # (B, M, D)
        q_mu, q_logvar = self.posterior(mu, logvar, observed)
        return self._to_images(self.decode(reparameterize(q_mu, q_logvar, generator)))

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """z ~ N(0, I) (n, D) from ``generator``, decoded: dict[m, float32 (n, C, H, W)] clamped to [0, 1]."""
        zeros = next(self.parameters()).new_zeros(n, self.cfg.latent_dim)
        return self._to_images(self.decode(reparameterize(zeros, zeros, generator)))

    @staticmethod
    def _to_images(loc: dict[str, Tensor]) -> dict[str, Tensor]:
        return {m: v.float().clamp(0.0, 1.0) for m, v in loc.items()}
