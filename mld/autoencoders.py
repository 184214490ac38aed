"""MLD stage 1: one deterministic autoencoder per modality, trained independently
(MLD code ``src/unimodal/BaseAE.py``).

Loss per batch: L = (1/B) sum_b -ln Laplace(x_b | dec(enc(x_b)), s), i.e. sum |x - dec(enc(x))| / s plus a constant,
with fixed scale s = 0.75; no KL, no latent regularisation. Adam, no schedule. Small-scale deviation
``likelihood="gaussian"``: the squared error (``bench.likelihoods``), which makes digits legible in far fewer steps.

The networks are the suite's ``"autoencoder"`` family (``bench.networks``): per modality kind,
``make(shape, *, latent_dim, hidden_dim, width) -> (encoder, decoder)`` with ``shape`` one item as models see it, the
encoder mapping (B, *shape) to (B, D) and the decoder (B, D) to (B, *shape): the likelihood's location for an image,
per-position logits for text; ``width`` multiplies the conv channels (1 = the reference).

The loss and what the model returns depend on the modality's kind (``bench.data.kinds``), through ``AE_KINDS[kind]``:
an image's loss is the likelihood above and its output the decoder's location clamped to [0, 1]; a text (or
sentence) modality's decoder gives per-position logits (B, L, V), its loss is the categorical cross-entropy
against the one-hot input summed over positions, -sum_l ln softmax(logits_l)[x_l] (MoPoE's ``OneHotCategorical``
term, ``modalities/Modality.py``, with the logits read as logits), and its output the per-position probabilities
softmax(logits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Collection, Protocol

import torch
from torch import Tensor, nn

from bench.checkpoints import NO_CHECKPOINT, Checkpointer, generator_states, restore_generators
from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec
from bench.errors import BenchError
from bench.fields import COUNT, POSITIVE, Bound, check_fields
from bench.health import TrainingMonitor
from bench.interface import DataSpec
from bench.likelihoods import LIKELIHOODS, categorical_nll
from bench.registry import Registry
from bench.seeding import reinitialize
from bench.training import TrainLog, train_epochs
from bench.store import stable_hash

FAMILY = "autoencoder"  # the networks this stage asks the suite for (module docstring)
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
    # the image likelihood (a text modality's loss is its categorical cross-entropy, ``AE_KINDS``):
    laplace_scale: float = 0.75
    likelihood: str = "laplace"  # deviation "gaussian": squared error with std ``gaussian_std`` (bench.likelihoods)
    gaussian_std: float = 0.25
    width: float = 1.0  # deviation: multiplies the conv channels (1 = the reference)

    BOUNDS: ClassVar[dict[str, Bound]] = {
        "latent_dim": COUNT, "latent_dims": COUNT, "hidden_dim": COUNT, "lr": POSITIVE, "batch_size": COUNT,
        "epochs": COUNT, "laplace_scale": POSITIVE, "gaussian_std": POSITIVE, "width": POSITIVE,
    }
    CHOICES: ClassVar[dict[str, Collection[str]]] = {"likelihood": LIKELIHOODS}

    def __post_init__(self) -> None:
        check_fields(self)

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


class AutoencoderKind(Protocol):
    """What an autoencoder of one modality kind trains on and gives back."""

    def nll(self, cfg: AutoencoderConfig, x: Tensor, out: Tensor) -> Tensor:
        """The reconstruction loss per item, (B,), of model-form inputs ``x`` against the decoder output ``out``."""

    def output(self, out: Tensor) -> Tensor:
        """The decoder output as the model returns it (float32)."""


AE_KINDS: Registry[AutoencoderKind] = Registry("autoencoder modality kind")


class ImageAutoencoder:
    """Images: the configured likelihood (``AutoencoderConfig.nll``); the location clamped to [0, 1]."""

    def nll(self, cfg: AutoencoderConfig, x: Tensor, out: Tensor) -> Tensor:
        return cfg.nll(x, out)

    def output(self, out: Tensor) -> Tensor:
        return out.float().clamp(0.0, 1.0)


class TextAutoencoder:
    """Text and sentences, one-hot (B, L, V) in and logits (B, L, V) out: the categorical cross-entropy summed over positions;
    softmax probabilities (rows sum to 1)."""

    def nll(self, cfg: AutoencoderConfig, x: Tensor, out: Tensor) -> Tensor:
        return categorical_nll(x, out)

    def output(self, out: Tensor) -> Tensor:
        return torch.softmax(out.float(), dim=-1)


AE_KINDS.register("image")(ImageAutoencoder())
AE_KINDS.register("text")(TextAutoencoder())
AE_KINDS.register("sentence")(AE_KINDS.get("text"))


class Autoencoder(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def build_autoencoders(spec: DataSpec, cfg: AutoencoderConfig) -> nn.ModuleDict:
    """One untrained autoencoder per modality of ``spec``, keyed by modality name, from the suite's ``"autoencoder"``
    networks for the modality's kind."""
    dims = cfg.dims(len(spec.modalities))
    return nn.ModuleDict({
        m: Autoencoder(*spec.network(FAMILY, m, latent_dim=d, hidden_dim=cfg.hidden_dim or d, width=cfg.width))
        for m, d in zip(spec.modalities, dims)
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
    spec: ModalitySpec | None = None,
) -> list[float]:
    """Fit one autoencoder on the stored data ``images`` of a modality of ``spec`` (its kind and shape; default an
    image: uint8 (N, C, H, W)) from a seeded init, on its model-form batches (images in [0, 1], text one-hot) under
    its kind's loss (``AE_KINDS``), in the shared loop (``bench.training.train_epochs``: stage "autoencoder
    <name>", reported to ``monitor``); returns the mean loss per epoch. ``checkpoint`` saves weights, optimiser and
    shuffling state at epoch ends (always after the last, so a finished autoencoder is not retrained when a later one
    is interrupted) and resumes from them."""
    stage = f"autoencoder {name}"
    specs = {} if spec is None else {name: spec}
    data = MultimodalDataset({name: images}, torch.zeros(images.shape[0], dtype=torch.long), specs).resident(device)
    kind = AE_KINDS.get(data.specs[name].kind)
    reinitialize(ae, seed)
    ae.to(device).train()
    optimizer = torch.optim.Adam(ae.parameters(), lr=cfg.lr)
    shuffle = torch.Generator().manual_seed(seed)

    def batches():
        return (x[name] for x, _ in data.batches(cfg.batch_size, shuffle=True, generator=shuffle, device=device))

    def step(x: Tensor, log: TrainLog) -> None:
        loss = kind.nll(cfg, x, ae(x)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        log.add({"loss": loss}, x.shape[0])

    def state() -> dict:
        return {"model": ae.state_dict(), "optimizer": optimizer.state_dict(), "generators": generator_states(shuffle=shuffle)}

    def restore(saved: dict) -> None:
        ae.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        restore_generators(saved["generators"], shuffle=shuffle)

    log = train_epochs(stage, cfg.epochs, batches, step, state=state, restore=restore, monitor=monitor,
                       checkpoint=checkpoint, progress=progress, keep_last=True)
    ae.eval()
    return log.losses


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
            monitor=monitor, checkpoint=children[m], spec=train.specs[m],
        )
        record["seconds"][m] = time.perf_counter() - start
    for child in children.values():
        child.done()
    return record
