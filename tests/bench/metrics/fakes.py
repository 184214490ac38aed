"""Synthetic 1x8x8 tuples whose label is written in the pixels, hand-made classifiers and fake models, shared by the
coherence and quality tests.

Image of tuple i, modality t: every pixel holds the label intensity (y_i + 0.5) / 10, except pixel (0, 0)
(the flag: 1 where classifier t is made to be wrong on this tuple) and pixel (7, 7) (the tuple index i / 255).
"""

import torch
from torch import Tensor, nn

from bench.data.dataset import MultimodalDataset, quantize, to_float

N_CLASSES = 10
FLAG_RATES = (0.1, 0.2, 0.3, 0.15)  # fraction of tuples on which classifier t is wrong


def label_intensity(y: Tensor) -> Tensor:
    return (y.float() + 0.5) / N_CLASSES


def make_dataset(m: int = 3, n: int = 100, seed: int = 0) -> MultimodalDataset:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, N_CLASSES, (n,), generator=g)
    images = {}
    for t in range(m):
        x = label_intensity(labels).view(n, 1, 1, 1).expand(n, 1, 8, 8).clone()
        x[:, 0, 0, 0] = (torch.rand(n, generator=g) < FLAG_RATES[t]).float()
        x[:, 0, 7, 7] = torch.arange(n) / 255.0
        images[f"m{t}"] = (x * 255).round().to(torch.uint8)
    return MultimodalDataset(images, labels)


class PixelClassifier(nn.Module):
    """Reads the label from pixel (4, 4) and adds ``shift`` where the flag pixel is set. One-hot logits pass
    through Dropout(p=1), which zeroes them in train mode (every prediction becomes class 0)."""

    def __init__(self, shift: int) -> None:
        super().__init__()
        self.shift = shift
        self.dropout = nn.Dropout(p=1.0)
        self.seen: list[tuple[bool, bool]] = []  # (training, grad enabled) per call

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append((self.training, torch.is_grad_enabled()))
        label = (x[:, 0, 4, 4] * N_CLASSES).floor().long().clamp(0, N_CLASSES - 1)
        label = torch.where(x[:, 0, 0, 0] > 0.5, (label + self.shift) % N_CLASSES, label)
        return self.dropout(nn.functional.one_hot(label, N_CLASSES).float())


def make_classifiers(m: int = 3) -> dict[str, PixelClassifier]:
    return {f"m{t}": PixelClassifier(shift=t + 1) for t in range(m)}


def real_float(data: MultimodalDataset) -> dict[str, Tensor]:
    return {k: to_float(v) for k, v in data.images.items()}


def predictions(classifiers: dict[str, nn.Module], images: dict[str, Tensor]) -> dict[str, list[int]]:
    with torch.no_grad():
        return {k: classifiers[k].eval()(quantize(v)).argmax(1).tolist() for k, v in images.items()}


class OracleModel:
    """generate returns the real test images for every modality whatever the mask; sample returns the real
    test tuples in order, wrapping around."""

    def __init__(self, data: MultimodalDataset) -> None:
        self.modalities = data.modalities
        self.real = real_float(data)
        self.cursor = 0

    def generate(self, x, observed, *, generator=None):
        return {m: x[m].clone() for m in self.modalities}

    def sample(self, n, *, generator=None):
        idx = (self.cursor + torch.arange(n)) % len(next(iter(self.real.values())))
        self.cursor += n
        return {m: v[idx] for m, v in self.real.items()}


class NoiseModel:
    def __init__(self, modalities: tuple[str, ...]) -> None:
        self.modalities = modalities

    def generate(self, x, observed, *, generator=None):
        return {m: torch.rand(x[m].shape, generator=generator) for m in self.modalities}

    def sample(self, n, *, generator=None):
        return {m: torch.rand(n, 1, 8, 8, generator=generator) for m in self.modalities}


class MaskModel(OracleModel):
    """Deterministic and mask-dependent: a given modality comes back unchanged; target t not in S becomes an
    image of label (y + (sum of member indices of S + t) mod 3) mod 10, y read from the observed modalities
    only (their mean label pixel). The flag pixel of x_t is kept."""

    def generate(self, x, observed, *, generator=None):
        pixels = torch.stack([x[m][:, 0, 4, 4] for m in self.modalities], dim=1)
        y = ((pixels * observed).sum(1) / observed.sum(1) * N_CLASSES).floor().long()
        index_sum = (observed * torch.arange(len(self.modalities))).sum(1)
        out = {}
        for t, m in enumerate(self.modalities):
            label = (y + (index_sum + t) % 3) % N_CLASSES
            image = label_intensity(label).view(-1, 1, 1, 1).expand_as(x[m]).clone()
            image[:, 0, 0, 0] = x[m][:, 0, 0, 0]
            out[m] = torch.where(observed[:, t].view(-1, 1, 1, 1), x[m], image)
        return out


class CountingModel(OracleModel):
    def __init__(self, data: MultimodalDataset) -> None:
        super().__init__(data)
        self.generate_calls: list[tuple[list[int], Tensor]] = []  # (tuple ids, observed) per call
        self.sample_calls: list[int] = []

    def generate(self, x, observed, *, generator=None):
        ids = (x["m0"][:, 0, 7, 7] * 255).round().long().tolist()
        self.generate_calls.append((ids, observed.clone()))
        return super().generate(x, observed)

    def sample(self, n, *, generator=None):
        self.sample_calls.append(n)
        return super().sample(n)
