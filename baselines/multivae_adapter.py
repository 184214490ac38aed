"""A model trained with MultiVae (github.com/AgatheSenellart/MultiVae, ``multivae==1.0.3``, the ``multivae`` extra),
scored by this suite as a ``bench.interface.MultimodalModel``.

``MultiVaeModel(mv_model)`` runs MultiVae's own inference: ``generate`` groups the rows by their observed subset (in
order of first appearance) and calls ``encode(inputs, cond_mod=subset, N=1)`` then ``decode`` once per group, with
zeros standing in for the modalities a group does not observe; ``sample`` decodes ``generate_from_prior``. Images are
the decoders' outputs (``.reconstruction``, the likelihood's location) as float32 clamped to [0, 1].

RNG contract. MultiVae draws from torch's global RNGs (and the MMVAE family picks its expert with numpy's). Given a
``generator``, each call runs under ``torch.random.fork_rng``: the global RNG of the generator's device starts from
the generator's state and, after the call, the generator takes the state that RNG reached, so consecutive calls
continue one stream as our models' do; any other global RNG the call may draw from (the CPU's for a CUDA generator,
the model's CUDA device's for a CPU generator) is seeded from one draw of the generator, and numpy's global RNG from a
hash of the generator's state. All global states are restored afterwards. Without a generator (or with a global
one, e.g. ``torch.default_generator``), MultiVae draws from the global RNGs as it always does.

On the CPU this makes the MultiVae twin (``baselines.multivae_compat``) of our MoPoE, MVAE or MVTCAE draw our model's
noise: ours draws one normal tensor for the whole batch in row order, the adapter one per group, and CPU ``randn`` of
sizes that are multiples of 16 concatenates exactly, so rows given in contiguous blocks of one subset (the
``bench.interface.generate_subsets`` order) with rows x latent size a multiple of 16 get the same noise, and the same
images up to float rounding (``tests/baselines/test_multivae_adapter.py``, which also pins how MMVAE and MMVAE+
differ). On CUDA, per-group draws need not concatenate that way: there the adapter is reproducible, not promised equal.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from bench.checkpoints import Checkpointer
from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.health import TrainingMonitor
from bench.interface import ModelConfig, StageCache, TrainRecord, check_observed


@dataclass(frozen=True)
class MultiVaeConfig(ModelConfig):
    """What the harness hashes for a wrapped model: the MultiVae class it wraps (e.g. "MoPoE")."""

    model_class: str


class MultiVaeModel(nn.Module):
    """A trained MultiVae model as a ``MultimodalModel``; ``modalities`` default to the order of its encoders."""

    def __init__(self, mv_model: nn.Module, modalities: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.mv = mv_model
        names = tuple(mv_model.encoders.keys())
        self.modalities = names if modalities is None else tuple(modalities)
        if sorted(self.modalities) != sorted(names):
            raise BenchError(f"modalities {self.modalities} are not those of the MultiVae model, {names}",
                             "give the MultiVae model's modality names, in the order the data uses")
        self.cfg = MultiVaeConfig(model_class=type(mv_model).__name__)

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
        """Not available: a BenchError saying that the model was trained with MultiVae."""
        raise BenchError(f"this {self.cfg.model_class} was trained with MultiVae; MultiVaeModel only scores it",
                         "score it with bench.evaluate(model, suite), which trains nothing")

    @torch.no_grad()
    def generate(
        self, x: dict[str, Tensor], observed: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Row b: MultiVae's ``encode`` given the modalities in ``observed[b]`` and ``decode`` of every modality
        (one call per observed subset). Returns dict[m, float32 (B, C, H, W)] in [0, 1]."""
        param = next(self.mv.parameters())
        observed = check_observed(self.modalities, x, observed, param.device)
        x = {m: v.to(param) for m, v in x.items()}
        groups: dict[tuple[bool, ...], list[int]] = {}
        for row, mask in enumerate(observed.tolist()):
            groups.setdefault(tuple(mask), []).append(row)
        out: dict[str, Tensor] = {}
        with _noise_from(generator, param.device):
            for mask, rows in groups.items():
                index = torch.tensor(rows, device=param.device)
                data = {
                    m: x[m][index] if given else param.new_zeros(len(rows), *self._shape(m, x))
                    for m, given in zip(self.modalities, mask)
                }
                cond = [m for m, given in zip(self.modalities, mask) if given]
                images = self._images(self.mv.encode(_multivae_dataset(data), cond_mod=cond, N=1))
                for m, image in images.items():
                    if m not in out:
                        out[m] = image.new_empty(len(observed), *image.shape[1:])
                    out[m][index] = image
        return out

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """MultiVae's ``generate_from_prior(n)``, decoded: dict[m, float32 (n, C, H, W)] in [0, 1]."""
        device = next(self.mv.parameters()).device
        with _noise_from(generator, device):
            prior = self.mv.generate_from_prior(n)
        prior.z = prior.z.reshape(n, -1).to(device)  # n = 1 comes back unbatched, and some priors on the CPU
        if prior.get("modalities_z") is not None:
            prior.modalities_z = {m: z.reshape(n, -1).to(device) for m, z in prior.modalities_z.items()}
        return self._images(prior)

    def _shape(self, m: str, x: dict[str, Tensor]) -> tuple[int, ...]:
        """(C, H, W) of modality m: from ``x`` when it holds m, else from the MultiVae config's ``input_dims``."""
        if m in x:
            return tuple(x[m].shape[1:])
        if not self.mv.input_dims:
            raise BenchError(f"x lacks modality {m!r} and the MultiVae model has no input_dims",
                             "pass every modality in x (unobserved rows may hold anything)")
        return tuple(self.mv.input_dims[m])

    def _images(self, embedding: Any) -> dict[str, Tensor]:
        decoded = self.mv.decode(embedding)
        return {m: decoded[m].float().clamp(0.0, 1.0) for m in self.modalities}


def _multivae_dataset(data: dict[str, Tensor]):
    """MultiVae's input container for a batch of modalities (a clear error without the ``multivae`` extra)."""
    try:
        from multivae.data.datasets.base import MultimodalBaseDataset
    except ImportError:
        raise BenchError("MultiVae is not installed", "pip install -e '.[multivae]' (multivae==1.0.3)") from None
    return MultimodalBaseDataset(data)


def _indexed(device: torch.device | str) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _global_rng(device: torch.device) -> torch.Generator:
    """The global torch RNG that draws on ``device``."""
    if device.type == "cpu":
        return torch.default_generator
    if device.type == "cuda":
        torch.cuda.init()
        return torch.cuda.default_generators[device.index]
    raise BenchError(f"MultiVaeModel: no global RNG to fork on {device}", "use a CPU or CUDA generator")


@contextmanager
def _noise_from(generator: torch.Generator | None, model_device: torch.device) -> Iterator[None]:
    """MultiVae's draws from ``generator``'s stream (the module docstring's RNG contract)."""
    own = None if generator is None else _indexed(generator.device)
    if own is None or generator is _global_rng(own):  # MultiVae draws from the global RNGs anyway
        yield
        return
    others = sorted({torch.device("cpu"), _indexed(model_device)} - {own}, key=str)
    digest = hashlib.sha256(generator.get_state().numpy().tobytes()).digest()
    numpy_state = np.random.get_state()
    cuda = sorted({d.index for d in (own, *others) if d.type == "cuda"})
    with torch.random.fork_rng(devices=cuda, device_type="cuda"):
        try:
            for device in others:
                _global_rng(device).manual_seed(int(torch.randint(2**62, (), generator=generator, device=own)))
            _global_rng(own).set_state(generator.get_state())
            np.random.seed(np.frombuffer(digest, dtype=np.uint32))
            yield
            generator.set_state(_global_rng(own).get_state())
        finally:
            np.random.set_state(numpy_state)
