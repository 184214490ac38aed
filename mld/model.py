"""Multi-modal Latent Diffusion (Bounoua, Franzese & Michiardi 2023) and its ablations MLD-IN and MLD-UNI.

Stage 1 trains one deterministic autoencoder per modality (``mld.autoencoders``). Stage 2 freezes them, encodes
every modality, standardises each latent dimension, z <- (z - mu) / sd (statistics of the first training batch,
frozen; option: the whole training set), concatenates z = [z_1, ..., z_M] and trains a score network under a
VP-SDE with the variant's training inputs (``mld.masking``), keeping an EMA of its weights. All sampling uses the
EMA network (``mld.samplers``): observed modalities are clamped to their clean latents; the result is
de-standardised and decoded by each modality's decoder. A row that observes every modality is returned as its
reconstruction without sampling.

Modalities of any kind (``bench.data.kinds``) take part alike: each gets the autoencoder and loss of its kind
(``mld.autoencoders``) and is returned in its model form: an image as float32 (B, C, H, W) in [0, 1], a text modality
as per-position probabilities float32 (B, L, V) whose rows sum to 1 (the softmax of its decoder's logits).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import ClassVar, Collection

import torch
from torch import Tensor, nn

from bench.checkpoints import NO_CHECKPOINT, Checkpointer, generator_states, restore_generators
from bench.data.dataset import MultimodalDataset
from bench.devices import chunked
from bench.errors import BenchError
from bench.fields import COUNT, DECAY, NON_NEGATIVE, POSITIVE, PROBABILITY, Bound
from bench.health import TrainingMonitor
from bench.interface import (
    DataSpec, ModelConfig, StageCache, TrainRecord, check_observed, check_subsets, check_training_data,
)
from bench.metrics.subsets import all_subsets
from bench.registry import register_model
from bench.seeding import reinitialize
from bench.training import TrainLog, train_epochs
from mld import samplers
from mld.autoencoders import AE_KINDS, AUTOENCODER_VERSION, AutoencoderConfig, build_autoencoders, train_autoencoders
from mld.ema import EMA
from mld.masking import (
    LatentLayout,
    TrainingInputs,
    denoising_loss,
    draw_condition,
    inpaint_inputs,
    multitime_inputs,
    uni_inputs,
)
from mld.score_net import ScoreMLP
from mld.sde import VPSDE

STATS = ("first_batch", "train_set")
SAMPLERS = ("repaint", "euler")
ENCODE_BATCH = 512


@dataclass(frozen=True)
class MLDConfig(ModelConfig):
    """Field defaults are the MLD reference recipe (MLD code ``experiments/mmnist/mmnist_mld*.py``); a suite's
    presets (``bench.presets``) state what differs on its data and scales."""

    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    stats: str = "first_batch"  # latent standardisation statistics: "first_batch" (reference) or "train_set"
    init_dim: int = 1536  # I, the score network's width
    time_dim: int = 512  # T
    groups: int = 32  # GroupNorm groups
    beta_min: float = 0.1
    beta_max: float = 20.0
    t_eps: float = 1e-6
    lr: float = 1e-4
    grad_clip: float | None = None  # deviation: clip the score network's gradient norm (None = as the reference)
    batch_size: int = 256
    epochs: int = 3000
    ema_decay: float = 0.999
    d: float = 0.2  # probability of a masked (conditional) batch; MLD only (0.5 for MNIST-SVHN)
    per_sample_mask: bool = False  # deviation: draw the masking decision and subset per row, not per batch
    sampler: str = "repaint"  # "repaint" (jump schedule, reference) or "euler" (plain Euler–Maruyama)
    steps: int = 250  # N, time grid 1/N
    jump_length: int = 10  # repaint only
    jump_n_sample: int = 10  # repaint only

    BOUNDS: ClassVar[dict[str, Bound]] = {
        "init_dim": COUNT, "time_dim": COUNT, "groups": COUNT, "beta_min": NON_NEGATIVE, "beta_max": POSITIVE,
        "t_eps": Bound(0, 1, low_open=True, high_open=True), "lr": POSITIVE, "grad_clip": POSITIVE,
        "batch_size": COUNT, "epochs": COUNT, "ema_decay": DECAY, "d": PROBABILITY, "steps": COUNT,
        "jump_length": COUNT, "jump_n_sample": COUNT,
    }
    CHOICES: ClassVar[dict[str, Collection[str]]] = {"stats": STATS, "sampler": SAMPLERS}


QUICK = {
    "autoencoder": AutoencoderConfig(latent_dim=8, hidden_dim=64, lr=2e-3, batch_size=32, epochs=5, likelihood="gaussian"),
    "init_dim": 64,
    "time_dim": 32,
    "groups": 8,
    "lr": 1e-3,
    "batch_size": 32,
    "epochs": 8,
    "ema_decay": 0.99,
    "sampler": "euler",
    "steps": 10,
}
"""MLD's recipe for a smoke run (what suites start their ``quick`` presets from): tiny latents and score network, a
few epochs, 10 Euler steps. It proves the plumbing; its models do not learn."""

DEFAULT = {
    "autoencoder": AutoencoderConfig(latent_dim=32, hidden_dim=160, lr=2e-3, batch_size=32, epochs=20,
                                     likelihood="gaussian"),
    "init_dim": 256,
    "time_dim": 64,
    "groups": 8,
    "lr": 1e-3,
    "grad_clip": 1.0,
    "batch_size": 128,
    "epochs": 300,
    "steps": 50,
    "jump_length": 5,
    "jump_n_sample": 5,
}
"""MLD's small-scale recipe (what suites start their ``default`` presets from), to fit a 2-core CPU (chosen with
``benchmarks/learning_curves.py`` on PolyMNIST; docs/study.md): smaller latents (D = 32 per modality) and score network
(width 256); autoencoders trained with the squared error (``likelihood="gaussian"``: digits legible in far fewer steps
than under the L1 loss; 0.73 of reconstructions read correctly after 2,500 steps against 0.51), batch 32 and lr 2e-3;
the score network for 9,600 steps on 4,000 tuples instead of 0.7 M with lr 1e-3 and the gradient norm clipped at 1
(lr 2e-3 diverged: the loss jumps back to that of a zero output, as caught by ``bench.health``); sampling on a RePaint
schedule shrunk to (50, 5, 5), 230 network calls instead of 2,410 (0.21 coherence given one modality against 0.17 with
25 plain Euler steps, for the same network)."""

IN_QUICK = {**QUICK, "sampler": "repaint", "steps": 10, "jump_length": 2, "jump_n_sample": 3}
"""MLD-IN's smoke-run recipe: ``QUICK`` on a RePaint jump schedule (10, 2, 3), 26 calls. MLD-IN samples on a RePaint
schedule at every scale: re-noised observations under plain Euler–Maruyama are strongly biased (for a 2-d Gaussian
with exact scores the conditional mean came out 0.77 at 25 and 0.76 at 250 Euler steps against the true 1.20; the
reference schedule (250, 10, 10) gives 1.17, the ``DEFAULT`` (50, 5, 5) 1.11; ``tests/mld/test_samplers.py``)."""


@register_model("mld", scales=("quick", "default", "paper"))
class MLD(nn.Module):
    """MLD with multi-time masked training (MLD code ``src/models/MLD.py``, ``src/components/mm_sde.py``)."""

    VERSION: ClassVar[int] = 1  # in the cache key: raise it with any change that can alter its numbers (bench.versions)

    Config: ClassVar[type[MLDConfig]] = MLDConfig
    name: ClassVar[str] = "mld"
    renoise_observed: ClassVar[bool] = False  # MLD-IN re-noises observed latents at sampling time

    def __init__(self, spec: DataSpec, cfg: MLDConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.modalities = tuple(spec.modalities)
        self.autoencoders = build_autoencoders(spec, cfg.autoencoder).requires_grad_(False)
        self.kinds = {m: AE_KINDS.get(spec.kind(m)) for m in self.modalities}  # each decoder output -> model output
        self.layout = LatentLayout(cfg.autoencoder.dims(len(self.modalities)))
        self.sde = VPSDE(cfg.beta_min, cfg.beta_max, cfg.t_eps)
        self.score = ScoreMLP(self.layout.total, self.n_times, cfg.init_dim, cfg.time_dim, cfg.groups)
        self.ema = EMA(self.score, cfg.ema_decay)
        self.register_buffer("z_mean", torch.zeros(self.layout.total))
        self.register_buffer("z_std", torch.ones(self.layout.total))
        self.register_buffer("proper_subsets", all_subsets(len(self.modalities))[:-1], persistent=False)  # (K-1, M)
        if cfg.sampler == "repaint":
            self.schedule = samplers.jump_schedule(cfg.steps, cfg.jump_length, cfg.jump_n_sample)
        else:
            self.schedule = samplers.euler_schedule(cfg.steps)

    # -- the variant: time input size, training inputs, sampling time mask ----------------------------------

    @property
    def n_times(self) -> int:
        return len(self.modalities)

    def training_inputs(self, batch: int, generator: torch.Generator, device: torch.device) -> TrainingInputs:
        t = self.sde.sample_time(batch, generator=generator, device=device)
        cond = draw_condition(
            batch, self.proper_subsets, self.cfg.d, per_sample=self.cfg.per_sample_mask, generator=generator, device=device
        )
        return multitime_inputs(t, cond, self.layout)

    def time_mask(self, observed: Tensor) -> Tensor:
        """(B, n_times): 1 where a time entry carries t, 0 for observed modalities (clean, time 0)."""
        return (~observed).float()

    # -- encoding and decoding ---------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.z_mean.device

    def planned_steps(self, n_train: int) -> dict[str, int]:
        """Optimiser steps of each training stage (as named to the monitor) on ``n_train`` tuples, for
        ``bench.plan``: one autoencoder per modality, then the score network."""
        ae = self.cfg.autoencoder
        return {**{f"autoencoder {m}": ae.epochs * math.ceil(n_train / ae.batch_size) for m in self.modalities},
                "score": self.cfg.epochs * math.ceil(n_train / self.cfg.batch_size)}

    def with_sampler_steps(self, steps: int) -> "MLD":
        """This model, weights shared, sampling with ``steps`` Euler–Maruyama network calls: ``bench.plan`` times
        two of these and extrapolates to ``network_calls_per_sample``."""
        probe = copy.copy(self)
        probe.cfg = dataclasses.replace(self.cfg, sampler="euler", steps=steps)
        probe.schedule = samplers.euler_schedule(steps)
        return probe

    @property
    def network_calls_per_sample(self) -> int:
        return samplers.reverse_steps(self.schedule)

    @torch.no_grad()
    def encode_raw(self, x: dict[str, Tensor], active: list[bool] | None = None) -> Tensor:
        """Un-standardised latents (B, D); modalities with ``active[i]`` False are not encoded (zeros stand in)."""
        active = [True] * len(self.modalities) if active is None else active
        batch = next(x[m].shape[0] for m, a in zip(self.modalities, active) if a)
        parts = []
        for m, size, use in zip(self.modalities, self.layout.sizes, active):
            if use:
                parts.append(self.autoencoders[m].encoder(x[m].to(self.device, torch.float32)))
            else:
                parts.append(torch.zeros(batch, size, device=self.device))
        return torch.cat(parts, dim=1)

    def standardize(self, z: Tensor) -> Tensor:
        """(z - mu) / sd with the frozen per-dimension statistics."""
        return (z - self.z_mean) / self.z_std

    @torch.no_grad()
    def decode(self, z: Tensor) -> dict[str, Tensor]:
        """De-standardise (B, D) latents and decode each modality's slice: float32 images clamped to [0, 1], text
        per-position probabilities."""
        z = z * self.z_std + self.z_mean
        slices = z.split(list(self.layout.sizes), dim=1)
        return {m: self._decode_one(m, s) for m, s in zip(self.modalities, slices)}

    def _decode_one(self, m: str, z_m: Tensor) -> Tensor:
        """Modality ``m`` from its de-standardised latent slice, float32: images clamped to [0, 1], text the softmax
        of the decoder's logits (``mld.autoencoders.AE_KINDS``)."""
        return self.kinds[m].output(self.autoencoders[m].decoder(z_m))

    # -- training ------------------------------------------------------------------------------------------------

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
        """Stage 1 (or its cached result from ``cache``), then stage 2 (``fit_score``) on the training set encoded
        once by the frozen encoders. Deterministic given ``seed`` on one device; leaves the model there in eval mode.
        ``monitor`` (default: the default rule) sees every stage's epochs ("autoencoder <m>", then "score") and stops
        a diverged one with ``Diverged``. ``checkpoint`` makes each stage resumable (its children
        "autoencoder <m>" and "score")."""
        checkpoint = NO_CHECKPOINT if checkpoint is None else checkpoint
        check_training_data(self.name, self.modalities, train)
        monitor = TrainingMonitor(self.name) if monitor is None else monitor
        device = torch.device(device)
        self.to(device)
        start = time.perf_counter()
        ae_record = self.fit_autoencoders(
            train, seed=seed, device=device, progress=progress, cache=cache, monitor=monitor, checkpoint=checkpoint
        )
        ae_seconds = time.perf_counter() - start

        start = time.perf_counter()
        latents = torch.cat([self.encode_raw(x) for x, _ in train.batches(ENCODE_BATCH, device=device)])
        record = self.fit_score(latents, seed=seed, progress=progress, monitor=monitor, checkpoint=checkpoint.child("score"))
        record.extra.update(
            autoencoders=ae_record,
            seconds={"autoencoders": ae_seconds, "score": time.perf_counter() - start},
            network_calls_per_sample=self.network_calls_per_sample,
        )
        record.curves = {**{f"autoencoder {m}": list(v) for m, v in ae_record["losses"].items()}, **record.curves}
        record.seconds = ae_seconds + record.extra["seconds"]["score"]
        return record

    def fit_score(
        self,
        latents: Tensor,
        *,
        seed: int,
        progress: bool = False,
        monitor: TrainingMonitor | None = None,
        checkpoint: Checkpointer | None = None,
    ) -> TrainRecord:
        """Stage 2 on raw latents (N, D) already on the model's device: set the standardisation statistics, then
        Adam on the variant's denoising loss for ``cfg.epochs`` epochs (gradient norm clipped at ``cfg.grad_clip``
        when set), EMA updated before every optimiser step, in the shared loop (``bench.training.train_epochs``:
        stage "score", reported to ``monitor``). Shuffling uses a CPU generator and the times, masks and noise a
        generator on the device, all seeded with ``seed``. ``checkpoint`` saves the score network, its EMA, the
        optimiser, the statistics and both generators at epoch ends and resumes from them."""
        cfg, device = self.cfg, self.device
        if cfg.stats == "train_set":
            self.set_stats(latents)
        reinitialize(self.score, seed)
        self.score.zero_output()
        self.ema = EMA(self.score, cfg.ema_decay)
        self.score.train()
        optimizer = torch.optim.Adam(self.score.parameters(), lr=cfg.lr)
        shuffle = torch.Generator().manual_seed(seed)
        generator = torch.Generator(device=device).manual_seed(seed)

        def batches():
            return torch.randperm(len(latents), generator=shuffle).to(device).split(cfg.batch_size)

        def step(idx: Tensor, log: TrainLog) -> None:
            z0 = latents[idx]
            if log.steps == 0 and cfg.stats == "first_batch":
                self.set_stats(z0)
            z0 = self.standardize(z0)
            inputs = self.training_inputs(len(idx), generator, device)
            noise = torch.randn(z0.shape, generator=generator, device=device)
            loss = denoising_loss(self.score, self.sde, z0, noise, inputs)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.score.parameters(), cfg.grad_clip)
            self.ema.update(self.score)  # before the step, as the reference's on_before_backward hook
            optimizer.step()
            log.add({"loss": loss}, len(idx))

        def state() -> dict:
            return {"score": self.score.state_dict(), "ema": self.ema.state_dict(), "optimizer": optimizer.state_dict(),
                    "z_mean": self.z_mean, "z_std": self.z_std, "generators": generator_states(shuffle=shuffle, noise=generator)}

        def restore(saved: dict) -> None:
            self.score.load_state_dict(saved["score"])
            self.ema.load_state_dict(saved["ema"])
            optimizer.load_state_dict(saved["optimizer"])
            self.z_mean.copy_(saved["z_mean"])
            self.z_std.copy_(saved["z_std"])
            restore_generators(saved["generators"], shuffle=shuffle, noise=generator)

        log = train_epochs("score", cfg.epochs, batches, step, state=state, restore=restore,
                           monitor=TrainingMonitor(self.name) if monitor is None else monitor, checkpoint=checkpoint,
                           progress=progress, desc=self.name)
        self.eval()
        return TrainRecord(losses=log.losses, steps=log.steps, seconds=log.seconds, curves={"score": list(log.losses)})

    def fit_autoencoders(
        self,
        train: MultimodalDataset,
        *,
        seed: int,
        device: torch.device,
        progress: bool,
        cache: StageCache | None,
        monitor: TrainingMonitor | None = None,
        checkpoint: Checkpointer | None = None,
    ) -> dict:
        """Train (or load from ``cache``) the per-modality autoencoders and freeze them; returns their record."""
        ae_cfg = self.cfg.autoencoder

        def compute() -> tuple[dict, dict]:
            self.autoencoders.requires_grad_(True)
            record = train_autoencoders(
                self.autoencoders, train, ae_cfg, seed=seed, device=device, progress=progress, monitor=monitor,
                checkpoint=checkpoint,
            )
            return {m: ae.state_dict() for m, ae in self.autoencoders.items()}, record

        if cache is None:
            states, record = compute()
        else:
            states, record = cache("autoencoders", (ae_cfg, seed, AUTOENCODER_VERSION), compute)
        for m, ae in self.autoencoders.items():
            ae.load_state_dict(states[m])
        self.autoencoders.requires_grad_(False).eval()
        return record

    def set_stats(self, z: Tensor) -> None:
        """Per-dimension mean and std of raw latents ``z`` (N, D), std floored at 1e-6 for constant dimensions."""
        if z.shape[0] < 2:
            raise BenchError(f"{self.name}: latent statistics need at least 2 samples", "use a batch size of 2 or more")
        self.z_mean.copy_(z.mean(dim=0))
        self.z_std.copy_(z.std(dim=0).clamp_min(1e-6))

    # -- sampling ------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample_latents(
        self, z_obs: Tensor, observed: Tensor, *, noise: samplers.Noise, progress: bool = False
    ) -> Tensor:
        """Standardised latents (B, D) for rows observing ``observed`` (B, M), clamped to ``z_obs`` there."""
        return samplers.sample(
            self.ema,
            self.sde,
            self.schedule,
            self.cfg.steps,
            z_obs,
            self.layout.expand(observed),
            self.time_mask(observed),
            noise,
            renoise_observed=self.renoise_observed,
            progress=progress,
        )

    def _noise(self, generator: torch.Generator | None) -> samplers.Noise:
        return lambda shape: torch.randn(shape, generator=generator, device=self.device)

    def _complete(self, z: Tensor, observed: Tensor, generator: torch.Generator | None) -> Tensor:
        """Standardised latents (B, D) with every row that misses a modality completed by one sampler run."""
        partial = (~observed.all(dim=1)).nonzero().flatten()
        if len(partial):
            z[partial] = self.sample_latents(z[partial], observed[partial], noise=self._noise(generator))
        return z

    @torch.no_grad()
    def generate(
        self, x: dict[str, Tensor], observed: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Every modality for every row given the ``observed`` (B, M) ones; one sampler run serves all rows that
        miss something, whatever their subsets. Returns dict[m, float32 (B, C, H, W)] in [0, 1] for an image,
        dict[m, float32 (B, L, V)] probabilities for text."""
        observed = check_observed(self.modalities, x, observed, self.device)
        z = self.standardize(self.encode_raw(x, observed.any(dim=0).tolist()))
        return self.decode(self._complete(z, observed, generator))

    @torch.no_grad()
    def generate_subsets(
        self, x: dict[str, Tensor], subsets: Tensor, targets: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """``bench.interface.generate_subsets`` natively: each tuple is encoded once, the rows s * b + i (tuple i
        given subset s) that miss a modality go through one sampler run with the noise ``generate`` would draw on
        the expanded batch, and decoder t runs only on the rows of the subsets that want t."""
        subsets, targets = check_subsets(self.modalities, subsets, targets)
        z = self.standardize(self.encode_raw(x, subsets.any(dim=0).tolist()))  # (b, D)
        n, b = subsets.shape[0], z.shape[0]
        z = self._complete(z.repeat(n, 1), subsets.to(self.device).repeat_interleave(b, dim=0), generator)
        parts = (z * self.z_std + self.z_mean).view(n, b, -1).split(list(self.layout.sizes), dim=-1)
        out = {}
        for d, (m, part) in enumerate(zip(self.modalities, parts)):
            rows = targets[:, d].nonzero().flatten().tolist()
            if rows:
                out[m] = chunked(lambda z_m, m=m: self._decode_one(m, z_m), part[rows].flatten(0, 1))
        return out

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Joint samples: the sampler from pure noise with nothing observed; dict[m, float32 (n, C, H, W)] (text:
        (n, L, V) probabilities)."""
        z_obs = torch.zeros(n, self.layout.total, device=self.device)
        observed = torch.zeros(n, len(self.modalities), dtype=torch.bool, device=self.device)
        return self.decode(self.sample_latents(z_obs, observed, noise=self._noise(generator)))


@register_model("mld_in", scales=("paper",))
class MLDIn(MLD):
    """MLD-IN (MLD code ``src/models/MLD_inpaint.py``): joint training with one scalar time; conditioning by RePaint
    replacement with observed latents re-noised to the current time (clean on the last step, as the reference)."""

    VERSION: ClassVar[int] = 1  # with MLD's: raise it with any change to this variant that can alter its numbers

    Config: ClassVar[type[MLDConfig]] = MLDConfig
    name: ClassVar[str] = "mld_in"
    renoise_observed: ClassVar[bool] = True

    @property
    def n_times(self) -> int:
        return 1

    def training_inputs(self, batch: int, generator: torch.Generator, device: torch.device) -> TrainingInputs:
        return inpaint_inputs(self.sde.sample_time(batch, generator=generator, device=device), self.layout)

    def time_mask(self, observed: Tensor) -> Tensor:
        return torch.ones(observed.shape[0], 1, device=observed.device)


@register_model("mld_uni", scales=("paper",))
class MLDUni(MLD):
    """MLD-UNI (MLD code ``src/models/MLD_uni.py``): an independent time per modality in training, no masking;
    sampled like MLD."""

    VERSION: ClassVar[int] = 1  # with MLD's: raise it with any change to this variant that can alter its numbers

    Config: ClassVar[type[MLDConfig]] = MLDConfig
    name: ClassVar[str] = "mld_uni"

    def training_inputs(self, batch: int, generator: torch.Generator, device: torch.device) -> TrainingInputs:
        tau = self.sde.sample_time(batch * len(self.modalities), generator=generator, device=device)
        return uni_inputs(tau.view(batch, len(self.modalities)), self.layout)



