"""PolyMNIST networks for every model family (``bench.networks``), for (C, 28, 28) images.

- ``"vae"``: MoPoE ``ConvNetworksImgCMNIST`` (MLD code ``src/unimodal/mmnist/mmnist_vae.py``). Encoder: conv
  3->32->64->128 (k3, s2, p1, ReLU): 28 -> 14 -> 7 -> 4; flatten 2048; Linear(2048, H), ReLU; then two Linear(H, D)
  heads for mu and logvar. The reference has H = D = 512; here H stays 512 when a scale preset shrinks D, because a
  hidden layer only D <= 64 units wide often dies entirely in the first few hundred steps (every ReLU at 0, so the
  posterior no longer depends on x; measured at D = 16: all 16 units dead). Decoder: Linear(D, 2048), ReLU, reshape
  (128, 4, 4); ConvT 128->64 (k3, s2, p1): 4 -> 7; ConvT 64->32 (k4, s2, p1): 7 -> 14; ConvT 32->3 (k4, s2, p1):
  14 -> 28; ReLU between, no output sigmoid (the output is the Laplace location).
- ``"autoencoder"`` (MLD stage 1, ``EncoderImg`` / ``DecoderImg`` of the MLD code, D = 160 and hidden = D there):
  encoder Conv(3->32, k3 s2 p1), ReLU, Conv(32->64, k3 s2 p1), ReLU, Conv(64->128, k3 s2 p1), ReLU: 28 -> 4;
  Flatten(2048), Linear(2048, hidden), ReLU, Linear(hidden, D); decoder Linear(D, 2048), ReLU, view (128, 4, 4),
  ConvT(128->64, k3 s2 p1), ReLU, ConvT(64->32, k3 s2 p1 op1), ReLU, ConvT(32->3, k3 s2 p1 op1): 4 -> 7 -> 14 -> 28;
  no sigmoid.
- ``"classifier"``: MoPoE's ``ClfImg`` (``classifiers.nets.DigitClassifier``).

``width`` multiplies the conv channels of both (1 = the reference).
"""

from __future__ import annotations

from torch import Tensor, nn

from baselines.nets import FAMILY as VAE
from bench.errors import BenchError
from bench.networks import Networks
from classifiers.nets import FAMILY as CLASSIFIER, digit_classifier
from mld.autoencoders import FAMILY as AUTOENCODER

CHANNELS = (32, 64, 128)  # conv widths
SIDE = 28  # input side; after three stride-2 convs it is 4
HIDDEN_WIDTH = 512  # H, the paper's D


def scaled(width: float) -> tuple[int, int, int]:
    """The conv channels times ``width`` (1 = the reference's 32, 64, 128), at least 1 each."""
    return tuple(max(1, round(c * width)) for c in CHANNELS)


class ConvEncoder(nn.Module):
    """(B, C, 28, 28) -> (mu, logvar), each (B, D)."""

    def __init__(self, in_channels: int, latent_dim: int, hidden_width: int = HIDDEN_WIDTH, width: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3 = scaled(width)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=3, stride=2, padding=1),  # 28 -> 14
            nn.ReLU(),
            nn.Conv2d(c1, c2, kernel_size=3, stride=2, padding=1),  # 14 -> 7
            nn.ReLU(),
            nn.Conv2d(c2, c3, kernel_size=3, stride=2, padding=1),  # 7 -> 4
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c3 * 4 * 4, hidden_width),
            nn.ReLU(),
        )
        self.mu = nn.Linear(hidden_width, latent_dim)
        self.logvar = nn.Linear(hidden_width, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class ConvDecoder(nn.Module):
    """(B, D) -> Laplace location (B, C, 28, 28), unbounded (no sigmoid)."""

    def __init__(self, out_channels: int, latent_dim: int, width: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3 = scaled(width)
        self.body = nn.Sequential(
            nn.Linear(latent_dim, c3 * 4 * 4),
            nn.ReLU(),
            nn.Unflatten(1, (c3, 4, 4)),
            nn.ConvTranspose2d(c3, c2, kernel_size=3, stride=2, padding=1),  # 4 -> 7
            nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1),  # 7 -> 14
            nn.ReLU(),
            nn.ConvTranspose2d(c1, out_channels, kernel_size=4, stride=2, padding=1),  # 14 -> 28
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.body(z)


def check_shape(shape: tuple[int, ...], what: str) -> None:
    if len(shape) != 3 or tuple(shape[1:]) != (SIDE, SIDE):
        raise BenchError(
            f"the PolyMNIST {what} take (C, {SIDE}, {SIDE}) images, got {tuple(shape)}",
            f"resize the images to {SIDE}x{SIDE} or give this suite {what} for this shape",
        )


def vae_networks(shape: tuple[int, ...], *, latent_dim: int, width: float = 1.0) -> tuple[ConvEncoder, ConvDecoder]:
    """Encoder/decoder pair for one (C, 28, 28) modality with a D = ``latent_dim`` latent and the conv channels times
    ``width``."""
    check_shape(shape, "VAE networks")
    return ConvEncoder(shape[0], latent_dim, width=width), ConvDecoder(shape[0], latent_dim, width)


def autoencoder_networks(shape: tuple[int, ...], *, latent_dim: int, hidden_dim: int,
                         width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MLD's deterministic autoencoder of one (C, 28, 28) modality (module docstring)."""
    check_shape(shape, "autoencoder networks")
    channels = shape[0]
    c1, c2, c3 = scaled(width)
    encoder = nn.Sequential(
        nn.Conv2d(channels, c1, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c2, c3, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c3 * 4 * 4, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, c3 * 4 * 4),
        nn.ReLU(),
        nn.Unflatten(1, (c3, 4, 4)),
        nn.ConvTranspose2d(c3, c2, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(c1, channels, 3, stride=2, padding=1, output_padding=1),
    )
    return encoder, decoder


NETWORKS = Networks("polymnist", {
    VAE: {"image": vae_networks},
    AUTOENCODER: {"image": autoencoder_networks},
    CLASSIFIER: {"image": digit_classifier},
})
