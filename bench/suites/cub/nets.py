"""CUB Image–Captions networks for every model family (``bench.networks``): 3x64x64 images and one-hot captions
(32, V) of V words. ``width`` multiplies every channel count (1 = the reference).

``"vae"``: MMVAE's CUB networks (iffsid/mmvae ``src/models/vae_cub_image.py``, ``vae_cub_sent.py``; MMVAE+ and
MultiVae reuse them):

- image: conv 3->64->128->256->512 (k4 s2 p1, ReLU) 64 -> 4; mu and logvar heads on the flattened 512x4x4 (MMVAE's
  k4 conv heads on the 4x4 map are the same linear maps). Decoder: Linear(D, 512x4x4) (MMVAE's k4 transposed conv
  from 1x1), then ConvT 512->256->128->64->3 (k4 s2 p1) 4 -> 64 with ReLU between and a sigmoid.
- caption: a linear embedding V -> 128 of the one-hot words (MMVAE's ``nn.Embedding`` of token indices is the same
  map), read as a 1x32x128 picture; conv 1->32->64->128 (k4 s2 p1) 32x128 -> 4x16, then 128->128 twice (k(1,4)
  s(1,2) p(0,1)) -> 4x4, each with BatchNorm and ReLU, no bias; heads on the flattened 128x4x4. Decoder: the mirror,
  ending 1x32x128 -> Linear 128 -> V per-position logits. MMVAE ties that last Linear to the embedding; it is untied
  here, as in the MLD code's sentence autoencoder (a model's export stores every tensor once).

``"autoencoder"``: MLD's deterministic CUB autoencoders (MLD code ``src/unimodal/CUB/image_resnet_limit.py``,
``cub_sentence_plus.py``):

- image: conv 3->nf (k3) with nf = 64, a residual block (leaky ReLU 0.2, output shortcut + 0.1 branch), then twice
  [AvgPool k3 s2 p1, residual block nf 2^i -> nf 2^(i+1)] 64 -> 16; leaky ReLU, Linear(4 nf x 16 x 16, D). Decoder:
  Linear(D, 4 nf x 16 x 16), twice [residual block, nearest 2x upsampling], a residual block nf -> nf, leaky ReLU,
  conv nf->3 (k3); no output sigmoid, as the reference.
- caption: Linear V -> 128 (with bias) read as 1x32x128; conv 1->32->64->128 (k4 s2 p1), 128->256->512 (k(1,4)
  s(1,2) p(0,1)), BatchNorm and ReLU after each, -> 512x4x4; conv k4 -> D. Decoder: ConvT D->512 (k4) 1 -> 4x4,
  512->256 (k(1,4) s(1,2) p(0,1)) -> 4x8, 256->256 (k3 p1), 256->128 (k(1,4) s(1,2) p(0,1)) -> 4x16, 128->128 (k3
  p1), 128->64->32->1 (k4 s2 p1) -> 32x128, BatchNorm and ReLU after each (a ReLU after the last); Linear 128 -> V
  logits (the reference ends in a softmax; the categorical likelihood normalises logits, ``mld.autoencoders``).

``"classifier"`` (the stand-in's attribute classifiers; the references score CUB without classifiers): MoPoE's
``ClfImg`` design for the images (``classifiers.nets.DigitClassifier`` at 64 pixels) and ``CaptionClassifier`` for
the captions.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from baselines.nets import FAMILY as VAE, GaussianHeads
from bench.errors import BenchError
from bench.networks import Networks
from classifiers.nets import FAMILY as CLASSIFIER, BodyHeadClassifier, digit_classifier
from mld.autoencoders import FAMILY as AUTOENCODER

IMAGE_SHAPE = (3, 64, 64)
LENGTH = 32  # words per caption, <eos> and <pad> included
EMBEDDING = 128  # the embedding of a word; the caption is read as a 1 x LENGTH x EMBEDDING picture
WIDE = dict(kernel_size=(1, 4), stride=(1, 2), padding=(0, 1))  # halves the embedding axis only


def scaled(channels: tuple[int, ...], width: float) -> tuple[int, ...]:
    return tuple(max(1, round(c * width)) for c in channels)


def check_image(shape: tuple[int, ...], what: str) -> None:
    if tuple(shape) != IMAGE_SHAPE:
        raise BenchError(f"the CUB {what} take {IMAGE_SHAPE} images, got {tuple(shape)}",
                         "resize the images to 64 x 64 or give this suite networks for this shape")


def check_caption(shape: tuple[int, ...], what: str) -> None:
    if len(shape) != 2 or shape[0] != LENGTH:
        raise BenchError(f"the CUB {what} take one-hot captions of shape ({LENGTH}, V), got {tuple(shape)}",
                         f"encode the captions with max_length={LENGTH} (bench.suites.cub.captions)")


class Picture(nn.Module):
    """One-hot words (B, L, V) -> their embeddings as a one-channel picture (B, 1, L, E)."""

    def __init__(self, vocabulary: int, *, bias: bool) -> None:
        super().__init__()
        self.embed = nn.Linear(vocabulary, EMBEDDING, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(x).unsqueeze(1)


class Words(nn.Module):
    """A (B, 1, L, E) picture -> per-position logits (B, L, V)."""

    def __init__(self, vocabulary: int) -> None:
        super().__init__()
        self.logits = nn.Linear(EMBEDDING, vocabulary)

    def forward(self, h: Tensor) -> Tensor:
        return self.logits(h.squeeze(1))


def block(conv: nn.Module, channels: int, *, norm: bool = True) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), nn.ReLU()] if norm else [conv, nn.ReLU()]


def vae_image(latent_dim: int, width: float) -> tuple[nn.Module, nn.Module]:
    c = scaled((64, 128, 256, 512), width)
    layers, previous = [], 3
    for channels in c:
        layers += block(nn.Conv2d(previous, channels, 4, 2, 1), channels, norm=False)
        previous = channels
    encoder = GaussianHeads(nn.Sequential(*layers, nn.Flatten()), c[-1] * 16, latent_dim)
    up = []
    for a, b in zip(c[::-1], c[::-1][1:]):
        up += block(nn.ConvTranspose2d(a, b, 4, 2, 1), b, norm=False)
    decoder = nn.Sequential(nn.Linear(latent_dim, c[-1] * 16), nn.Unflatten(1, (c[-1], 4, 4)), nn.ReLU(), *up,
                            nn.ConvTranspose2d(c[0], 3, 4, 2, 1), nn.Sigmoid())
    return encoder, decoder


def vae_caption(vocabulary: int, latent_dim: int, width: float) -> tuple[nn.Module, nn.Module]:
    c1, c2, c3 = scaled((32, 64, 128), width)
    body = nn.Sequential(
        Picture(vocabulary, bias=False),
        *block(nn.Conv2d(1, c1, 4, 2, 1, bias=False), c1),  # 32 x 128 -> 16 x 64
        *block(nn.Conv2d(c1, c2, 4, 2, 1, bias=False), c2),  # -> 8 x 32
        *block(nn.Conv2d(c2, c3, 4, 2, 1, bias=False), c3),  # -> 4 x 16
        *block(nn.Conv2d(c3, c3, **WIDE, bias=False), c3),  # -> 4 x 8
        *block(nn.Conv2d(c3, c3, **WIDE, bias=False), c3),  # -> 4 x 4
        nn.Flatten(),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, c3 * 16, bias=False), nn.Unflatten(1, (c3, 4, 4)), nn.BatchNorm2d(c3), nn.ReLU(),
        *block(nn.ConvTranspose2d(c3, c3, **WIDE, bias=False), c3),  # -> 4 x 8
        *block(nn.ConvTranspose2d(c3, c3, **WIDE, bias=False), c3),  # -> 4 x 16
        *block(nn.ConvTranspose2d(c3, c2, 4, 2, 1, bias=False), c2),  # -> 8 x 32
        *block(nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), c1),  # -> 16 x 64
        nn.ConvTranspose2d(c1, 1, 4, 2, 1, bias=False),  # -> 32 x 128
        Words(vocabulary),
    )
    return GaussianHeads(body, c3 * 16, latent_dim), decoder


def vae_networks(shape: tuple[int, ...], *, latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MMVAE's CUB image networks for (3, 64, 64) (module docstring)."""
    check_image(shape, "VAE networks")
    return vae_image(latent_dim, width)


def vae_sentence_networks(shape: tuple[int, ...], *, latent_dim: int, width: float = 1.0
                          ) -> tuple[nn.Module, nn.Module]:
    """MMVAE's CUB sentence networks for one-hot captions (32, V) (module docstring)."""
    check_caption(shape, "VAE networks")
    return vae_caption(shape[1], latent_dim, width)


class ResnetBlock(nn.Module):
    """MLD's (GAN-style) residual block: x_s + 0.1 conv3(lrelu(conv3(lrelu(x)))), the hidden width min(fin, fout),
    a 1x1 conv shortcut when fin != fout."""

    def __init__(self, fin: int, fout: int) -> None:
        super().__init__()
        hidden = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, hidden, 3, padding=1)
        self.conv_1 = nn.Conv2d(hidden, fout, 3, padding=1)
        self.shortcut = nn.Conv2d(fin, fout, 1, bias=False) if fin != fout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + 0.1 * self.conv_1(F.leaky_relu(self.conv_0(F.leaky_relu(x, 0.2)), 0.2))


class LeakyReLU(nn.LeakyReLU):
    def __init__(self) -> None:
        super().__init__(0.2)


def autoencoder_image(latent_dim: int, width: float) -> tuple[nn.Module, nn.Module]:
    nf = max(1, round(64 * width))
    encoder = nn.Sequential(
        nn.Conv2d(3, nf, 3, padding=1), ResnetBlock(nf, nf),
        nn.AvgPool2d(3, stride=2, padding=1), ResnetBlock(nf, 2 * nf),  # 64 -> 32
        nn.AvgPool2d(3, stride=2, padding=1), ResnetBlock(2 * nf, 4 * nf),  # 32 -> 16
        LeakyReLU(), nn.Flatten(), nn.Linear(4 * nf * 16 * 16, latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, 4 * nf * 16 * 16), nn.Unflatten(1, (4 * nf, 16, 16)),
        ResnetBlock(4 * nf, 2 * nf), nn.Upsample(scale_factor=2),  # 16 -> 32
        ResnetBlock(2 * nf, nf), nn.Upsample(scale_factor=2),  # 32 -> 64
        ResnetBlock(nf, nf), LeakyReLU(), nn.Conv2d(nf, 3, 3, padding=1),
    )
    return encoder, decoder


def autoencoder_caption(vocabulary: int, latent_dim: int, width: float) -> tuple[nn.Module, nn.Module]:
    c1, c2, c3, c4, c5 = scaled((32, 64, 128, 256, 512), width)
    encoder = nn.Sequential(
        Picture(vocabulary, bias=True),
        *block(nn.Conv2d(1, c1, 4, 2, 1), c1), *block(nn.Conv2d(c1, c2, 4, 2, 1), c2),
        *block(nn.Conv2d(c2, c3, 4, 2, 1), c3),  # 32 x 128 -> 4 x 16
        *block(nn.Conv2d(c3, c4, **WIDE), c4), *block(nn.Conv2d(c4, c5, **WIDE), c5),  # -> 4 x 4
        nn.Conv2d(c5, latent_dim, 4), nn.Flatten(),
    )
    decoder = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        *block(nn.ConvTranspose2d(latent_dim, c5, 4), c5),  # -> 4 x 4
        *block(nn.ConvTranspose2d(c5, c4, **WIDE), c4),  # -> 4 x 8
        *block(nn.ConvTranspose2d(c4, c4, 3, 1, 1), c4),
        *block(nn.ConvTranspose2d(c4, c3, **WIDE), c3),  # -> 4 x 16
        *block(nn.ConvTranspose2d(c3, c3, 3, 1, 1), c3),
        *block(nn.ConvTranspose2d(c3, c2, 4, 2, 1), c2), *block(nn.ConvTranspose2d(c2, c1, 4, 2, 1), c1),
        nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.ReLU(),  # -> 32 x 128
        Words(vocabulary),
    )
    return encoder, decoder


def autoencoder_networks(shape: tuple[int, ...], *, latent_dim: int, hidden_dim: int,
                         width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MLD's CUB image autoencoder (module docstring; ``hidden_dim`` is not used)."""
    check_image(shape, "autoencoder networks")
    return autoencoder_image(latent_dim, width)


def autoencoder_sentence_networks(shape: tuple[int, ...], *, latent_dim: int, hidden_dim: int,
                                  width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MLD's CUB sentence autoencoder (module docstring; ``hidden_dim`` is not used)."""
    check_caption(shape, "autoencoder networks")
    return autoencoder_caption(shape[1], latent_dim, width)


class CaptionClassifier(BodyHeadClassifier):
    """Attributes of a one-hot caption (B, L, V), read as V channels of length L: Conv1d V->128 (k1), ReLU, two
    Conv1d 128->128 (k3 p1) with ReLU (a word and its neighbours: "red crown" and "red wings" differ only there),
    max over positions, Dropout 0.5 -> the 128-d penultimate features -> Linear (logits)."""

    def __init__(self, vocab_size: int, n_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(vocab_size, 128, 1), nn.ReLU(),
            nn.Conv1d(128, 128, 3, padding=1), nn.ReLU(),
            nn.Conv1d(128, 128, 3, padding=1), nn.ReLU(),
            nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Dropout(0.5),
        )
        self.head = nn.Linear(128, n_classes)

    def inputs(self, x: Tensor) -> Tensor:
        return x.transpose(-2, -1)


def caption_classifier(shape: tuple[int, ...], *, n_classes: int) -> CaptionClassifier:
    check_caption(shape, "classifiers")
    return CaptionClassifier(shape[1], n_classes)


def image_classifier(shape: tuple[int, ...], *, n_classes: int) -> nn.Module:
    check_image(shape, "classifiers")
    return digit_classifier(shape, n_classes=n_classes)


NETWORKS = Networks("cub", {
    VAE: {"image": vae_networks, "sentence": vae_sentence_networks},
    AUTOENCODER: {"image": autoencoder_networks, "sentence": autoencoder_sentence_networks},
    CLASSIFIER: {"image": image_classifier, "sentence": caption_classifier},
})
