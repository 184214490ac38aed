"""MLD stage 1: one deterministic autoencoder per modality, trained independently
(MLD code ``src/unimodal/BaseAE.py``).

Loss per batch: L = (1/B) sum_b -ln Laplace(x_b | dec(enc(x_b)), s), i.e. sum |x - dec(enc(x))| / s plus a constant,
with fixed scale s = 0.75; no KL, no latent regularisation. Adam, no schedule. Small-scale deviation
``likelihood="gaussian"``: the squared error (``bench.likelihoods``), which makes digits legible in far fewer steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from bench.checkpoints import NO_CHECKPOINT, Checkpointer, generator_states, restore_generators
from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.health import TrainingMonitor
from bench.interface import DataSpec
from bench.likelihoods import LIKELIHOODS
from bench.seeding import reinitialize
from bench.store import stable_hash
from mld.nets import AE_NETS

AUTOENCODER_VERSION = 1  # in the autoencoder stage's key: raise it with any change that can alter its weights (bench.versions)


@dataclass(frozen=True)
class AutoencoderConfig:
    """Defaults are the PolyMNIST reference (``mmnist_ae.py``): D = 160, hidden = D, Adam 1e-3, batch 128, 300 epochs."""

    latent_dim: int = 160
    latent_dims: tuple[int, ...] | None = None  # per modality in spec order (MNIST-SVHN: 16, 64); None = latent_dim each
    hidden_dim: int | None = None  # the encoder's hidden Linear; None = latent_dim, as in the reference
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 300
    laplace_scale: float = 0.75
    likelihood: str = "laplace"  # deviation "gaussian": squared error with std ``gaussian_std`` (bench.likelihoods)
    gaussian_std: float = 0.25
    width: float = 1.0  # deviation: multiplies the conv channels (1 = the reference)

    def __post_init__(self) -> None:
        if self.likelihood not in LIKELIHOODS:
            raise BenchError(f"mld: unknown autoencoder likelihood {self.likelihood!r}", f"choose one of: {', '.join(LIKELIHOODS)}")

    def dims(self, n_modalities: int) -> tuple[int, ...]:
        """The latent size of each modality's autoencoder."""
        dims = self.latent_dims or (self.latent_dim,) * n_modalities
        if len(dims) != n_modalities:
            raise BenchError(
                f"mld: latent_dims {dims} has {len(dims)} entries for {n_modalities} modalities",
                "give one latent size per modality or leave latent_dims unset",
            )
        return tuple(dims)

    def nll(self, x: Tensor, loc: Tensor) -> Tensor:
        """-ln p(x | loc) per image under this likelihood: (B, C, H, W) -> (B,)."""
        return LIKELIHOODS[self.likelihood](x, loc, self.laplace_scale if self.likelihood == "laplace" else self.gaussian_std)


class Autoencoder(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def build_autoencoders(spec: DataSpec, cfg: AutoencoderConfig) -> nn.ModuleDict:
    """One untrained autoencoder per modality of ``spec``, keyed by modality name."""
    make = AE_NETS.get(spec.name)
    dims = cfg.dims(len(spec.modalities))
    return nn.ModuleDict({
        m: Autoencoder(*make(tuple(spec.shapes[m]), d, cfg.hidden_dim or d, cfg.width)) for m, d in zip(spec.modalities, dims)
    })


def modality_seed(seed: int, modality: str) -> int:
    """A per-modality seed derived from the run seed, so each autoencoder's init and shuffling are independent."""
    return int(stable_hash("autoencoder", seed, modality), 16)


def train_autoencoder(
    ae: Autoencoder,
    images: Tensor,
    cfg: AutoencoderConfig,
    *,
    seed: int,
    device: torch.device,
    progress: bool = False,
    name: str = "ae",
    monitor: TrainingMonitor | None = None,
    checkpoint: Checkpointer | None = None,
) -> list[float]:
    """Fit one autoencoder on ``images: uint8 (N, C, H, W)`` from a seeded init; returns the mean loss per epoch.
    The loss is summed on the device and read once per epoch, for ``monitor`` (stage "autoencoder <name>").
    ``checkpoint`` saves weights, optimiser, shuffling state and losses at epoch ends (always after the last, so a
    finished autoencoder is not retrained when a later one is interrupted) and resumes from them."""
    stage = f"autoencoder {name}"
    data = MultimodalDataset({name: images}, torch.zeros(images.shape[0], dtype=torch.long)).resident(device)
    reinitialize(ae, seed)
    ae.to(device).train()
    optimizer = torch.optim.Adam(ae.parameters(), lr=cfg.lr)
    shuffle = torch.Generator().manual_seed(seed)
    monitor = TrainingMonitor(stage) if monitor is None else monitor
    checkpoint = NO_CHECKPOINT if checkpoint is None else checkpoint
    losses, steps, first = [], 0, 0
    if (state := checkpoint.load()) is not None:
        ae.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_generators(state["generators"], shuffle=shuffle)
        losses, steps, first = list(state["losses"]), state["steps"], state["epoch"] + 1
        monitor.resume(stage, losses)
    bar = tqdm(range(first, cfg.epochs), desc=stage, disable=not progress, leave=False, initial=first, total=cfg.epochs)
    for epoch in bar:
        total = torch.zeros((), device=device)
        for x, _ in data.batches(cfg.batch_size, shuffle=True, generator=shuffle, device=device):
            x = x[name]
            loss = cfg.nll(x, ae(x)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            total += loss.detach() * x.shape[0]
        losses.append(float(total) / len(data))  # one host read per epoch
        bar.set_postfix(loss=f"{losses[-1]:.1f}")
        monitor.epoch_end(stage, epoch, steps, losses[-1])
        checkpoint.maybe_save(epoch, lambda: {
            "model": ae.state_dict(), "optimizer": optimizer.state_dict(),
            "generators": generator_states(shuffle=shuffle), "losses": losses, "steps": steps,
        }, final=epoch + 1 == cfg.epochs)
    ae.eval()
    return losses


def train_autoencoders(
    autoencoders: nn.ModuleDict,
    train: MultimodalDataset,
    cfg: AutoencoderConfig,
    *,
    seed: int,
    device: torch.device,
    progress: bool = False,
    monitor: TrainingMonitor | None = None,
    checkpoint: Checkpointer | None = None,
) -> dict:
    """Fit every modality's autoencoder in turn (independently); returns the record {losses, seconds} per modality.
    Each checkpoints through ``checkpoint.child("autoencoder <m>")``."""
    checkpoint = NO_CHECKPOINT if checkpoint is None else checkpoint
    children = {m: checkpoint.child(f"autoencoder {m}") for m in autoencoders}  # each kept until all are trained
    record: dict = {"losses": {}, "seconds": {}}
    for m, ae in autoencoders.items():
        start = time.perf_counter()
        record["losses"][m] = train_autoencoder(
            ae, train.images[m], cfg, seed=modality_seed(seed, m), device=device, progress=progress, name=m,
            monitor=monitor, checkpoint=children[m],
        )
        record["seconds"][m] = time.perf_counter() - start
    for child in children.values():
        child.done()
    return record
