"""Feature extractors phi for sample quality: a coherence classifier's penultimate layer ("clf", 128-d) and
pytorch-fid's FID Inception-v3 pool3 ("inception", 2048-d) loaded from a local weights file, never downloaded.

Inception input pipeline (as pytorch-fid's ``InceptionV3(resize_input=True, normalize_input=True)``):
x in [0, 1] (clamped; 1 channel repeated to 3) -> bilinear resize to 299x299 (align_corners=False) -> 2x - 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
import torchvision
from pytorch_fid.inception import FID_WEIGHTS_URL, FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2
from torch import Tensor, nn

from bench.devices import device_of, resolve_device
from bench.errors import BenchError
from bench.store import load_torch

SPACE_DESCRIPTIONS = {"clf": "classifier penultimate (128-d)", "inception": "Inception-v3 pool3 (2048-d)"}
"""How tables describe each feature space."""

INCEPTION_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_ENV = "BENCH_INCEPTION_WEIGHTS"
INCEPTION_SIZE = 299
_FIX_WEIGHTS = (
    f"re-download {INCEPTION_WEIGHTS_NAME} from the pytorch-fid release ({FID_WEIGHTS_URL}) "
    "and pass it with --inception-weights"
)


class FeatureExtractor(Protocol):
    """phi: float images (B, C, H, W) in [0, 1] -> float32 (B, dim) features on the extractor's device, computed
    under ``torch.no_grad`` with the network in eval mode."""

    name: str
    dim: int

    def features(self, images: Tensor) -> Tensor: ...


class ClassifierFeatures:
    """phi(x) = ``classifier.features(x, layer="penultimate")``: the 128-d penultimate activations of a
    ``classifiers.nets.DigitClassifier``, with dropout off (eval mode)."""

    dim: int = 128

    def __init__(self, classifier: nn.Module, name: str = "clf") -> None:
        self.classifier = classifier.eval()
        self.name = name

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        self.classifier.eval()  # a shared classifier may have been switched to train mode since construction
        x = images.to(device_of([self.classifier]), torch.float32)
        return self.classifier.features(x, layer="penultimate").float()


def fid_inception_net() -> nn.Module:
    """Untrained torchvision Inception-v3 patched exactly as pytorch-fid's ``fid_inception_v3()`` (1008 classes, no
    aux logits, FIDInceptionA/C/E_1/E_2 blocks): the module whose state dict is ``INCEPTION_WEIGHTS_NAME``."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net


def pool3_network(net: nn.Module) -> nn.Sequential:
    """The layers of ``net`` (from ``fid_inception_net``) up to the final average pool, in pytorch-fid's block
    order: (B, 3, 299, 299) in [-1, 1] -> (B, 2048). Shares ``net``'s parameters."""
    return nn.Sequential(
        net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, nn.MaxPool2d(kernel_size=3, stride=2),
        net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, nn.MaxPool2d(kernel_size=3, stride=2),
        net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e,
        net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1)), nn.Flatten(),
    )


def load_inception_state(net: nn.Module, path: Path) -> None:
    """Load the state dict in ``path`` into ``net`` with safe unpickling and every key and shape matching."""
    state = load_torch(path, fix=_FIX_WEIGHTS, what="Inception weights")
    if not isinstance(state, Mapping):
        raise BenchError(f"Inception weights {path} hold a {type(state).__name__}, not a state dict", _FIX_WEIGHTS)
    try:
        result = net.load_state_dict(state, strict=False)  # shape mismatches raise; key mismatches checked below
    except RuntimeError as err:
        mismatches = [line.strip() for line in str(err).splitlines()[1:]]
        raise BenchError(
            f"Inception weights {path} do not fit pytorch-fid's FID Inception-v3: {'; '.join(mismatches[:3])}",
            _FIX_WEIGHTS,
        ) from None
    if result.missing_keys or result.unexpected_keys:
        missing, unexpected = result.missing_keys, result.unexpected_keys
        raise BenchError(
            f"Inception weights {path} are not pytorch-fid's FID Inception-v3 state dict: {len(missing)} missing keys "
            f"{missing[:3]}, {len(unexpected)} unexpected keys {unexpected[:3]}",
            _FIX_WEIGHTS,
        )


class InceptionFeatures:
    """phi(x) = pool3 of pytorch-fid's FID Inception-v3 at 2(resize_299(clamp(x, 0, 1))) - 1, 2048-d, with the
    weights read from ``weights`` (``INCEPTION_WEIGHTS_NAME``); ``device`` as ``bench.devices.resolve_device``."""

    name: str = "inception"
    dim: int = 2048

    def __init__(self, weights: str | Path, device: torch.device | str = "auto") -> None:
        net = fid_inception_net()
        load_inception_state(net, Path(weights))
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.network = pool3_network(net).to(self.device).eval().requires_grad_(False)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected images (B, 1 or 3, H, W), got shape {tuple(images.shape)}")
        x = images.to(self.device, torch.float32).clamp(0, 1).expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
        return self.network(2 * x - 1)


def find_inception_weights(explicit: str | None) -> tuple[Path | None, str]:
    """The Inception weights file to use and why: ``explicit`` (--inception-weights), else $BENCH_INCEPTION_WEIGHTS,
    else pytorch-fid's download location in the torch hub cache. A path that was named but is not a file is an
    error; nothing found is ``(None, reason)``, so that FID can be reported unavailable."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BenchError(f"--inception-weights {explicit} is not a file", _FIX_WEIGHTS)
        return path, f"--inception-weights {path}"
    env = os.environ.get(INCEPTION_WEIGHTS_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise BenchError(
                f"${INCEPTION_WEIGHTS_ENV}={env} is not a file",
                f"point it at {INCEPTION_WEIGHTS_NAME} (pytorch-fid release) or unset it",
            )
        return path, f"${INCEPTION_WEIGHTS_ENV}={path}"
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_NAME
    if cached.is_file():
        return cached, f"torch hub cache {cached}"
    return None, (
        f"no Inception weights: pass --inception-weights PATH or set {INCEPTION_WEIGHTS_ENV} "
        f"({INCEPTION_WEIGHTS_NAME} from pytorch-fid)"
    )
