"""MNIST-SVHN-Text networks (``bench.networks``): MNIST-SVHN's for the two images
(``bench.suites.mnist_svhn.nets``), and MoPoE's character-level text networks (MoPoE code
``mnistsvhntext/networks/ConvNetworksTextMNIST.py``, ``dim`` = 64) for one-hot strings (B, L, V) of L = 8 characters
over an alphabet of V, with c = 2 dim = 128 channels times ``width``:

- body: transpose to (B, V, L); Conv1d V->c (k1), ReLU; Conv1d c->c (k4 s2 p1) 8 -> 4, ReLU; Conv1d c->c (k4 s2 p0)
  4 -> 1, ReLU; flatten c;
- decoder: Linear(D, c), view (c, 1); ConvTranspose1d c->c (k4 s1 p0) 1 -> 4, ReLU; ConvTranspose1d c->c (k4 s2 p1)
  4 -> 8, ReLU; Conv1d c->V (k1), transposed to (B, L, V) logits. MoPoE ends with a log-softmax over the alphabet;
  here the decoder returns the logits and the categorical likelihood normalises them (``baselines.outputs``,
  ``mld.autoencoders``).

``"vae"``: the body with Linear(c, D) heads for mu and logvar. ``"autoencoder"``: the body with one Linear(c, D) (the
MLD code has no working text autoencoder: its ``LABEL`` modality in ``src/dataLoaders/MnistSvhnText`` cannot be
instantiated; these are MoPoE's networks made deterministic; ``hidden_dim`` is not used). ``"classifier"``: MoPoE's
``ClfText`` design (``classifiers.nets.TextClassifier``).
"""

from __future__ import annotations

from torch import Tensor, nn

from baselines.nets import FAMILY as VAE, GaussianHeads
from bench.errors import BenchError
from bench.networks import Networks
from bench.suites.mnist_svhn.nets import NETWORKS as IMAGE_NETWORKS
from classifiers.nets import FAMILY as CLASSIFIER, text_classifier
from mld.autoencoders import FAMILY as AUTOENCODER

LENGTH = 8  # the convolutions take 8 positions to 1 and back
CHANNELS = 128  # 2 * MoPoE's dim


class SwapLastTwo(nn.Module):
    """(B, X, Y) -> (B, Y, X)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(-2, -1)


def text_body(vocabulary: int, channels: int) -> nn.Sequential:
    """One-hot strings (B, 8, V) -> (B, channels): MoPoE's text encoder without its heads (module docstring)."""
    return nn.Sequential(
        SwapLastTwo(),  # (B, L, V) -> (B, V, L)
        nn.Conv1d(vocabulary, channels, kernel_size=1), nn.ReLU(),
        nn.Conv1d(channels, channels, kernel_size=4, stride=2, padding=1), nn.ReLU(),  # 8 -> 4
        nn.Conv1d(channels, channels, kernel_size=4, stride=2, padding=0), nn.ReLU(),  # 4 -> 1
        nn.Flatten(),
    )


def text_decoder(latent_dim: int, channels: int, vocabulary: int) -> nn.Sequential:
    """(B, latent_dim) -> per-position logits (B, 8, V): MoPoE's text decoder without its log-softmax."""
    return nn.Sequential(
        nn.Linear(latent_dim, channels), nn.Unflatten(1, (channels, 1)),
        nn.ConvTranspose1d(channels, channels, kernel_size=4, stride=1, padding=0), nn.ReLU(),  # 1 -> 4
        nn.ConvTranspose1d(channels, channels, kernel_size=4, stride=2, padding=1), nn.ReLU(),  # 4 -> 8
        nn.Conv1d(channels, vocabulary, kernel_size=1),
        SwapLastTwo(),  # (B, V, L) -> (B, L, V)
    )


def check_length(shape: tuple[int, ...], what: str) -> None:
    if len(shape) != 2 or shape[0] != LENGTH:
        raise BenchError(
            f"the text {what} take one-hot strings of shape ({LENGTH}, V), got {tuple(shape)}",
            f"pad or cut the strings to {LENGTH} characters or give this suite text {what} for this length",
        )


def vae_networks(shape: tuple[int, ...], *, latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The VAE's text encoder and decoder for one-hot strings (L, V) = (8, V), channels 128 times ``width``."""
    check_length(shape, "VAE networks")
    vocabulary, c = shape[1], max(1, round(CHANNELS * width))
    return GaussianHeads(text_body(vocabulary, c), c, latent_dim), text_decoder(latent_dim, c, vocabulary)


def autoencoder_networks(shape: tuple[int, ...], *, latent_dim: int, hidden_dim: int,
                         width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MLD's deterministic text autoencoder (module docstring)."""
    check_length(shape, "autoencoder networks")
    vocabulary, c = shape[1], max(1, round(CHANNELS * width))
    encoder = nn.Sequential(*text_body(vocabulary, c), nn.Linear(c, latent_dim))
    return encoder, text_decoder(latent_dim, c, vocabulary)


NETWORKS = Networks("mnist_svhn_text", {
    VAE: {**IMAGE_NETWORKS.factories[VAE], "text": vae_networks},
    AUTOENCODER: {**IMAGE_NETWORKS.factories[AUTOENCODER], "text": autoencoder_networks},
    CLASSIFIER: {**IMAGE_NETWORKS.factories[CLASSIFIER], "text": text_classifier},
})
