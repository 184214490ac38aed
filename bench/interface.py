"""The contract every benchmarked model implements (MLD and the multimodal VAEs alike).

Conditioning is a per-sample boolean mask over modalities, ``observed: bool (B, M)`` in the order of
``model.modalities``, so one ``generate`` call serves a batch that mixes all 2^M - 1 subsets.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar, Collection, Mapping, Protocol, Sequence, runtime_checkable

import torch
from torch import Tensor

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec
from bench.errors import BenchError
from bench.fields import Bound, FieldError, check_fields
from bench.checkpoints import Checkpointer
from bench.health import TrainingMonitor
from bench.networks import Networks


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about a suite's data to build its networks: per modality the shape of one item as
    models see it (image (C, H, W), text (L, V) one-hot), its ``ModalitySpec`` (kind, stored shape, alphabet;
    ``bench.data.kinds``; a modality without one is an image) and the suite's ``networks`` (``bench.networks``),
    which a model asks for its encoders and decoders (``network``). ``suite`` names the suite for the harness
    (presets, exports); models do not read it."""

    suite: str
    modalities: tuple[str, ...]
    shapes: Mapping[str, tuple[int, ...]]
    specs: Mapping[str, ModalitySpec] = field(default_factory=dict)
    networks: Networks | None = None

    def kind(self, m: str) -> str:
        """The kind of modality ``m`` ("image" when no spec says otherwise)."""
        return self.specs[m].kind if m in self.specs else "image"

    def modality(self, m: str) -> ModalitySpec:
        """The ``ModalitySpec`` of modality ``m`` (an image of ``shapes[m]`` when none was given)."""
        return self.specs[m] if m in self.specs else ModalitySpec("image", tuple(self.shapes[m]))

    def network(self, family: str, m: str, **options: Any) -> Any:
        """The suite's ``family`` networks for modality ``m`` (``bench.networks.Networks.build``)."""
        if self.networks is None:
            raise BenchError(
                f"this DataSpec of suite {self.suite!r} carries no networks, so no {family!r} networks can be built",
                "build the spec from a suite: bench.load_suite(name).spec, or SUITES.get(name)().data_spec(dataset)",
            )
        return self.networks.build(family, self.modality(m), **options)


@dataclass
class TrainRecord:
    """What ``fit`` reports: loss per epoch (of the last stage), number of optimiser steps, wall time in seconds, and
    ``curves``: the mean loss per epoch of every training stage by name (e.g. MLD's "autoencoder m0" ... and
    "score"), which the run records keep and the report plots."""

    losses: list[float] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)


StageCache = Callable[[str, tuple, Callable[[], tuple[Any, dict]]], tuple[Any, dict]]
"""``cache(stage, key_parts, compute) -> (payload, record)``: what the harness hands to ``fit`` so that a model can
store an intermediate stage of its own (e.g. MLD's autoencoders) under a key of ``key_parts`` plus the data's key,
reusing it across models and runs. ``compute()`` runs on a miss; payloads hold tensors only (weights-only loads)."""


@runtime_checkable
class MultimodalModel(Protocol):
    """A generative model over M modalities. Outputs are float32 in model form (``bench.data.kinds``): images in
    [0, 1] (decoder means, clamped), text per-position probabilities (B, L, V) whose rows sum to 1."""

    modalities: tuple[str, ...]
    cfg: "ModelConfig"  # the typed config the model was built with (hashed into its cache key)

    def fit(
        self,
        train: MultimodalDataset,
        *,
        seed: int,
        device: torch.device,
        progress: bool,
        cache: StageCache | None = None,
        monitor: TrainingMonitor | None = None,
        checkpoint: Checkpointer | None = None,
    ) -> TrainRecord:
        """Train on ``train`` with the model's own config; deterministic given ``seed`` on a given device.
        A model with reusable stages stores them through ``cache`` when one is given. Each epoch's mean loss goes
        to ``monitor.epoch_end`` (``bench.health``), which raises ``Diverged`` when the training diverged. With a
        ``checkpoint`` (``bench.checkpoints``), the training resumes from its saved state and saves it at epoch
        ends, so that a killed run continues where it stopped and ends with the same weights."""
        ...

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Unconditional (joint) samples: ``dict[m, float (n, *spec.shapes[m])]``."""
        ...

    def generate(
        self, x: dict[str, Tensor], observed: Tensor, *, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Conditional generation. ``x[m]: float (B, *spec.shapes[m])`` (unobserved rows may hold anything);
        ``observed[b, i]`` says modality ``modalities[i]`` of sample b is given. Returns every modality for
        every sample; given modalities come back as the model's reconstruction of them."""
        ...

    # Optional abilities, each a Protocol below (``SubsetGenerator``, ``PlannedTraining``, ``IterativeSampler``):
    # found by ``ability(model, protocol)``, which refuses a model that implements one only in part.

    def to(self, device: torch.device | str) -> Any:
        """Move the model to ``device`` (``nn.Module.to``)."""
        ...

    def eval(self) -> Any:
        """Switch off training behaviour (``nn.Module.eval``)."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> Any: ...


class SubsetGenerator(Protocol):
    """Optional, for speed: ``generate_subsets`` natively, with the contract of ``bench.interface.generate_subsets``
    (which falls back to ``generate`` on the expanded rows for a model without it)."""

    def generate_subsets(self, x: dict[str, Tensor], subsets: Tensor, targets: Tensor, *,
                         generator: torch.Generator | None = None) -> dict[str, Tensor]: ...


class PlannedTraining(Protocol):
    """Optional, for ``--plan``: the optimiser steps of each training stage (as named to the monitor) on
    ``n_train`` tuples."""

    def planned_steps(self, n_train: int) -> dict[str, int]: ...


class IterativeSampler(Protocol):
    """Optional, for the efficiency table and ``--plan``: a model whose sampler calls its network
    ``network_calls_per_sample`` times per sample, and the same model (weights shared) sampling with ``steps``
    calls, which ``--plan`` times twice and extrapolates."""

    network_calls_per_sample: int

    def with_sampler_steps(self, steps: int) -> Any: ...


OPTIONAL_ABILITIES = (SubsetGenerator, PlannedTraining, IterativeSampler)


def _members(protocol: type) -> list[str]:
    return sorted(n for n in {*protocol.__dict__, *protocol.__annotations__} if not n.startswith("_"))


def ability(model: Any, protocol: type) -> Any:
    """``model`` if it implements every member of the optional ``protocol``, None if it implements none of them;
    a model that implements only some (or a method that is not callable) is one clear error naming what is
    missing."""
    members = _members(protocol)
    present = [n for n in members if hasattr(model, n)]
    if not present:
        return None
    missing = [n for n in members if not hasattr(model, n)]
    broken = [n for n in present if n in protocol.__dict__ and not callable(getattr(model, n))]
    if missing or broken:
        raise BenchError(
            f"{type(model).__name__} implements {protocol.__name__} in part: "
            + "; ".join([*(f"no {n!r}" for n in missing), *(f"{n!r} is not callable" for n in broken)]),
            f"implement all of {', '.join(members)} (bench.interface.{protocol.__name__}), or none of them",
        )
    return model


def check_model(model: Any, name: str) -> None:
    """One clear error unless ``model`` has what every evaluation needs (``modalities``, ``generate``, ``sample``)
    and implements each optional ability whole (``ability``)."""
    for attribute in ("modalities", "generate", "sample"):
        if not hasattr(model, attribute):
            raise BenchError(f"{name}: {type(model).__name__} has no {attribute!r}, which every evaluation needs",
                             "implement bench.interface.MultimodalModel (modalities, generate, sample)")
    for protocol in OPTIONAL_ABILITIES:
        ability(model, protocol)


BUILT_IN_PACKAGES = ("bench", "baselines", "mld", "classifiers")  # whose versions bench.versions keeps honest


def code_version(cls: type) -> list[list[Any]]:
    """``[[class name, VERSION], ...]`` of every class in ``cls``'s MRO that defines ``VERSION`` itself: what enters a
    trained model's cache key and its export (``bench.versions`` keeps the numbers honest). A plug-in (a class from
    outside this repository's packages) adds ``["source", SHA-256 of the file defining it]``, so an edited plug-in
    retrains instead of serving its old numbers, ``VERSION`` or not."""
    versions = [[k.__qualname__, k.__dict__["VERSION"]] for k in cls.__mro__ if "VERSION" in k.__dict__]
    if cls.__module__.split(".")[0] not in BUILT_IN_PACKAGES:
        versions.append(["source", source_digest(cls)])
    return versions


UNKNOWN_SOURCE = "unknown"


def source_digest(cls: type) -> str:
    """SHA-256 (first 16 hex digits) of the file that defines ``cls``, else of its class source, else
    ``UNKNOWN_SOURCE`` (a class made at run time: its cache hits warn, ``bench.model_stage``)."""
    try:
        data = Path(inspect.getsourcefile(cls) or "").read_bytes()
    except (TypeError, OSError):
        try:
            data = inspect.getsource(cls).encode()
        except (TypeError, OSError):
            return UNKNOWN_SOURCE
    return hashlib.sha256(data).hexdigest()[:16]


def check_training_data(name: str, modalities: tuple[str, ...], train: MultimodalDataset) -> None:
    """A clear error unless ``train`` is non-empty and has exactly the model's modalities, in order."""
    if tuple(train.modalities) != tuple(modalities):
        raise BenchError(
            f"{name} was built for modalities {tuple(modalities)}, the training data has {tuple(train.modalities)}",
            "build the model from the training set's DataSpec",
        )
    if len(train) == 0:
        raise BenchError(f"{name}: the training set is empty", "check the data split")


def check_observed(modalities: tuple[str, ...], x: Mapping[str, Tensor], observed: Tensor, device) -> Tensor:
    """Validate a ``generate`` call and return ``observed`` as bool (B, M) on ``device``: one column per modality,
    at least one given modality per row, and an (B, ...) input for every modality some row observes."""
    observed = torch.as_tensor(observed, device=device).bool()
    n = len(modalities)
    if observed.ndim != 2 or observed.shape[1] != n:
        raise ValueError(f"observed must be bool (B, {n}) over {modalities}, got shape {tuple(observed.shape)}")
    empty = ~observed.any(dim=1)
    if bool(empty.any()):
        rows = empty.nonzero().flatten()[:5].tolist()
        raise ValueError(f"generate: rows {rows}... observe no modality; every row needs at least one")
    for m, used in zip(modalities, observed.any(dim=0).tolist()):
        if used and (m not in x or x[m].shape[0] != observed.shape[0]):
            raise ValueError(f"generate: x[{m!r}] must be (B={observed.shape[0]}, C, H, W) since it is observed")
    return observed


def generate_subsets(
    model: MultimodalModel,
    x: Mapping[str, Tensor],
    subsets: Tensor,
    targets: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """Generate b tuples under each of S subsets, returning only the (subset, target) pairs asked for.

    ``x[m]: float (b, C, H, W)`` for every modality some subset holds; ``subsets: bool (S, M)``; ``targets: bool
    (S, M)``, ``targets[s, t]``: modality t is wanted given subset s. Returns ``out[m]: float (S_m * b, C, H, W)``
    where rows ``j * b .. (j + 1) * b`` are the b tuples given the j-th subset s (in row order) with
    ``targets[s, m]``; S_m = ``targets[:, m].sum()``, and a modality no subset wants is absent.

    The result equals ``generate`` on the (S * b)-row batch in which row s * b + i is tuple i given subset s, with
    the unwanted rows dropped: a model that implements ``generate_subsets`` itself draws its noise in that same
    order, so both give the same images for the same ``generator`` (``tests/test_model_contract.py``), and it may
    save work, encoding each tuple once and decoding only the wanted rows. Other models get this fallback.
    """
    subsets, targets = check_subsets(model.modalities, subsets, targets)
    if ability(model, SubsetGenerator) is not None:
        return model.generate_subsets(x, subsets, targets, generator=generator)
    n, b = subsets.shape[0], next(v.shape[0] for v in x.values())
    expanded = {m: v.repeat(n, *([1] * (v.ndim - 1))) for m, v in x.items()}
    out = model.generate(expanded, subsets.repeat_interleave(b, dim=0), generator=generator)
    return select_targets(out, model.modalities, targets, b)


def check_subsets(modalities: Sequence[str], subsets: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Validate a ``generate_subsets`` call: bool (S, M) subsets with a member each, and targets of the same shape."""
    subsets, targets = torch.as_tensor(subsets).bool(), torch.as_tensor(targets, device=subsets.device).bool()
    if subsets.ndim != 2 or subsets.shape[1] != len(modalities) or targets.shape != subsets.shape:
        raise ValueError(f"subsets and targets must be bool (S, {len(modalities)}) over {tuple(modalities)}, "
                         f"got {tuple(subsets.shape)} and {tuple(targets.shape)}")
    if not bool(subsets.any(dim=1).all()):
        raise ValueError("generate_subsets: every subset needs at least one modality")
    return subsets, targets


def select_targets(out: Mapping[str, Tensor], modalities: Sequence[str], targets: Tensor, b: int) -> dict[str, Tensor]:
    """From per-row outputs ``out[m]: (S * b, ...)`` (row s * b + i: tuple i given subset s), the rows of the
    subsets wanted for each target, in ``generate_subsets`` layout."""
    selected = {}
    for t, m in enumerate(modalities):
        keep = targets[:, t].to(out[m].device)
        if bool(keep.any()):
            selected[m] = out[m].view(targets.shape[0], b, *out[m].shape[1:])[keep].flatten(0, 1)
    return selected


@dataclass(frozen=True)
class ModelConfig:
    """Base for a model's typed config: a frozen dataclass whose field defaults are the model's reference recipe.
    What a suite changes at each scale is its preset (``bench.presets``); ``--set`` overrides come last. Every value
    is checked against its annotation, ``BOUNDS`` and ``CHOICES`` on construction (``bench.fields``); a subclass
    with its own ``__post_init__`` calls this one."""

    BOUNDS: ClassVar[dict[str, Bound]] = {}
    CHOICES: ClassVar[dict[str, Collection[str]]] = {}

    def __post_init__(self) -> None:
        check_fields(self)


def model_config(name: str, suite: str, scale: str, nested: Sequence[tuple[tuple[str, ...], Any]] = (),
                 **overrides: Any) -> ModelConfig:
    """The config of registered model ``name`` on ``suite`` at ``scale``: its field defaults, then the suite's preset
    (``bench.presets.preset``; a model without one is a clear error), then explicit field ``overrides``, then
    ``nested`` (field path, value) overrides (``bench.overrides``, e.g. from ``--set``)."""
    from bench.overrides import apply_overrides
    from bench.presets import preset
    from bench.registry import MODELS

    cls = MODELS.get(name).Config
    values = {**preset(suite, name, scale, cls), **overrides}
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise BenchError(f"{cls.__name__} has no field(s) {', '.join(unknown)}", f"valid fields: {', '.join(sorted(known))}")
    try:
        return apply_overrides(cls(**values), nested)
    except FieldError as err:
        raise BenchError(f"{name}.{err.path} = {err.value!r} is not {err.expected}",
                         f"--set {name}.{err.path}=VALUE with {err.expected}") from None


def build_model(
    name: str, spec: DataSpec, scale: str, nested: Sequence[tuple[tuple[str, ...], Any]] = (), **overrides: Any
) -> MultimodalModel:
    """Instantiate the registered model ``name`` with its config on suite ``spec.suite`` at ``scale``
    (``model_config``). A registered model is a class ``C(spec, cfg)`` with a ``C.Config`` subclass of
    ``ModelConfig``."""
    from bench.registry import MODELS

    return MODELS.get(name)(spec, model_config(name, spec.suite, scale, nested, **overrides))
