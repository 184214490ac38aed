"""MNIST-SVHN networks for every model family (``bench.networks``), chosen per modality by its shape: MNIST
(1, 28, 28) and SVHN (3, 32, 32) (also the image networks of MNIST-SVHN-Text).

``"vae"`` (MoPoE code ``ConvNetworksImg{MNIST,SVHN}.py``; MLD code ``src/unimodal/mnist_svhn``):

- MNIST, MoPoE/MMVAE MLP: flatten 784 -> Linear 400, ReLU -> mu, logvar heads (D); decoder D -> 400, ReLU -> 784,
  sigmoid, reshape (1, 28, 28).
- SVHN, MoPoE ``ConvNetworksImgSVHN``: conv 3->32 (k4 s2 p1) 32 -> 16, 32->64 (k4 s2 p1) 16 -> 8, 64->64 (k4 s2 p1)
  8 -> 4, 64->128 (k4 s1 p0) 4 -> 1, ReLU after each; mu, logvar heads Linear(128, D). Decoder: Linear(D, 128), view
  (128, 1, 1), ConvT 128->64 (k4 s1 p0) 1 -> 4, 64->64 (k4 s2 p1) 4 -> 8, 64->32 (k4 s2 p1) 8 -> 16, 32->3 (k4 s2 p1)
  16 -> 32, ReLU between, no output sigmoid (MoPoE; MLD's MMVAE nets add one).

``"autoencoder"`` (MLD stage 1, MLD code ``MnistEncoder/Decoder``, ``SvhnEncoder/Decoder`` with fBase 32): MNIST MLP
784 -> 400 -> D, decoder D -> 400 -> 784 with sigmoid; SVHN conv 3->32->64->128 (k4 s2 p1) 32 -> 4, conv 128->D (k4
s1 p0) 4 -> 1; decoder ConvT D->128 (k4 s1 p0) 1 -> 4, 128->64->32->3 (k4 s2 p1) 4 -> 32, sigmoid. The hidden widths
are the reference's (``hidden_dim`` is not used).

``"classifier"``: MoPoE's ``ClfImg`` design for both (``classifiers.nets.DigitClassifier``).

``width`` scales the SVHN conv channels (the MNIST MLP has none).
"""

from __future__ import annotations

from torch import nn

from baselines.nets import FAMILY as VAE, GaussianHeads
from bench.errors import BenchError
from bench.networks import Networks
from classifiers.nets import FAMILY as CLASSIFIER, digit_classifier
from mld.autoencoders import FAMILY as AUTOENCODER

MNIST_SHAPE = (1, 28, 28)
SVHN_SHAPE = (3, 32, 32)
MLP_HIDDEN = 400


def scaled(channels: tuple[int, ...], width: float) -> tuple[int, ...]:
    """``channels`` times ``width``, at least 1 each."""
    return tuple(max(1, round(c * width)) for c in channels)


def unknown_shape(shape: tuple[int, ...], what: str) -> BenchError:
    return BenchError(
        f"the MNIST-SVHN {what} take {MNIST_SHAPE} (MNIST) or {SVHN_SHAPE} (SVHN) images, got {tuple(shape)}",
        f"give this suite {what} for this shape",
    )


def mnist_nets(latent_dim: int) -> tuple[nn.Module, nn.Module]:
    encoder = GaussianHeads(nn.Sequential(nn.Flatten(), nn.Linear(784, MLP_HIDDEN), nn.ReLU()), MLP_HIDDEN, latent_dim)
    decoder = nn.Sequential(
        nn.Linear(latent_dim, MLP_HIDDEN), nn.ReLU(), nn.Linear(MLP_HIDDEN, 784), nn.Sigmoid(), nn.Unflatten(1, MNIST_SHAPE)
    )
    return encoder, decoder


def svhn_nets(latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The SVHN conv networks with their channels (32, 64, 64, 128) times ``width``."""
    c1, c2, c3, c4 = scaled((32, 64, 64, 128), width)
    body = nn.Sequential(
        nn.Conv2d(3, c1, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(c2, c3, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 4, stride=1, padding=0), nn.ReLU(),
        nn.Flatten(),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, c4), nn.Unflatten(1, (c4, 1, 1)),
        nn.ConvTranspose2d(c4, c3, 4, stride=1, padding=0), nn.ReLU(),
        nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(c1, 3, 4, stride=2, padding=1),
    )
    return GaussianHeads(body, c4, latent_dim), decoder


def vae_networks(shape: tuple[int, ...], *, latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The MNIST MLP for (1, 28, 28) (``width`` does not apply), the SVHN conv networks for (3, 32, 32) with their
    channels times ``width``."""
    if tuple(shape) == MNIST_SHAPE:
        return mnist_nets(latent_dim)
    if tuple(shape) == SVHN_SHAPE:
        return svhn_nets(latent_dim, width)
    raise unknown_shape(shape, "VAE networks")


def autoencoder_networks(shape: tuple[int, ...], *, latent_dim: int, hidden_dim: int,
                         width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MLD's deterministic autoencoders (module docstring)."""
    if tuple(shape) == MNIST_SHAPE:
        encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, latent_dim))
        decoder = nn.Sequential(
            nn.Linear(latent_dim, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))
        )
        return encoder, decoder
    if tuple(shape) == SVHN_SHAPE:
        c1, c2, c3 = scaled((32, 64, 128), width)
        encoder = nn.Sequential(
            nn.Conv2d(3, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c3, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c3, latent_dim, 4, stride=1, padding=0), nn.Flatten(),
        )
        decoder = nn.Sequential(
            nn.Unflatten(1, (latent_dim, 1, 1)),
            nn.ConvTranspose2d(latent_dim, c3, 4, stride=1, padding=0), nn.ReLU(),
            nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 3, 4, stride=2, padding=1), nn.Sigmoid(),
        )
        return encoder, decoder
    raise unknown_shape(shape, "autoencoder networks")


NETWORKS = Networks("mnist_svhn", {
    VAE: {"image": vae_networks},
    AUTOENCODER: {"image": autoencoder_networks},
    CLASSIFIER: {"image": digit_classifier},
})
