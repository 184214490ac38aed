"""What the Gaussian-posterior, Laplace-likelihood multimodal VAEs share (MoPoE, MLD code): per-modality encoders
q_m = N(mu_m, sigma_m^2) and decoders from the suite's ``"vae"`` networks for the modality's kind
(``baselines.nets``), the weighted reconstruction term, the training loop, and mask-based generation. A model adds its objective (``loss``) and its subset posterior (``posterior``).

    rec(x, z) = sum_d w_d (-ln p_d(x_d | dec_d(z))),  averaged over the batch,

with p_d chosen by modality d's kind (``baselines.outputs.OUTPUTS``): for an image a Laplace with location dec_d(z)
and scale s = 0.75 (or a Gaussian with fixed std, ``likelihood="gaussian"``, a small-scale deviation), for text a
categorical with logits dec_d(z) per position. Generations are clamped decoder means for images and per-position
probabilities softmax(dec_d(z)) (B, L, V) for text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Collection, Sequence

import torch
from torch import Tensor, nn

from baselines.fusion import reparameterize
from baselines.nets import networks
from baselines.outputs import OUTPUTS
from bench.checkpoints import Checkpointer, generator_states, restore_generators
from bench.data.dataset import MultimodalDataset
from bench.devices import chunked, device_of
from bench.errors import BenchError
from bench.fields import COUNT, DECAY, NON_NEGATIVE, POSITIVE, Bound
from bench.health import TrainingMonitor
from bench.likelihoods import LIKELIHOODS
from bench.lr_schedules import LR_SCHEDULES, set_lr
from bench.interface import (
    DataSpec, ModelConfig, StageCache, TrainRecord, check_observed, check_subsets, check_training_data,
)
from bench.seeding import reinitialize
from bench.training import TrainLog, train_epochs


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """Common fields; defaults are the reference recipe of MLD's ``mmnist_baselines`` (a model overrides what differs,
    a suite's presets what differs on its data and scales, ``bench.presets``)."""

    latent_dim: int = 512  # D
    beta: float = 2.5  # weight of the KL / regulariser
    lr: float = 1e-3
    adam_betas: tuple[float, float] = (0.9, 0.999)
    amsgrad: bool = False
    batch_size: int = 256
    epochs: int = 300
    laplace_scale: float = 0.75  # fixed scale of every Laplace likelihood
    likelihood: str = "laplace"  # deviation "gaussian": N(x | dec(z), gaussian_std^2) per pixel (bench.likelihoods)
    gaussian_std: float = 0.25  # the Gaussian likelihood's fixed standard deviation
    net_width: float = 1.0  # deviation: multiplies the conv channels of the encoders/decoders (1 = the reference)
    rec_weights: tuple[float, ...] | None = None  # w_d in the order of spec.modalities; None = 1 for each
    grad_clip: float | None = None  # deviation: clip the gradient norm (None = no clipping, as the references)
    kl_warmup_epochs: int = 0  # deviation: the KL weight beta rises linearly over these epochs (0 = none, as the references)
    lr_schedule: str = "constant"  # deviation "cosine": lr decays to 0 over the epochs (bench.lr_schedules)

    BOUNDS: ClassVar[dict[str, Bound]] = {
        "latent_dim": COUNT, "beta": NON_NEGATIVE, "lr": POSITIVE, "adam_betas": DECAY, "batch_size": COUNT,
        "epochs": COUNT, "laplace_scale": POSITIVE, "gaussian_std": POSITIVE, "net_width": POSITIVE,
        "rec_weights": NON_NEGATIVE, "grad_clip": POSITIVE, "kl_warmup_epochs": NON_NEGATIVE,
    }
    CHOICES: ClassVar[dict[str, Collection[str]]] = {"likelihood": LIKELIHOODS, "lr_schedule": LR_SCHEDULES}


SMALL_SCALE = {"likelihood": "gaussian", "net_width": 0.5, "batch_size": 64, "lr": 2e-3}
"""What the suites' ``quick`` and ``default`` presets of every VAE change from the paper recipe, chosen with
``benchmarks/learning_curves.py`` on 2 CPU cores (docs/study.md): a Gaussian likelihood (std 0.25) instead of the
Laplace (0.75), under which digits appear in about a third of the steps (``bench.likelihoods``); conv channels halved
(1.7x faster steps, about the same progress per step); batch 64 and Adam 2e-3."""


def small_scale(**values) -> dict:
    """A suite's ``quick``/``default`` preset of a VAE: ``SMALL_SCALE`` plus the suite's own ``values``."""
    return {**SMALL_SCALE, **values}


class MultimodalVAE(nn.Module):
    """Base class: subclasses set ``name`` and ``Config`` and implement ``loss`` and ``posterior``."""

    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

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
        self.kl_weight = 1.0  # ``begin_epoch`` sets the warm-up factor during ``fit``
        self.output_kinds = {m: OUTPUTS.get(spec.kind(m)) for m in self.modalities}  # per kind: likelihood, generation
        pairs = [networks(spec, m, self.code_dim, cfg.net_width) for m in self.modalities]
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
        """Called by ``fit`` before epoch ``epoch`` (0-based); sets the KL warm-up weight (subclasses with schedules of
        their own extend it)."""
        self.kl_weight = min((epoch + 1) / self.cfg.kl_warmup_epochs, 1.0) if self.cfg.kl_warmup_epochs else 1.0

    @property
    def beta(self) -> float:
        """The KL weight of this epoch: ``cfg.beta`` times the warm-up factor min((e + 1) / kl_warmup_epochs, 1)."""
        return self.cfg.beta * self.kl_weight

    @property
    def settled_from(self) -> int:
        """The first epoch from which the objective no longer changes (after any warm-up schedule); the training
        health rule compares losses only from there (``bench.health``)."""
        return self.cfg.kl_warmup_epochs

    def planned_steps(self, n_train: int) -> dict[str, int]:
        """Optimiser steps of each training stage (as named to the monitor) on ``n_train`` tuples, for
        ``bench.plan``."""
        return {"training": self.cfg.epochs * math.ceil(n_train / self.cfg.batch_size)}

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
        """Decoder outputs dict[m, (B, *shape)] from z (B, D): image likelihood locations (B, C, H, W), unbounded, and
        text logits (B, L, V) (``baselines.outputs``)."""
        return {m: decoder(z) for m, decoder in zip(self.modalities, self.decoders)}

    def nll(self, x: Tensor, loc: Tensor, m: str) -> Tensor:
        """-ln p(x | loc) per item of modality ``m``, by its kind (``baselines.outputs``): an image under the config's
        likelihood (Laplace with ``laplace_scale``, or Gaussian with ``gaussian_std``), (..., C, H, W) -> (...); text
        under the categorical with logits ``loc``, (..., L, V) -> (...); broadcasting."""
        return self.output_kinds[m].nll(x, loc, self.cfg)

    def reconstruction(self, x: dict[str, Tensor], loc: dict[str, Tensor], which: Sequence[str] | None = None) -> Tensor:
        """sum over modalities ``which`` (default all) of w_d * mean_b -ln p(x_d | loc_d)."""
        which = self.modalities if which is None else which
        weight = dict(zip(self.modalities, self.rec_weights))
        return sum(weight[m] * self.nll(x[m], loc[m], m).mean() for m in which)

    def fit(
        self,
        train: MultimodalDataset,
        *,
        seed: int,
        device: torch.device | str = "cpu",
        progress: bool = False,
        cache: StageCache | None = None,
        monitor: TrainingMonitor | None = None,
        checkpoint: Checkpointer | None = None,
    ) -> TrainRecord:
        """Adam on ``loss`` for ``cfg.epochs`` epochs from a seeded init (gradient norm clipped at ``cfg.grad_clip``
        when set, the learning rate of each epoch from ``cfg.lr_schedule``), in the shared loop
        (``bench.training.train_epochs``: stage "training"). Shuffling uses a CPU generator and the
        reparameterisation noise a generator on ``device``, both seeded with ``seed``, so two fits with one seed on
        one device give identical weights. The mean loss and each named part per epoch are recorded;
        ``monitor`` (default: a ``TrainingMonitor`` with the default rule) stops a diverged training with
        ``Diverged``; ``checkpoint`` saves weights, optimiser and both generators at epoch ends and resumes from them.
        Leaves the model on ``device`` in eval mode. These models have no reusable stage, so ``cache`` is not
        used."""
        cfg = self.cfg
        check_training_data(self.name, self.modalities, train)
        device = torch.device(device)
        reinitialize(self, seed)
        self.to(device).train()
        shuffle_generator = torch.Generator().manual_seed(seed)
        noise_generator = torch.Generator(device=device).manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=cfg.lr, betas=cfg.adam_betas, amsgrad=cfg.amsgrad)
        train = train.resident(device)  # uint8 on the device when it fits: no copy per batch

        def batches():
            return (x for x, _ in train.batches(cfg.batch_size, shuffle=True, generator=shuffle_generator, device=device))

        def step(x: dict[str, Tensor], log: TrainLog) -> None:
            loss, parts = self.loss(x, generator=noise_generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.parameters(), cfg.grad_clip)
            optimizer.step()
            log.add({"loss": loss, **parts}, next(iter(x.values())).shape[0])

        def state() -> dict:
            return {"model": self.state_dict(), "optimizer": optimizer.state_dict(),
                    "generators": generator_states(shuffle=shuffle_generator, noise=noise_generator)}

        def restore(saved: dict) -> None:
            self.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            restore_generators(saved["generators"], shuffle=shuffle_generator, noise=noise_generator)

        def begin_epoch(epoch: int) -> None:
            self.begin_epoch(epoch)
            set_lr(optimizer, cfg.lr, cfg.lr_schedule, epoch, cfg.epochs)

        log = train_epochs(
            "training", cfg.epochs, batches, step, state=state, restore=restore,
            monitor=TrainingMonitor(self.name) if monitor is None else monitor, checkpoint=checkpoint,
            progress=progress, desc=self.name, begin_epoch=begin_epoch, settled_from=self.settled_from,
        )
        self.eval()
        return TrainRecord(losses=log.losses, steps=log.steps, seconds=log.seconds, extra=log.parts,
                           curves={"training": list(log.losses)})

    def conditional_codes(self, experts: tuple[Tensor, Tensor], observed: Tensor, generator: torch.Generator | None) -> Tensor:
        """What each decoder reads for rows given ``observed`` (B, M), from the experts (each (B, M, D)) of
        ``encode``: (B, M, D_in), decoder d reading ``[:, d]``. Here one z ~ ``posterior`` of the observed experts,
        noise randn (B, D) from ``generator``, shared by every decoder (subclasses with other conditionals override)."""
        z = reparameterize(*self.posterior(*experts, observed), generator)
        return z.unsqueeze(1).expand(-1, len(self.modalities), -1)

    def decode_codes(self, codes: Tensor) -> dict[str, Tensor]:
        """Each modality's decoder output from its own code: codes (B, M, D_in) -> dict[m, (B, *shape)]."""
        return {m: decoder(codes[:, d]) for d, (m, decoder) in enumerate(zip(self.modalities, self.decoders))}

    @torch.no_grad()
    def generate(
        self, x: dict[str, Tensor], observed: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Row b: the decoders' codes given the experts in ``observed[b]`` (``conditional_codes``), decoded.
        ``observed``: bool (B, M). Returns dict[m, float32 (B, *shape)] (``_to_outputs``)."""
        observed = check_observed(self.modalities, x, observed, self.device)
        experts = self.encode(x, active=observed.any(dim=0).tolist())  # (B, M, D) each
        return self._to_outputs(self.decode_codes(self.conditional_codes(experts, observed, generator)))

    @torch.no_grad()
    def generate_subsets(
        self, x: dict[str, Tensor], subsets: Tensor, targets: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """``bench.interface.generate_subsets`` natively: each tuple is encoded once, the codes of row s * b + i
        (tuple i given subset s) are drawn from those experts exactly as ``generate`` draws them on the expanded
        batch, and decoder t runs only on the rows of the subsets that want t."""
        subsets, targets = check_subsets(self.modalities, subsets, targets)
        experts = self.encode(x, active=subsets.any(dim=0).tolist())
        n, b = subsets.shape[0], experts[0].shape[0]
        observed = subsets.to(self.device).repeat_interleave(b, dim=0)
        codes = self.conditional_codes(tuple(e.repeat(n, 1, 1) for e in experts), observed, generator)
        codes = codes.view(n, b, *codes.shape[1:])
        out = {}
        for d, (m, decoder) in enumerate(zip(self.modalities, self.decoders)):
            rows = targets[:, d].nonzero().flatten().tolist()
            if rows:
                out[m] = chunked(decoder, codes[rows, :, d].flatten(0, 1))
        return self._to_outputs(out)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """z ~ N(0, I) (n, D) from ``generator``, decoded: dict[m, float32 (n, *shape)] (``_to_outputs``)."""
        zeros = next(self.parameters()).new_zeros(n, self.cfg.latent_dim)
        return self._to_outputs(self.decode(reparameterize(zeros, zeros, generator)))

    def _to_outputs(self, out: dict[str, Tensor]) -> dict[str, Tensor]:
        """Decoder outputs -> what ``generate`` and ``sample`` return, per modality's kind (``baselines.outputs``):
        images float32 clamped to [0, 1], text float32 probabilities softmax(logits) (B, L, V)."""
        return {m: self.output_kinds[m].generation(v) for m, v in out.items()}
